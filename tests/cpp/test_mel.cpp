#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <vector>

#include "affectkit/features/mel.h"

namespace affectkit {
namespace {

TEST(SparseFilterbank, KeepsEachRowsNonzeroSpan) {
  const std::vector<double> dense = {0, 1, 0, 2, 0,   // span 1..3, inner zero kept
                                     0, 0, 0, 0, 0,   // empty band
                                     3, 0, 0, 0, 4};  // span 0..4
  const auto bank = sparse_filterbank(dense.data(), 3, 5);
  EXPECT_EQ(bank.first, (std::vector<std::int64_t>{1, 5, 0}));
  EXPECT_EQ(bank.size, (std::vector<std::int64_t>{3, 0, 5}));
  EXPECT_EQ(bank.weights, (std::vector<double>{1, 0, 2, 3, 0, 0, 0, 4}));
}

// The fused pass equals dense-matrix @ |STFT|^2 computed from the core's own stft,
// and the dB option equals 10 log10(max(amin, .)) - ref with per-clip top_db.
TEST(FilterbankSpectrogram, EqualsDenseProductAndDecibels) {
  StftParams p;
  p.n_fft = 64;
  p.hop_length = 16;
  const std::int64_t bins = 33, bands = 5;
  std::vector<double> window(p.n_fft), dense(bands * bins, 0.0);
  for (std::int64_t i = 0; i < p.n_fft; ++i) window[i] = 0.5 - 0.5 * std::cos(2 * M_PI * i / p.n_fft);
  for (std::int64_t m = 0; m < bands; ++m) {
    for (std::int64_t k = 3 * m; k < 3 * m + 9 && k < bins; ++k) dense[m * bins + k] = 0.1 * (k - 3 * m + 1);
  }
  std::vector<double> y(500);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = std::sin(0.3 * i) + 0.01 * (i % 7);
  const double* signal = y.data();
  const std::int64_t length = 500;
  const std::int64_t frames = stft_num_frames(length, p);
  std::vector<std::complex<double>> S(bins * frames);
  std::complex<double>* s_out = S.data();
  stft(SignalBatch<double>{&signal, &length, 1}, window.data(), p, &s_out, 1);

  const auto bank = sparse_filterbank(dense.data(), bands, bins);
  std::vector<double> mel(bands * frames), db(bands * frames);
  double* mel_out = mel.data();
  double* db_out = db.data();
  filterbank_spectrogram(SignalBatch<double>{&signal, &length, 1}, window.data(), p, 2.0, bank,
                         DecibelParams{}, &mel_out, 2);
  DecibelParams decibels;
  decibels.enabled = true;
  decibels.ref = 2.0;
  decibels.top_db = 30.0;
  filterbank_spectrogram(SignalBatch<double>{&signal, &length, 1}, window.data(), p, 2.0, bank,
                         decibels, &db_out, 2);
  double peak = -1e300;
  std::vector<double> expected_db(bands * frames);
  for (std::int64_t m = 0; m < bands; ++m) {
    for (std::int64_t t = 0; t < frames; ++t) {
      double sum = 0;
      for (std::int64_t k = 0; k < bins; ++k) sum += dense[m * bins + k] * std::norm(S[k * frames + t]);
      EXPECT_NEAR(mel[m * frames + t], sum, 1e-10 * (1 + sum));
      expected_db[m * frames + t] = 10 * std::log10(std::max(1e-10, sum)) - 10 * std::log10(2.0);
      peak = std::max(peak, expected_db[m * frames + t]);
    }
  }
  for (std::size_t i = 0; i < db.size(); ++i) EXPECT_NEAR(db[i], std::max(expected_db[i], peak - 30.0), 1e-9);
}

TEST(FilterbankSpectrogram, RejectsMismatchedBins) {
  StftParams p;
  p.n_fft = 64;
  p.hop_length = 16;
  const std::vector<double> dense(2 * 10, 1.0), window(64, 1.0), y(100, 0.0);
  const auto bank = sparse_filterbank(dense.data(), 2, 10);
  const double* signal = y.data();
  const std::int64_t length = 100;
  std::vector<double> out(2 * stft_num_frames(length, p));
  double* o = out.data();
  EXPECT_THROW(filterbank_spectrogram(SignalBatch<double>{&signal, &length, 1}, window.data(), p, 2.0,
                                      bank, DecibelParams{}, &o, 1),
               std::invalid_argument);
}

}  // namespace
}  // namespace affectkit
