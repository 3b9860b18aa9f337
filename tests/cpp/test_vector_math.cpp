// The vectorised maths of cpp/affectkit/common/vector_math: the polynomial exp and exp2
// of the Sinkhorn kernels and the log-domain row sums against double references; the
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

// The largest relative error of a float function against its double reference over
// [low, high] at a step of 2^-12.
template <typename F, typename Reference>
double worst_relative_error(F f, Reference reference, double low, double high) {
  double worst = 0;
  for (double x = low; x <= high; x += 1.0 / 4096) {
    const float xf = static_cast<float>(x);
    const double expected = reference(static_cast<double>(xf));
    worst = std::max(worst, std::abs(f(xf) - expected) / expected);
  }
  return worst;
}

TEST(ExpPolynomial, RelativeErrorAgainstStdExp) {
  // [-87, 88] (717k points): measured 8.2e-8, about 1.4 float ulp (glibc's vector expf
  // allows 4 ulp).
  EXPECT_LT(worst_relative_error(exp_polynomial, [](double x) { return std::exp(x); }, -87.0, 88.0), 1.5e-7);
}

TEST(ExpPolynomial, ClampedToNormalFloats) {
  EXPECT_EQ(exp_polynomial(-1e4f), exp_polynomial(-87.0f));
  EXPECT_GT(exp_polynomial(-1e4f), 0.0f);
  EXPECT_TRUE(std::isnormal(exp_polynomial(-1e4f)));
  EXPECT_TRUE(std::isfinite(exp_polynomial(1e4f)));
  EXPECT_EQ(exp_polynomial(0.0f), 1.0f);
}

TEST(Exp2Polynomial, RelativeErrorAgainstStdExp2) {
  // [-125, 64] (normal-float results; below, subnormals hold fewer digits, terms under
  // 2^-64 of a log-domain row's sum; 774k points): measured 2.1e-7, 1.8 float ulp
  // (glibc's vector expf allows 4).
  EXPECT_LT(worst_relative_error(exp2_polynomial, [](double x) { return std::exp2(x); }, -125.0, 64.0), 2.5e-7);
}

TEST(Exp2Polynomial, ExactAtIntegersZeroBelowRangeFiniteAbove) {
  for (int k = -126; k <= 64; ++k) EXPECT_EQ(exp2_polynomial(float(k)), std::ldexp(1.0f, k)) << k;
  EXPECT_EQ(exp2_polynomial(-126.6f), 0.0f);
  EXPECT_EQ(exp2_polynomial(-1e4f), 0.0f);  // zero weights (log -1e4) get no mass
  EXPECT_EQ(exp2_polynomial(1e4f), std::ldexp(1.0f, 64));
}

template <typename T>
class OtRowKernelTest : public ::testing::Test {};
using OtFloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(OtRowKernelTest, OtFloatTypes);

// shift + log2(sum_exp2_difference) is log2 sum_j 2^(c_j - scale row_j) whatever the
// shift (here the exact max, and 50 below and above it), against a double reference.
TYPED_TEST(OtRowKernelTest, ShiftedSumMatchesDoubleReference) {
  using T = TypeParam;
  std::mt19937 random(3);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (const double scale : {0.7, 29.0, 1.4e3}) {
    const int n = 1003;  // not a multiple of the vector width: the remainder loop runs too
    std::vector<T> c(n), row(n);
    for (int j = 0; j < n; ++j) {
      c[j] = T(0.1 * scale * uniform(random));
      row[j] = T(uniform(random));
    }
    double high = -1e300;
    for (int j = 0; j < n; ++j) high = std::max(high, double(c[j]) - scale * double(row[j]));
    double sum = 0;
    for (int j = 0; j < n; ++j) sum += std::exp2(double(c[j]) - scale * double(row[j]) - high);
    const double expected = high + std::log2(sum);
    const T max = max_difference(c.data(), row.data(), T(scale), n);
    EXPECT_NEAR(max, high, 1e-6 * std::max(1.0, std::abs(high)));
    for (const double offset : {0.0, -50.0, 50.0}) {
      const T shift = T(max + offset);
      const T shifted = sum_exp2_difference(c.data(), row.data(), T(scale), shift, n);
      EXPECT_NEAR(shift + std::log2(shifted), expected, 1e-6 * std::max(1.0, std::abs(expected)))
          << "scale " << scale << " offset " << offset;
    }
  }
}

TYPED_TEST(OtRowKernelTest, ShiftedSumStaysFiniteForAnyShift) {
  using T = TypeParam;
  const std::vector<T> c = {T(0), T(1e4), T(-1e4)}, row = {T(0), T(0), T(0)};
  for (const T shift : {T(-1e6), T(0), T(1e6)}) {
    const T sum = sum_exp2_difference(c.data(), row.data(), T(1), shift, 3);
    EXPECT_TRUE(std::isfinite(sum)) << shift;
    EXPECT_GE(sum, T(0));
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

TYPED_TEST(VectorMathTest, LogMatchesStd) {
  // Sinkhorn's log weights and scalings: positive values from 1e-30 to 1e30.
  using T = TypeParam;
  std::vector<T> x = grid<T>(-30, 30, 1001);
  for (T& v : x) v = std::pow(T(10), v);
  const std::vector<T> in = x;
  log_inplace(x.data(), static_cast<std::int64_t>(x.size()));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const long double expected = std::log(static_cast<long double>(in[i]));
    EXPECT_NEAR(x[i], expected, tolerance<T>() * std::max(1.0L, std::abs(expected))) << in[i];
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
