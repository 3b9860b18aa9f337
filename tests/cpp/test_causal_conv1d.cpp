#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "affectkit/encoders/causal_conv1d.h"

namespace affectkit {
namespace {

// The definition in causal_conv1d.h, written as the plain triple loop:
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

std::vector<double> random_vector(std::int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(static_cast<std::size_t>(n));
  for (auto& value : v) value = normal(rng);
  return v;
}

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

std::int64_t numel(const CausalConv1dShape& s) { return s.batch * s.channels * s.length; }

template <typename T>
class CausalConv1dTest : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CausalConv1dTest, FloatTypes);

// Covers width 1 (pointwise), widths around Mamba's 4, widths longer than the
// signal (most taps read the zero padding) and length 0.
TYPED_TEST(CausalConv1dTest, ForwardMatchesDefinition) {
  using T = TypeParam;
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (std::int64_t width : {1, 2, 3, 4, 7, 33, 64}) {
    for (std::int64_t length : {0, 1, 5, 100}) {
      for (bool with_bias : {false, true}) {
        for (bool silu : {false, true}) {
          const CausalConv1dShape s{2, 3, length, width};
          const auto x = random_vector(numel(s), 1);
          const auto w = random_vector(s.channels * s.width, 2);
          const auto bias = random_vector(s.channels, 3);
          const auto expected = naive_forward(x, w, with_bias ? &bias : nullptr, s, silu);
          const auto xt = cast<T>(x), wt = cast<T>(w), bt = cast<T>(bias);
          std::vector<T> out(x.size());
          causal_conv1d_forward(xt.data(), wt.data(), with_bias ? bt.data() : nullptr, out.data(), s,
                                silu, 2);
          for (std::size_t i = 0; i < out.size(); ++i) {
            ASSERT_NEAR(out[i], expected[i], tolerance * (1 + std::abs(expected[i])))
                << "width " << width << " length " << length << " bias " << with_bias << " silu "
                << silu << " index " << i;
          }
        }
      }
    }
  }
}

// Empty batches and empty channel sets are valid inputs (a ragged batch can be
// empty); nothing may be read or written, and there must be no crash.
TYPED_TEST(CausalConv1dTest, EmptyBatchOrChannelsIsANoOp) {
  using T = TypeParam;
  for (const CausalConv1dShape s : {CausalConv1dShape{0, 3, 10, 4}, CausalConv1dShape{2, 0, 10, 4}}) {
    const std::vector<T> w(s.channels * s.width, T(1)), bias(s.channels, T(1));
    causal_conv1d_forward<T>(nullptr, w.data(), bias.data(), nullptr, s, true, 2);
    // Weight and bias gradients are sums over an empty batch: zero, not left as
    // whatever the caller's buffer held.
    std::vector<T> gw(w.size(), std::numeric_limits<T>::quiet_NaN());
    std::vector<T> gb(bias.size(), std::numeric_limits<T>::quiet_NaN());
    causal_conv1d_backward<T>(nullptr, w.data(), bias.data(), nullptr, nullptr, gw.data(), gb.data(),
                              s, true, 2);
    for (T v : gw) EXPECT_EQ(v, T(0));
    for (T v : gb) EXPECT_EQ(v, T(0));
  }
}

// The same for length 0: gradients exist for every channel and are zero.
TYPED_TEST(CausalConv1dTest, LengthZeroGivesZeroParameterGradients) {
  using T = TypeParam;
  const CausalConv1dShape s{2, 3, 0, 4};
  const std::vector<T> w(s.channels * s.width, T(1));
  std::vector<T> gw(w.size(), std::numeric_limits<T>::quiet_NaN());
  std::vector<T> gb(s.channels, std::numeric_limits<T>::quiet_NaN());
  causal_conv1d_backward<T>(nullptr, w.data(), nullptr, nullptr, nullptr, gw.data(), gb.data(), s,
                            false, 2);
  for (T v : gw) EXPECT_EQ(v, T(0));
  for (T v : gb) EXPECT_EQ(v, T(0));
}

// SiLU saturates: exp(-z) overflows to inf for large |z| (z < -88 in float), which
// must give silu(z) -> 0 and silu'(z) -> 0 (or z and 1 for large positive z),
// never NaN from inf * 0 or inf / inf.
TYPED_TEST(CausalConv1dTest, SaturatedSiluStaysFinite) {
  using T = TypeParam;
  const CausalConv1dShape s{1, 2, 3, 1};
  const std::vector<T> x = {T(-1000), T(-100), T(-30), T(1000), T(100), T(30)};
  const std::vector<T> w = {T(1), T(1)}, g(x.size(), T(1));
  std::vector<T> out(x.size()), gx(x.size()), gw(w.size()), gb(s.channels);
  causal_conv1d_forward<T>(x.data(), w.data(), nullptr, out.data(), s, true, 1);
  causal_conv1d_backward<T>(x.data(), w.data(), nullptr, g.data(), gx.data(), gw.data(), gb.data(), s,
                            true, 1);
  for (std::size_t i = 0; i < x.size(); ++i) {
    ASSERT_TRUE(std::isfinite(out[i]) && std::isfinite(gx[i])) << "x = " << x[i];
    if (x[i] > 0) {
      EXPECT_NEAR(out[i], x[i], 1e-9 * x[i]);
      EXPECT_NEAR(gx[i], T(1), T(1e-6));
    } else {
      EXPECT_NEAR(out[i], T(0), T(1e-6));
      EXPECT_NEAR(gx[i], T(0), T(1e-6));
    }
  }
}

// Backward against central finite differences of L = sum(g * forward(x, w, b)),
// evaluated with the independent naive forward. Three bias modes: no bias; a
// trained bias (grad_bias requested); a frozen bias (bias given, grad_bias ==
// nullptr), which must still enter the SiLU derivative.
TEST(CausalConv1d, BackwardMatchesFiniteDifferences) {
  enum class Bias { none, trained, frozen };
  for (const CausalConv1dShape s :
       {CausalConv1dShape{2, 3, 11, 4}, CausalConv1dShape{1, 2, 3, 5}, CausalConv1dShape{2, 2, 6, 1}}) {
    for (bool silu : {false, true}) {
      for (Bias mode : {Bias::none, Bias::trained, Bias::frozen}) {
        auto x = random_vector(numel(s), 4);
        auto w = random_vector(s.channels * s.width, 5);
        auto bias = random_vector(s.channels, 6);
        const auto g = random_vector(numel(s), 7);
        const bool with_bias = mode != Bias::none;
        auto loss = [&] {
          const auto out = naive_forward(x, w, with_bias ? &bias : nullptr, s, silu);
          double sum = 0;
          for (std::size_t i = 0; i < out.size(); ++i) sum += g[i] * out[i];
          return sum;
        };
        std::vector<double> gx(x.size()), gw(w.size()), gb(bias.size());
        causal_conv1d_backward(x.data(), w.data(), with_bias ? bias.data() : nullptr, g.data(),
                               gx.data(), gw.data(), mode == Bias::trained ? gb.data() : nullptr, s,
                               silu, 2);
        auto check = [&](std::vector<double>& param, const std::vector<double>& grad,
                         const char* name) {
          for (std::size_t i = 0; i < param.size(); ++i) {
            const double saved = param[i], h = 1e-6;
            param[i] = saved + h;
            const double up = loss();
            param[i] = saved - h;
            const double down = loss();
            param[i] = saved;
            EXPECT_NEAR(grad[i], (up - down) / (2 * h), 1e-7 * (1 + std::abs(grad[i])))
                << name << "[" << i << "] width " << s.width << " length " << s.length
                << " silu " << silu << " bias mode " << static_cast<int>(mode);
          }
        };
        check(x, gx, "grad_x");
        check(w, gw, "grad_weight");
        if (mode == Bias::trained) check(bias, gb, "grad_bias");
      }
    }
  }
}

// Each output row (forward) and each channel (backward) is computed by exactly one
// task in a fixed order, so the thread count must not change a single bit:
// training runs are reproducible whatever num_threads is.
template <typename T>
void expect_thread_count_invariant() {
  const CausalConv1dShape s{3, 17, 257, 4};
  const auto x = cast<T>(random_vector(numel(s), 8));
  const auto w = cast<T>(random_vector(s.channels * s.width, 9));
  const auto bias = cast<T>(random_vector(s.channels, 11));
  const auto g = cast<T>(random_vector(numel(s), 10));
  struct Result {
    std::vector<T> out, gx, gw, gb;
  };
  auto run = [&](int threads) {
    Result r{std::vector<T>(x.size()), std::vector<T>(x.size()), std::vector<T>(w.size()),
             std::vector<T>(s.channels)};
    causal_conv1d_forward<T>(x.data(), w.data(), bias.data(), r.out.data(), s, true, threads);
    causal_conv1d_backward<T>(x.data(), w.data(), bias.data(), g.data(), r.gx.data(), r.gw.data(),
                              r.gb.data(), s, true, threads);
    return r;
  };
  const Result serial = run(1);
  for (int threads : {2, 8, 0}) {
    const Result parallel = run(threads);
    EXPECT_EQ(serial.out, parallel.out) << "threads " << threads;
    EXPECT_EQ(serial.gx, parallel.gx) << "threads " << threads;
    EXPECT_EQ(serial.gw, parallel.gw) << "threads " << threads;
    EXPECT_EQ(serial.gb, parallel.gb) << "threads " << threads;
  }
}

TEST(CausalConv1d, ThreadCountDoesNotChangeResults) {
  expect_thread_count_invariant<float>();
  expect_thread_count_invariant<double>();
}

// Bad shapes are rejected by the public entry points before any pointer is
// touched (hence nullptr arrays here), with a message naming the argument.
TEST(CausalConv1d, InvalidShapesNameTheArgument) {
  auto forward_error = [](const CausalConv1dShape& s) {
    try {
      causal_conv1d_forward<float>(nullptr, nullptr, nullptr, nullptr, s, false, 1);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  auto backward_error = [](const CausalConv1dShape& s) {
    try {
      causal_conv1d_backward<double>(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, s,
                                     true, 1);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  struct Case {
    CausalConv1dShape shape;
    const char* argument;
  };
  for (const Case& c : {Case{{1, 1, 10, 0}, "'weight'"}, Case{{1, 1, 10, -2}, "'weight'"},
                        Case{{1, 1, -1, 2}, "'x'"}, Case{{-1, 1, 1, 2}, "'x'"},
                        Case{{1, -1, 1, 2}, "'x'"}}) {
    const CausalConv1dShape& s = c.shape;
    const std::string shape = std::to_string(s.batch) + "," + std::to_string(s.channels) + "," +
                              std::to_string(s.length) + "," + std::to_string(s.width);
    EXPECT_NE(forward_error(s).find(c.argument), std::string::npos) << shape << ": " << forward_error(s);
    EXPECT_NE(backward_error(s).find(c.argument), std::string::npos) << shape << ": " << backward_error(s);
  }
  // The message carries the offending value, not just the name.
  EXPECT_NE(forward_error({1, 1, 10, 0}).find("got 0"), std::string::npos);
  EXPECT_NE(forward_error({1, 1, -7, 2}).find("got -7"), std::string::npos);
}

}  // namespace
}  // namespace affectkit
