// Praat's jitter and shimmer formulas on hand-made point processes, against
// readable references written from the definitions (Praat's manual: "Voice 2.
// Jitter", "Voice 3. Shimmer"), and the pulse search on pulse trains.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/prosody/voice_report.h"

namespace affectkit {
namespace {

using praat::PeriodRule;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------- references

double ratio(double a, double b) { return std::max(a, b) / std::min(a, b); }

// The intervals between consecutive points inside [tmin, tmax].
std::vector<double> intervals_in(const std::vector<double>& t, double tmin, double tmax) {
  std::vector<double> inside, periods;
  for (double x : t) {
    if (x >= tmin && x <= tmax) inside.push_back(x);
  }
  for (std::size_t i = 1; i < inside.size(); ++i) periods.push_back(inside[i] - inside[i - 1]);
  return periods;
}

// Mean over the windows of `width` consecutive periods that all lie in
// [pmin, pmax] and whose neighbours differ by at most the factor, of
// |centre period - mean of the window| (for width 2: |p1 - p2|); NaN if none.
double mean_deviation(const std::vector<double>& p, std::size_t width, const PeriodRule& rule) {
  double sum = 0;
  int accepted = 0;
  for (std::size_t start = 0; start + width <= p.size(); ++start) {
    bool ok = true;
    for (std::size_t k = start; k < start + width; ++k) {
      if (rule.pmin != rule.pmax) ok = ok && p[k] >= rule.pmin && p[k] <= rule.pmax;
      if (rule.pmin != rule.pmax && k > start) ok = ok && ratio(p[k - 1], p[k]) <= rule.max_period_factor;
    }
    if (!ok) continue;
    double deviation;
    if (width == 2) {
      deviation = std::fabs(p[start] - p[start + 1]);
    } else {
      const double mean = std::accumulate(p.begin() + start, p.begin() + start + width, 0.0) / width;
      deviation = std::fabs(p[start + width / 2] - mean);
    }
    sum += deviation;
    ++accepted;
  }
  return accepted ? sum / accepted : kNaN;
}

// An interval between consecutive points of the window counts for the mean
// period if it lies in [pmin, pmax] and is within the factor of at least one of
// its neighbours (which may lie outside the window), or has none.
double reference_mean_period(const std::vector<double>& t, double tmin, double tmax, const PeriodRule& rule) {
  double sum = 0;
  int count = 0;
  for (std::size_t k = 0; k + 1 < t.size(); ++k) {
    if (t[k] < tmin || t[k + 1] > tmax) continue;
    const double p = t[k + 1] - t[k];
    bool ok = rule.pmin == rule.pmax || (p >= rule.pmin && p <= rule.pmax);
    if (ok && rule.pmin != rule.pmax) {
      const bool bad_previous = k > 0 && ratio(p, t[k] - t[k - 1]) > rule.max_period_factor;
      const bool bad_next = k + 2 < t.size() && ratio(p, t[k + 2] - t[k + 1]) > rule.max_period_factor;
      ok = !(bad_previous && bad_next);
    }
    if (ok) {
      sum += p;
      ++count;
    }
  }
  return count ? sum / count : kNaN;
}

struct Jitter {
  double local, absolute, rap, ppq5;
};

Jitter reference_jitter(const std::vector<double>& t, double tmin, double tmax, const PeriodRule& rule) {
  const std::vector<double> p = intervals_in(t, tmin, tmax);
  const double mean = reference_mean_period(t, tmin, tmax, rule);
  const double absolute = mean_deviation(p, 2, rule);
  return {absolute / mean, absolute, mean_deviation(p, 3, rule) / mean, mean_deviation(p, 5, rule) / mean};
}

// Shimmer on (time, amplitude) points: consecutive amplitudes whose periods lie
// in [pmin, pmax] and whose ratio is at most the factor; over the mean amplitude
// of all points but the last (Praat's denominator).
double reference_shimmer(const std::vector<double>& t, const std::vector<double>& a, std::size_t width, bool decibels,
                         double pmin, double pmax, double max_factor) {
  double sum = 0;
  int accepted = 0;
  for (std::size_t start = 0; start + width <= a.size(); ++start) {
    bool ok = true;
    for (std::size_t k = start + 1; k < start + width; ++k) {
      if (pmin != pmax) ok = ok && t[k] - t[k - 1] >= pmin && t[k] - t[k - 1] <= pmax;
      ok = ok && ratio(a[k - 1], a[k]) <= max_factor;
    }
    if (!ok) continue;
    if (decibels) {
      sum += 20 * std::fabs(std::log10(a[start] / a[start + 1]));
    } else if (width == 2) {
      sum += std::fabs(a[start] - a[start + 1]);
    } else {
      const double mean = std::accumulate(a.begin() + start, a.begin() + start + width, 0.0) / width;
      sum += std::fabs(a[start + width / 2] - mean);
    }
    ++accepted;
  }
  if (!accepted) return kNaN;
  if (decibels) return sum / accepted;
  const double mean = std::accumulate(a.begin(), a.end() - 1, 0.0) / (a.size() - 1);
  return sum / accepted / mean;
}

// ---------------------------------------------------------------- helpers

// Deterministic noise in [-1, 1) (a 64-bit LCG), so that the tests need no seed.
struct Noise {
  std::uint64_t state = 12345;
  double operator()() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 4503599627370496.0 - 1.0;
  }
};

// Pulses from t0 with periods around `period`, each scaled by 1 + jitter * noise.
std::vector<double> pulse_train(double t0, double period, int count, double jitter, Noise& noise) {
  std::vector<double> t{t0};
  for (int i = 1; i < count; ++i) t.push_back(t.back() + period * (1 + jitter * noise()));
  return t;
}

void expect_close(double actual, double expected, const char* what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": " << actual << " where the reference is undefined";
  } else {
    EXPECT_NEAR(actual, expected, 1e-12 * std::fabs(expected) + 1e-15) << what;  // sums in another order
  }
}

void expect_jitter_matches_reference(const std::vector<double>& t, double tmin, double tmax, const PeriodRule& rule) {
  const double* p = t.data();
  const auto n = static_cast<std::int64_t>(t.size());
  const Jitter r = reference_jitter(t, tmin, tmax, rule);
  expect_close(praat::jitter_local(p, n, tmin, tmax, rule), r.local, "jitter local");
  expect_close(praat::jitter_local_absolute(p, n, tmin, tmax, rule), r.absolute, "jitter local absolute");
  expect_close(praat::jitter_rap(p, n, tmin, tmax, rule), r.rap, "jitter rap");
  expect_close(praat::jitter_ppq5(p, n, tmin, tmax, rule), r.ppq5, "jitter ppq5");
  expect_close(praat::mean_period(p, n, tmin, tmax, rule), reference_mean_period(t, tmin, tmax, rule), "mean period");
}

void expect_shimmer_matches_reference(const std::vector<double>& t, const std::vector<double>& a, double pmin,
                                      double pmax, double factor) {
  const auto n = static_cast<std::int64_t>(t.size());
  expect_close(praat::shimmer_local(t.data(), a.data(), n, pmin, pmax, factor),
               reference_shimmer(t, a, 2, false, pmin, pmax, factor), "shimmer local");
  expect_close(praat::shimmer_local_db(t.data(), a.data(), n, pmin, pmax, factor),
               reference_shimmer(t, a, 2, true, pmin, pmax, factor), "shimmer local dB");
  expect_close(praat::shimmer_apq3(t.data(), a.data(), n, pmin, pmax, factor),
               reference_shimmer(t, a, 3, false, pmin, pmax, factor), "shimmer apq3");
  expect_close(praat::shimmer_apq5(t.data(), a.data(), n, pmin, pmax, factor),
               reference_shimmer(t, a, 5, false, pmin, pmax, factor), "shimmer apq5");
  expect_close(praat::shimmer_apq11(t.data(), a.data(), n, pmin, pmax, factor),
               reference_shimmer(t, a, 11, false, pmin, pmax, factor), "shimmer apq11");
}

const PeriodRule kPraatRule{0.0001, 0.02, 1.3};

// ---------------------------------------------------------------- jitter

TEST(VoiceReportJitter, KnownValuesOfAnAlternatingTrain) {
  // Periods 10, 11, 10, 11, ... ms: every difference is 1 ms.
  std::vector<double> t{0.1};
  for (int i = 0; i < 40; ++i) t.push_back(t.back() + (i % 2 ? 0.011 : 0.010));
  const auto n = static_cast<std::int64_t>(t.size());
  EXPECT_NEAR(praat::jitter_local_absolute(t.data(), n, 0, 1, kPraatRule), 0.001, 1e-15);
  EXPECT_NEAR(praat::mean_period(t.data(), n, 0, 1, kPraatRule), 0.0105, 1e-15);
  EXPECT_NEAR(praat::jitter_local(t.data(), n, 0, 1, kPraatRule), 0.001 / 0.0105, 1e-12);
  // rap: |11 - 31/3| = |10 - 32/3| = 2/3 ms for every triple; ppq5: |10 - 10.4| =
  // |11 - 10.6| = 0.4 ms for every quintuple.
  EXPECT_NEAR(praat::jitter_rap(t.data(), n, 0, 1, kPraatRule), (0.002 / 3) / 0.0105, 1e-12);
  EXPECT_NEAR(praat::jitter_ppq5(t.data(), n, 0, 1, kPraatRule), 0.0004 / 0.0105, 1e-12);
  EXPECT_EQ(praat::number_of_periods(t.data(), n, 0, 1, kPraatRule), 40);
}

TEST(VoiceReportJitter, RandomTrainsMatchTheReference) {
  Noise noise;
  for (double jitter : {0.0, 0.005, 0.02, 0.08, 0.2}) {
    for (double period : {0.0025, 0.006, 0.011}) {
      const std::vector<double> t = pulse_train(0.05, period, 120, jitter, noise);
      SCOPED_TRACE(testing::Message() << "jitter " << jitter << ", period " << period);
      expect_jitter_matches_reference(t, 0.0, 10.0, kPraatRule);
      expect_jitter_matches_reference(t, 0.0, 10.0, PeriodRule{0.0, 0.0, 1.3});  // every interval counts
      expect_jitter_matches_reference(t, 0.0, 10.0, PeriodRule{0.0001, 0.02, 1.05});
      expect_jitter_matches_reference(t, 0.2, 0.5, kPraatRule);  // a time range
    }
  }
}

TEST(VoiceReportJitter, GapsAndOutliersAreLeftOut) {
  Noise noise;
  std::vector<double> t = pulse_train(0.1, 0.008, 30, 0.01, noise);
  const std::vector<double> second = pulse_train(t.back() + 0.05, 0.008, 30, 0.01, noise);  // 50 ms unvoiced
  t.insert(t.end(), second.begin(), second.end());
  t.insert(t.begin() + 10, t[9] + 0.0025);  // a spurious pulse: periods 2.5 ms and ~5.5 ms
  expect_jitter_matches_reference(t, 0, 10, kPraatRule);
  // Without the gap and the spurious pulse the measures barely change; with
  // every interval counted they explode.
  const auto n = static_cast<std::int64_t>(t.size());
  EXPECT_LT(praat::jitter_local(t.data(), n, 0, 10, kPraatRule), 0.03);
  EXPECT_GT(praat::jitter_local(t.data(), n, 0, 10, PeriodRule{0, 0, 1.3}), 0.1);
  // The 50 ms gap is not a period, nor are the 2.5 ms and ~5.5 ms intervals
  // (each differs by more than a factor 1.3 from both of its neighbours).
  EXPECT_EQ(praat::number_of_periods(t.data(), n, 0, 10, kPraatRule), n - 1 - 3);
}

TEST(VoiceReportJitter, UndefinedWithTooFewPoints) {
  const std::vector<double> t{0.1, 0.11, 0.12, 0.131, 0.14, 0.15};
  const PeriodRule rule = kPraatRule;
  auto local = [&](int n) { return praat::jitter_local(t.data(), n, 0, 1, rule); };
  auto rap = [&](int n) { return praat::jitter_rap(t.data(), n, 0, 1, rule); };
  auto ppq5 = [&](int n) { return praat::jitter_ppq5(t.data(), n, 0, 1, rule); };
  EXPECT_TRUE(std::isnan(local(0)));
  EXPECT_TRUE(std::isnan(local(2)));   // one period
  EXPECT_FALSE(std::isnan(local(3)));  // two periods
  EXPECT_TRUE(std::isnan(rap(3)));
  EXPECT_FALSE(std::isnan(rap(4)));
  EXPECT_TRUE(std::isnan(ppq5(5)));
  EXPECT_FALSE(std::isnan(ppq5(6)));
  EXPECT_TRUE(std::isnan(praat::mean_period(t.data(), 1, 0, 1, rule)));
  EXPECT_TRUE(std::isnan(praat::stdev_period(t.data(), 2, 0, 1, rule)));
  EXPECT_NEAR(praat::stdev_period(t.data(), 3, 0, 1, rule), 0.0, 1e-15);
}

// ---------------------------------------------------------------- shimmer

TEST(VoiceReportShimmer, RandomAmplitudesMatchTheReference) {
  Noise noise;
  for (double shimmer : {0.0, 0.03, 0.15, 0.4}) {
    std::vector<double> t = pulse_train(0.05, 0.007, 80, 0.02, noise), a;
    for (std::size_t i = 0; i < t.size(); ++i) a.push_back(0.3 * (1 + shimmer * noise()));
    SCOPED_TRACE(testing::Message() << "shimmer " << shimmer);
    expect_shimmer_matches_reference(t, a, 0.0001, 0.02, 1.6);
    expect_shimmer_matches_reference(t, a, 0.0001, 0.02, 1.1);
    expect_shimmer_matches_reference(t, a, 0.0, 0.0, 1.6);
    expect_shimmer_matches_reference(t, a, 0.0001, 0.0069, 1.6);  // some periods too long
  }
}

TEST(VoiceReportShimmer, KnownValuesAndUndefinedCases) {
  std::vector<double> t, a;
  for (int i = 0; i < 12; ++i) {
    t.push_back(0.01 * i);
    a.push_back(i % 2 ? 1.2 : 1.0);
  }
  const auto n = static_cast<std::int64_t>(t.size());
  // |1.0 - 1.2| = 0.2 for every pair, over the mean of all amplitudes but the last.
  const double mean = (6 * 1.0 + 5 * 1.2) / 11;
  EXPECT_NEAR(praat::shimmer_local(t.data(), a.data(), n, 0.0001, 0.02, 1.6), 0.2 / mean, 1e-12);
  EXPECT_NEAR(praat::shimmer_local_db(t.data(), a.data(), n, 0.0001, 0.02, 1.6), 20 * std::log10(1.2), 1e-12);
  EXPECT_TRUE(std::isnan(praat::shimmer_local(t.data(), a.data(), n, 0.0001, 0.02, 1.1)));  // every ratio is 1.2
  EXPECT_TRUE(std::isnan(praat::shimmer_local(t.data(), a.data(), 1, 0.0001, 0.02, 1.6)));
  EXPECT_TRUE(std::isnan(praat::shimmer_apq11(t.data(), a.data(), 10, 0.0001, 0.02, 1.6)));
  EXPECT_FALSE(std::isnan(praat::shimmer_apq11(t.data(), a.data(), 11, 0.0001, 0.02, 1.6)));
}

// The amplitude of a period is the Hann-windowed RMS around its pulse: a
// sinusoid of amplitude A gives about A / sqrt(2) at every pulse, and scaling the
// signal scales the amplitudes and leaves shimmer alone.
TEST(VoiceReportShimmer, PeriodAmplitudesAreWindowedRms) {
  const double sr = 16000, f0 = 125;
  std::vector<double> y(16000), pulses;
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = 0.5 * std::sin(2 * M_PI * f0 * (i + 0.5) / sr);
  for (int k = 2; k < 120; ++k) pulses.push_back((k + 0.25) / f0);  // the sine's maxima
  std::vector<double> times, amplitudes;
  ASSERT_TRUE(praat::period_amplitudes(pulses.data(), static_cast<std::int64_t>(pulses.size()), y.data(), 16000, sr, 0,
                                       1, kPraatRule, &times, &amplitudes));
  ASSERT_EQ(amplitudes.size(), pulses.size() - 2);  // every pulse but the first and the last
  // 0.2 period to each side: the Hann-weighted mean of sin^2 near its maximum,
  // well above the plain RMS.
  for (double amplitude : amplitudes) EXPECT_NEAR(amplitude, amplitudes[0], 1e-3 * amplitudes[0]);
  EXPECT_GT(amplitudes[0], 0.5 / std::sqrt(2.0));
  EXPECT_LT(amplitudes[0], 0.5);
  EXPECT_FALSE(praat::period_amplitudes(pulses.data(), 2, y.data(), 16000, sr, 0, 1, kPraatRule, &times, &amplitudes));
  EXPECT_TRUE(times.empty());
}

// The windowed RMS rotates the Hann window's cosine from sample to sample: it
// agrees with a cosine per sample (Praat's way) on noise under jittered pulses,
// including unequal periods on the two sides of a pulse.
TEST(VoiceReportShimmer, PeriodAmplitudesMatchACosinePerSample) {
  const double sr = 16000;
  std::mt19937 rng(7);
  std::normal_distribution<double> noise;
  std::uniform_real_distribution<double> jitter(-0.0005, 0.0005);
  std::vector<double> y(16000), pulses;
  for (double& v : y) v = noise(rng);
  for (double t = 0.01; t < 0.99; t += 0.008 + jitter(rng)) pulses.push_back(t);
  std::vector<double> times, amplitudes;
  ASSERT_TRUE(praat::period_amplitudes(pulses.data(), static_cast<std::int64_t>(pulses.size()), y.data(), 16000, sr, 0,
                                       1, kPraatRule, &times, &amplitudes));
  ASSERT_GT(times.size(), 100u);
  for (std::size_t k = 0; k < times.size(); ++k) {
    const auto i = std::lower_bound(pulses.begin(), pulses.end(), times[k]) - pulses.begin();
    const double tmid = pulses[i], left = 0.2 * (tmid - pulses[i - 1]), right = 0.2 * (pulses[i + 1] - tmid);
    long double sum = 0.0, window_sum = 0.0;
    for (std::int64_t j = 0; j < 16000; ++j) {
      const double t = (j + 0.5) / sr;  // sample j + 1's time
      if (t < tmid - left || t > tmid + right) continue;
      const double width = t < tmid ? left : right;
      const double window = 0.5 + 0.5 * std::cos(M_PI * ((t - tmid) / width));
      sum += (y[j] * window) * (y[j] * window);
      window_sum += window * window;
    }
    EXPECT_NEAR(amplitudes[k], std::sqrt(static_cast<double>(sum / window_sum)), 1e-12 * amplitudes[k]) << k;
  }
}

// ---------------------------------------------------------------- pulses and the report

// Impulses every 80 samples at 8 kHz with a 100 Hz contour: one pulse on every
// impulse (exactly on its sample time) over the voiced frames.
TEST(VoiceReportPulses, ImpulseTrainGivesItsImpulses) {
  const double sr = 8000;
  std::vector<double> y(8000, 0.0);
  for (std::size_t i = 40; i < y.size(); i += 80) y[i] = 1.0;
  std::vector<double> f0(97, 100.0);
  for (int i = 0; i < 10; ++i) f0[i] = kNaN;  // unvoiced first 0.1 s
  const PitchContour contour{f0.data(), 97, 0.02, 0.01};
  const std::vector<double> pulses = point_process_cc(y.data(), 8000, sr, contour);
  ASSERT_GT(pulses.size(), 80u);
  for (double t : pulses) {
    const double sample = t * sr - 0.5;  // sample i sits at (i + 0.5) / sr
    EXPECT_NEAR(sample, std::round(sample), 1e-6) << t;
    EXPECT_EQ(static_cast<std::int64_t>(std::round(sample)) % 80, 40) << t;
  }
  for (std::size_t i = 1; i < pulses.size(); ++i) EXPECT_NEAR(pulses[i] - pulses[i - 1], 0.01, 1e-9);
  EXPECT_GT(pulses.front(), 0.095);  // none in the unvoiced start

  VoiceReportParams params;
  params.sample_rate = sr;
  const VoiceMeasures m = voice_measures(pulses.data(), static_cast<std::int64_t>(pulses.size()), y.data(), 8000, params);
  EXPECT_EQ(m.num_pulses, static_cast<std::int64_t>(pulses.size()));
  EXPECT_EQ(m.num_periods, m.num_pulses - 1);
  EXPECT_NEAR(m.mean_period, 0.01, 1e-9);
  EXPECT_LT(m.jitter_local, 1e-6);
  EXPECT_LT(m.shimmer_local, 1e-6);
  EXPECT_NEAR(m.jitter_ddp, 3 * m.jitter_rap, 1e-18);
  EXPECT_NEAR(m.shimmer_dda, 3 * m.shimmer_apq3, 1e-18);
}

TEST(VoiceReportPulses, SilenceAndUnvoicedContoursGiveNoPulsesAndUndefinedMeasures) {
  std::vector<double> y(16000, 0.0), f0(97, 120.0);
  VoiceReportParams params;
  // Praat still places the first pulse in the middle of a voiced stretch, then
  // finds no correlation to either side.
  EXPECT_EQ(point_process_cc(y.data(), 16000, 16000, {f0.data(), 97, 0.02, 0.01}).size(), 1u);
  std::vector<double> unvoiced(97, kNaN);
  y[100] = 1.0;
  EXPECT_TRUE(point_process_cc(y.data(), 16000, 16000, {unvoiced.data(), 97, 0.02, 0.01}).empty());
  const VoiceMeasures m = voice_measures(nullptr, 0, y.data(), 16000, params);
  EXPECT_EQ(m.num_pulses, 0);
  EXPECT_EQ(m.num_periods, 0);
  for (double value : {m.mean_period, m.stdev_period, m.jitter_local, m.jitter_local_absolute, m.jitter_rap,
                       m.jitter_ppq5, m.jitter_ddp, m.shimmer_local, m.shimmer_local_db, m.shimmer_apq3,
                       m.shimmer_apq5, m.shimmer_apq11, m.shimmer_dda}) {
    EXPECT_TRUE(std::isnan(value));
  }
}

TEST(VoiceReportPulses, BatchesInParallelAgreeWithSingleClips) {
  const double sr = 16000;
  Noise noise;
  std::vector<std::vector<double>> clips(5);
  std::vector<std::vector<double>> contours(5);
  std::vector<PitchContour> pitch;
  for (int c = 0; c < 5; ++c) {
    const int n = 8000 + 2000 * c;
    clips[c].assign(n, 0.0);
    double t = 0.05;
    while (t < n / sr - 0.05) {  // decaying oscillations at jittered pulses
      const auto i0 = static_cast<std::int64_t>(t * sr);
      for (int k = 0; k < 100 && i0 + k < n; ++k) clips[c][i0 + k] += std::exp(-k / 20.0) * std::sin(0.6 * k);
      t += (1.0 / (110 + 15 * c)) * (1 + 0.02 * noise());
    }
    contours[c].assign(1 + (n - 640) / 160, 110.0 + 15 * c);
  }
  for (int c = 0; c < 5; ++c) {
    pitch.push_back({contours[c].data(), static_cast<std::int64_t>(contours[c].size()), 0.02, 0.01});
  }
  std::vector<const double*> signals;
  std::vector<std::int64_t> lengths;
  for (const auto& clip : clips) {
    signals.push_back(clip.data());
    lengths.push_back(static_cast<std::int64_t>(clip.size()));
  }
  VoiceReportParams params;
  params.sample_rate = sr;
  std::vector<std::vector<double>> pulses(5);
  std::vector<VoiceMeasures> measures(5);
  voice_report({signals.data(), lengths.data(), 5}, pitch.data(), params, pulses.data(), measures.data(), 3);
  for (int c = 0; c < 5; ++c) {
    const std::vector<double> single = point_process_cc(clips[c].data(), lengths[c], sr, pitch[c]);
    EXPECT_EQ(pulses[c], single);
    const VoiceMeasures m = voice_measures(single.data(), static_cast<std::int64_t>(single.size()), clips[c].data(),
                                           lengths[c], params);
    EXPECT_EQ(measures[c].jitter_local, m.jitter_local);
    EXPECT_EQ(measures[c].shimmer_apq11, m.shimmer_apq11);
    EXPECT_GT(m.num_pulses, 20);
  }
}

// The pulse search sums eight shifts at once where it can; every sum must be the
// one-shift-at-a-time sum to the bit, or the pulses would move with the batching.
TEST(VoiceReportPulses, EightShiftsAtOnceAreBitIdenticalToOneAtATime) {
  std::mt19937 rng(11);
  std::normal_distribution<double> normal;
  std::vector<double> signal(512);
  for (double& v : signal) v = normal(rng) * std::exp(normal(rng));  // magnitudes over several octaves
  for (std::int64_t n : {1, 7, 8, 9, 15, 16, 63, 64, 65, 100, 177, 400}) {
    for (std::int64_t offset : {0, 3}) {  // windows overlapping or apart, at any alignment
      const double* a = signal.data() + offset;
      const double* b = signal.data() + 5 + 30 * offset;
      double norm2[8], product[8], norm2_fast[8], product_fast[8];
      praat::shift_sums_one_at_a_time(a, b, n, norm2, product);
      praat::shift_sums_eight_at_once(a, b, n, norm2_fast, product_fast);
      for (int k = 0; k < 8; ++k) {
        EXPECT_EQ(norm2_fast[k], norm2[k]) << "n " << n << " shift " << k;
        EXPECT_EQ(product_fast[k], product[k]) << "n " << n << " shift " << k;
      }
    }
  }
}

TEST(VoiceReportPulses, RejectsBadArgumentsNamingThem) {
  std::vector<double> y(1000, 0.0), f0(3, 100.0);
  auto message_of = [](const std::function<void()>& call) -> std::string {
    try {
      call();
    } catch (const InvalidArgument& error) {
      return error.what();
    }
    return "";
  };
  VoiceReportParams params;
  params.period_ceiling = 0.00005;  // below the floor
  EXPECT_NE(message_of([&] { voice_measures(nullptr, 0, y.data(), 1000, params); }).find("'period_ceiling'"),
            std::string::npos);
  params = VoiceReportParams();
  params.max_amplitude_factor = 0;
  EXPECT_NE(message_of([&] { voice_measures(nullptr, 0, y.data(), 1000, params); }).find("'max_amplitude_factor'"),
            std::string::npos);
  params = VoiceReportParams();
  params.from_time = kNaN;
  EXPECT_NE(message_of([&] { voice_measures(nullptr, 0, y.data(), 1000, params); }).find("'from_time'"),
            std::string::npos);
  f0[1] = std::numeric_limits<double>::infinity();
  EXPECT_NE(message_of([&] { point_process_cc(y.data(), 1000, 16000, {f0.data(), 3, 0.02, 0.01}); }).find("'pitch'"),
            std::string::npos);
  f0[1] = 100;
  EXPECT_NE(message_of([&] { point_process_cc(y.data(), 1000, 16000, {f0.data(), 3, 0.02, 0.0}); }).find("'pitch'"),
            std::string::npos);
  y[3] = kNaN;
  const double* signals[] = {y.data()};
  const std::int64_t lengths[] = {1000};
  const PitchContour contour{f0.data(), 3, 0.02, 0.01};
  EXPECT_NE(message_of([&] {
              voice_report({signals, lengths, 1}, &contour, VoiceReportParams(), nullptr, nullptr, 1);
            }).find("'y'"),
            std::string::npos);
}

}  // namespace
}  // namespace affectkit
