#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/encoders/attention.h"
#include "affectkit/encoders/pooling.h"

namespace affectkit {
namespace {

// The test binary is not compiled with the core's SIMD flags, so it uses no Eigen:
// plain row-major vectors and loops.
std::vector<float> random_values(std::int64_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (auto& value : v) value = normal(rng);
  return v;
}

Matrix random_matrix(std::int64_t rows, std::int64_t cols, unsigned seed, float scale = 1.0f) {
  return {rows, cols, random_values(rows * cols, seed, scale)};
}

Linear random_linear(std::int64_t out, std::int64_t in, unsigned seed) {
  return {random_matrix(out, in, seed, 1.0f / std::sqrt(static_cast<float>(in))), random_values(out, seed + 1, 0.1f)};
}

float at(const Matrix& m, std::int64_t r, std::int64_t c) { return m.values[r * m.cols + c]; }

MultiHeadAttention random_attention(std::int64_t d, std::int64_t heads, unsigned seed) {
  return {random_linear(3 * d, d, seed), random_linear(d, d, seed + 2), heads};
}

// Self-attention of one sequence (frames, d) from the definition, in double:
// softmax(q_h k_h^T / sqrt(d_h)) v_h per head, concatenated, then out_proj.
std::vector<double> naive_attention(const MultiHeadAttention& a, const float* x, std::int64_t frames) {
  const std::int64_t d = a.out_proj.weight.rows;
  const std::int64_t dh = d / a.num_heads;
  auto project = [&](const Linear& f, const std::vector<double>& in, std::int64_t in_dim) {
    const std::int64_t out_dim = f.weight.rows;
    std::vector<double> out(frames * out_dim);
    for (std::int64_t t = 0; t < frames; ++t) {
      for (std::int64_t o = 0; o < out_dim; ++o) {
        double sum = f.bias[o];
        for (std::int64_t i = 0; i < in_dim; ++i) sum += at(f.weight, o, i) * in[t * in_dim + i];
        out[t * out_dim + o] = sum;
      }
    }
    return out;
  };
  const std::vector<double> xin(x, x + frames * d);
  const std::vector<double> qkv = project(a.in_proj, xin, d);
  std::vector<double> context(frames * d, 0.0);
  for (std::int64_t h = 0; h < a.num_heads; ++h) {
    for (std::int64_t q = 0; q < frames; ++q) {
      std::vector<double> p(frames);
      double max = -1e300, total = 0.0;
      for (std::int64_t k = 0; k < frames; ++k) {
        double s = 0.0;
        for (std::int64_t i = 0; i < dh; ++i) s += qkv[q * 3 * d + h * dh + i] * qkv[k * 3 * d + d + h * dh + i];
        p[k] = s / std::sqrt(static_cast<double>(dh));
        max = std::max(max, p[k]);
      }
      for (auto& v : p) total += (v = std::exp(v - max));
      for (std::int64_t k = 0; k < frames; ++k) {
        for (std::int64_t i = 0; i < dh; ++i) context[q * d + h * dh + i] += p[k] / total * qkv[k * 3 * d + 2 * d + h * dh + i];
      }
    }
  }
  return project(a.out_proj, context, d);
}

TEST(MultiHeadSelfAttention, MatchesDefinitionPerPackedSequence) {
  for (const std::int64_t heads : {1, 2, 4}) {
    const std::int64_t d = 8 * heads;
    const MultiHeadAttention a = random_attention(d, heads, 10 + heads);
    const std::vector<std::int64_t> offsets{0, 70, 71, 171};  // lengths 70, 1, 100 (several query blocks)
    const std::vector<float> x = random_values(offsets.back() * d, 3);
    std::vector<float> out(offsets.back() * d);
    multi_head_self_attention(a, x.data(), offsets, out.data(), 2);
    for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
      const std::vector<double> expected = naive_attention(a, x.data() + offsets[s] * d, offsets[s + 1] - offsets[s]);
      for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_NEAR(out[offsets[s] * d + i], expected[i], 2e-5) << "heads " << heads << " sequence " << s;
      }
    }
  }
}

TEST(PackFrames, KeepsUnpaddedFramesInOrder) {
  const std::vector<std::uint8_t> mask{0, 1, 0, 0,  1, 1, 1, 1,  0, 0, 0, 1};
  const PackedFrames packed = pack_frames(3, 4, mask.data());
  EXPECT_EQ(packed.offsets, (std::vector<std::int64_t>{0, 3, 3, 6}));
  EXPECT_EQ(packed.frames, (std::vector<std::int64_t>{0, 2, 3, 0, 1, 2}));
  EXPECT_EQ(pack_frames(2, 3, nullptr).offsets, (std::vector<std::int64_t>{0, 3, 6}));
}

TEST(SinusoidalPositions, VaswaniFormula) {
  const Matrix table = sinusoidal_positions(50, 7);
  for (std::int64_t t = 0; t < 50; ++t) {
    for (std::int64_t i = 0; i < 7; ++i) {
      const double angle = t / std::pow(10000.0, static_cast<double>(i - i % 2) / 7);
      EXPECT_NEAR(at(table, t, i), i % 2 ? std::cos(angle) : std::sin(angle), 1e-6);
    }
  }
}

TransformerEncoderWeights random_encoder(std::int64_t d, std::int64_t heads, std::int64_t d_ff, int layers,
                                         bool norm_first, Activation activation) {
  TransformerEncoderWeights w;
  w.d_model = w.input_dim = d;
  w.norm_first = norm_first;
  w.activation = activation;
  for (int i = 0; i < layers; ++i) {
    TransformerLayer layer;
    layer.self_attn = random_attention(d, heads, 100 + 10 * i);
    layer.linear1 = random_linear(d_ff, d, 104 + 10 * i);
    layer.linear2 = random_linear(d, d_ff, 106 + 10 * i);
    layer.norm1 = {std::vector<float>(d, 1.0f), std::vector<float>(d, 0.0f), 1e-5f};
    layer.norm2 = {random_values(d, 108 + 10 * i), random_values(d, 109 + 10 * i), 1e-5f};
    w.layers.push_back(layer);
  }
  return w;
}

// One post-norm ReLU layer from the definition on an unpadded sequence.
TEST(TransformerEncoder, OneLayerMatchesDefinition) {
  const std::int64_t d = 16, frames = 20;
  const TransformerEncoderWeights w = random_encoder(d, 4, 24, 1, false, Activation::Relu);
  const TransformerLayer& layer = w.layers[0];
  const std::vector<float> x = random_values(frames * d, 5);
  std::vector<float> out(frames * d);
  transformer_encoder_forward(w, x.data(), 1, frames, nullptr, out.data(), 1);
  const std::vector<double> attended = naive_attention(layer.self_attn, x.data(), frames);
  auto layer_norm = [&](std::vector<double> v, const LayerNorm& norm) {
    double mean = 0, var = 0;
    for (double e : v) mean += e / d;
    for (double e : v) var += (e - mean) * (e - mean) / d;
    for (std::int64_t i = 0; i < d; ++i) v[i] = (v[i] - mean) / std::sqrt(var + norm.eps) * norm.weight[i] + norm.bias[i];
    return v;
  };
  for (std::int64_t t = 0; t < frames; ++t) {
    std::vector<double> h(d);
    for (std::int64_t i = 0; i < d; ++i) h[i] = x[t * d + i] + attended[t * d + i];
    h = layer_norm(h, layer.norm1);
    std::vector<double> hidden(24), y(d);
    for (std::int64_t o = 0; o < 24; ++o) {
      double s = layer.linear1.bias[o];
      for (std::int64_t i = 0; i < d; ++i) s += at(layer.linear1.weight, o, i) * h[i];
      hidden[o] = std::max(s, 0.0);
    }
    for (std::int64_t o = 0; o < d; ++o) {
      double s = layer.linear2.bias[o];
      for (std::int64_t i = 0; i < 24; ++i) s += at(layer.linear2.weight, o, i) * hidden[i];
      y[o] = h[o] + s;
    }
    y = layer_norm(y, layer.norm2);
    for (std::int64_t i = 0; i < d; ++i) EXPECT_NEAR(out[t * d + i], y[i], 5e-5) << "frame " << t;
  }
}

TEST(TransformerEncoder, PaddedFramesAreZeroAndChangeNothing) {
  const std::int64_t d = 8, frames = 30, batch = 2;
  const TransformerEncoderWeights w = random_encoder(d, 2, 16, 2, true, Activation::Gelu);
  std::vector<float> x = random_values(batch * frames * d, 6);
  std::vector<std::uint8_t> mask(batch * frames, 0);
  for (std::int64_t t = 12; t < frames; ++t) mask[frames + t] = 1;  // second sequence: 12 frames
  std::vector<float> first(batch * frames * d), second(batch * frames * d), alone(12 * d);
  transformer_encoder_forward(w, x.data(), batch, frames, mask.data(), first.data(), 2);
  std::fill(x.begin() + (frames + 12) * d, x.end(), 1e3f);
  transformer_encoder_forward(w, x.data(), batch, frames, mask.data(), second.data(), 1);
  EXPECT_EQ(first, second);
  for (auto i = (frames + 12) * d; i < batch * frames * d; ++i) EXPECT_EQ(first[i], 0.0f);
  transformer_encoder_forward(w, x.data() + frames * d, 1, 12, nullptr, alone.data(), 1);
  for (std::int64_t i = 0; i < 12 * d; ++i) EXPECT_NEAR(alone[i], first[frames * d + i], 1e-5);
}

TEST(TransformerEncoder, RefusesBadWeightsAndInputs) {
  TransformerEncoderWeights w = random_encoder(8, 2, 16, 1, false, Activation::Relu);
  std::vector<float> x = random_values(5 * 8, 7), out(5 * 8);
  w.layers[0].self_attn.num_heads = 3;
  EXPECT_THROW(check_transformer_encoder(w), InvalidArgument);
  w.layers[0].self_attn.num_heads = 2;
  w.layers[0].linear2.weight = random_matrix(8, 15, 1);
  EXPECT_THROW(check_transformer_encoder(w), InvalidArgument);
  w = random_encoder(8, 2, 16, 1, false, Activation::Relu);
  w.positional = PositionalEncoding::Learned;
  w.positional_table = random_matrix(4, 8, 8);
  EXPECT_THROW(transformer_encoder_forward(w, x.data(), 1, 5, nullptr, out.data(), 1), InvalidArgument);
  w.positional = PositionalEncoding::None;
  x[19] = std::nanf("");
  EXPECT_THROW(transformer_encoder_forward(w, x.data(), 1, 5, nullptr, out.data(), 1), InvalidArgument);
}

TEST(Pooling, StatisticsOverValidFrames) {
  const std::int64_t frames = 9, dim = 3;
  const std::vector<float> x = random_values(2 * frames * dim, 9);
  std::vector<std::uint8_t> mask(2 * frames, 0);
  for (std::int64_t t = 4; t < frames; ++t) mask[frames + t] = 1;
  std::vector<float> out(2 * 2 * dim);
  statistics_pooling(x.data(), 2, frames, dim, mask.data(), 1e-12f, out.data(), 2);
  const std::int64_t lengths[2] = {frames, 4};
  for (int b = 0; b < 2; ++b) {
    for (std::int64_t i = 0; i < dim; ++i) {
      double mean = 0, var = 0;
      for (std::int64_t t = 0; t < lengths[b]; ++t) mean += x[(b * frames + t) * dim + i] / lengths[b];
      for (std::int64_t t = 0; t < lengths[b]; ++t) var += std::pow(x[(b * frames + t) * dim + i] - mean, 2) / lengths[b];
      EXPECT_NEAR(out[b * 2 * dim + i], mean, 1e-6);
      EXPECT_NEAR(out[b * 2 * dim + dim + i], std::sqrt(var), 1e-6);
    }
  }
  mask.assign(2 * frames, 1);
  EXPECT_THROW(statistics_pooling(x.data(), 2, frames, dim, mask.data(), 1e-12f, out.data(), 1), InvalidArgument);
}

TEST(Pooling, AttentionWeightsSumToOne) {
  // With a zero score every frame weighs the same: attentive statistics pooling is
  // statistics pooling, and frame attention pooling the mean of the attended frames.
  const std::int64_t frames = 11, dim = 4;
  const std::vector<float> x = random_values(frames * dim, 12);
  std::vector<float> stats(2 * dim), attentive(2 * dim), pooled(dim), attended(frames * dim);
  statistics_pooling(x.data(), 1, frames, dim, nullptr, 1e-12f, stats.data(), 1);
  attentive_statistics_pooling(x.data(), 1, frames, dim, nullptr, random_linear(5, dim, 13), std::vector<float>(5, 0.0f),
                               1e-12f, attentive.data(), 1);
  for (std::int64_t i = 0; i < 2 * dim; ++i) EXPECT_NEAR(attentive[i], stats[i], 1e-6);
  const MultiHeadAttention a = random_attention(dim, 2, 14);
  frame_attention_pooling(x.data(), 1, frames, dim, nullptr, a, std::vector<float>(dim, 0.0f), pooled.data(), 1);
  multi_head_self_attention(a, x.data(), {0, frames}, attended.data(), 1);
  for (std::int64_t i = 0; i < dim; ++i) {
    double mean = 0;
    for (std::int64_t t = 0; t < frames; ++t) mean += attended[t * dim + i] / frames;
    EXPECT_NEAR(pooled[i], mean, 1e-5);
  }
}

}  // namespace
}  // namespace affectkit
