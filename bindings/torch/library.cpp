// The affectkit torch op library: schemas for every op, and the core's
// parallel_for routed to at::parallel_for (torch's threads, torch.set_num_threads).
#include <ATen/Parallel.h>
#include <torch/library.h>

#include "affectkit/common/thread_pool.h"

namespace {

void torch_parallel_for(std::int64_t count, int /*num_threads*/,
                        const std::function<void(std::int64_t, std::int64_t)>& body) {
  at::parallel_for(0, count, 1, [&](std::int64_t begin, std::int64_t end) { body(begin, end); });
}

// Runs when torch.ops.load_library opens this library.
const bool parallel_backend_installed = [] {
  affectkit::set_parallel_for_backend(&torch_parallel_for);
  return true;
}();

}  // namespace

TORCH_LIBRARY(affectkit, m) {
  m.def(
      "causal_conv1d(Tensor x, Tensor weight, Tensor? bias=None, bool silu=False) -> Tensor");
  m.def(
      "causal_conv1d_backward(Tensor x, Tensor weight, Tensor? bias, Tensor grad_out, bool silu)"
      " -> (Tensor, Tensor, Tensor)");
  // ot.cpp: value, plan, f, g, cost, error, iterations (value = the objective, differentiable)
  m.def(
      "sinkhorn(Tensor a, Tensor b, Tensor M, float reg, str method=\"auto\", int numItermax=1000,"
      " float stopThr=1e-9, float epsilon_scaling=-1., Tensor? n_sizes=None, Tensor? m_sizes=None,"
      " float? reg_m=None) -> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)");
  m.def(
      "sinkhorn_backward(Tensor grad_value, Tensor a, Tensor b, Tensor M, Tensor plan, Tensor f, Tensor g,"
      " float reg, Tensor? n_sizes, Tensor? m_sizes, float? reg_m) -> (Tensor, Tensor, Tensor)");
  m.def(
      "selective_scan(Tensor u, Tensor delta, Tensor A, Tensor B, Tensor C, Tensor? D=None,"
      " Tensor? z=None, Tensor? delta_bias=None, bool delta_softplus=False) -> (Tensor, Tensor)");
  m.def(
      "selective_scan_backward(Tensor u, Tensor delta, Tensor A, Tensor B, Tensor C, Tensor? D,"
      " Tensor? z, Tensor? delta_bias, bool delta_softplus, Tensor grad_out, Tensor? grad_last_state)"
      " -> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)");
}
