#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/features/egemaps_lld.h"

namespace affectkit {
namespace {

enum { kLoudness, kAlpha, kHammarberg, kSlope0, kSlope500, kFlux, kMfcc1 };

struct Result {
  std::int64_t frames;
  std::vector<double> lld;  // (kEgemapsLldCount, frames)
  double leq;
  double at(int row, std::int64_t t) const { return lld[row * frames + t]; }
};

Result run(const std::vector<double>& y, double sr = 16000.0) {
  Result r;
  r.frames = egemaps_num_frames(static_cast<std::int64_t>(y.size()), egemaps_framing(sr));
  r.lld.resize(kEgemapsLldCount * r.frames);
  const double* signal = y.data();
  const std::int64_t length = static_cast<std::int64_t>(y.size());
  double* out = r.lld.data();
  egemaps_lld(SignalBatch<double>{&signal, &length, 1}, sr, true, &out, &r.leq, 1);
  return r;
}

std::vector<double> tone(double hz, double amplitude = 0.5, std::int64_t n = 16000, double sr = 16000.0) {
  std::vector<double> y(n);
  for (std::int64_t i = 0; i < n; ++i) y[i] = amplitude * std::sin(2.0 * M_PI * hz * i / sr);
  return y;
}

// cFramer rounds seconds to samples half away from zero (22050 Hz: 220.5 -> 221).
TEST(EgemapsFraming, RoundsLikeOpenSmile) {
  const EgemapsFraming a = egemaps_framing(16000);
  EXPECT_EQ(a.frame_length, 320);
  EXPECT_EQ(a.hop_length, 160);
  EXPECT_EQ(a.pitch_frame_length, 960);
  EXPECT_EQ(a.n_fft, 512);
  const EgemapsFraming b = egemaps_framing(22050);
  EXPECT_EQ(b.frame_length, 441);
  EXPECT_EQ(b.hop_length, 221);
  EXPECT_EQ(b.n_fft, 512);
  EXPECT_EQ(egemaps_framing(48000).n_fft, 1024);
  for (double sr : {0.0, -16000.0, 7999.0, std::nan(""), HUGE_VAL, 1e7}) {
    EXPECT_THROW(egemaps_framing(sr), InvalidArgument) << sr;
  }
}

// openSMILE's row count: its 60 ms F0 frames plus one.
TEST(EgemapsFraming, RowCountFollowsTheSixtyMillisecondFrames) {
  const EgemapsFraming f = egemaps_framing(16000);
  EXPECT_EQ(egemaps_num_frames(960, f), 2);
  EXPECT_EQ(egemaps_num_frames(1119, f), 2);
  EXPECT_EQ(egemaps_num_frames(1120, f), 3);
  EXPECT_EQ(egemaps_num_frames(16000, f), 96);
  EXPECT_THROW(egemaps_num_frames(959, f), InvalidArgument);
}

// Digital silence: ratios and MFCCs fall back to 0, loudness to its floor, the Leq to
// 10 log10(1e-12).
TEST(EgemapsLld, SilenceGivesOpenSmilesFloors) {
  const Result r = run(std::vector<double>(4000, 0.0));
  for (std::int64_t t = 0; t < r.frames; ++t) {
    EXPECT_GT(r.at(kLoudness, t), 0.0);
    EXPECT_LT(r.at(kLoudness, t), 1e-2);
    EXPECT_EQ(r.at(kAlpha, t), 0.0);
    EXPECT_EQ(r.at(kHammarberg, t), 0.0);
    EXPECT_EQ(r.at(kFlux, t), 0.0);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(r.at(kMfcc1 + i, t), 0.0);
  }
  EXPECT_NEAR(r.leq, -120.0, 1e-5);
}

// A low tone has its energy below 1 kHz and its peak below 2 kHz; a high tone the opposite.
TEST(EgemapsLld, RatiosFollowWhereTheEnergyIs) {
  const Result low = run(tone(250.0)), high = run(tone(3000.0));
  const std::int64_t t = low.frames / 2;
  EXPECT_LT(low.at(kAlpha, t), -20.0);
  EXPECT_GT(low.at(kHammarberg, t), 20.0);
  EXPECT_GT(high.at(kAlpha, t), 20.0);
  EXPECT_LT(high.at(kHammarberg, t), -20.0);
  // The mean square of a sine is amplitude^2 / 2.
  EXPECT_NEAR(low.leq, 10.0 * std::log10(0.125), 0.02);
}

// 1 kHz repeats every 16 samples, so every 10 ms frame is the same: no flux; doubling
// the amplitude adds 6 dB to the Leq and leaves the ratios alone.
TEST(EgemapsLld, StationaryToneHasNoFluxAndScalesAsExpected) {
  const Result a = run(tone(1000.0, 0.25)), b = run(tone(1000.0, 0.5));
  for (std::int64_t t = 2; t < a.frames; ++t) EXPECT_NEAR(a.at(kFlux, t), 0.0, 1e-9);
  EXPECT_NEAR(b.leq - a.leq, 20.0 * std::log10(2.0), 1e-9);
  EXPECT_NEAR(b.at(kAlpha, 10), a.at(kAlpha, 10), 1e-9);
  EXPECT_NEAR(b.at(kHammarberg, 10), a.at(kHammarberg, 10), 1e-9);
  EXPECT_GT(b.at(kLoudness, 10), a.at(kLoudness, 10));
}

// Clips of different lengths in one batch, float and double, 1 or 4 threads: each clip
// gives what it gives alone.
TEST(EgemapsLld, BatchesPrecisionsAndThreadsAgree) {
  std::vector<std::vector<double>> clips = {tone(440.0, 0.3, 9000), tone(2500.0, 0.1, 20000), tone(150.0, 0.8, 1500)};
  for (std::size_t i = 0; i < clips[1].size(); ++i) clips[1][i] += 0.01 * std::sin(0.37 * i * i);
  std::vector<const double*> signals;
  std::vector<const float*> signals32;
  std::vector<std::vector<float>> clips32;
  std::vector<std::int64_t> lengths;
  for (const auto& c : clips) {
    clips32.emplace_back(c.begin(), c.end());
    lengths.push_back(static_cast<std::int64_t>(c.size()));
  }
  for (std::size_t i = 0; i < clips.size(); ++i) {
    signals.push_back(clips[i].data());
    signals32.push_back(clips32[i].data());
  }
  const EgemapsFraming f = egemaps_framing(16000);
  std::vector<std::vector<double>> out(3);
  std::vector<std::vector<float>> out32(3);
  std::vector<double*> dst;
  std::vector<float*> dst32;
  for (int i = 0; i < 3; ++i) {
    out[i].resize(kEgemapsLldCount * egemaps_num_frames(lengths[i], f));
    out32[i].resize(out[i].size());
    dst.push_back(out[i].data());
    dst32.push_back(out32[i].data());
  }
  std::vector<double> leq(3);
  std::vector<float> leq32(3);
  egemaps_lld(SignalBatch<double>{signals.data(), lengths.data(), 3}, 16000.0, true, dst.data(), leq.data(), 4);
  egemaps_lld(SignalBatch<float>{signals32.data(), lengths.data(), 3}, 16000.0, true, dst32.data(), leq32.data(), 1);
  for (int i = 0; i < 3; ++i) {
    const Result alone = run(clips[i]);
    EXPECT_EQ(out[i], alone.lld) << i;
    EXPECT_EQ(leq[i], alone.leq) << i;
    for (std::size_t k = 0; k < out[i].size(); ++k) {
      EXPECT_NEAR(out32[i][k], out[i][k], 1e-3 * (1.0 + std::abs(out[i][k]))) << i << " " << k;
    }
  }
}

TEST(EgemapsLld, RejectsNonFiniteAndShortClips) {
  std::vector<double> y(4000, 0.1);
  y[1234] = NAN;
  EXPECT_THROW(run(y), InvalidArgument);
  EXPECT_THROW(run(std::vector<double>(500, 0.1)), InvalidArgument);
}

}  // namespace
}  // namespace affectkit
