// Cochleagram: a bank of 4th-order gammatone filters (Patterson-Holdsworth, in
// Slaney's 1993 form: four cascaded biquads sharing their poles) followed by the
// RMS envelope of each channel over frames.
#pragma once

#include <cstdint>

#include "affectkit/features/stft.h"

namespace affectkit {

// Frames of win_length samples every hop_length samples, no padding:
// 1 + (n - win_length) / hop_length (checks that one fits).
std::int64_t cochleagram_num_frames(std::int64_t n_samples, std::int64_t win_length, std::int64_t hop_length);

// coefficients: (n_channels, 10) rows [A0, A11, A12, A13, A14, A2, B0, B1, B2, gain]
// (the layout of Slaney's MakeERBFilters). out[i] is (n_channels, n_frames),
// out = sqrt(mean over the frame of (filter output)^2). Filtering runs in double.
template <typename T>
void cochleagram(const SignalBatch<T>& batch, const double* coefficients, std::int64_t n_channels,
                 std::int64_t win_length, std::int64_t hop_length, T* const* out, int num_threads);

}  // namespace affectkit
