// Torch ops over cpp/affectkit/ot: batched Sinkhorn whose objective is differentiable
// by the envelope theorem. At the optimum, d value / d M = P, d value / d a = f - reg log a
// and d value / d b = g - reg log b (GeomLoss's potentials), so the backward needs only
// the converged plan and potentials: its memory does not grow with the iterations.
#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/autograd_not_implemented_fallback.h>
#include <torch/library.h>

#include <limits>
#include <string>
#include <tuple>

#include "affectkit/ot/sinkhorn.h"
#include "tensor.h"

namespace affectkit::torch_ops {
namespace {

using at::Tensor;
using OptionalTensor = std::optional<Tensor>;
using SinkhornOutputs = std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor>;

OtBatchShape check_sinkhorn(const Tensor& a, const Tensor& b, const Tensor& M, const OptionalTensor& n_sizes,
                            const OptionalTensor& m_sizes) {
  check_float_cpu(M, "M");
  check_dim(M, "M", 3, "(batch, n, m)");
  check_dim(a, "a", 2, "(batch, n)");
  check_dim(b, "b", 2, "(batch, m)");
  check_same_dtype(a, M, "a", "M");
  check_same_dtype(b, M, "b", "M");
  TORCH_CHECK_VALUE(a.size(0) == M.size(0) && a.size(1) == M.size(1), "invalid argument 'a': must have shape ",
                    "(batch, n) = (", M.size(0), ", ", M.size(1), ") to match M, got ", a.sizes());
  TORCH_CHECK_VALUE(b.size(0) == M.size(0) && b.size(1) == M.size(2), "invalid argument 'b': must have shape ",
                    "(batch, m) = (", M.size(0), ", ", M.size(2), ") to match M, got ", b.sizes());
  for (const auto& [sizes, name] : {std::pair{&n_sizes, "n_sizes"}, std::pair{&m_sizes, "m_sizes"}}) {
    if (!*sizes) continue;
    TORCH_CHECK_TYPE((*sizes)->scalar_type() == at::kLong, "invalid argument '", name, "': must be int64, got ",
                     (*sizes)->scalar_type());
    TORCH_CHECK_VALUE((*sizes)->dim() == 1 && (*sizes)->size(0) == M.size(0), "invalid argument '", name,
                      "': must have shape (batch,) = (", M.size(0), ",), got ", (*sizes)->sizes());
  }
  return {M.size(0), M.size(1), M.size(2)};
}

SinkhornOutputs sinkhorn_cpu(const Tensor& a_in, const Tensor& b_in, const Tensor& M_in, double reg,
                             c10::string_view method, int64_t numItermax, double stopThr, double epsilon_scaling,
                             const OptionalTensor& n_sizes_in, const OptionalTensor& m_sizes_in,
                             std::optional<double> reg_m) {
  const OtBatchShape shape = check_sinkhorn(a_in, b_in, M_in, n_sizes_in, m_sizes_in);
  const Tensor a = a_in.contiguous(), b = b_in.contiguous(), M = M_in.contiguous();
  const OptionalTensor n_sizes = n_sizes_in ? OptionalTensor(n_sizes_in->contiguous()) : std::nullopt;
  const OptionalTensor m_sizes = m_sizes_in ? OptionalTensor(m_sizes_in->contiguous()) : std::nullopt;
  Tensor plan = at::empty_like(M), f = at::empty_like(a), g = at::empty_like(b);
  Tensor cost = at::empty({shape.batch}, M.options()), value = at::empty_like(cost), error = at::empty_like(cost);
  Tensor iterations = at::empty({shape.batch}, M.options().dtype(at::kLong));
  Tensor method_used = at::empty_like(iterations);
  dispatch_core(M.scalar_type(), [&](auto zero) {
    using T = decltype(zero);
    SinkhornParams params;
    params.reg = reg;
    params.method = parse_sinkhorn_method(std::string(method).c_str());
    params.max_iter = numItermax;
    params.stop_thr = stopThr;
    params.epsilon_scaling = epsilon_scaling;
    if (reg_m) params.reg_m = *reg_m;
    const SinkhornOutput<T> out{plan.data_ptr<T>(),  f.data_ptr<T>(),     g.data_ptr<T>(),
                                cost.data_ptr<T>(),  value.data_ptr<T>(), error.data_ptr<T>(),
                                iterations.data_ptr<int64_t>(), method_used.data_ptr<int64_t>()};
    sinkhorn(a.data_ptr<T>(), b.data_ptr<T>(), M.data_ptr<T>(),
             n_sizes ? n_sizes->data_ptr<int64_t>() : nullptr, m_sizes ? m_sizes->data_ptr<int64_t>() : nullptr,
             shape, params, out, 0);
  });
  return {value, plan, f, g, cost, error, iterations};
}

SinkhornOutputs sinkhorn_meta(const Tensor& a, const Tensor& b, const Tensor& M, double, c10::string_view,
                              int64_t, double, double, const OptionalTensor& n_sizes, const OptionalTensor& m_sizes,
                              std::optional<double>) {
  check_sinkhorn(a, b, M, n_sizes, m_sizes);
  const Tensor per_problem = at::empty({M.size(0)}, M.options());
  return {per_problem, at::empty_like(M, at::MemoryFormat::Contiguous), at::empty_like(a, at::MemoryFormat::Contiguous),
          at::empty_like(b, at::MemoryFormat::Contiguous), at::empty_like(per_problem), at::empty_like(per_problem),
          at::empty({M.size(0)}, M.options().dtype(at::kLong))};
}

// Entries [0, size) of each problem along dimension 1 of a (batch, length) tensor.
Tensor valid_mask(const OptionalTensor& sizes, int64_t batch, int64_t length, const Tensor& like) {
  const Tensor positions = at::arange(length, like.options().dtype(at::kLong)).unsqueeze(0);
  if (!sizes) return positions.expand({batch, length}) >= 0;
  return positions < sizes->to(like.device()).unsqueeze(1);
}

// The gradient of the objective with respect to the weights w on one side.
// Balanced: the potential minus reg log w (GeomLoss's potential); where w = 0
// (potential -inf) the same quantity from its definition, the soft c-transform
// -reg lse_j((g_j - M_ij) / reg) of the other side's potential.
// Unbalanced (reg_m): d/dw_i [reg KL(P | a b^T) + reg_m KL(P 1 | a)] at the optimal P,
// reg (|other| - r_i / w_i) + reg_m (1 - r_i / w_i) with r = P 1; where w = 0 the ratio
// r_i / w_i is its limit exp((1 - fi) lse_j((g_j - M_ij) / reg)), fi = reg_m / (reg_m + reg).
Tensor weight_gradient(const Tensor& potential, const Tensor& w, const Tensor& valid, const Tensor& other,
                       const Tensor& other_w, const Tensor& other_valid, const Tensor& costs, const Tensor& mass,
                       double reg, std::optional<double> reg_m) {
  const Tensor positive = w > 0;
  const Tensor safe_w = at::where(positive, w, at::ones_like(w));
  Tensor result = reg_m ? at::div(mass, safe_w) : potential - reg * at::log(safe_w);
  const Tensor zero_weights = positive.logical_not().logical_and(valid);
  if (zero_weights.any().item<bool>()) {
    const Tensor masked = at::where(other_valid, other, at::full_like(other, -std::numeric_limits<double>::infinity()));
    const Tensor lse = at::logsumexp((masked.unsqueeze(1) - costs) / reg, {2});
    const Tensor limit = reg_m ? at::exp(reg / (*reg_m + reg) * lse) : -reg * lse;
    result = at::where(zero_weights, limit, result);
  }
  if (reg_m) {
    const Tensor other_mass = at::where(other_valid, other_w, at::zeros_like(other_w)).sum(1, true);
    result = reg * (other_mass - result) + *reg_m * (1 - result);
  }
  return at::where(valid, result, at::zeros_like(result));
}

std::tuple<Tensor, Tensor, Tensor> sinkhorn_backward_cpu(const Tensor& grad_value, const Tensor& a, const Tensor& b,
                                                         const Tensor& M, const Tensor& plan, const Tensor& f,
                                                         const Tensor& g, double reg, const OptionalTensor& n_sizes,
                                                         const OptionalTensor& m_sizes, std::optional<double> reg_m) {
  const OtBatchShape shape = check_sinkhorn(a, b, M, n_sizes, m_sizes);
  const Tensor valid_rows = valid_mask(n_sizes, shape.batch, shape.n, M);
  const Tensor valid_columns = valid_mask(m_sizes, shape.batch, shape.m, M);
  const Tensor scale = grad_value.unsqueeze(1);
  const Tensor grad_M = scale.unsqueeze(2) * plan;
  const Tensor grad_a =
      scale * weight_gradient(f, a, valid_rows, g, b, valid_columns, M, plan.sum(2), reg, reg_m);
  const Tensor grad_b =
      scale * weight_gradient(g, b, valid_columns, f, a, valid_rows, M.transpose(1, 2), plan.sum(1), reg, reg_m);
  return {grad_a, grad_b, grad_M};
}

std::tuple<Tensor, Tensor, Tensor> sinkhorn_backward_meta(const Tensor&, const Tensor& a, const Tensor& b,
                                                          const Tensor& M, const Tensor&, const Tensor&,
                                                          const Tensor&, double, const OptionalTensor& n_sizes,
                                                          const OptionalTensor& m_sizes, std::optional<double>) {
  check_sinkhorn(a, b, M, n_sizes, m_sizes);
  return {at::empty_like(a, at::MemoryFormat::Contiguous), at::empty_like(b, at::MemoryFormat::Contiguous),
          at::empty_like(M, at::MemoryFormat::Contiguous)};
}

class SinkhornFunction : public torch::autograd::Function<SinkhornFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const Tensor& a,
                                                const Tensor& b, const Tensor& M, double reg,
                                                c10::string_view method, int64_t numItermax, double stopThr,
                                                double epsilon_scaling, const OptionalTensor& n_sizes,
                                                const OptionalTensor& m_sizes, std::optional<double> reg_m) {
    at::AutoDispatchBelowADInplaceOrView guard;
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("affectkit::sinkhorn", "")
                         .typed<SinkhornOutputs(const Tensor&, const Tensor&, const Tensor&, double, c10::string_view,
                                                int64_t, double, double, const OptionalTensor&,
                                                const OptionalTensor&, std::optional<double>)>();
    auto [value, plan, f, g, cost, error, iterations] =
        op.call(a, b, M, reg, method, numItermax, stopThr, epsilon_scaling, n_sizes, m_sizes, reg_m);
    ctx->save_for_backward({a, b, M, plan, f, g, n_sizes.value_or(Tensor()), m_sizes.value_or(Tensor())});
    ctx->saved_data["reg"] = reg;
    ctx->saved_data["reg_m"] = reg_m ? c10::IValue(*reg_m) : c10::IValue();
    ctx->mark_non_differentiable({error, iterations});
    ctx->set_materialize_grads(false);  // so that a gradient reaching another output is seen, not zeroed
    return {value, plan, f, g, cost, error, iterations};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    for (std::size_t k = 1; k < 5; ++k) {
      TORCH_CHECK(!grad_outputs[k].defined(),
                  "affectkit sinkhorn: only the objective (the first output, 'value') is differentiable; the "
                  "plan, potentials and <P, M> carry no gradient (the envelope theorem gives d value / d M = plan)");
    }
    const auto saved = ctx->get_saved_variables();
    const OptionalTensor n_sizes = saved[6].defined() ? OptionalTensor(saved[6]) : std::nullopt;
    const OptionalTensor m_sizes = saved[7].defined() ? OptionalTensor(saved[7]) : std::nullopt;
    torch::autograd::variable_list grads(11);
    const c10::IValue saved_reg_m = ctx->saved_data["reg_m"];
    const std::optional<double> reg_m =
        saved_reg_m.isNone() ? std::nullopt : std::optional<double>(saved_reg_m.toDouble());
    if (!grad_outputs[0].defined()) return grads;
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("affectkit::sinkhorn_backward", "")
                         .typed<std::tuple<Tensor, Tensor, Tensor>(
                             const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                             const Tensor&, double, const OptionalTensor&, const OptionalTensor&,
                             std::optional<double>)>();
    auto [grad_a, grad_b, grad_M] = op.call(grad_outputs[0], saved[0], saved[1], saved[2], saved[3], saved[4],
                                            saved[5], ctx->saved_data["reg"].toDouble(), n_sizes, m_sizes, reg_m);
    grads[0] = grad_a;
    grads[1] = grad_b;
    grads[2] = grad_M;
    return grads;
  }
};

SinkhornOutputs sinkhorn_autograd(const Tensor& a, const Tensor& b, const Tensor& M, double reg,
                                  c10::string_view method, int64_t numItermax, double stopThr, double epsilon_scaling,
                                  const OptionalTensor& n_sizes, const OptionalTensor& m_sizes,
                                  std::optional<double> reg_m) {
  auto out =
      SinkhornFunction::apply(a, b, M, reg, method, numItermax, stopThr, epsilon_scaling, n_sizes, m_sizes, reg_m);
  return {out[0], out[1], out[2], out[3], out[4], out[5], out[6]};
}

}  // namespace

TORCH_LIBRARY_IMPL(affectkit, CPU, m) {
  m.impl("sinkhorn", &sinkhorn_cpu);
  m.impl("sinkhorn_backward", &sinkhorn_backward_cpu);
}

TORCH_LIBRARY_IMPL(affectkit, Meta, m) {
  m.impl("sinkhorn", &sinkhorn_meta);
  m.impl("sinkhorn_backward", &sinkhorn_backward_meta);
}

TORCH_LIBRARY_IMPL(affectkit, Autograd, m) {
  m.impl("sinkhorn", &sinkhorn_autograd);
  // No second derivative: a double backward raises instead of returning zeros.
  m.impl("sinkhorn_backward", torch::autograd::autogradNotImplementedFallback());
}

}  // namespace affectkit::torch_ops
