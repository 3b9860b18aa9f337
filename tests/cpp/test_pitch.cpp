#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/prosody/pitch.h"

namespace affectkit {
namespace {

// Praat's windowed-sinc interpolation is exact at the samples and reconstructs a
// slow sinusoid between them to within its window's error.
TEST(PraatInterpolation, ExactAtSamplesAndCloseBetweenThem) {
  std::vector<double> y(200);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = std::sin(0.3 * static_cast<double>(i) + 0.2);
  for (std::int64_t i : {0, 7, 100, 199}) EXPECT_EQ(praat::interpolate_sinc(y.data(), 200, static_cast<double>(i), 70), y[i]);
  for (double x : {50.25, 99.5, 120.9}) {
    EXPECT_NEAR(praat::interpolate_sinc(y.data(), 200, x, 70), std::sin(0.3 * x + 0.2), 2e-3) << x;
  }
  // Outside the array: the end values, as Praat.
  EXPECT_EQ(praat::interpolate_sinc(y.data(), 200, -0.5, 70), y[0]);
  EXPECT_EQ(praat::interpolate_sinc(y.data(), 200, 250.0, 70), y[199]);
  // Near the ends the depth shrinks (to linear at the first interval).
  EXPECT_DOUBLE_EQ(praat::interpolate_sinc(y.data(), 200, 0.5, 70), 0.5 * (y[0] + y[1]));
}

// Praat's NUM_interpolate_sinc as written there (0-based, depth >= 3): one term at a
// time with libm's sin and cos, the reference for the vectorised kernel.
double reference_interpolate_sinc(const std::vector<double>& y, double x, std::int64_t depth) {
  const std::int64_t size = static_cast<std::int64_t>(y.size());
  const std::int64_t midleft = static_cast<std::int64_t>(std::floor(x)), midright = midleft + 1;
  depth = std::min({depth, midright, size - 1 - midleft});
  const std::int64_t left = midright - depth, right = midleft + depth;
  double result = 0;
  for (std::int64_t i = left; i <= right; ++i) {
    const bool on_left = i <= midleft;
    const double distance = on_left ? x - static_cast<double>(i) : static_cast<double>(i) - x;
    const double span = on_left ? x - static_cast<double>(left) + 1.0 : static_cast<double>(right) - x + 1.0;
    const double a = M_PI * distance;
    // sin(pi (d0 + k)) = (-1)^k sin(pi d0) with d0 the side's nearest distance, as Praat.
    const double nearest = on_left ? x - static_cast<double>(midleft) : static_cast<double>(midright) - x;
    const double sign = ((on_left ? midleft - i : i - midright) % 2 == 0) ? 1.0 : -1.0;
    result += y[i] * 0.5 * sign * std::sin(M_PI * nearest) / a * (1.0 + std::cos(a / span));
  }
  return result;
}

TEST(PraatInterpolation, EqualsTheTermByTermFormula) {
  std::vector<double> y(451);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = std::sin(0.37 * static_cast<double>(i)) + 0.3 * std::cos(0.011 * i * i);
  double largest = 0;
  for (std::int64_t depth : {3, 7, 8, 9, 30, 50, 70, 213, 700}) {
    for (double x : {3.5, 100.000001, 100.25, 100.999999, 225.6180339, 300.0625, 446.7, 447.9}) {
      const double fast = praat::interpolate_sinc(y.data(), 451, x, depth);
      const double reference = reference_interpolate_sinc(y, x, depth);
      EXPECT_NEAR(fast, reference, 1e-13) << "depth " << depth << " x " << x;  // measured 1.3e-15
      largest = std::max(largest, std::fabs(fast - reference));
    }
  }
  RecordProperty("largest_difference", std::to_string(largest));
}

// Sound_resample's loop: the per-phase weight tables (periodic rate ratios) give each
// output as the term-by-term formula at that output's index, ends and a ratio with no
// short period (every output computed directly) included.
TEST(PraatInterpolation, ResampleEqualsInterpolationAtEachOutput) {
  std::vector<double> y(3001);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = std::sin(0.37 * static_cast<double>(i)) + 0.3 * std::cos(1e-4 * i * i);
  const double x1 = 0.5 / 16000;
  double overall = 0;
  for (double sr : {16000.0, 44100.0, 8000.0, 48000.0}) {
    for (double out_sr : {11000.0, 10999.37}) {
      const double dx = 1 / sr, out_dx = 1 / out_sr, out_x1 = 0.37 * dx;
      const auto count = static_cast<std::int64_t>(std::floor(3000 * dx / out_dx));
      std::vector<double> out(static_cast<std::size_t>(count));
      praat::resample_sinc(y.data(), 3001, x1, dx, out_x1, out_dx, count, 50, out.data());
      double largest = 0;
      for (std::int64_t i = 0; i < count; ++i) {
        const double x = (out_x1 + static_cast<double>(i) * out_dx - x1) / dx;
        const double reference = x < 2 || x > 2998 ? praat::interpolate_sinc(y.data(), 3001, x, 50)
                                                   : reference_interpolate_sinc(y, x, 50);
        largest = std::max(largest, std::fabs(out[i] - reference));
      }
      EXPECT_LE(largest, 1e-12) << sr << " -> " << out_sr;  // measured 3.1e-13 (values up to 1.3)
      overall = std::max(overall, largest);
    }
  }
  std::ostringstream text;
  text << overall;
  RecordProperty("largest_difference", text.str());
}

TEST(PraatBrent, FindsTheMinimumOfSmoothFunctions) {
  double minimum = 0;
  const double x = praat::minimize_brent([](double t) { return (t - 0.3) * (t - 0.3) + 1.0; }, -1.0, 2.0, 1e-10, &minimum);
  EXPECT_NEAR(x, 0.3, 1e-7);
  EXPECT_NEAR(minimum, 1.0, 1e-12);
  const double y = praat::minimize_brent([](double t) { return -std::cos(t - 1.234); }, 0.5, 2.0, 1e-10, &minimum);
  EXPECT_NEAR(y, 1.234, 1e-7);
  // No interior minimum: ends at the lower boundary.
  const double z = praat::minimize_brent([](double t) { return t; }, 0.0, 1.0, 1e-10, &minimum);
  EXPECT_NEAR(z, 0.0, 1e-7);
}

// A pulse train at 125 Hz: every frame voiced at 125 Hz, strength near 1.
TEST(PraatPitch, PulseTrainGivesItsRate) {
  const double sr = 8000;
  std::vector<double> y(8000, 0.0);
  for (std::size_t i = 0; i < y.size(); i += 64) y[i] = 1.0;
  PraatPitchParams params;
  params.sample_rate = sr;
  const PitchFrames frames = praat_pitch_frames(static_cast<std::int64_t>(y.size()), params);
  ASSERT_GT(frames.count, 50);
  std::vector<double> out(2 * frames.count);
  const double* signals[] = {y.data()};
  const std::int64_t lengths[] = {static_cast<std::int64_t>(y.size())};
  double* outputs[] = {out.data()};
  praat_pitch(SignalBatch<double>{signals, lengths, 1}, params, outputs, 1);
  for (std::int64_t t = 0; t < frames.count; ++t) {
    EXPECT_NEAR(out[t], 125.0, 0.01) << t;
    EXPECT_GT(out[frames.count + t], 0.9) << t;
  }
}

TEST(PraatPitch, RejectsBadParametersAndCountsNoFramesForShortSignals) {
  PraatPitchParams params;
  params.pitch_ceiling = 50;  // below the 75 Hz floor
  EXPECT_THROW(praat_pitch_frames(16000, params), InvalidArgument);
  params = PraatPitchParams();
  EXPECT_EQ(praat_pitch_frames(100, params).count, 0);  // 40 ms are needed
  EXPECT_EQ(praat_pitch_frames(0, params).count, 0);
  EXPECT_EQ(praat_pitch_frames(16000, params).count, 97);  // Praat's count for 1 s at 16 kHz
}

}  // namespace
}  // namespace affectkit
