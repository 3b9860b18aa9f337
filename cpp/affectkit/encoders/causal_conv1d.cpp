#include "affectkit/encoders/causal_conv1d.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/thread_pool.h"

namespace affectkit {
namespace {

// Pre-activation of one (batch, channel) row: z[t] = bias + sum_k w[k] x[t - (W-1) + k].
// One pass per tap keeps the inner loop unit-stride and branch-free.
template <typename T>
void convolve_row(const T* x, const T* w, T bias, std::int64_t length, std::int64_t width, T* z) {
  std::fill(z, z + length, bias);
  for (std::int64_t k = 0; k < width; ++k) {
    const std::int64_t shift = width - 1 - k;  // z[t] uses x[t - shift]
    const T wk = w[k];
    for (std::int64_t t = shift; t < length; ++t) z[t] += wk * x[t - shift];
  }
}

template <typename T>
T sigmoid(T v) {
  return T(1) / (T(1) + std::exp(-v));
}

}  // namespace

const CausalConv1dShape& check_causal_conv1d_shape(const CausalConv1dShape& s) {
  AK_CHECK(s.batch >= 0, "x", "batch must be non-negative, got " << s.batch);
  AK_CHECK(s.channels >= 0, "x", "channels must be non-negative, got " << s.channels);
  AK_CHECK(s.length >= 0, "x", "length must be non-negative, got " << s.length);
  AK_CHECK(s.width >= 1, "weight", "width must be at least 1, got " << s.width);
  return s;
}

template <typename T>
void causal_conv1d_forward(const T* x, const T* weight, const T* bias, T* out,
                           const CausalConv1dShape& shape, bool silu, int num_threads) {
  const CausalConv1dShape& s = check_causal_conv1d_shape(shape);
  parallel_for(s.batch * s.channels, num_threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      const std::int64_t c = row % s.channels;
      T* z = out + row * s.length;
      convolve_row(x + row * s.length, weight + c * s.width, bias ? bias[c] : T(0), s.length,
                   s.width, z);
      if (silu) {
        for (std::int64_t t = 0; t < s.length; ++t) z[t] = z[t] * sigmoid(z[t]);
      }
    }
  });
}

template <typename T>
void causal_conv1d_backward(const T* x, const T* weight, const T* bias, const T* grad_out,
                            T* grad_x, T* grad_weight, T* grad_bias,
                            const CausalConv1dShape& shape, bool silu, int num_threads) {
  const CausalConv1dShape& s = check_causal_conv1d_shape(shape);
  // One task per channel: weight and bias gradients reduce over batch and time
  // inside the task, so no two threads write the same element.
  parallel_for(s.channels, num_threads, [&](std::int64_t begin, std::int64_t end) {
    std::vector<T> dz(s.length);
    std::vector<double> dw(s.width);  // reductions over batch x length in double
    for (std::int64_t c = begin; c < end; ++c) {
      const T* w = weight + c * s.width;
      std::fill(dw.begin(), dw.end(), 0.0);
      double db = 0.0;
      for (std::int64_t b = 0; b < s.batch; ++b) {
        const std::int64_t row = (b * s.channels + c) * s.length;
        const T* xr = x + row;
        const T* g = grad_out + row;
        if (silu) {
          // d silu(z)/dz = sigmoid(z) (1 + z (1 - sigmoid(z)))
          convolve_row(xr, w, bias ? bias[c] : T(0), s.length, s.width, dz.data());
          for (std::int64_t t = 0; t < s.length; ++t) {
            const T sg = sigmoid(dz[t]);
            dz[t] = g[t] * sg * (T(1) + dz[t] * (T(1) - sg));
          }
        } else {
          std::copy(g, g + s.length, dz.begin());
        }
        T* gx = grad_x + row;
        std::fill(gx, gx + s.length, T(0));
        for (std::int64_t k = 0; k < s.width; ++k) {
          const std::int64_t shift = s.width - 1 - k;
          const T wk = w[k];
          T acc = 0;
          for (std::int64_t t = shift; t < s.length; ++t) {
            gx[t - shift] += wk * dz[t];
            acc += dz[t] * xr[t - shift];
          }
          dw[k] += acc;
        }
        for (std::int64_t t = 0; t < s.length; ++t) db += dz[t];
      }
      for (std::int64_t k = 0; k < s.width; ++k) grad_weight[c * s.width + k] = static_cast<T>(dw[k]);
      if (grad_bias) grad_bias[c] = static_cast<T>(db);
    }
  });
}

template void causal_conv1d_forward<float>(const float*, const float*, const float*, float*,
                                           const CausalConv1dShape&, bool, int);
template void causal_conv1d_forward<double>(const double*, const double*, const double*, double*,
                                            const CausalConv1dShape&, bool, int);
template void causal_conv1d_backward<float>(const float*, const float*, const float*, const float*,
                                            float*, float*, float*, const CausalConv1dShape&, bool,
                                            int);
template void causal_conv1d_backward<double>(const double*, const double*, const double*,
                                             const double*, double*, double*, double*,
                                             const CausalConv1dShape&, bool, int);

}  // namespace affectkit
