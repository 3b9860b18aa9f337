// Inference of a stack of Mamba-1 blocks (Hugging Face MambaModel / mamba-ssm
// backbone without the token embedding) from plain weight arrays, with a
// recurrent state: the same call runs a whole sequence (state starting at zero)
// or the next chunk of a stream (state carried from the previous chunk).
//
// Per layer, on time-major (frames, d_model) rows:
//   h = h + out_proj(scan(silu(conv(x)), dt, B, C) * silu(z)),  (x, z) = in_proj(norm(h))
// and the output is norm_f(h). norm is RMSNorm, or LayerNorm when it has a bias.
//
// A bidirectional stack (Vision/Audio Mamba, affectkit.nn.Mamba(bidirectional=True))
// also scans the time-reversed x and z with its own conv, x_proj, dt_proj, A and D,
// reverses that output back and combines it with the forward one (sum, mean, or
// concatenated channels before out_proj). It runs whole sequences only: the
// reversed scan starts from the last frame, which a stream has not seen yet.
// With lengths, each sequence of a padded batch runs on its own frames only, so
// the reversed scan starts at its last valid frame, not at the padding.
#pragma once

#include <cstdint>
#include <vector>

namespace affectkit {

// How a bidirectional layer combines its two scans; none: unidirectional.
enum class MambaCombine { none, sum, mean, concat };

struct MambaStackShape {
  std::int64_t n_layer = 0;
  std::int64_t d_model = 0;
  std::int64_t d_inner = 0;
  std::int64_t d_state = 0;
  std::int64_t d_conv = 0;
  std::int64_t dt_rank = 0;
  double norm_eps = 1e-5;
  MambaCombine combine = MambaCombine::none;
};

// The weights of one scan direction, contiguous, in PyTorch's layouts. Optional: nullptr.
template <typename T>
struct MambaScanWeights {
  const T* conv_weight = nullptr;     // (d_inner, d_conv)
  const T* conv_bias = nullptr;       // (d_inner,)
  const T* x_proj_weight = nullptr;   // (dt_rank + 2 d_state, d_inner)
  const T* dt_proj_weight = nullptr;  // (d_inner, dt_rank)
  const T* dt_proj_bias = nullptr;    // (d_inner,), required
  const T* A_log = nullptr;           // (d_inner, d_state)
  const T* D = nullptr;               // (d_inner,)
};

// One layer's weights. reversed is read only when the shape's combine is not none.
template <typename T>
struct MambaLayerWeights {
  const T* norm_weight = nullptr;      // (d_model,)
  const T* norm_bias = nullptr;        // (d_model,): LayerNorm; nullptr: RMSNorm
  const T* in_proj_weight = nullptr;   // (2 d_inner, d_model)
  const T* in_proj_bias = nullptr;     // (2 d_inner,)
  MambaScanWeights<T> scan;            // the forward (causal) direction
  MambaScanWeights<T> reversed;        // the time-reversed direction (_b keys)
  const T* out_proj_weight = nullptr;  // (d_model, d_inner); (d_model, 2 d_inner) for concat
  const T* out_proj_bias = nullptr;    // (d_model,)
};

template <typename T>
struct MambaStackWeights {
  std::vector<MambaLayerWeights<T>> layers;
  const T* norm_f_weight = nullptr;  // (d_model,)
  const T* norm_f_bias = nullptr;    // (d_model,) or nullptr
};

// Checks the shape and the weights' presence; returns the shape.
const MambaStackShape& check_mamba_stack_shape(const MambaStackShape& shape);

// x, out: (batch, frames, d_model). conv_state: (batch, n_layer, d_inner,
// d_conv - 1), the last d_conv - 1 conv inputs; ssm_state: (batch, n_layer,
// d_inner, d_state). Both are read as the state before x and overwritten with
// the state after it (zeros before a sequence's first frame). Parallel over batch.
// A bidirectional stack (combine != none) takes conv_state and ssm_state as nullptr
// (whole sequences only). lengths (batch,), in [0, frames], or nullptr (every
// frame): sequence b is x[b, :lengths[b]] (as if run alone; its states are those
// after its last valid frame) and out[b, lengths[b]:] is zero.
template <typename T>
void mamba_stack_forward(const MambaStackShape& shape, const MambaStackWeights<T>& weights, const T* x,
                         std::int64_t batch, std::int64_t frames, const std::int64_t* lengths, T* conv_state,
                         T* ssm_state, T* out, int num_threads);

}  // namespace affectkit
