#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "affectkit/encoders/causal_conv1d.h"

namespace affectkit {
namespace {

// out[b, c, t] = act(bias[c] + sum_k w[c, k] x[b, c, t - (W - 1) + k]), x = 0 before t = 0.
std::vector<double> naive_forward(const std::vector<double>& x, const std::vector<double>& w,
                                  const std::vector<double>* bias, const CausalConv1dShape& s,
                                  bool silu) {
  std::vector<double> out(x.size());
  for (std::int64_t b = 0; b < s.batch; ++b) {
    for (std::int64_t c = 0; c < s.channels; ++c) {
      for (std::int64_t t = 0; t < s.length; ++t) {
        double z = bias ? (*bias)[c] : 0.0;
        for (std::int64_t k = 0; k < s.width; ++k) {
          const std::int64_t i = t - (s.width - 1) + k;
          if (i >= 0) z += w[c * s.width + k] * x[(b * s.channels + c) * s.length + i];
        }
        out[(b * s.channels + c) * s.length + t] = silu ? z / (1 + std::exp(-z)) : z;
      }
    }
  }
  return out;
}

std::vector<double> random_vector(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(n);
  for (auto& value : v) value = normal(rng);
  return v;
}

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <typename T>
class CausalConv1dTest : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CausalConv1dTest, FloatTypes);

TYPED_TEST(CausalConv1dTest, ForwardMatchesDefinition) {
  using T = TypeParam;
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (std::int64_t width : {1, 2, 3, 4, 7, 33, 64}) {
    for (std::int64_t length : {0, 1, 5, 100}) {
      for (bool with_bias : {false, true}) {
        for (bool silu : {false, true}) {
          const CausalConv1dShape s{2, 3, length, width};
          const auto x = random_vector(s.batch * s.channels * s.length, 1);
          const auto w = random_vector(s.channels * s.width, 2);
          const auto bias = random_vector(s.channels, 3);
          const auto expected = naive_forward(x, w, with_bias ? &bias : nullptr, s, silu);
          const auto xt = cast<T>(x), wt = cast<T>(w), bt = cast<T>(bias);
          std::vector<T> out(x.size());
          causal_conv1d_forward(xt.data(), wt.data(), with_bias ? bt.data() : nullptr, out.data(), s,
                                silu, 2);
          for (std::size_t i = 0; i < out.size(); ++i) {
            ASSERT_NEAR(out[i], expected[i], tolerance * (1 + std::abs(expected[i])))
                << "width " << width << " length " << length << " index " << i;
          }
        }
      }
    }
  }
}

// Backward against central finite differences of L = sum(g * forward(x, w, b)).
TEST(CausalConv1d, BackwardMatchesFiniteDifferences) {
  for (bool silu : {false, true}) {
    for (bool with_bias : {false, true}) {
      const CausalConv1dShape s{2, 3, 11, 4};
      auto x = random_vector(s.batch * s.channels * s.length, 4);
      auto w = random_vector(s.channels * s.width, 5);
      auto bias = random_vector(s.channels, 6);
      const auto g = random_vector(x.size(), 7);
      auto loss = [&] {
        const auto out = naive_forward(x, w, with_bias ? &bias : nullptr, s, silu);
        double sum = 0;
        for (std::size_t i = 0; i < out.size(); ++i) sum += g[i] * out[i];
        return sum;
      };
      std::vector<double> gx(x.size()), gw(w.size()), gb(bias.size());
      causal_conv1d_backward(x.data(), w.data(), with_bias ? bias.data() : nullptr, g.data(), gx.data(),
                             gw.data(), with_bias ? gb.data() : nullptr, s, silu, 2);
      auto check = [&](std::vector<double>& param, const std::vector<double>& grad, const char* name) {
        for (std::size_t i = 0; i < param.size(); ++i) {
          const double saved = param[i], h = 1e-6;
          param[i] = saved + h;
          const double up = loss();
          param[i] = saved - h;
          const double down = loss();
          param[i] = saved;
          EXPECT_NEAR(grad[i], (up - down) / (2 * h), 1e-7 * (1 + std::abs(grad[i])))
              << name << "[" << i << "] silu=" << silu;
        }
      };
      check(x, gx, "grad_x");
      check(w, gw, "grad_weight");
      if (with_bias) check(bias, gb, "grad_bias");
    }
  }
}

TEST(CausalConv1d, ThreadCountDoesNotChangeResults) {
  const CausalConv1dShape s{3, 17, 257, 4};
  const auto x = cast<float>(random_vector(s.batch * s.channels * s.length, 8));
  const auto w = cast<float>(random_vector(s.channels * s.width, 9));
  const auto g = cast<float>(random_vector(x.size(), 10));
  std::vector<float> out1(x.size()), out2(x.size()), gx1(x.size()), gx2(x.size());
  std::vector<float> gw1(w.size()), gw2(w.size()), gb1(s.channels), gb2(s.channels);
  causal_conv1d_forward<float>(x.data(), w.data(), nullptr, out1.data(), s, true, 1);
  causal_conv1d_forward<float>(x.data(), w.data(), nullptr, out2.data(), s, true, 2);
  causal_conv1d_backward<float>(x.data(), w.data(), nullptr, g.data(), gx1.data(), gw1.data(), gb1.data(), s, true, 1);
  causal_conv1d_backward<float>(x.data(), w.data(), nullptr, g.data(), gx2.data(), gw2.data(), gb2.data(), s, true, 2);
  EXPECT_EQ(out1, out2);
  EXPECT_EQ(gx1, gx2);
  EXPECT_EQ(gw1, gw2);
  EXPECT_EQ(gb1, gb2);
}

TEST(CausalConv1d, InvalidShapesNameTheArgument) {
  auto message = [](const CausalConv1dShape& s) {
    try {
      check_causal_conv1d_shape(s);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({1, 1, 10, 0}).find("'weight'"), std::string::npos);
  EXPECT_NE(message({1, 1, -1, 2}).find("'x'"), std::string::npos);
  EXPECT_NE(message({-1, 1, 1, 2}).find("'x'"), std::string::npos);
  EXPECT_EQ(message({0, 0, 0, 1}), "no error");
}

}  // namespace
}  // namespace affectkit
