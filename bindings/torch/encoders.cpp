// Torch ops over cpp/affectkit/encoders: causal depthwise conv1d with autograd.
#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/autograd_not_implemented_fallback.h>
#include <torch/library.h>

#include <tuple>

#include "affectkit/encoders/causal_conv1d.h"
#include "tensor.h"

namespace affectkit::torch_ops {
namespace {

using at::Tensor;
using OptionalTensor = std::optional<Tensor>;

CausalConv1dShape check_causal_conv1d(const Tensor& x, const Tensor& weight,
                                      const OptionalTensor& bias) {
  check_float_cpu(x, "x");
  check_dim(x, "x", 3, "(batch, channels, length)");
  check_dim(weight, "weight", 2, "(channels, width)");
  check_same_dtype(weight, x, "weight", "x");
  TORCH_CHECK_VALUE(weight.size(0) == x.size(1), "invalid argument 'weight': must have ",
                    x.size(1), " rows (the channels of x), got shape ", weight.sizes());
  TORCH_CHECK_VALUE(weight.size(1) >= 1, "invalid argument 'weight': width must be at least 1, got shape ",
                    weight.sizes());
  if (bias) {
    check_dim(*bias, "bias", 1, "(channels,)");
    check_same_dtype(*bias, x, "bias", "x");
    TORCH_CHECK_VALUE(bias->size(0) == x.size(1), "invalid argument 'bias': must have ", x.size(1),
                      " values (the channels of x), got shape ", bias->sizes());
  }
  return {x.size(0), x.size(1), x.size(2), weight.size(1)};
}

template <typename T>
const T* optional_data(const OptionalTensor& t) {
  return t ? t->data_ptr<T>() : nullptr;
}

Tensor causal_conv1d_cpu(const Tensor& x_in, const Tensor& weight_in, const OptionalTensor& bias_in,
                         bool silu) {
  const CausalConv1dShape shape = check_causal_conv1d(x_in, weight_in, bias_in);
  const Tensor x = x_in.contiguous();
  const Tensor weight = weight_in.contiguous();
  const OptionalTensor bias = bias_in ? OptionalTensor(bias_in->contiguous()) : std::nullopt;
  Tensor out = at::empty_like(x);
  dispatch_core(x.scalar_type(), [&](auto zero) {
    using T = decltype(zero);
    causal_conv1d_forward(x.data_ptr<T>(), weight.data_ptr<T>(), optional_data<T>(bias),
                          out.data_ptr<T>(), shape, silu, 0);
  });
  return out;
}

std::tuple<Tensor, Tensor, Tensor> causal_conv1d_backward_cpu(const Tensor& x_in,
                                                              const Tensor& weight_in,
                                                              const OptionalTensor& bias_in,
                                                              const Tensor& grad_out_in, bool silu) {
  const CausalConv1dShape shape = check_causal_conv1d(x_in, weight_in, bias_in);
  TORCH_CHECK_VALUE(grad_out_in.sizes() == x_in.sizes(), "invalid argument 'grad_out': must have the shape of x ",
                    x_in.sizes(), ", got ", grad_out_in.sizes());
  check_same_dtype(grad_out_in, x_in, "grad_out", "x");
  const Tensor x = x_in.contiguous();
  const Tensor weight = weight_in.contiguous();
  const OptionalTensor bias = bias_in ? OptionalTensor(bias_in->contiguous()) : std::nullopt;
  const Tensor grad_out = grad_out_in.contiguous();
  Tensor grad_x = at::empty_like(x);
  Tensor grad_weight = at::empty_like(weight);
  Tensor grad_bias = at::empty({shape.channels}, weight.options());
  dispatch_core(x.scalar_type(), [&](auto zero) {
    using T = decltype(zero);
    causal_conv1d_backward(x.data_ptr<T>(), weight.data_ptr<T>(), optional_data<T>(bias),
                           grad_out.data_ptr<T>(), grad_x.data_ptr<T>(), grad_weight.data_ptr<T>(),
                           grad_bias.data_ptr<T>(), shape, silu, 0);
  });
  return {grad_x, grad_weight, grad_bias};
}

// Shapes only, for torch.compile / torch.export tracing.
Tensor causal_conv1d_meta(const Tensor& x, const Tensor& weight, const OptionalTensor& bias, bool) {
  check_causal_conv1d(x, weight, bias);
  return at::empty_like(x, at::MemoryFormat::Contiguous);
}

std::tuple<Tensor, Tensor, Tensor> causal_conv1d_backward_meta(const Tensor& x, const Tensor& weight,
                                                               const OptionalTensor& bias,
                                                               const Tensor&, bool) {
  check_causal_conv1d(x, weight, bias);
  return {at::empty_like(x, at::MemoryFormat::Contiguous),
          at::empty_like(weight, at::MemoryFormat::Contiguous),
          at::empty({weight.size(0)}, weight.options())};
}

class CausalConv1dFunction : public torch::autograd::Function<CausalConv1dFunction> {
 public:
  static Tensor forward(torch::autograd::AutogradContext* ctx, const Tensor& x,
                        const Tensor& weight, const OptionalTensor& bias, bool silu) {
    ctx->save_for_backward({x, weight, bias.value_or(Tensor())});
    ctx->saved_data["silu"] = silu;
    at::AutoDispatchBelowADInplaceOrView guard;
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("affectkit::causal_conv1d", "")
                         .typed<Tensor(const Tensor&, const Tensor&, const OptionalTensor&, bool)>();
    return op.call(x, weight, bias, silu);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const OptionalTensor bias = saved[2].defined() ? OptionalTensor(saved[2]) : std::nullopt;
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("affectkit::causal_conv1d_backward", "")
                         .typed<std::tuple<Tensor, Tensor, Tensor>(
                             const Tensor&, const Tensor&, const OptionalTensor&, const Tensor&, bool)>();
    auto [grad_x, grad_weight, grad_bias] =
        op.call(saved[0], saved[1], bias, grad_outputs[0], ctx->saved_data["silu"].toBool());
    return {grad_x, grad_weight, bias ? grad_bias : Tensor(), Tensor()};
  }
};

Tensor causal_conv1d_autograd(const Tensor& x, const Tensor& weight, const OptionalTensor& bias,
                              bool silu) {
  return CausalConv1dFunction::apply(x, weight, bias, silu);
}

}  // namespace

TORCH_LIBRARY_IMPL(affectkit, CPU, m) {
  m.impl("causal_conv1d", &causal_conv1d_cpu);
  m.impl("causal_conv1d_backward", &causal_conv1d_backward_cpu);
}

TORCH_LIBRARY_IMPL(affectkit, Meta, m) {
  m.impl("causal_conv1d", &causal_conv1d_meta);
  m.impl("causal_conv1d_backward", &causal_conv1d_backward_meta);
}

TORCH_LIBRARY_IMPL(affectkit, Autograd, m) {
  m.impl("causal_conv1d", &causal_conv1d_autograd);
  // The backward has no derivative of its own: a second backward through it
  // (create_graph=True) raises instead of silently returning zeros.
  m.impl("causal_conv1d_backward", torch::autograd::autogradNotImplementedFallback());
}

}  // namespace affectkit::torch_ops
