// The vectorised maths of cpp/affectkit/common/vector_math: the polynomial exp of the
// log-domain Sinkhorn and its float log-sum-exp against double references; the
// vectorised exp, softplus and sigmoid of the selective scan (glibc's libmvec, <= 4 ulp)
// against std:: in long double, over the ranges the scan feeds them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "affectkit/common/vector_math.h"

namespace affectkit {
namespace {

TEST(ExpPolynomial, RelativeErrorAgainstStdExp) {
  // [-87, 88] at a step of 2^-12 (717k points): measured 8.2e-8, about 1.4 float ulp
  // (glibc's vector expf allows 4 ulp).
  double worst = 0;
  for (double x = -87.0; x <= 88.0; x += 1.0 / 4096) {
    const float xf = static_cast<float>(x);
    const double expected = std::exp(static_cast<double>(xf));
    worst = std::max(worst, std::abs(exp_polynomial(xf) - expected) / expected);
  }
  EXPECT_LT(worst, 1.5e-7);
}

TEST(ExpPolynomial, ClampedToNormalFloats) {
  EXPECT_EQ(exp_polynomial(-1e4f), exp_polynomial(-87.0f));
  EXPECT_GT(exp_polynomial(-1e4f), 0.0f);
  EXPECT_TRUE(std::isnormal(exp_polynomial(-1e4f)));
  EXPECT_TRUE(std::isfinite(exp_polynomial(1e4f)));
  EXPECT_EQ(exp_polynomial(0.0f), 1.0f);
}

TEST(LogSumExpDifference, FloatMatchesDoubleReference) {
  std::mt19937 random(3);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (const float inv_eps : {0.5f, 20.0f, 1e3f}) {
    const int n = 1003;  // not a multiple of the vector width: the remainder loop runs too
    std::vector<float> g(n), row(n);
    for (int j = 0; j < n; ++j) {
      g[j] = 0.1f * uniform(random);
      row[j] = uniform(random);
    }
    double shift = -1e300;
    for (int j = 0; j < n; ++j) shift = std::max(shift, double(g[j]) - row[j]);
    double sum = 0;
    for (int j = 0; j < n; ++j) sum += std::exp((double(g[j]) - row[j] - shift) * inv_eps);
    const double expected = shift * inv_eps + std::log(sum);
    EXPECT_NEAR(log_sum_exp_difference(g.data(), row.data(), inv_eps, n), expected,
                1e-6 * std::max(1.0, std::abs(expected)))
        << "inv_eps " << inv_eps;
  }
}

template <typename T>
class VectorMathTest : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(VectorMathTest, FloatTypes);

template <typename T>
std::vector<T> grid(T low, T high, int count) {
  std::vector<T> x(count);
  for (int i = 0; i < count; ++i) x[i] = low + (high - low) * T(i) / T(count - 1);
  return x;
}

template <typename T>
T tolerance() {
  return sizeof(T) == 4 ? T(4e-6) : T(1e-14);  // a few ulp, relative
}

TYPED_TEST(VectorMathTest, ExpMatchesStd) {
  using T = TypeParam;
  std::vector<T> x = grid<T>(-80, 80, 1001);
  const std::vector<T> in = x;
  exp_inplace(x.data(), static_cast<std::int64_t>(x.size()));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const long double expected = std::exp(static_cast<long double>(in[i]));
    EXPECT_NEAR(x[i] / expected, 1.0L, tolerance<T>()) << in[i];
  }
}

TYPED_TEST(VectorMathTest, SoftplusIsTorchsSoftplus) {
  using T = TypeParam;
  std::vector<T> x = grid<T>(-60, 60, 1201);
  x.push_back(T(20));  // the threshold: log1p(exp(20)) still, linear only above
  x.push_back(T(1e30));
  const std::vector<T> in = x;
  softplus_inplace(x.data(), static_cast<std::int64_t>(x.size()));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const long double v = in[i];
    const long double expected = v > 20 ? v : std::log1p(std::exp(v));
    EXPECT_NEAR(x[i] / expected, 1.0L, tolerance<T>()) << in[i];
  }
}

TYPED_TEST(VectorMathTest, SigmoidMatchesDefinitionWithoutOverflow) {
  using T = TypeParam;
  std::vector<T> x = grid<T>(-60, 60, 1201);
  x.push_back(T(-1e30));  // exp(1e30) would overflow: the result is 0, not NaN
  x.push_back(T(1e30));
  const std::vector<T> in = x;
  sigmoid_inplace(x.data(), static_cast<std::int64_t>(x.size()));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const long double expected = 1.0L / (1.0L + std::exp(-static_cast<long double>(in[i])));
    EXPECT_TRUE(std::isfinite(x[i])) << in[i];
    EXPECT_NEAR(x[i], expected, 1e-30L + tolerance<T>() * expected) << in[i];
  }
}

}  // namespace
}  // namespace affectkit
