#include "affectkit/encoders/mamba.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/eigen.h"
#include "affectkit/common/thread_pool.h"
#include "affectkit/encoders/selective_scan.h"

namespace affectkit {
namespace {

template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstMap = Eigen::Map<const Matrix<T>>;
template <typename T>
using Row = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>;

template <typename T>
T silu(T v) {
  return v / (T(1) + std::exp(-v));
}

// out = x W^T (+ bias): x (rows, in), W (out, in), PyTorch's nn.Linear.
template <typename T>
void linear(const Matrix<T>& x, const T* weight, const T* bias, std::int64_t out_features, Matrix<T>& out) {
  const ConstMap<T> W(weight, out_features, x.cols());
  out.noalias() = x * W.transpose();
  if (bias) out.rowwise() += Row<T>(bias, out_features);
}

// RMSNorm (bias == nullptr) or LayerNorm over each row.
template <typename T>
void normalise(const Matrix<T>& x, const T* weight, const T* bias, double eps, Matrix<T>& out) {
  out.resize(x.rows(), x.cols());
  const Row<T> w(weight, x.cols());
  for (Eigen::Index t = 0; t < x.rows(); ++t) {
    if (bias) {
      const T mean = x.row(t).mean();
      const T var = (x.row(t).array() - mean).square().mean();
      out.row(t) = ((x.row(t).array() - mean) / std::sqrt(var + T(eps))) * w.array() + Row<T>(bias, x.cols()).array();
    } else {
      const T scale = T(1) / std::sqrt(x.row(t).squaredNorm() / T(x.cols()) + T(eps));
      out.row(t) = (x.row(t).array() * scale) * w.array();
    }
  }
}

// One scan direction on xz (frames, [x | z]): y (frames, d_inner) =
// scan(silu(conv(x)), dt, B, C) * silu(z), reading and updating conv_state
// (d_inner, d_conv - 1) and ssm_state (d_inner, d_state).
template <typename T>
struct ScanRunner {
  const MambaStackShape& s;
  const MambaScanWeights<T>& w;
  std::vector<T> A;  // -exp(A_log), (d_inner, d_state)
  Matrix<T> xc, x_dbl, dt, u_rows, dt_rows, z_rows, B_rows, C_rows, y_rows;

  ScanRunner(const MambaStackShape& shape, const MambaScanWeights<T>& weights)
      : s(shape), w(weights), A(shape.d_inner * shape.d_state) {
    for (std::size_t i = 0; i < A.size(); ++i) A[i] = -std::exp(w.A_log[i]);
  }

  void run(const Matrix<T>& xz, T* conv_state, T* ssm_state, Matrix<T>& y) {
    const std::int64_t frames = xz.rows(), E = s.d_inner, N = s.d_state, K = s.d_conv, R = s.dt_rank;
    // Causal depthwise conv over time; the K - 1 inputs before this chunk come from conv_state (E, K - 1).
    xc.resize(frames, E);
    for (std::int64_t t = 0; t < frames; ++t) {
      T* row = xc.row(t).data();
      for (std::int64_t c = 0; c < E; ++c) row[c] = w.conv_bias ? w.conv_bias[c] : T(0);
      for (std::int64_t k = 0; k < K; ++k) {
        const std::int64_t src = t + k - (K - 1);
        if (src >= 0) {
          const T* in = xz.row(src).data();
          for (std::int64_t c = 0; c < E; ++c) row[c] += w.conv_weight[c * K + k] * in[c];
        } else {
          for (std::int64_t c = 0; c < E; ++c) row[c] += w.conv_weight[c * K + k] * conv_state[c * (K - 1) + (K - 1 + src)];
        }
      }
      for (std::int64_t c = 0; c < E; ++c) row[c] = silu(row[c]);
    }
    // New conv state: the last K - 1 inputs of [old state, this chunk]. Ascending j
    // reads old entries at j + frames >= j, never one already overwritten.
    for (std::int64_t c = 0; c < E; ++c) {
      for (std::int64_t j = 0; j < K - 1; ++j) {
        const std::int64_t src = frames + j - (K - 1);  // index into this chunk
        conv_state[c * (K - 1) + j] = src >= 0 ? xz(src, c) : conv_state[c * (K - 1) + j + frames];
      }
    }

    linear<T>(xc, w.x_proj_weight, nullptr, R + 2 * N, x_dbl);  // (frames, [dt | B | C])
    dt.noalias() = x_dbl.leftCols(R) * ConstMap<T>(w.dt_proj_weight, E, R).transpose();
    // The selective-scan kernel on one sequence, time along rows: u, delta and z
    // (d_inner, frames); B and C (1, state, frames), the variable layout with one group.
    u_rows = xc.transpose();
    dt_rows = dt.transpose();
    z_rows = xz.rightCols(E).transpose();
    B_rows = x_dbl.middleCols(R, N).transpose();
    C_rows = x_dbl.rightCols(N).transpose();
    y_rows.resize(E, frames);
    SelectiveScanShape shape;
    shape.batch = 1;
    shape.dim = E;
    shape.length = frames;
    shape.state = N;
    shape.B_groups = shape.C_groups = 1;
    SelectiveScanOptions<T> options;
    options.D = w.D;
    options.z = z_rows.data();
    options.delta_bias = w.dt_proj_bias;
    options.delta_softplus = true;
    options.initial_state = ssm_state;
    // One thread: the stack is already parallel over its batch.
    selective_scan_forward(u_rows.data(), dt_rows.data(), A.data(), B_rows.data(), C_rows.data(), options,
                           y_rows.data(), ssm_state, shape, 1);
    y = y_rows.transpose();
  }
};

// One layer on one sequence: h (frames, d_model) += mixer(norm(h)).
template <typename T>
struct LayerRunner {
  const MambaStackShape& s;
  const MambaLayerWeights<T>& w;
  ScanRunner<T> scan, reversed;
  Matrix<T> normed, xz, xz_reversed, y, y_reversed, mixed;
  std::vector<T> reversed_conv_state, reversed_ssm_state;

  LayerRunner(const MambaStackShape& shape, const MambaLayerWeights<T>& weights)
      : s(shape),
        w(weights),
        scan(shape, weights.scan),
        reversed(shape, shape.combine == MambaCombine::none ? weights.scan : weights.reversed),
        reversed_conv_state(shape.d_inner * (shape.d_conv - 1)),
        reversed_ssm_state(shape.d_inner * shape.d_state) {}

  void run(Matrix<T>& h, T* conv_state, T* ssm_state) {
    const std::int64_t E = s.d_inner;
    normalise(h, w.norm_weight, w.norm_bias, s.norm_eps, normed);
    linear(normed, w.in_proj_weight, w.in_proj_bias, 2 * E, xz);  // (frames, [x | z])
    scan.run(xz, conv_state, ssm_state, y);
    if (s.combine != MambaCombine::none) {
      // The reversed direction: x and z in reverse time from zero states, its output reversed back.
      xz_reversed = xz.colwise().reverse();
      std::fill(reversed_conv_state.begin(), reversed_conv_state.end(), T(0));
      std::fill(reversed_ssm_state.begin(), reversed_ssm_state.end(), T(0));
      reversed.run(xz_reversed, reversed_conv_state.data(), reversed_ssm_state.data(), y_reversed);
      if (s.combine == MambaCombine::concat) {
        Matrix<T> both(y.rows(), 2 * E);
        both << y, y_reversed.colwise().reverse();
        y.swap(both);
      } else {
        y += y_reversed.colwise().reverse();
        if (s.combine == MambaCombine::mean) y /= T(2);
      }
    }
    linear(y, w.out_proj_weight, w.out_proj_bias, s.d_model, mixed);
    h += mixed;
  }
};

}  // namespace

const MambaStackShape& check_mamba_stack_shape(const MambaStackShape& s) {
  AK_CHECK(s.n_layer >= 0, "n_layer", "must be non-negative, got " << s.n_layer);
  AK_CHECK(s.d_model >= 1, "d_model", "must be positive, got " << s.d_model);
  AK_CHECK(s.d_inner >= 1, "d_inner", "must be positive, got " << s.d_inner);
  AK_CHECK(s.d_state >= 1, "d_state", "must be positive, got " << s.d_state);
  AK_CHECK(s.d_conv >= 1, "d_conv", "must be positive, got " << s.d_conv);
  AK_CHECK(s.dt_rank >= 1, "dt_rank", "must be positive, got " << s.dt_rank);
  AK_CHECK(s.norm_eps >= 0 && std::isfinite(s.norm_eps), "norm_eps", "must be finite and >= 0, got " << s.norm_eps);
  return s;
}

template <typename T>
void mamba_stack_forward(const MambaStackShape& shape, const MambaStackWeights<T>& weights, const T* x,
                         std::int64_t batch, std::int64_t frames, const std::int64_t* lengths, T* conv_state,
                         T* ssm_state, T* out, int num_threads) {
  const MambaStackShape& s = check_mamba_stack_shape(shape);
  AK_CHECK(static_cast<std::int64_t>(weights.layers.size()) == s.n_layer, "weights",
           "must hold n_layer = " << s.n_layer << " layers, got " << weights.layers.size());
  AK_CHECK(batch >= 0 && frames >= 0, "x", "batch and frames must be non-negative");
  check_finite(x, batch * frames * s.d_model, "x");
  for (std::int64_t b = 0; lengths && b < batch; ++b) {
    AK_CHECK(lengths[b] >= 0 && lengths[b] <= frames, "lengths",
             "must lie in [0, frames = " << frames << "], got " << lengths[b] << " at index " << b);
  }
  const bool whole = s.combine != MambaCombine::none;
  AK_CHECK(!whole || (conv_state == nullptr && ssm_state == nullptr), "conv_state",
           "must be None for a bidirectional stack: it runs whole sequences only (its time-reversed scan "
           "starts from the last frame), so it has no state to carry");
  AK_CHECK(whole || (conv_state != nullptr && ssm_state != nullptr), "conv_state",
           "a unidirectional stack needs conv_state and ssm_state");
  const std::int64_t conv_size = s.d_inner * (s.d_conv - 1), ssm_size = s.d_inner * s.d_state;
  parallel_for(batch, num_threads, [&](std::int64_t begin, std::int64_t end) {
    std::vector<LayerRunner<T>> runners;
    for (std::int64_t l = 0; l < s.n_layer; ++l) runners.emplace_back(s, weights.layers[l]);
    Matrix<T> h, normed;
    std::vector<T> zero_conv(whole ? conv_size : 0), zero_ssm(whole ? ssm_size : 0);  // whole sequences
    for (std::int64_t b = begin; b < end; ++b) {
      const std::int64_t valid = lengths ? lengths[b] : frames;
      h = ConstMap<T>(x + b * frames * s.d_model, valid, s.d_model);
      for (std::int64_t l = 0; l < s.n_layer; ++l) {
        if (whole) {
          std::fill(zero_conv.begin(), zero_conv.end(), T(0));
          std::fill(zero_ssm.begin(), zero_ssm.end(), T(0));
        }
        runners[l].run(h, whole ? zero_conv.data() : conv_state + (b * s.n_layer + l) * conv_size,
                       whole ? zero_ssm.data() : ssm_state + (b * s.n_layer + l) * ssm_size);
      }
      normalise(h, weights.norm_f_weight, weights.norm_f_bias, s.norm_eps, normed);
      T* out_b = out + b * frames * s.d_model;
      Eigen::Map<Matrix<T>>(out_b, valid, s.d_model) = normed;
      std::fill(out_b + valid * s.d_model, out_b + frames * s.d_model, T(0));  // padding
    }
  });
}

template void mamba_stack_forward<float>(const MambaStackShape&, const MambaStackWeights<float>&, const float*,
                                         std::int64_t, std::int64_t, const std::int64_t*, float*, float*, float*,
                                         int);
template void mamba_stack_forward<double>(const MambaStackShape&, const MambaStackWeights<double>&, const double*,
                                          std::int64_t, std::int64_t, const std::int64_t*, double*, double*,
                                          double*, int);

}  // namespace affectkit
