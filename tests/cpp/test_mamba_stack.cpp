#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/encoders/mamba.h"

namespace affectkit {
namespace {

// Random weights of a small stack, kept alive with the pointers into them.
struct Stack {
  MambaStackShape shape{2, 6, 8, 3, 4, 2, 1e-5};
  std::vector<std::vector<double>> storage;
  MambaStackWeights<double> weights;

  const double* add(std::size_t n, std::mt19937& rng, double scale, double shift = 0.0) {
    std::normal_distribution<double> normal;
    std::vector<double> v(n);
    for (auto& x : v) x = shift + scale * normal(rng);
    storage.push_back(std::move(v));
    return storage.back().data();
  }

  explicit Stack(bool layer_norm) {
    std::mt19937 rng(3);
    storage.reserve(64);
    const std::size_t M = shape.d_model, E = shape.d_inner, N = shape.d_state, K = shape.d_conv, R = shape.dt_rank;
    for (std::int64_t l = 0; l < shape.n_layer; ++l) {
      MambaLayerWeights<double> w;
      w.norm_weight = add(M, rng, 0.1, 1.0);
      w.norm_bias = layer_norm ? add(M, rng, 0.1) : nullptr;
      w.in_proj_weight = add(2 * E * M, rng, 0.4);
      w.scan.conv_weight = add(E * K, rng, 0.5);
      w.scan.conv_bias = add(E, rng, 0.1);
      w.scan.x_proj_weight = add((R + 2 * N) * E, rng, 0.35);
      w.scan.dt_proj_weight = add(E * R, rng, 0.5);
      w.scan.dt_proj_bias = add(E, rng, 0.5, -3.0);
      w.scan.A_log = add(E * N, rng, 0.5, 1.0);
      w.scan.D = add(E, rng, 1.0);
      w.out_proj_weight = add(M * E, rng, 0.35);
      w.out_proj_bias = layer_norm ? add(M, rng, 0.1) : nullptr;
      weights.layers.push_back(w);
    }
    weights.norm_f_weight = add(M, rng, 0.1, 1.0);
    weights.norm_f_bias = layer_norm ? add(M, rng, 0.1) : nullptr;
  }

  std::vector<double> run(const std::vector<double>& x, std::int64_t batch, std::int64_t frames,
                          std::vector<double>& conv, std::vector<double>& ssm, int threads = 2) const {
    std::vector<double> out(batch * frames * shape.d_model);
    mamba_stack_forward(shape, weights, x.data(), batch, frames, nullptr, conv.data(), ssm.data(), out.data(),
                        threads);
    return out;
  }
};

TEST(MambaStack, StreamingEqualsWholeSequence) {
  for (bool layer_norm : {false, true}) {
    const Stack stack(layer_norm);
    const MambaStackShape& s = stack.shape;
    const std::int64_t batch = 2, frames = 23;
    std::mt19937 rng(1);
    std::normal_distribution<double> normal;
    std::vector<double> x(batch * frames * s.d_model);
    for (auto& v : x) v = normal(rng);
    const std::size_t conv_size = batch * s.n_layer * s.d_inner * (s.d_conv - 1);
    const std::size_t ssm_size = batch * s.n_layer * s.d_inner * s.d_state;
    std::vector<double> conv(conv_size, 0.0), ssm(ssm_size, 0.0);
    const std::vector<double> whole = stack.run(x, batch, frames, conv, ssm);
    for (std::int64_t chunk : {1, 2, 5, 23}) {
      std::vector<double> conv_s(conv_size, 0.0), ssm_s(ssm_size, 0.0);
      for (std::int64_t t0 = 0; t0 < frames; t0 += chunk) {
        const std::int64_t k = std::min(chunk, frames - t0);
        std::vector<double> piece(batch * k * s.d_model);
        for (std::int64_t b = 0; b < batch; ++b) {
          std::copy_n(x.begin() + (b * frames + t0) * s.d_model, k * s.d_model, piece.begin() + b * k * s.d_model);
        }
        const std::vector<double> out = stack.run(piece, batch, k, conv_s, ssm_s, 1);
        for (std::int64_t b = 0; b < batch; ++b) {
          for (std::int64_t i = 0; i < k * s.d_model; ++i) {
            ASSERT_NEAR(out[b * k * s.d_model + i], whole[(b * frames + t0) * s.d_model + i], 1e-12)
                << "chunk " << chunk << " layer_norm " << layer_norm;
          }
        }
      }
      for (std::size_t i = 0; i < ssm_size; ++i) ASSERT_NEAR(ssm_s[i], ssm[i], 1e-12);
      for (std::size_t i = 0; i < conv_size; ++i) ASSERT_NEAR(conv_s[i], conv[i], 1e-12);
    }
    for (double v : whole) ASSERT_TRUE(std::isfinite(v));
  }
}

TEST(MambaStack, ChecksNameTheArgument) {
  Stack stack(false);
  std::vector<double> x(2 * 6, 0.0), conv(2 * 8 * 3), ssm(2 * 8 * 3);
  auto message_of = [&](auto&& call) {
    try {
      call();
    } catch (const InvalidArgument& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  x[3] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(message_of([&] { stack.run(x, 1, 2, conv, ssm); }).find("'x'"), std::string::npos);
  stack.weights.layers.pop_back();
  EXPECT_NE(message_of([&] { stack.run(x, 1, 2, conv, ssm); }).find("'weights'"), std::string::npos);
  stack.shape.d_state = 0;
  EXPECT_NE(message_of([&] { check_mamba_stack_shape(stack.shape); }).find("'d_state'"), std::string::npos);
}

}  // namespace
}  // namespace affectkit
