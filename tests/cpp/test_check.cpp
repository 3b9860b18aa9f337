#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "affectkit/common/check.h"

namespace affectkit {
namespace {

std::string failure_of(void (*call)()) {
  try {
    call();
  } catch (const InvalidArgument& error) {
    return error.what();
  }
  return "no error";
}

TEST(Check, MessageNamesArgumentAndValue) {
  const std::string message = failure_of([] {
    const int n_fft = -3;
    AK_CHECK(n_fft > 0, "n_fft", "must be positive, got " << n_fft);
  });
  EXPECT_EQ(message, "invalid argument 'n_fft': must be positive, got -3");
  EXPECT_EQ(failure_of([] { AK_CHECK(true, "x", "never"); }), "no error");
}

TEST(Check, InvalidArgumentIsStdInvalidArgument) {
  EXPECT_THROW(AK_CHECK(false, "x", "bad"), std::invalid_argument);
}

TEST(Check, FiniteReportsFirstBadIndex) {
  std::vector<float> values(1000, 1.0f);
  EXPECT_NO_THROW(check_finite(values.data(), 1000, "y"));
  values[700] = std::numeric_limits<float>::infinity();
  values[900] = NAN;
  try {
    check_finite(values.data(), 1000, "y");
    FAIL() << "infinity accepted";
  } catch (const InvalidArgument& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("'y'"), std::string::npos) << message;
    EXPECT_NE(message.find("index 700"), std::string::npos) << message;
  }
  std::vector<double> nan_first = {NAN, 0.0};
  EXPECT_THROW(check_finite(nan_first.data(), 2, "y"), InvalidArgument);
  EXPECT_NO_THROW(check_finite(nan_first.data(), 0, "y"));
}

}  // namespace
}  // namespace affectkit
