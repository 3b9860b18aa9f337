// Depthwise causal 1-D convolution, the short convolution inside every Mamba block
// (semantics of causal-conv1d's causal_conv1d_fn):
//   out[b, c, t] = act(bias[c] + sum_k weight[c, k] * x[b, c, t - (width - 1) + k]),
// with x taken as zero before t = 0 and act the identity or SiLU.
#pragma once

#include <cstdint>

namespace affectkit {

struct CausalConv1dShape {
  std::int64_t batch = 0;
  std::int64_t channels = 0;
  std::int64_t length = 0;
  std::int64_t width = 0;
};

// Checks the shape (any width >= 1) and returns it.
const CausalConv1dShape& check_causal_conv1d_shape(const CausalConv1dShape& shape);

// All arrays contiguous: x and out (batch, channels, length), weight (channels, width),
// bias (channels,) or nullptr.
template <typename T>
void causal_conv1d_forward(const T* x, const T* weight, const T* bias, T* out,
                           const CausalConv1dShape& shape, bool silu, int num_threads);

// Gradients of the loss given grad_out = dL/dout. grad_bias may be nullptr
// (no bias); bias may be nullptr. Recomputes the pre-activation when silu.
template <typename T>
void causal_conv1d_backward(const T* x, const T* weight, const T* bias, const T* grad_out,
                            T* grad_x, T* grad_weight, T* grad_bias,
                            const CausalConv1dShape& shape, bool silu, int num_threads);

}  // namespace affectkit
