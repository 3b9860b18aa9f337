// Torch ops over cpp/affectkit/encoders: causal depthwise conv1d and the selective
// scan, with autograd.
#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/autograd_not_implemented_fallback.h>
#include <torch/library.h>

#include <complex>
#include <tuple>

#include "affectkit/encoders/causal_conv1d.h"
#include "affectkit/encoders/selective_scan.h"
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


// ---------------------------------------------------------------- selective scan

// Checks dtypes, devices and contiguity here and shapes in the core (one set of
// messages for numpy and torch); returns the scan's shape. The issue asks for an
// error naming a non-contiguous argument rather than a silent copy: the kernel
// reads every tensor in place. A may be complex (the complex type of u's dtype,
// as selective_scan_fn): then shared B and C have A's dtype and variable ones
// are real, their (real, imag) pairs along time read as complex.
SelectiveScanShape check_selective_scan(const Tensor& u, const Tensor& delta, const Tensor& A,
                                        const Tensor& B, const Tensor& C, const OptionalTensor& D,
                                        const OptionalTensor& z, const OptionalTensor& delta_bias) {
  check_float_cpu(u, "u");
  check_contiguous(u, "u");
  check_float_cpu(delta, "delta");
  check_same_dtype(delta, u, "delta", "u");
  check_contiguous(delta, "delta");
  const bool complex_A = A.is_complex();
  const at::ScalarType complex_type = c10::toComplexType(u.scalar_type());
  TORCH_CHECK_TYPE(A.scalar_type() == u.scalar_type() || A.scalar_type() == complex_type,
                   "invalid argument 'A': must have the dtype of 'u' (", u.scalar_type(), ") or its complex type (",
                   complex_type, "), got ", A.scalar_type());
  const std::pair<const Tensor*, const char*> others[] = {{&A, "A"}, {&B, "B"}, {&C, "C"}};
  for (const auto& [t, name] : others) {
    TORCH_CHECK_VALUE(t->device().is_cpu() || t->device().is_meta(), "invalid argument '", name,
                      "': must be on the CPU, got ", t->device());
    if (t != &A) {
      const bool shared_complex = complex_A && t->dim() == 2;
      const at::ScalarType expected = shared_complex ? complex_type : u.scalar_type();
      TORCH_CHECK_TYPE(t->scalar_type() == expected, "invalid argument '", name, "': must be ",
                       shared_complex ? "complex like A when shared (dim, state)" : "real with the dtype of 'u'",
                       complex_A && !shared_complex ? " (complex A: (real, imag) pairs along time)" : "", " (",
                       expected, "), got ", t->scalar_type());
    }
    check_contiguous(*t, name);
  }
  const std::pair<const OptionalTensor*, const char*> optionals[] = {
      {&D, "D"}, {&z, "z"}, {&delta_bias, "delta_bias"}};
  for (const auto& [t, name] : optionals) {
    if (!*t) continue;
    check_float_cpu(**t, name);
    check_same_dtype(**t, u, name, "u");
    check_contiguous(**t, name);
  }
  auto dims = [](const Tensor& t) { return Dims(t.sizes().begin(), t.sizes().end()); };
  auto optional_dims = [&](const OptionalTensor& t) { return t ? std::optional<Dims>(dims(*t)) : std::nullopt; };
  const auto D_dims = optional_dims(D), z_dims = optional_dims(z), bias_dims = optional_dims(delta_bias);
  try {
    return selective_scan_shape(dims(u), dims(delta), dims(A), dims(B), dims(C), D_dims ? &*D_dims : nullptr,
                                z_dims ? &*z_dims : nullptr, bias_dims ? &*bias_dims : nullptr, complex_A);
  } catch (const InvalidArgument& error) {
    TORCH_CHECK_VALUE(false, error.what());
  }
}

template <typename T, typename W>
SelectiveScanOptions<T, W> scan_options(const OptionalTensor& D, const OptionalTensor& z,
                                        const OptionalTensor& delta_bias, bool delta_softplus) {
  SelectiveScanOptions<T, W> options;
  options.D = optional_data<T>(D);
  options.z = optional_data<T>(z);
  options.delta_bias = optional_data<T>(delta_bias);
  options.delta_softplus = delta_softplus;
  return options;
}

// A, B, C, the last state and their gradients as the core's W (T, or
// std::complex<T>: a variable B or C of complex A is real memory of complex pairs).
template <typename W>
W* scan_data(const Tensor& t) {
  return static_cast<W*>(t.data_ptr());
}
template <typename W>
const W* optional_scan_data(const OptionalTensor& t) {
  return t ? scan_data<W>(*t) : nullptr;
}

// Runs body(T{}, W{}) for u's T and A's W.
template <typename Body>
void dispatch_scan(const Tensor& u, const Tensor& A, Body&& body) {
  dispatch_core(u.scalar_type(), [&](auto zero) {
    using T = decltype(zero);
    if (A.is_complex()) {
      body(T{}, std::complex<T>{});
    } else {
      body(T{}, T{});
    }
  });
}

std::tuple<Tensor, Tensor> selective_scan_cpu(const Tensor& u, const Tensor& delta, const Tensor& A,
                                              const Tensor& B, const Tensor& C, const OptionalTensor& D,
                                              const OptionalTensor& z, const OptionalTensor& delta_bias,
                                              bool delta_softplus) {
  const SelectiveScanShape shape = check_selective_scan(u, delta, A, B, C, D, z, delta_bias);
  Tensor out = at::empty_like(u);
  Tensor last_state = at::empty({shape.batch, shape.dim, shape.state}, A.options());
  dispatch_scan(u, A, [&](auto real, auto weight) {
    using T = decltype(real);
    using W = decltype(weight);
    selective_scan_forward(u.data_ptr<T>(), delta.data_ptr<T>(), scan_data<W>(A), scan_data<W>(B),
                           scan_data<W>(C), scan_options<T, W>(D, z, delta_bias, delta_softplus),
                           out.data_ptr<T>(), scan_data<W>(last_state), shape, 0);
  });
  return {out, last_state};
}

// Gradients of u, delta, A, B, C, D, z, delta_bias; those of absent optional
// inputs are empty (0,) tensors.
using ScanGradients = std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor>;

Tensor gradient_like(const OptionalTensor& t, const Tensor& u) {
  return t ? at::empty_like(*t, at::MemoryFormat::Contiguous) : at::empty({0}, u.options());
}

ScanGradients selective_scan_backward_cpu(const Tensor& u, const Tensor& delta, const Tensor& A,
                                          const Tensor& B, const Tensor& C, const OptionalTensor& D,
                                          const OptionalTensor& z, const OptionalTensor& delta_bias,
                                          bool delta_softplus, const Tensor& grad_out,
                                          const OptionalTensor& grad_last_state) {
  const SelectiveScanShape shape = check_selective_scan(u, delta, A, B, C, D, z, delta_bias);
  TORCH_CHECK_VALUE(grad_out.sizes() == u.sizes(), "invalid argument 'grad_out': must have the shape of u ",
                    u.sizes(), ", got ", grad_out.sizes());
  check_same_dtype(grad_out, u, "grad_out", "u");
  check_contiguous(grad_out, "grad_out");
  if (grad_last_state) {
    TORCH_CHECK_VALUE(grad_last_state->sizes() == at::IntArrayRef({shape.batch, shape.dim, shape.state}),
                      "invalid argument 'grad_last_state': must have shape (batch, dim, state), got ",
                      grad_last_state->sizes());
    check_same_dtype(*grad_last_state, A, "grad_last_state", "A");
    check_contiguous(*grad_last_state, "grad_last_state");
  }
  ScanGradients grads{at::empty_like(u), at::empty_like(delta), at::empty_like(A), at::empty_like(B),
                      at::empty_like(C), gradient_like(D, u), gradient_like(z, u), gradient_like(delta_bias, u)};
  dispatch_scan(u, A, [&](auto real, auto weight) {
    using T = decltype(real);
    using W = decltype(weight);
    auto& [gu, gdelta, gA, gB, gC, gD, gz, gbias] = grads;
    const SelectiveScanGradients<T, W> out{gu.data_ptr<T>(), gdelta.data_ptr<T>(), scan_data<W>(gA),
                                           scan_data<W>(gB), scan_data<W>(gC),     gD.data_ptr<T>(),
                                           gz.data_ptr<T>(), gbias.data_ptr<T>()};
    selective_scan_backward(u.data_ptr<T>(), delta.data_ptr<T>(), scan_data<W>(A), scan_data<W>(B),
                            scan_data<W>(C), scan_options<T, W>(D, z, delta_bias, delta_softplus),
                            grad_out.data_ptr<T>(), optional_scan_data<W>(grad_last_state), out, shape, 0);
  });
  return grads;
}

std::tuple<Tensor, Tensor> selective_scan_meta(const Tensor& u, const Tensor& delta, const Tensor& A,
                                               const Tensor& B, const Tensor& C, const OptionalTensor& D,
                                               const OptionalTensor& z, const OptionalTensor& delta_bias, bool) {
  const SelectiveScanShape shape = check_selective_scan(u, delta, A, B, C, D, z, delta_bias);
  return {at::empty_like(u, at::MemoryFormat::Contiguous),
          at::empty({shape.batch, shape.dim, shape.state}, A.options())};
}

ScanGradients selective_scan_backward_meta(const Tensor& u, const Tensor& delta, const Tensor& A,
                                           const Tensor& B, const Tensor& C, const OptionalTensor& D,
                                           const OptionalTensor& z, const OptionalTensor& delta_bias, bool,
                                           const Tensor&, const OptionalTensor&) {
  check_selective_scan(u, delta, A, B, C, D, z, delta_bias);
  auto like = [](const Tensor& t) { return at::empty_like(t, at::MemoryFormat::Contiguous); };
  return {like(u), like(delta), like(A), like(B), like(C),
          gradient_like(D, u), gradient_like(z, u), gradient_like(delta_bias, u)};
}

class SelectiveScanFunction : public torch::autograd::Function<SelectiveScanFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const Tensor& u,
                                                const Tensor& delta, const Tensor& A, const Tensor& B,
                                                const Tensor& C, const OptionalTensor& D, const OptionalTensor& z,
                                                const OptionalTensor& delta_bias, bool delta_softplus) {
    // Only the inputs are saved: the backward recomputes the states.
    ctx->save_for_backward({u, delta, A, B, C, D.value_or(Tensor()), z.value_or(Tensor()),
                            delta_bias.value_or(Tensor())});
    ctx->saved_data["delta_softplus"] = delta_softplus;
    at::AutoDispatchBelowADInplaceOrView guard;
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("affectkit::selective_scan", "")
                         .typed<std::tuple<Tensor, Tensor>(const Tensor&, const Tensor&, const Tensor&,
                                                           const Tensor&, const Tensor&, const OptionalTensor&,
                                                           const OptionalTensor&, const OptionalTensor&, bool)>();
    auto [out, last_state] = op.call(u, delta, A, B, C, D, z, delta_bias, delta_softplus);
    return {out, last_state};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    auto optional = [](const Tensor& t) { return t.defined() ? OptionalTensor(t) : std::nullopt; };
    const OptionalTensor D = optional(saved[5]), z = optional(saved[6]), delta_bias = optional(saved[7]);
    // An output that took no part in the loss has an undefined gradient. Autograd's
    // gradients may be strided views (of an expand or a transpose): made contiguous here.
    const Tensor grad_out = grad_outputs[0].defined() ? grad_outputs[0].contiguous() : at::zeros_like(saved[0]);
    const OptionalTensor grad_last_state =
        grad_outputs[1].defined() ? OptionalTensor(grad_outputs[1].contiguous()) : std::nullopt;
    static auto op =
        c10::Dispatcher::singleton()
            .findSchemaOrThrow("affectkit::selective_scan_backward", "")
            .typed<ScanGradients(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                 const OptionalTensor&, const OptionalTensor&, const OptionalTensor&, bool,
                                 const Tensor&, const OptionalTensor&)>();
    auto [gu, gdelta, gA, gB, gC, gD, gz, gbias] =
        op.call(saved[0], saved[1], saved[2], saved[3], saved[4], D, z, delta_bias,
                ctx->saved_data["delta_softplus"].toBool(), grad_out, grad_last_state);
    return {gu, gdelta, gA, gB, gC, D ? gD : Tensor(), z ? gz : Tensor(), delta_bias ? gbias : Tensor(),
            Tensor()};
  }
};

std::tuple<Tensor, Tensor> selective_scan_autograd(const Tensor& u, const Tensor& delta, const Tensor& A,
                                                   const Tensor& B, const Tensor& C, const OptionalTensor& D,
                                                   const OptionalTensor& z, const OptionalTensor& delta_bias,
                                                   bool delta_softplus) {
  auto outputs = SelectiveScanFunction::apply(u, delta, A, B, C, D, z, delta_bias, delta_softplus);
  return {outputs[0], outputs[1]};
}

}  // namespace

TORCH_LIBRARY_IMPL(affectkit, CPU, m) {
  m.impl("causal_conv1d", &causal_conv1d_cpu);
  m.impl("causal_conv1d_backward", &causal_conv1d_backward_cpu);
  m.impl("selective_scan", &selective_scan_cpu);
  m.impl("selective_scan_backward", &selective_scan_backward_cpu);
}

TORCH_LIBRARY_IMPL(affectkit, Meta, m) {
  m.impl("causal_conv1d", &causal_conv1d_meta);
  m.impl("causal_conv1d_backward", &causal_conv1d_backward_meta);
  m.impl("selective_scan", &selective_scan_meta);
  m.impl("selective_scan_backward", &selective_scan_backward_meta);
}

TORCH_LIBRARY_IMPL(affectkit, Autograd, m) {
  m.impl("causal_conv1d", &causal_conv1d_autograd);
  // The backward has no derivative of its own: a second backward through it
  // (create_graph=True) raises instead of silently returning zeros.
  m.impl("causal_conv1d_backward", torch::autograd::autogradNotImplementedFallback());
  m.impl("selective_scan", &selective_scan_autograd);
  m.impl("selective_scan_backward", torch::autograd::autogradNotImplementedFallback());
}

}  // namespace affectkit::torch_ops
