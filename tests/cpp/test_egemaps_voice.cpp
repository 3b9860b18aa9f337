#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/features/egemaps_voice.h"

namespace affectkit {
namespace {

std::vector<double> run(const std::vector<double>& y, double sr = 16000.0, int threads = 1) {
  const std::int64_t length = static_cast<std::int64_t>(y.size());
  std::vector<double> out(kEgemapsVoiceCount * egemaps_num_voice_frames(length, sr));
  const double* signal = y.data();
  double* dst = out.data();
  egemaps_voice(SignalBatch<double>{&signal, &length, 1}, sr, &dst, threads);
  return out;
}

// A glottal-like pulse train: harmonics 1..20 falling 6 dB per octave.
std::vector<double> harmonics(double f0, std::int64_t n, double sr = 16000.0) {
  std::vector<double> y(n, 0.0);
  for (int h = 1; h <= 20 && h * f0 < sr / 2; ++h) {
    for (std::int64_t i = 0; i < n; ++i) y[i] += 0.3 / h * std::sin(2.0 * M_PI * h * f0 * i / sr);
  }
  return y;
}

TEST(EgemapsVoice, FramesFollowTheSixtyMillisecondGrid) {
  EXPECT_EQ(egemaps_num_voice_frames(960, 16000), 1);
  EXPECT_EQ(egemaps_num_voice_frames(16000, 16000), 95);
  EXPECT_EQ(egemaps_num_voice_frames(22050, 22050), (22050 - 1323) / 221 + 1);  // 220.5 rounds up
}

TEST(EgemapsVoice, SteadyVoiceGivesItsSemitones) {
  for (double f0 : {90.0, 150.0, 310.0}) {
    const std::vector<double> out = run(harmonics(f0, 16000));
    const std::int64_t frames = static_cast<std::int64_t>(out.size()) / kEgemapsVoiceCount;
    const double expected = 12.0 * std::log2(f0 / 27.5);
    for (std::int64_t t = 2; t < frames - 2; ++t) {
      EXPECT_NEAR(out[t], expected, 0.05) << f0 << " Hz, frame " << t;
      EXPECT_LT(out[frames + t], 0.03) << "jitter of a steady voice";  // periods of 51.6 samples at 310 Hz: up to 0.018
      EXPECT_LT(out[2 * frames + t], 0.5) << "shimmer of a steady voice";  // dB; sample-grid peaks: up to 0.24
      EXPECT_GT(out[3 * frames + t], 3.0) << "HNR of a clean voice";  // openSMILE's ACF HNR: about 6 dB here
    }
    for (double v : out) EXPECT_TRUE(std::isfinite(v));
  }
}

TEST(EgemapsVoice, SilenceAndQuietFramesAreUnvoiced) {
  for (double level : {0.0, 1e-4}) {
    std::vector<double> y = harmonics(150.0, 8000);
    for (double& v : y) v *= level;
    const std::vector<double> out = run(y);
    for (std::int64_t t = 0; t < static_cast<std::int64_t>(out.size()) / kEgemapsVoiceCount; ++t) EXPECT_EQ(out[t], 0.0);
  }
}

TEST(EgemapsVoice, ThreadsAndPrecisionsAgree) {
  std::vector<double> y = harmonics(200.0, 12000);
  for (std::int64_t i = 0; i < 12000; ++i) y[i] *= 0.5 + 0.5 * std::sin(2.0 * M_PI * 3.0 * i / 16000.0);
  const std::vector<double> one = run(y, 16000.0, 1), four = run(y, 16000.0, 4);
  for (std::size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i], four[i]);
  std::vector<float> y32(y.begin(), y.end());
  const std::int64_t length = 12000;
  const float* signal = y32.data();
  std::vector<double> out32(one.size());
  double* dst = out32.data();
  egemaps_voice(SignalBatch<float>{&signal, &length, 1}, 16000.0, &dst, 2);
  const std::int64_t frames = static_cast<std::int64_t>(one.size()) / kEgemapsVoiceCount;
  for (std::int64_t t = 0; t < frames; ++t) EXPECT_NEAR(out32[t], one[t], 1e-3);
}

TEST(EgemapsVoice, RejectsNonFiniteShortClipsAndBadRates) {
  EXPECT_THROW(run(std::vector<double>(959, 0.1)), InvalidArgument);
  std::vector<double> y = harmonics(150.0, 4000);
  y[100] = NAN;
  EXPECT_THROW(run(y), InvalidArgument);
  EXPECT_THROW(run(harmonics(150.0, 4000), 4000.0), InvalidArgument);
}

}  // namespace
}  // namespace affectkit
