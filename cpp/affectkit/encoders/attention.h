// Transformer encoder inference in float32 with the semantics of PyTorch's
// torch.nn.TransformerEncoder in eval mode (no dropout), from its weights:
//   post-norm layer: x = norm1(x + SA(x));      x = norm2(x + FF(x))
//   pre-norm layer:  x = x + SA(norm1(x));      x = x + FF(norm2(x))
//   SA = multi-head self-attention (nn.MultiheadAttention), FF = linear2(act(linear1(x))),
// optionally preceded by an input projection and a positional embedding and followed
// by a final LayerNorm (affectkit.nn.AttentionEncoder's layout).
//
// Padding: frames flagged in a key padding mask are removed before the layers
// run (each sequence's kept frames are packed into consecutive rows), so they can
// be neither keys nor values of any other frame -- the masking is exact and costs
// nothing. Their output rows are zero, as in PyTorch's fast path.
#pragma once

#include <cstdint>
#include <vector>

namespace affectkit {

// A row-major float32 matrix. The weight structs hold plain vectors, not Eigen types:
// code compiled with other SIMD flags (tests, bindings) may create and free them.
struct Matrix {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<float> values;  // rows * cols
};

// y = x W^T + b with torch's (out_features, in_features) weight layout.
struct Linear {
  Matrix weight;
  std::vector<float> bias;  // out_features
};

struct LayerNorm {
  std::vector<float> weight;
  std::vector<float> bias;
  float eps = 1e-5f;
};

// nn.MultiheadAttention's parameters: in_proj (3 d, d) stacks the query, key and
// value projections; out_proj (d, d).
struct MultiHeadAttention {
  Linear in_proj;
  Linear out_proj;
  std::int64_t num_heads = 1;
};

enum class Activation { Relu, Gelu };  // Gelu: the exact (erf) form, torch's default

struct TransformerLayer {
  MultiHeadAttention self_attn;
  Linear linear1;  // (dim_feedforward, d_model)
  Linear linear2;  // (d_model, dim_feedforward)
  LayerNorm norm1;
  LayerNorm norm2;
};

enum class PositionalEncoding { None, Sinusoidal, Learned };

struct TransformerEncoderWeights {
  std::int64_t input_dim = 0;  // features per frame (d_model without an input projection)
  std::int64_t d_model = 0;
  bool norm_first = false;
  Activation activation = Activation::Relu;
  bool has_input_proj = false;
  Linear input_proj;  // (d_model, input_dim), when has_input_proj
  PositionalEncoding positional = PositionalEncoding::None;
  Matrix positional_table;  // (max_frames, d_model), when Learned
  std::vector<TransformerLayer> layers;
  bool has_final_norm = false;
  LayerNorm norm;  // when has_final_norm
};

// Checks every shape against d_model, input_dim and the heads (AK_CHECK naming the
// parameter), then returns the weights.
const TransformerEncoderWeights& check_transformer_encoder(const TransformerEncoderWeights& weights);

// Frames of a batch with their padding removed: sequence s owns rows
// [offsets[s], offsets[s + 1]) of a packed (rows, dim) matrix.
struct PackedFrames {
  std::vector<std::int64_t> offsets;  // batch + 1 values
  std::vector<std::int64_t> frames;   // for each packed row, its frame index in the batch row
};

// key_padding_mask (batch, frames): nonzero = padding (PyTorch's convention), or nullptr.
PackedFrames pack_frames(std::int64_t batch, std::int64_t frames, const std::uint8_t* key_padding_mask);

// Copies the kept rows of x (batch, frames, dim) to out (packed.offsets.back(), dim).
void gather_frames(const float* x, std::int64_t frames, std::int64_t dim, const PackedFrames& packed, float* out);

// Self-attention of each packed sequence (rows of x, dim = in_proj's input), written to
// out (same shape). Softmax in float with the maximum subtracted; parallel over
// sequence x head x block of queries.
void multi_head_self_attention(const MultiHeadAttention& attention, const float* x,
                               const std::vector<std::int64_t>& offsets, float* out, int num_threads);

// x (batch, frames, input_dim) -> out (batch, frames, d_model), all contiguous; padded
// frames of out are zero. Sequences longer than a learned positional table are refused.
void transformer_encoder_forward(const TransformerEncoderWeights& weights, const float* x, std::int64_t batch,
                                 std::int64_t frames, const std::uint8_t* key_padding_mask, float* out,
                                 int num_threads);

// Sinusoidal positional encoding of Vaswani et al. (2017):
// pe[t, 2i] = sin(t / 10000^(2i/d)), pe[t, 2i + 1] = cos(t / 10000^(2i/d)).
Matrix sinusoidal_positions(std::int64_t frames, std::int64_t d_model);

}  // namespace affectkit
