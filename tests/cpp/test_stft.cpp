#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <utility>
#include <vector>

#include "affectkit/features/stft.h"

namespace affectkit {
namespace {

template <typename T>
std::vector<T> hann(std::int64_t n) {
  std::vector<T> w(n);
  for (std::int64_t i = 0; i < n; ++i) w[i] = T(0.5 - 0.5 * std::cos(2 * M_PI * i / n));
  return w;
}

// Direct evaluation of one STFT bin from the definition, with numpy.pad's modes.
template <typename T>
std::complex<double> naive_bin(const std::vector<T>& y, const std::vector<T>& w, const StftParams& p,
                               std::int64_t t, std::int64_t k) {
  const auto n = static_cast<std::int64_t>(y.size());
  std::vector<double> padded;
  const std::int64_t pad = p.center ? p.n_fft / 2 : 0;
  for (std::int64_t i = -pad; i < n + pad; ++i) {
    std::int64_t j = i;
    if (j < 0 || j >= n) {
      switch (p.pad_mode) {
        case PadMode::Constant: j = -1; break;
        case PadMode::Edge: j = j < 0 ? 0 : n - 1; break;
        case PadMode::Reflect:
          while (j < 0 || j >= n) j = j < 0 ? -j : 2 * (n - 1) - j;
          break;
        case PadMode::Symmetric:
          while (j < 0 || j >= n) j = j < 0 ? -j - 1 : 2 * n - 1 - j;
          break;
        case PadMode::Wrap: j = ((j % n) + n) % n; break;
      }
    }
    padded.push_back(j < 0 ? 0.0 : double(y[j]));
  }
  std::complex<double> sum = 0;
  for (std::int64_t m = 0; m < p.n_fft; ++m) {
    sum += padded[t * p.hop_length + m] * double(w[m]) *
           std::polar(1.0, -2 * M_PI * double(m * k % p.n_fft) / p.n_fft);
  }
  return sum;
}

template <typename T>
class StftTest : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(StftTest, FloatTypes);

TYPED_TEST(StftTest, MatchesDefinitionForEveryPadModeAndRaggedBatch) {
  using T = TypeParam;
  const double tolerance = std::is_same_v<T, float> ? 2e-4 : 1e-10;
  // (130, 37): 66 bins, so consecutive spectra in a block would be misaligned
  // for FFTW's SIMD codelets without the kernel's padded stride.
  for (auto [n_fft, hop] : {std::pair<std::int64_t, std::int64_t>{16, 5}, {130, 37}})
  for (PadMode mode : {PadMode::Constant, PadMode::Edge, PadMode::Reflect, PadMode::Symmetric,
                       PadMode::Wrap}) {
    StftParams p;
    p.n_fft = n_fft;
    p.hop_length = hop;
    p.pad_mode = mode;
    std::vector<std::vector<T>> signals = {std::vector<T>(40), std::vector<T>(9), std::vector<T>(300)};
    for (auto& s : signals) {
      for (std::size_t i = 0; i < s.size(); ++i) s[i] = T(std::sin(0.3 * i * i + s.size()));
    }
    const std::vector<T> w = hann<T>(p.n_fft);
    std::vector<const T*> pointers;
    std::vector<std::int64_t> lengths;
    std::vector<std::vector<std::complex<T>>> outputs;
    std::vector<std::complex<T>*> out;
    for (auto& s : signals) {
      pointers.push_back(s.data());
      lengths.push_back(static_cast<std::int64_t>(s.size()));
      outputs.emplace_back((p.n_fft / 2 + 1) * stft_num_frames(lengths.back(), p));
    }
    for (auto& o : outputs) out.push_back(o.data());
    stft(SignalBatch<T>{pointers.data(), lengths.data(), 3}, w.data(), p, out.data(), 2);
    for (std::size_t i = 0; i < signals.size(); ++i) {
      const std::int64_t frames = stft_num_frames(lengths[i], p);
      for (std::int64_t k = 0; k <= p.n_fft / 2; ++k) {
        for (std::int64_t t = 0; t < frames; ++t) {
          const auto expected = naive_bin(signals[i], w, p, t, k);
          const auto got = outputs[i][k * frames + t];
          EXPECT_NEAR(got.real(), expected.real(), tolerance) << "signal " << i << " bin " << k << " frame " << t;
          EXPECT_NEAR(got.imag(), expected.imag(), tolerance) << "signal " << i << " bin " << k << " frame " << t;
        }
      }
    }
  }
}

TYPED_TEST(StftTest, IstftInvertsStft) {
  using T = TypeParam;
  StftParams p;
  p.n_fft = 32;
  p.hop_length = 8;
  std::vector<T> y(203);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = T(std::cos(0.05 * i * i));
  const std::vector<T> w = hann<T>(p.n_fft);
  const std::int64_t frames = stft_num_frames(static_cast<std::int64_t>(y.size()), p);
  std::vector<std::complex<T>> S((p.n_fft / 2 + 1) * frames);
  const T* signal = y.data();
  const std::int64_t length = static_cast<std::int64_t>(y.size());
  std::complex<T>* out = S.data();
  stft(SignalBatch<T>{&signal, &length, 1}, w.data(), p, &out, 1);
  IstftParams ip;
  ip.n_fft = p.n_fft;
  ip.hop_length = p.hop_length;
  ip.length = length;
  std::vector<T> back(length);
  istft(S.data(), 1, frames, w.data(), ip, back.data(), 2);
  for (std::int64_t i = 0; i < length; ++i) {
    EXPECT_NEAR(back[i], y[i], (std::is_same_v<T, float> ? 1e-5 : 1e-12)) << "sample " << i;
  }
}

TEST(Stft, FrameCountsAndBadParameters) {
  StftParams p;
  p.n_fft = 2048;
  p.hop_length = 512;
  EXPECT_EQ(stft_num_frames(64000, p), 1 + 64000 / 512);
  p.center = false;
  EXPECT_EQ(stft_num_frames(2048, p), 1);
  EXPECT_THROW(stft_num_frames(2047, p), std::invalid_argument);
  EXPECT_THROW(stft_num_frames(0, p), std::invalid_argument);
  p.hop_length = 0;
  EXPECT_THROW(stft_num_frames(4096, p), std::invalid_argument);
  EXPECT_THROW(parse_pad_mode("mirror"), std::invalid_argument);
  EXPECT_EQ(parse_pad_mode("reflect"), PadMode::Reflect);
}

TEST(Stft, RejectsNonFiniteSignal) {
  StftParams p;
  p.n_fft = 8;
  p.hop_length = 2;
  std::vector<double> y(32, 0.0), w(8, 1.0);
  y[17] = NAN;
  std::vector<std::complex<double>> S(5 * stft_num_frames(32, p));
  const double* signal = y.data();
  const std::int64_t length = 32;
  std::complex<double>* out = S.data();
  try {
    stft(SignalBatch<double>{&signal, &length, 1}, w.data(), p, &out, 1);
    FAIL() << "NaN accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("'y'"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("17"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace affectkit
