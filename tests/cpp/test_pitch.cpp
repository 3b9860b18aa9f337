#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
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
// time with libm's sin and cos, the reference for the vectorised kernel (in long
// double: the reference for the maximiser's derivatives).
template <typename Real>
Real reference_interpolate_sinc(const std::vector<double>& y, Real x, std::int64_t depth) {
  const std::int64_t size = static_cast<std::int64_t>(y.size());
  const std::int64_t midleft = static_cast<std::int64_t>(std::floor(x)), midright = midleft + 1;
  depth = std::min({depth, midright, size - 1 - midleft});
  const std::int64_t left = midright - depth, right = midleft + depth;
  const Real pi = 3.141592653589793238462643383279502884L;
  Real result = 0;
  for (std::int64_t i = left; i <= right; ++i) {
    const bool on_left = i <= midleft;
    const Real distance = on_left ? x - static_cast<Real>(i) : static_cast<Real>(i) - x;
    const Real span = on_left ? x - static_cast<Real>(left) + 1 : static_cast<Real>(right) - x + 1;
    const Real a = pi * distance;
    // sin(pi (d0 + k)) = (-1)^k sin(pi d0) with d0 the side's nearest distance, as Praat.
    const Real nearest = on_left ? x - static_cast<Real>(midleft) : static_cast<Real>(midright) - x;
    const Real sign = ((on_left ? midleft - i : i - midright) % 2 == 0) ? 1 : -1;
    result += static_cast<Real>(y[i]) * Real(0.5) * sign * std::sin(pi * nearest) / a * (1 + std::cos(a / span));
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

// Newton's refinement against Brent's (the path it replaces) on the peaks of many random
// autocorrelation-like interpolants (harmonics plus noise; depths 70 and 700): where
// Newton answers, it is Brent's maximum (within Brent's tolerance, never lower), and it
// is the interpolant's stationary point to 1e-12 relative: the central difference of the
// long double term-by-term formula there is below 1e-12 |x| |f''|.
TEST(PraatInterpolation, NewtonMaximumIsBrentsMaximum) {
  std::mt19937_64 random(4);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::normal_distribution<double> normal;
  std::int64_t peaks = 0, answered = 0;
  double worst_position = 0, worst_value = 0, parabola_error = 0, start_error = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const std::int64_t size = 901, depth = trial % 6 == 5 ? 700 : 70;
    const double period = 26 + 180 * uniform(random), noise = trial % 3 == 0 ? 0.0 : 0.2 * uniform(random);
    std::vector<double> y(size);
    for (std::int64_t i = 0; i < size; ++i) {
      const double t = static_cast<double>(i) / period;
      y[i] = std::cos(2 * M_PI * t) + 0.5 * std::cos(4 * M_PI * t + 1.0) + 0.2 * std::cos(6 * M_PI * t + 2.0) +
             noise * normal(random);
    }
    for (std::int64_t i = 2; i < size - 2; ++i) {
      if (!(y[i] > y[i - 1] && y[i] >= y[i + 1])) continue;
      ++peaks;
      const double parabola = static_cast<double>(i) + 0.5 * (y[i + 1] - y[i - 1]) / (2 * y[i] - y[i - 1] - y[i + 1]);
      const double start = praat::sinc_peak_start(y.data(), size, i);
      double x = start, maximum;
      if (!praat::maximize_sinc_newton(y.data(), size, depth, i, &x, &maximum)) continue;
      ++answered;
      if (noise == 0.0) {  // smooth peaks: how close each start is
        parabola_error += std::fabs(parabola - x);
        start_error += std::fabs(start - x);
      }
      double minimum;  // as ak.pitch calls it: 1-based, Praat's tolerance
      const double brent = praat::minimize_brent(
          [&](double x1) { return -praat::interpolate_sinc(y.data(), size, x1 - 1.0, depth); },
          static_cast<double>(i), static_cast<double>(i) + 2.0, 1e-10, &minimum) - 1.0;
      const double brent_tolerance = 2 * (std::sqrt(0.5 * 2.2e-16) * std::fabs(brent + 1) + 1e-10 / 3);
      ASSERT_NEAR(x, brent, brent_tolerance) << "trial " << trial << " peak " << i;
      ASSERT_GE(maximum, -minimum - 4e-15) << "trial " << trial << " peak " << i << " by " << maximum + minimum << " at " << x - brent;
      ASSERT_NEAR(maximum, praat::interpolate_sinc(y.data(), size, x, depth), 1e-14 * std::fabs(maximum) + 1e-15);
      // Central differences within the piece (the samples are kinks).
      const long double at = x, h = std::min(2e-6L, 0.5L * std::fabs(at - std::nearbyint(at)));
      const long double up = reference_interpolate_sinc<long double>(y, at + h, depth),
                        down = reference_interpolate_sinc<long double>(y, at - h, depth),
                        here = reference_interpolate_sinc<long double>(y, at, depth);
      const double slope = static_cast<double>((up - down) / (2 * h)), curvature = static_cast<double>((up - 2 * here + down) / (h * h));
      worst_position = std::max(worst_position, std::fabs(slope / curvature) / x);
      worst_value = std::max(worst_value, std::fabs(maximum + minimum));
    }
  }
  EXPECT_LE(worst_position, 1e-12);
  // The rest (maxima on or near the kink at a sample, spurious noise peaks): Brent.
  EXPECT_GE(answered, 0.8 * static_cast<double>(peaks));
  // On smooth peaks the quartic's vertex starts Newton nearer the maximum than the parabola's.
  EXPECT_LT(start_error, 0.5 * parabola_error);
  std::ostringstream text;
  text << answered << " of " << peaks << " peaks; position within " << worst_position << " relative; values within "
       << worst_value << " of Brent's; smooth peaks: start within " << start_error << " in all (parabola "
       << parabola_error << ")";
  RecordProperty("newton", text.str());
}

// The slope at a sample of the piece on either side (what Newton's refinement asks of
// the piece across the kink, once per answer) against the long double term-by-term
// formula: a one-sided second-order difference inside that piece.
TEST(PraatInterpolation, SlopeAtASampleIsTheLimitOfEachPiece) {
  std::mt19937_64 random(7);
  std::normal_distribution<double> normal;
  const std::int64_t size = 901;
  std::vector<double> y(size);
  for (std::int64_t i = 0; i < size; ++i) y[i] = std::cos(2 * M_PI * static_cast<double>(i) / 37.0) + 0.3 * normal(random);
  double worst = 0, smallest_kink = 1e300;
  for (std::int64_t depth : {70, 700}) {
    for (std::int64_t centre : {8, 9, 40, 69, 70, 71, 300, 450, 831, 892}) {
      double slopes[2];
      for (int side : {1, -1}) {
        double slope;
        ASSERT_TRUE(praat::sinc_slope_at_sample(y.data(), size, depth, centre, side, &slope)) << centre;
        const long double h = 1e-5L * side, at = static_cast<long double>(centre);
        const long double f0 = y[centre], f1 = reference_interpolate_sinc<long double>(y, at + h, depth),
                          f2 = reference_interpolate_sinc<long double>(y, at + 2 * h, depth);
        const double reference = static_cast<double>((-3 * f0 + 4 * f1 - f2) / (2 * h));
        worst = std::max(worst, std::fabs(slope - reference));
        ASSERT_NEAR(slope, reference, 1e-9) << "depth " << depth << " centre " << centre << " side " << side;
        slopes[side > 0] = slope;
      }
      smallest_kink = std::min(smallest_kink, std::fabs(slopes[1] - slopes[0]));
    }
  }
  EXPECT_GT(smallest_kink, 1e3 * worst);  // the test tells the two pieces apart
  double slope;  // too near the end for a depth of eight lanes: no answer
  EXPECT_FALSE(praat::sinc_slope_at_sample(y.data(), size, 70, 5, 1, &slope));
  std::ostringstream text;
  text << "within " << worst << "; kinks from " << smallest_kink;
  RecordProperty("slope", text.str());
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
