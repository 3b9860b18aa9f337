// Sizes past 32-bit indices: every length computation is in int64, so a signal
// of 2^33 samples (six days at 16 kHz) gets the exact frame and sample counts,
// and products that would overflow even int64 are refused, not wrapped.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "affectkit/common/check.h"
#include "affectkit/features/cochleagram.h"
#include "affectkit/features/kaldi.h"
#include "affectkit/features/resample.h"
#include "affectkit/features/stft.h"

namespace affectkit {
namespace {

constexpr std::int64_t kHuge = std::int64_t{1} << 33;

TEST(LargeSizes, StftFramesPast32Bits) {
  StftParams p;
  p.n_fft = 512;
  p.hop_length = 160;
  p.center = true;
  EXPECT_EQ(stft_num_frames(kHuge, p), 1 + kHuge / 160);
  p.center = false;
  EXPECT_EQ(stft_num_frames(kHuge, p), 1 + (kHuge - 512) / 160);
}

TEST(LargeSizes, KaldiFramesPast32Bits) {
  KaldiOptions o;  // 25 ms / 10 ms at 16 kHz, snip_edges
  EXPECT_EQ(kaldi_num_frames(kHuge, o), 1 + (kHuge - 400) / 160);
}

TEST(LargeSizes, ResampleLengthPast32Bits) {
  ResampleParams p;
  p.up = 441;
  p.down = 160;
  EXPECT_EQ(resample_length(kHuge, p), (kHuge * 441 + 159) / 160);
}

TEST(LargeSizes, ResampleLengthThatOverflowsInt64IsRefused) {
  ResampleParams p;
  p.up = std::int64_t{1} << 40;
  p.down = 1;
  EXPECT_THROW(resample_length(std::int64_t{1} << 30, p), InvalidArgument);
}

TEST(LargeSizes, CochleagramFramesPast32Bits) {
  EXPECT_EQ(cochleagram_num_frames(kHuge, 400, 160), 1 + (kHuge - 400) / 160);
}

}  // namespace
}  // namespace affectkit
