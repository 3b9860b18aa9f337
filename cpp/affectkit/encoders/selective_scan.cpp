#include "affectkit/encoders/selective_scan.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <string>
#include <type_traits>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/eigen.h"
#include "affectkit/common/thread_pool.h"
#include "affectkit/common/vector_math.h"

namespace affectkit {
namespace {

// Time steps per chunk: the chunk buffers, (chunk, state) each, stay in L1/L2,
// and the backward keeps one state checkpoint per chunk.
constexpr std::int64_t kChunk = 64;

// The same loops serve real and complex A (W = T or std::complex<T>): for real
// values conj is the identity and the output scale 1, so the real kernel is
// unchanged. The complex backward is the real one with the adjoint of each
// product taken against the conjugate of the other factor.
template <typename T>
T conj_of(T v) {
  return v;
}
template <typename T>
std::complex<T> conj_of(std::complex<T> v) {
  return std::conj(v);
}
template <typename T>
T real_of(T v) {
  return v;
}
template <typename T>
T real_of(std::complex<T> v) {
  return v.real();
}
template <typename W>
constexpr bool kIsComplex = !std::is_floating_point_v<W>;
// y = sum_n C h, and 2 Re of it for complex A (mamba-ssm: y.real * 2).
template <typename T, typename W>
constexpr T kOutputScale = kIsComplex<W> ? T(2) : T(1);
// A sum over time or batch, in double (std::complex<double> for complex A).
template <typename W>
using Wide = std::conditional_t<kIsComplex<W>, std::complex<double>, double>;

// The largest exponent exp_of takes: the float exp saturates above 88 (exp_inplace),
// and a larger dt A would overflow the state (an error, check_no_overflow).
template <typename T>
constexpr T kLargestExponent = sizeof(T) == 4 ? T(88) : T(709);

// exp(delta * A) > 1 (A > 0, or delta < 0 without softplus) grows the state without
// bound: its overflow is an error, never an Inf or a NaN (0 * Inf) in the output.
template <typename T>
void check_no_overflow(bool finite) {
  AK_CHECK(finite, "delta",
           "the scan's state overflowed " << (sizeof(T) == 4 ? "float32" : "float64")
                                          << ": exp(delta * A) > 1 makes it grow without bound (A must be "
                                             "negative and delta positive, e.g. delta_softplus=True)");
}

template <typename T>
void exp_of(T* values, std::int64_t count) {
  exp_inplace(values, count);
}
template <typename T>
void exp_of(std::complex<T>* values, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) values[i] = std::exp(values[i]);
}

template <typename W>
bool all_finite_values(const W* data, std::int64_t count) {
  if constexpr (kIsComplex<W>) {
    return all_finite(reinterpret_cast<const typename W::value_type*>(data), 2 * count);
  } else {
    return all_finite(data, count);
  }
}

// Throws for a non-finite value in row [offset, offset + count) of argument,
// naming its index in the whole array (the slow pass runs only on failure).
template <typename T>
void check_finite_row(const T* data, std::int64_t offset, std::int64_t count, const char* argument) {
  if (all_finite(data + offset, count)) return;
  for (std::int64_t i = offset; i < offset + count; ++i) {
    AK_CHECK(std::isfinite(data[i]), argument,
             "must be finite, found " << data[i] << " at flat index " << i);
  }
}

// B or C as (length, state) rows, one per time step, with `step` values between
// steps: the shared layout is the row's own state vector (step 0); the variable
// layout, (state, length), is transposed once per (batch, group) into a buffer
// that every dim of the group then reads (a task's dims are consecutive, so
// mostly share it).
template <typename T>
class ParameterRows {
 public:
  ParameterRows(const T* p, std::int64_t groups, const SelectiveScanShape& s)
      : p_(p), groups_(groups), s_(s), step_(groups ? s.state : 0) {}

  // Offset of row (b, d) in the argument itself (its layout, not the transpose).
  std::int64_t offset(std::int64_t b, std::int64_t d) const {
    if (groups_ == 0) return d * s_.state;
    return (b * groups_ + d / (s_.dim / groups_)) * s_.state * s_.length;
  }

  const T* rows(std::int64_t b, std::int64_t d) {
    if (groups_ == 0) return p_ + offset(b, d);
    const std::int64_t key = offset(b, d);
    if (key != key_) {
      const std::int64_t N = s_.state, L = s_.length;
      transposed_.resize(N * L);
      for (std::int64_t n = 0; n < N; ++n) {
        for (std::int64_t t = 0; t < L; ++t) transposed_[t * N + n] = p_[key + n * L + t];
      }
      key_ = key;
    }
    return transposed_.data();
  }

  std::int64_t step() const { return step_; }

 private:
  const T* p_;
  std::int64_t groups_;
  const SelectiveScanShape& s_;
  std::int64_t step_;
  std::int64_t key_ = -1;
  std::vector<T> transposed_;
};

// out[i] = sum_n x[i, n] v[i * v_step + n] for a (rows, cols) row-major x: the
// per-step sums over the state, done after a chunk's recurrence so that the
// recurrence itself has no horizontal reduction (Eigen vectorises these).
template <typename T>
void row_dots(const T* x, std::int64_t rows, std::int64_t cols, const T* v, std::int64_t v_step, T* out) {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  const Eigen::Map<const Matrix> X(x, rows, cols);
  Eigen::Map<Vector> y(out, rows);
  if (v_step == 0) {
    y.noalias() = X * Eigen::Map<const Vector>(v, cols);
  } else {
    const Eigen::Map<const Matrix, 0, Eigen::OuterStride<>> V(v, rows, cols, Eigen::OuterStride<>(v_step));
    y = X.cwiseProduct(V).rowwise().sum();
  }
}

// One (batch, dim) row of the scan and its chunk buffers.
template <typename T, typename W>
struct Row {
  const SelectiveScanShape& s;
  const T* u;
  const T* delta;
  const T* z;
  const W* A;
  const W* B;  // (length, state) rows, B_step apart (ParameterRows)
  const W* C;
  std::int64_t B_step;
  std::int64_t C_step;
  T D;
  T bias;
  const W* initial_state;  // (batch, dim, state) or nullptr
  bool softplus;
  T A_min = 0, A_max = 0;  // of Re(A[n]), n < state

  // Per chunk: dt, sigmoid(z) and silu(z) (the gate), (chunk,); exp(dt A) and
  // the state after each step, (chunk, state); C h per step, (chunk,).
  std::vector<T> dt, dtu, z_sigmoid, gate;
  std::vector<W> dA, states, dots;

  Row(const SelectiveScanShape& shape, const T* u_, const T* delta_, const W* A_, ParameterRows<W>& B_rows,
      ParameterRows<W>& C_rows, const SelectiveScanOptions<T, W>& o, std::int64_t b, std::int64_t d)
      : s(shape),
        u(u_ + (b * shape.dim + d) * shape.length),
        delta(delta_ + (b * shape.dim + d) * shape.length),
        z(o.z ? o.z + (b * shape.dim + d) * shape.length : nullptr),
        A(A_ + d * shape.state),
        B(B_rows.rows(b, d)),
        C(C_rows.rows(b, d)),
        B_step(B_rows.step()),
        C_step(C_rows.step()),
        D(o.D ? o.D[d] : T(0)),
        bias(o.delta_bias ? o.delta_bias[d] : T(0)),
        initial_state(o.initial_state),
        softplus(o.delta_softplus),
        dt(kChunk),
        dtu(kChunk),
        z_sigmoid(kChunk),
        gate(kChunk, T(1)),
        dA(kChunk * shape.state),
        states(kChunk * shape.state),
        dots(kChunk) {
    for (std::int64_t n = 0; n < shape.state; ++n) {
      A_min = n ? std::min(A_min, real_of(A[n])) : real_of(A[n]);
      A_max = n ? std::max(A_max, real_of(A[n])) : real_of(A[n]);
    }
  }

  // h = the state before t = 0 of row r (batch * dim + d).
  void start(W* h, std::int64_t r) const {
    if (initial_state) {
      std::copy(initial_state + r * s.state, initial_state + (r + 1) * s.state, h);
    } else {
      std::fill(h, h + s.state, W(0));
    }
  }

  static constexpr std::int64_t kLanes = 64 / sizeof(W);

  // State entries [n0, state) in blocks of V, then V / 2, ..., 1 for the rest.
  template <std::int64_t V>
  void scan_blocks(std::int64_t t0, std::int64_t k, std::int64_t n0, W* h) {
    const std::int64_t N = s.state;
    for (; n0 + V <= N; n0 += V) {
      W block[V];
      std::copy(h + n0, h + n0 + V, block);
      for (std::int64_t i = 0; i < k; ++i) {
        const W* a = dA.data() + i * N + n0;
        const W* bt = B + (t0 + i) * B_step + n0;
        W* now = states.data() + i * N + n0;
        const T d = dtu[i];
#pragma omp simd
        for (std::int64_t v = 0; v < V; ++v) {
          block[v] = a[v] * block[v] + d * bt[v];
          now[v] = block[v];
        }
      }
      std::copy(block, block + V, h + n0);
    }
    if constexpr (V > 1) scan_blocks<V / 2>(t0, k, n0, h);
  }

  // Fills dt, the gate and exp(dt A) for steps [t0, t0 + k).
  void load_chunk(std::int64_t t0, std::int64_t k) {
    const std::int64_t N = s.state;
    for (std::int64_t i = 0; i < k; ++i) dt[i] = delta[t0 + i] + bias;
    if (softplus) softplus_inplace(dt.data(), k);
    if (z) {
      std::copy(z + t0, z + t0 + k, z_sigmoid.begin());
      sigmoid_inplace(z_sigmoid.data(), k);
      for (std::int64_t i = 0; i < k; ++i) gate[i] = z[t0 + i] * z_sigmoid[i];
    }
    T largest = 0;  // of Re(dt A) over the chunk, from the extremes of Re(A)
    for (std::int64_t i = 0; i < k; ++i) largest = std::max(largest, dt[i] * (dt[i] >= 0 ? A_max : A_min));
    check_no_overflow<T>(largest <= kLargestExponent<T>);
    for (std::int64_t i = 0; i < k; ++i) {
      for (std::int64_t n = 0; n < N; ++n) dA[i * N + n] = dt[i] * A[n];
    }
    exp_of(dA.data(), k * N);
  }

  // Advances h through the loaded chunk, keeping the state after every step in
  // `states`, (k, state); y[i] = C h after step i (y may be nullptr).
  // The state is advanced in blocks of up to one vector register (64 bytes), each
  // kept in registers through all the chunk's steps, so that the step-to-step
  // dependency is one multiply-add; advancing the whole state per step instead
  // stored it and loaded it back every step, and that store-to-load latency was
  // the forward's critical path.
  void scan_chunk(std::int64_t t0, std::int64_t k, W* h, T* y) {
    for (std::int64_t i = 0; i < k; ++i) dtu[i] = dt[i] * u[t0 + i];
    scan_blocks<kLanes>(t0, k, 0, h);
    if (!y) return;
    const std::int64_t N = s.state;
    if constexpr (kIsComplex<W>) {
      row_dots(states.data(), k, N, C + t0 * C_step, C_step, dots.data());
      for (std::int64_t i = 0; i < k; ++i) y[i] = kOutputScale<T, W> * dots[i].real();
    } else {
      row_dots(states.data(), k, N, C + t0 * C_step, C_step, y);
    }
  }
};

template <typename T, typename W>
void check_inputs_finite(const W* A, const W* B, const W* C, const SelectiveScanOptions<T, W>& o,
                         const SelectiveScanShape& s) {
  check_finite(A, s.dim * s.state, "A");
  check_finite(B, s.B_groups ? s.batch * s.B_groups * s.state * s.length : s.dim * s.state, "B");
  check_finite(C, s.C_groups ? s.batch * s.C_groups * s.state * s.length : s.dim * s.state, "C");
  if (o.D) check_finite(o.D, s.dim, "D");
  if (o.delta_bias) check_finite(o.delta_bias, s.dim, "delta_bias");
  if (o.initial_state) check_finite(o.initial_state, s.batch * s.dim * s.state, "initial_state");
}

// Number of dim slices per batch element in the backward: enough tasks for
// every hardware thread. It depends on the machine only (not on num_threads),
// so the order of every sum, and the result, does not change with threads.
std::int64_t backward_slices(const SelectiveScanShape& s) {
  const std::int64_t wanted = (2 * hardware_threads() + s.batch - 1) / std::max<std::int64_t>(s.batch, 1);
  return std::max<std::int64_t>(1, std::min<std::int64_t>(wanted, s.dim));
}

}  // namespace

const SelectiveScanShape& check_selective_scan_shape(const SelectiveScanShape& s) {
  AK_CHECK(s.batch >= 0, "u", "batch must be non-negative, got " << s.batch);
  AK_CHECK(s.dim >= 0, "u", "dim must be non-negative, got " << s.dim);
  AK_CHECK(s.length >= 0, "u", "length must be non-negative, got " << s.length);
  AK_CHECK(s.state >= 0, "A", "state must be non-negative, got " << s.state);
  AK_CHECK(s.B_groups >= 0 && (s.B_groups == 0 || s.dim % s.B_groups == 0), "B",
           "groups must divide dim " << s.dim << ", got " << s.B_groups);
  AK_CHECK(s.C_groups >= 0 && (s.C_groups == 0 || s.dim % s.C_groups == 0), "C",
           "groups must divide dim " << s.dim << ", got " << s.C_groups);
  return s;
}

namespace {

std::string format_dims(const Dims& dims) {
  std::string text = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + (dims.size() == 1 ? ",)" : ")");
}

// B or C: its groups (0 = shared) after checking its shape against the scan's.
// complex_A: a variable B or C holds `length` complex values as 2 length reals.
std::int64_t parameter_groups(const Dims& p, const char* argument, std::int64_t batch, std::int64_t dim,
                              std::int64_t state, std::int64_t length, bool complex_A) {
  if (complex_A && p.size() >= 3) {
    Dims complex_dims = p;
    AK_CHECK(p.back() == 2 * length, argument,
             "with complex A, a variable " << argument << " is real with (real, imag) pairs along time: its last "
                                           << "axis must be 2 * length = " << 2 * length << ", got "
                                           << format_dims(p));
    complex_dims.back() = length;
    return parameter_groups(complex_dims, argument, batch, dim, state, length, false);
  }
  if (p.size() == 2) {
    AK_CHECK(p == (Dims{dim, state}), argument,
             "must have shape (dim, state) = " << format_dims({dim, state}) << ", got " << format_dims(p));
    return 0;
  }
  if (p.size() == 3) {
    AK_CHECK(p == (Dims{batch, state, length}), argument,
             "must have shape (batch, state, length) = " << format_dims({batch, state, length}) << ", got "
                                                         << format_dims(p));
    return 1;
  }
  AK_CHECK(p.size() == 4, argument,
           "must have shape (dim, state), (batch, state, length) or (batch, groups, state, length), got "
               << format_dims(p));
  AK_CHECK(p[0] == batch && p[2] == state && p[3] == length && p[1] >= 1 && dim % p[1] == 0, argument,
           "must have shape (batch, groups, state, length) = (" << batch << ", groups, " << state << ", "
                                                                << length << ") with groups dividing dim "
                                                                << dim << ", got " << format_dims(p));
  return p[1];
}

void check_dims(const Dims& got, const Dims& expected, const char* argument, const char* layout) {
  AK_CHECK(got == expected, argument,
           "must have shape " << layout << " = " << format_dims(expected) << ", got " << format_dims(got));
}

}  // namespace

SelectiveScanShape selective_scan_shape(const Dims& u, const Dims& delta, const Dims& A, const Dims& B,
                                        const Dims& C, const Dims* D, const Dims* z,
                                        const Dims* delta_bias, bool complex_A) {
  AK_CHECK(u.size() == 3, "u", "must have shape (batch, dim, length), got " << format_dims(u));
  AK_CHECK(A.size() == 2, "A", "must have shape (dim, state), got " << format_dims(A));
  SelectiveScanShape s;
  s.batch = u[0];
  s.dim = u[1];
  s.length = u[2];
  s.state = A[1];
  check_dims(delta, u, "delta", "(batch, dim, length)");
  check_dims(A, {s.dim, s.state}, "A", "(dim, state)");
  s.B_groups = parameter_groups(B, "B", s.batch, s.dim, s.state, s.length, complex_A);
  s.C_groups = parameter_groups(C, "C", s.batch, s.dim, s.state, s.length, complex_A);
  if (D) check_dims(*D, {s.dim}, "D", "(dim,)");
  if (z) check_dims(*z, u, "z", "(batch, dim, length)");
  if (delta_bias) check_dims(*delta_bias, {s.dim}, "delta_bias", "(dim,)");
  return check_selective_scan_shape(s);
}

template <typename T, typename W>
void selective_scan_forward(const T* u, const T* delta, const W* A, const W* B, const W* C,
                            const SelectiveScanOptions<T, W>& options, T* out, W* last_state,
                            const SelectiveScanShape& shape, int num_threads) {
  const SelectiveScanShape& s = check_selective_scan_shape(shape);
  check_inputs_finite(A, B, C, options, s);
  parallel_for(s.batch * s.dim, num_threads, [&](std::int64_t begin, std::int64_t end) {
    std::vector<W> h(s.state);
    std::vector<T> y(kChunk);
    ParameterRows<W> B_rows(B, s.B_groups, s), C_rows(C, s.C_groups, s);
    for (std::int64_t r = begin; r < end; ++r) {
      const std::int64_t L = s.length;
      check_finite_row(u, r * L, L, "u");
      check_finite_row(delta, r * L, L, "delta");
      if (options.z) check_finite_row(options.z, r * L, L, "z");
      Row<T, W> row(s, u, delta, A, B_rows, C_rows, options, r / s.dim, r % s.dim);
      row.start(h.data(), r);
      T* o = out + r * L;
      for (std::int64_t t0 = 0; t0 < L; t0 += kChunk) {
        const std::int64_t k = std::min(kChunk, L - t0);
        row.load_chunk(t0, k);
        row.scan_chunk(t0, k, h.data(), y.data());
        for (std::int64_t i = 0; i < k; ++i) {
          o[t0 + i] = (y[i] + row.D * row.u[t0 + i]) * row.gate[i];
        }
      }
      check_no_overflow<T>(all_finite(o, L) && all_finite_values(h.data(), s.state));
      if (last_state) std::copy(h.begin(), h.end(), last_state + r * s.state);
    }
  });
}

template <typename T, typename W>
void selective_scan_backward(const T* u, const T* delta, const W* A, const W* B, const W* C,
                             const SelectiveScanOptions<T, W>& options, const T* grad_out,
                             const W* grad_last_state, const SelectiveScanGradients<T, W>& grads,
                             const SelectiveScanShape& shape, int num_threads) {
  const SelectiveScanShape& s = check_selective_scan_shape(shape);
  const std::int64_t N = s.state, L = s.length;
  const std::int64_t slices = backward_slices(s);
  const std::int64_t chunks = (L + kChunk - 1) / kChunk;

  // Per-row reductions over time (in double), summed over batch at the end in a
  // fixed order. Variable B/C gradients sum over the dims of a group: each
  // dim slice adds into its own copy, and the copies are summed at the end.
  std::vector<Wide<W>> row_A(s.batch * s.dim * N);
  std::vector<double> row_D(s.batch * s.dim), row_bias(s.batch * s.dim);
  std::vector<Wide<W>> row_B(s.B_groups ? 0 : s.batch * s.dim * N);
  std::vector<Wide<W>> row_C(s.C_groups ? 0 : s.batch * s.dim * N);
  const std::int64_t B_size = s.batch * s.B_groups * N * L, C_size = s.batch * s.C_groups * N * L;
  std::vector<W> B_copies(slices > 1 ? slices * B_size : 0), C_copies(slices > 1 ? slices * C_size : 0);
  if (s.B_groups && slices == 1) std::fill(grads.B, grads.B + B_size, W(0));
  if (s.C_groups && slices == 1) std::fill(grads.C, grads.C + C_size, W(0));

  parallel_for(s.batch * slices, num_threads, [&](std::int64_t begin, std::int64_t end) {
    std::vector<W> checkpoints(chunks * N), h(N), dh(N);
    std::vector<T> y_row(L);
    std::vector<Wide<W>> dA_acc(N), dB_acc(N), dC_acc(N);
    std::vector<W> dA_chunk(N), dB_chunk(kChunk * N), dC_chunk(kChunk * N);
    // Per step of a chunk: dL/dy, and the terms of the two sums over the state
    // (dL/d(dt A[n]) and dL/dh[n], conjugated), summed by row_dots after the chunk.
    std::vector<T> g_chunk(kChunk), d_dt(kChunk), d_dtu(kChunk), softplus_slope(kChunk);
    std::vector<W> d_dA_chunk(kChunk * N), dh_chunk(kChunk * N), dots(kChunk);
    ParameterRows<W> B_rows(B, s.B_groups, s), C_rows(C, s.C_groups, s);
    // Re of the per-step sums: dL/d(dt) through exp(dt A) and dL/d(dt u).
    auto real_row_dots = [&](const W* x, std::int64_t k, const W* v, std::int64_t v_step, T* out) {
      row_dots(x, k, N, v, v_step, dots.data());
      for (std::int64_t i = 0; i < k; ++i) out[i] = real_of(dots[i]);
    };
    // Variable layout: add (k, state) into the (state, length) row; shared: sum over steps.
    auto add_chunk = [&](const W* chunk, std::int64_t k, std::int64_t t0, W* variable_row, Wide<W>* shared) {
      for (std::int64_t n = 0; n < N; ++n) {
        if (variable_row) {
          for (std::int64_t i = 0; i < k; ++i) variable_row[n * L + t0 + i] += chunk[i * N + n];
        } else {
          Wide<W> total = 0;
          for (std::int64_t i = 0; i < k; ++i) total += Wide<W>(chunk[i * N + n]);
          shared[n] += total;
        }
      }
    };
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t b = task / slices, slice = task % slices;
      W* B_target = slices > 1 ? B_copies.data() + slice * B_size : grads.B;
      W* C_target = slices > 1 ? C_copies.data() + slice * C_size : grads.C;
      for (std::int64_t d = slice * s.dim / slices; d < (slice + 1) * s.dim / slices; ++d) {
        Row<T, W> row(s, u, delta, A, B_rows, C_rows, options, b, d);
        const std::int64_t r = b * s.dim + d;
        const T* g_out = grad_out + r * L;

        // Forward again, keeping the state at the start of every chunk and y.
        row.start(h.data(), r);
        for (std::int64_t c = 0; c < chunks; ++c) {
          const std::int64_t t0 = c * kChunk, k = std::min(kChunk, L - t0);
          std::copy(h.begin(), h.end(), checkpoints.begin() + c * N);
          row.load_chunk(t0, k);
          row.scan_chunk(t0, k, h.data(), y_row.data() + t0);
        }

        // Backward, one chunk at a time from the end: dh = dL/dh after step t.
        if (grad_last_state) {
          std::copy(grad_last_state + r * N, grad_last_state + (r + 1) * N, dh.begin());
        } else {
          std::fill(dh.begin(), dh.end(), W(0));
        }
        std::fill(dA_acc.begin(), dA_acc.end(), Wide<W>(0));
        std::fill(dB_acc.begin(), dB_acc.end(), Wide<W>(0));
        std::fill(dC_acc.begin(), dC_acc.end(), Wide<W>(0));
        double dD = 0, dbias = 0;
        W* dB_row = s.B_groups ? B_target + B_rows.offset(b, d) : nullptr;
        W* dC_row = s.C_groups ? C_target + C_rows.offset(b, d) : nullptr;
        for (std::int64_t c = chunks - 1; c >= 0; --c) {
          const std::int64_t t0 = c * kChunk, k = std::min(kChunk, L - t0);
          row.load_chunk(t0, k);
          std::copy(checkpoints.begin() + c * N, checkpoints.begin() + (c + 1) * N, h.begin());
          row.scan_chunk(t0, k, h.data(), nullptr);
          for (std::int64_t i = k - 1; i >= 0; --i) {
            const std::int64_t t = t0 + i;
            const T g = g_out[t] * row.gate[i];  // dL/dy
            if (options.z) {
              // d silu(z)/dz = sigmoid(z) (1 + z (1 - sigmoid(z)))
              const T sg = row.z_sigmoid[i];
              grads.z[r * L + t] =
                  g_out[t] * (y_row[t] + row.D * row.u[t]) * sg * (T(1) + row.z[t] * (T(1) - sg));
            }
            dD += double(g) * row.u[t];
            g_chunk[i] = g;
            const T g_sum = g * kOutputScale<T, W>;  // dL/d(sum_n C h)
            const T dt = row.dt[i];
            const W* a = row.dA.data() + i * N;
            const W* ct = row.C + t * row.C_step;
            const W* h_now = row.states.data() + i * N;
            const W* h_prev = i > 0 ? row.states.data() + (i - 1) * N : checkpoints.data() + c * N;
            const T dtu = dt * row.u[t];
            W* dB_step = dB_chunk.data() + i * N;
            W* dC_step = dC_chunk.data() + i * N;
            W* d_dA_step = d_dA_chunk.data() + i * N;
            W* dh_step = dh_chunk.data() + i * N;
#pragma omp simd
            for (std::int64_t n = 0; n < N; ++n) {
              const W dhn = dh[n] + conj_of(ct[n]) * g_sum;
              const W d_dA = dhn * conj_of(h_prev[n] * a[n]);  // dL/d(dt A[n])
              d_dA_step[n] = conj_of(d_dA);
              dh_step[n] = conj_of(dhn);
              dC_step[n] = g_sum * conj_of(h_now[n]);
              dB_step[n] = dhn * dtu;
              dA_chunk[n] += d_dA * dt;
              dh[n] = dhn * conj_of(a[n]);
            }
          }
          // dL/d(dt) through exp(dt A) and dL/d(dt u), per step (Re(sum conj(x) v) =
          // Re(sum x conj(v)), hence the conjugates stored above), then u, delta, delta_bias.
          real_row_dots(d_dA_chunk.data(), k, row.A, 0, d_dt.data());
          real_row_dots(dh_chunk.data(), k, row.B + t0 * row.B_step, row.B_step, d_dtu.data());
          if (row.softplus) {  // d softplus(v)/dv = sigmoid(v), 1 where softplus is linear
            for (std::int64_t i = 0; i < k; ++i) softplus_slope[i] = row.delta[t0 + i] + row.bias;
            sigmoid_inplace(softplus_slope.data(), k);
            for (std::int64_t i = 0; i < k; ++i) {
              if (row.delta[t0 + i] + row.bias > T(20)) softplus_slope[i] = T(1);
            }
          }
          for (std::int64_t i = k - 1; i >= 0; --i) {
            const std::int64_t t = t0 + i;
            const T dt = row.dt[i], ut = row.u[t];
            grads.u[r * L + t] = d_dtu[i] * dt + g_chunk[i] * row.D;
            T d_delta = d_dt[i] + d_dtu[i] * ut;
            if (row.softplus) d_delta *= softplus_slope[i];
            grads.delta[r * L + t] = d_delta;
            dbias += d_delta;
          }
          // The chunk's B and C gradients, (k, state), into their layouts; sums in double.
          for (std::int64_t n = 0; n < N; ++n) {
            dA_acc[n] += Wide<W>(dA_chunk[n]);
            dA_chunk[n] = W(0);
          }
          add_chunk(dB_chunk.data(), k, t0, dB_row, dB_acc.data());
          add_chunk(dC_chunk.data(), k, t0, dC_row, dC_acc.data());
        }
        if (grads.initial_state) std::copy(dh.begin(), dh.end(), grads.initial_state + r * N);
        std::copy(dA_acc.begin(), dA_acc.end(), row_A.begin() + r * N);
        if (!s.B_groups) std::copy(dB_acc.begin(), dB_acc.end(), row_B.begin() + r * N);
        if (!s.C_groups) std::copy(dC_acc.begin(), dC_acc.end(), row_C.begin() + r * N);
        row_D[r] = dD;
        row_bias[r] = dbias;
      }
    }
  });

  // Sums over batch (per-dim parameters) and over slices (variable B, C).
  auto sum_over_batch = [&](const auto& rows, std::int64_t width, auto* out) {
    using Out = std::remove_pointer_t<decltype(out)>;
    for (std::int64_t i = 0; i < s.dim * width; ++i) {
      typename std::decay_t<decltype(rows)>::value_type total = 0;
      for (std::int64_t b = 0; b < s.batch; ++b) total += rows[b * s.dim * width + i];
      out[i] = static_cast<Out>(total);
    }
  };
  sum_over_batch(row_A, N, grads.A);
  if (!s.B_groups) sum_over_batch(row_B, N, grads.B);
  if (!s.C_groups) sum_over_batch(row_C, N, grads.C);
  if (options.D) sum_over_batch(row_D, 1, grads.D);
  if (options.delta_bias) sum_over_batch(row_bias, 1, grads.delta_bias);
  auto sum_copies = [&](const std::vector<W>& copies, std::int64_t size, W* out) {
    parallel_for(size, num_threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        W total = 0;
        for (std::int64_t k = 0; k < slices; ++k) total += copies[k * size + i];
        out[i] = total;
      }
    });
  };
  if (s.B_groups && slices > 1) sum_copies(B_copies, B_size, grads.B);
  if (s.C_groups && slices > 1) sum_copies(C_copies, C_size, grads.C);
}

#define AK_INSTANTIATE_SCAN(T, W)                                                                      \
  template void selective_scan_forward<T, W>(const T*, const T*, const W*, const W*, const W*,               \
                                             const SelectiveScanOptions<T, W>&, T*, W*,                      \
                                             const SelectiveScanShape&, int);                                \
  template void selective_scan_backward<T, W>(const T*, const T*, const W*, const W*, const W*,              \
                                              const SelectiveScanOptions<T, W>&, const T*, const W*,         \
                                              const SelectiveScanGradients<T, W>&, const SelectiveScanShape&, \
                                              int);
AK_INSTANTIATE_SCAN(float, float)
AK_INSTANTIATE_SCAN(double, double)
AK_INSTANTIATE_SCAN(float, std::complex<float>)
AK_INSTANTIATE_SCAN(double, std::complex<double>)
#undef AK_INSTANTIATE_SCAN

}  // namespace affectkit
