#include <gtest/gtest.h>

#include <complex>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "affectkit/common/check.h"

namespace affectkit {
namespace {

template <typename F>
std::string failure_of(F call) {
  try {
    call();
  } catch (const InvalidArgument& error) {
    return error.what();
  }
  return "no error";
}

// The format the bindings pass on to Python users verbatim: argument name in
// quotes, then the streamed explanation with the offending value.
TEST(Check, MessageNamesArgumentAndValue) {
  const int n_fft = -3;
  EXPECT_EQ(failure_of([&] { AK_CHECK(n_fft > 0, "n_fft", "must be positive, got " << n_fft); }),
            "invalid argument 'n_fft': must be positive, got -3");
  const double fmin = 8000.5, fmax = 4000;
  EXPECT_EQ(failure_of([&] {
              AK_CHECK(fmin < fmax, "fmin", "must be below fmax = " << fmax << ", got " << fmin);
            }),
            "invalid argument 'fmin': must be below fmax = 4000, got 8000.5");
  EXPECT_EQ(failure_of([&] { AK_CHECK(n_fft < 0, "n_fft", "never built"); }), "no error");
}

// The message is only built when the check fails: checks sit on hot paths, and
// a message with side effects must not run on success. The condition is
// evaluated exactly once.
TEST(Check, MessageIsBuiltOnlyOnFailureAndConditionOnce) {
  int message_builds = 0, conditions = 0;
  auto describe = [&] {
    ++message_builds;
    return "described";
  };
  AK_CHECK((++conditions, true), "x", describe());
  EXPECT_EQ(message_builds, 0);
  EXPECT_EQ(conditions, 1);
  EXPECT_EQ(failure_of([&] { AK_CHECK((++conditions, false), "x", describe()); }),
            "invalid argument 'x': described");
  EXPECT_EQ(message_builds, 1);
  EXPECT_EQ(conditions, 2);
}

// The macro is one statement: it can be the body of an unbraced if/else.
TEST(Check, MacroIsASingleStatement) {
  bool took_else = false;
  const bool use_check = false;
  if (use_check)
    AK_CHECK(false, "x", "unreachable");
  else
    took_else = true;
  EXPECT_TRUE(took_else);
}

// Callers that know only the standard hierarchy (and pybind11's translation of
// std::invalid_argument to ValueError) catch it.
TEST(Check, InvalidArgumentIsStdInvalidArgument) {
  static_assert(std::is_base_of_v<std::invalid_argument, InvalidArgument>);
  EXPECT_THROW(AK_CHECK(false, "x", "bad"), std::invalid_argument);
  EXPECT_THROW(AK_CHECK(false, "x", "bad"), std::logic_error);
}

template <typename T>
class CheckFiniteTest : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CheckFiniteTest, FloatTypes);

// Extreme finite values pass: the fast pass tests x - x == 0, which must hold
// for the largest, the subnormal and the signed-zero values too.
TYPED_TEST(CheckFiniteTest, AcceptsEveryFiniteValue) {
  using T = TypeParam;
  using limits = std::numeric_limits<T>;
  const std::vector<T> values = {T(0), -T(0), T(1), limits::max(), limits::lowest(),
                                 limits::min(), limits::denorm_min(), -limits::denorm_min()};
  EXPECT_NO_THROW(check_finite(values.data(), static_cast<std::int64_t>(values.size()), "y"));
  EXPECT_NO_THROW(check_finite<T>(nullptr, 0, "y"));
}

// The message names the argument and the first bad index (not a later one),
// for NaN, +Inf and -Inf, at the start, the middle and the end of the array.
TYPED_TEST(CheckFiniteTest, ReportsFirstNonFiniteValue) {
  using T = TypeParam;
  using limits = std::numeric_limits<T>;
  for (T bad : {limits::quiet_NaN(), limits::infinity(), -limits::infinity()}) {
    for (std::int64_t index : {0, 700, 999}) {
      std::vector<T> values(1000, T(1));
      values[index] = bad;
      if (index + 1 < 1000) values[999] = limits::quiet_NaN();  // a later bad value is not reported
      const std::string message = failure_of([&] { check_finite(values.data(), 1000, "waveform"); });
      EXPECT_EQ(message.rfind("invalid argument 'waveform': must be finite", 0), 0u) << message;
      EXPECT_NE(message.find("at flat index " + std::to_string(index)), std::string::npos) << message;
      // The value itself is shown (printed as nan / inf / -inf).
      const std::string shown = std::isnan(bad) ? "nan" : (bad > 0 ? "found inf" : "found -inf");
      EXPECT_NE(message.find(shown), std::string::npos) << message;
    }
  }
}

// Only the first `count` values are examined.
TYPED_TEST(CheckFiniteTest, LooksOnlyAtCountValues) {
  using T = TypeParam;
  const std::vector<T> values = {T(1), T(2), std::numeric_limits<T>::infinity()};
  EXPECT_NO_THROW(check_finite(values.data(), 2, "y"));
  EXPECT_THROW(check_finite(values.data(), 3, "y"), InvalidArgument);
}

// Complex values: the index counts complex elements, and a NaN in either part is found.
TYPED_TEST(CheckFiniteTest, ComplexIndexCountsElements) {
  using T = TypeParam;
  for (bool imaginary : {false, true}) {
    std::vector<std::complex<T>> values(10, std::complex<T>(1, 1));
    const T nan = std::numeric_limits<T>::quiet_NaN();
    values[7] = imaginary ? std::complex<T>(1, nan) : std::complex<T>(nan, 1);
    const std::string message = failure_of([&] { check_finite(values.data(), 10, "stft_matrix"); });
    EXPECT_NE(message.find("at flat index 7"), std::string::npos) << message;
    EXPECT_NO_THROW(check_finite(values.data(), 7, "stft_matrix"));
  }
}

}  // namespace
}  // namespace affectkit
