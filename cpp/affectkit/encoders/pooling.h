// Pooling of frame embeddings to one vector per sequence, over each sequence's valid
// frames only (key_padding_mask (batch, frames), nonzero = padding, or nullptr).
// x is (batch, frames, dim) float32, contiguous; every sequence needs a valid frame.
#pragma once

#include <cstdint>
#include <vector>

#include "affectkit/encoders/attention.h"

namespace affectkit {

// out (batch, 2 dim) = [mean, std] over the valid frames, std = sqrt(max(var, eps))
// with the biased variance (SpeechBrain's statistics pooling of x-vectors/ECAPA).
void statistics_pooling(const float* x, std::int64_t batch, std::int64_t frames, std::int64_t dim,
                        const std::uint8_t* key_padding_mask, float eps, float* out, int num_threads);

// Attentive statistics pooling (Okabe et al., Interspeech 2018): frame scores
// e_t = score . tanh(projection(x_t)), weights alpha = softmax over the valid frames,
// out (batch, 2 dim) = [sum alpha x, sqrt(max(sum alpha (x - mean)^2, eps))].
// projection: (attention_dim, dim); score: attention_dim values.
void attentive_statistics_pooling(const float* x, std::int64_t batch, std::int64_t frames, std::int64_t dim,
                                  const std::uint8_t* key_padding_mask, const Linear& projection,
                                  const std::vector<float>& score, float eps, float* out, int num_threads);

// Frame-level attention pooling: h = multi-head self-attention over the valid frames,
// frame weights alpha = softmax(score . h_t), out (batch, dim) = sum alpha h.
void frame_attention_pooling(const float* x, std::int64_t batch, std::int64_t frames, std::int64_t dim,
                             const std::uint8_t* key_padding_mask, const MultiHeadAttention& attention,
                             const std::vector<float>& score, float* out, int num_threads);

}  // namespace affectkit
