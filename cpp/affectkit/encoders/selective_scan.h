// Mamba's selective scan (semantics of mamba-ssm's selective_scan_fn):
//   dt[b, d, t] = delta[b, d, t] + delta_bias[d], then softplus if asked
//                 (torch's softplus: linear above 20, as the reference)
//   h[b, d, n] <- exp(dt A[d, n]) h[b, d, n] + dt B[., n, t] u[b, d, t]   (h = 0 before t = 0)
//   y[b, d, t]  = sum_n C[., n, t] h[b, d, n] + D[d] u[b, d, t], times silu(z[b, d, t])
// B and C are each either shared, (dim, state), or per batch element and time,
// (batch, groups, state, length), where dim d reads group d / (dim / groups)
// (the 3-D (batch, state, length) layout is groups = 1).
// Complex A (W = std::complex<T>, as selective_scan_fn allows): the state, B and
// C are complex and y is 2 Re(sum_n C h) (the reference's y.real * 2, a
// conjugate pair of modes). Shared B and C are complex like A; the variable ones
// are real arrays whose last axis holds (real, imag) pairs, (..., state, 2 length),
// which is the memory of a complex (..., state, length) array, so the kernel
// reads them as W and the bindings only reinterpret the pointer.
// Fused: each (batch, dim) row runs in chunks of time steps with buffers of
// (chunk, state); nothing of size (batch, length, dim, state) is made.
#pragma once

#include <cstdint>
#include <vector>

namespace affectkit {

struct SelectiveScanShape {
  std::int64_t batch = 0;
  std::int64_t dim = 0;
  std::int64_t length = 0;
  std::int64_t state = 0;
  // 0: shared (dim, state); >= 1: (batch, groups, state, length).
  std::int64_t B_groups = 0;
  std::int64_t C_groups = 0;
};

// Checks the shape (groups must divide dim) and returns it.
const SelectiveScanShape& check_selective_scan_shape(const SelectiveScanShape& shape);

// The scan's shape from its arguments' shapes (as selective_scan_fn takes them:
// B and C 2-D, 3-D or 4-D), checked; errors name the argument and the shape
// expected. Optional arguments are nullptr when absent. One place for the
// numpy and torch bindings.
using Dims = std::vector<std::int64_t>;
// complex_A: variable B and C have 2 length values along time (real, imag).
SelectiveScanShape selective_scan_shape(const Dims& u, const Dims& delta, const Dims& A, const Dims& B,
                                        const Dims& C, const Dims* D, const Dims* z,
                                        const Dims* delta_bias, bool complex_A = false);

// The optional inputs and flags; pointers may be nullptr (absent). W is A's
// type: T, or std::complex<T>.
template <typename T, typename W = T>
struct SelectiveScanOptions {
  const T* D = nullptr;           // (dim,)
  const T* z = nullptr;           // (batch, dim, length)
  const T* delta_bias = nullptr;  // (dim,)
  // (batch, dim, state): the state before t = 0 (nullptr: zeros), so that a
  // stream continues from the previous chunk's last state.
  const W* initial_state = nullptr;
  bool delta_softplus = false;
};

// All arrays contiguous. u, delta, out: (batch, dim, length); A: (dim, state);
// B, C as in SelectiveScanShape. last_state (batch, dim, state) may be nullptr,
// or the same array as options.initial_state (each row reads its initial state
// before writing its last).
// Throws InvalidArgument naming the argument for non-finite inputs.
template <typename T, typename W = T>
void selective_scan_forward(const T* u, const T* delta, const W* A, const W* B, const W* C,
                            const SelectiveScanOptions<T, W>& options, T* out, W* last_state,
                            const SelectiveScanShape& shape, int num_threads);

// Gradients given grad_out = dL/dout and, optionally, grad_last_state =
// dL/dlast_state (nullptr: zero). Every gradient output has its input's shape;
// grad_D, grad_z, grad_delta_bias, grad_initial_state are written only when
// the input exists.
// Recomputes the forward pass: each row keeps the state at the start of every
// chunk (a checkpoint) and re-runs one chunk at a time walking backwards.
// Deterministic: the result does not depend on num_threads. A complex input's
// gradient is dL/dRe + i dL/dIm (PyTorch's convention for a real loss).
template <typename T, typename W = T>
struct SelectiveScanGradients {
  T* u = nullptr;
  T* delta = nullptr;
  W* A = nullptr;
  W* B = nullptr;
  W* C = nullptr;
  T* D = nullptr;
  T* z = nullptr;
  T* delta_bias = nullptr;
  W* initial_state = nullptr;
};

template <typename T, typename W = T>
void selective_scan_backward(const T* u, const T* delta, const W* A, const W* B, const W* C,
                             const SelectiveScanOptions<T, W>& options, const T* grad_out,
                             const W* grad_last_state, const SelectiveScanGradients<T, W>& grads,
                             const SelectiveScanShape& shape, int num_threads);

}  // namespace affectkit
