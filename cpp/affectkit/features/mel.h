// Mel (or any) filterbank spectrograms, fused with the STFT: frame, window,
// FFT, |X|**power, sparse filterbank and, optionally, dB conversion in one pass.
#pragma once

#include <cstdint>
#include <vector>

#include "affectkit/features/stft.h"

namespace affectkit {

// A filterbank stored as one contiguous run of weights per band: band m covers
// FFT bins [first[m], first[m] + size[m]) with weights at weights[offset[m]...].
// Mel triangles span a few bins each, so this is n_bins / (bins per band)
// times less work than a dense matrix product.
template <typename T>
struct FilterBank {
  std::int64_t n_bands = 0;
  std::int64_t n_bins = 0;
  std::vector<std::int64_t> first, size, offset;
  std::vector<T> weights;
};

// The bands of a dense (n_bands, n_bins) row-major matrix: each row keeps the
// span from its first to its last nonzero weight (zeros inside are kept).
template <typename T>
FilterBank<T> sparse_filterbank(const T* dense, std::int64_t n_bands, std::int64_t n_bins);

// librosa.power_to_db fused into the pass:
//   10 log10(max(amin, S)) - 10 log10(max(amin, ref)), then, per clip,
//   max(., clip max - top_db) when top_db >= 0.
struct DecibelParams {
  bool enabled = false;
  double amin = 1e-10;
  double ref = 1.0;
  double top_db = 80.0;  // < 0: no clipping
};

// out[i] is (n_bands, stft_num_frames(lengths[i])) for signal i.
template <typename T>
void filterbank_spectrogram(const SignalBatch<T>& batch, const T* window, const StftParams& params,
                            T power, const FilterBank<T>& bank, const DecibelParams& decibels,
                            T* const* out, int num_threads);

}  // namespace affectkit
