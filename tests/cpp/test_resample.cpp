#include <gtest/gtest.h>

#include <cmath>
#include <utility>
#include <vector>

#include "affectkit/features/resample.h"

namespace affectkit {
namespace {

std::vector<double> run(const std::vector<double>& x, const ResampleParams& p, int threads) {
  std::vector<double> y(resample_length(static_cast<std::int64_t>(x.size()), p));
  const double* signal = x.data();
  const std::int64_t length = static_cast<std::int64_t>(x.size());
  double* out = y.data();
  resample(SignalBatch<double>{&signal, &length, 1}, p, &out, threads);
  return y;
}

// Every phase has unit DC gain, so a constant stays constant away from the ends.
TEST(Resample, PreservesConstantsAndLengths) {
  for (auto [up, down] : {std::pair<std::int64_t, std::int64_t>{160, 441}, {2, 1}, {1, 3}, {147, 160}}) {
    ResampleParams p;
    p.up = up;
    p.down = down;
    const std::vector<double> x(20000, 0.75);
    const auto y = run(x, p, 2);
    EXPECT_EQ(static_cast<std::int64_t>(y.size()), (20000 * up + down - 1) / down);
    for (std::size_t j = y.size() / 4; j < 3 * y.size() / 4; ++j) ASSERT_NEAR(y[j], 0.75, 1e-12) << up << "/" << down;
  }
}

// Upsampling by an integer factor keeps the original samples' values at their times
// for a band-limited input (a slow sine), and threads do not change the result.
TEST(Resample, IntegerUpsamplingInterpolatesBandLimitedSignals) {
  ResampleParams p;
  p.up = 3;
  std::vector<double> x(4000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.05 * static_cast<double>(i));
  const auto y = run(x, p, 1);
  for (std::size_t i = 500; i < 3500; ++i) {
    ASSERT_NEAR(y[3 * i], x[i], 1e-5);  // the default filter's ripple is ~-100 dB
    ASSERT_NEAR(y[3 * i + 1], std::sin(0.05 * (static_cast<double>(i) + 1.0 / 3)), 1e-5);
  }
  EXPECT_EQ(y, run(x, p, 2));
}

TEST(Resample, RejectsBadParameters) {
  ResampleParams p;
  p.up = 0;
  EXPECT_THROW(resample_length(10, p), std::invalid_argument);
  p.up = 2;
  p.cutoff = 1.5;
  EXPECT_THROW(resample_length(10, p), std::invalid_argument);
  p.cutoff = 0.9;
  EXPECT_THROW(resample_length(0, p), std::invalid_argument);
}

}  // namespace
}  // namespace affectkit
