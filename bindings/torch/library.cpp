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
  m.def(
      "selective_scan(Tensor u, Tensor delta, Tensor A, Tensor B, Tensor C, Tensor? D=None,"
      " Tensor? z=None, Tensor? delta_bias=None, bool delta_softplus=False) -> (Tensor, Tensor)");
  m.def(
      "selective_scan_backward(Tensor u, Tensor delta, Tensor A, Tensor B, Tensor C, Tensor? D,"
      " Tensor? z, Tensor? delta_bias, bool delta_softplus, Tensor grad_out, Tensor? grad_last_state)"
      " -> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)");
}
