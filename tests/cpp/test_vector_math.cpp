#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "affectkit/common/vector_math.h"

namespace affectkit {
namespace {

// The vectorised exp, softplus and sigmoid (glibc's libmvec, <= 4 ulp) against
// std:: in long double, over the ranges the selective scan feeds them.
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
