// Internal to the features area: the framing loop shared by every STFT-based
// feature (stft, power spectrogram, mel spectrogram). Frames are windowed and
// transformed in blocks of kFrameBlock with one batched FFTW call, and each
// block is handed to the feature's own reduction.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/fft.h"
#include "affectkit/common/interrupt.h"
#include "affectkit/common/thread_pool.h"
#include "affectkit/features/stft.h"

namespace affectkit::detail {

// Frames are transformed in small blocks and written frame-contiguous, so the
// (frequency, frame) output is filled with short unit-stride runs.
constexpr std::int64_t kFrameBlock = 16;

// Index into a signal of n samples for a position i outside [0, n), as numpy.pad.
inline std::int64_t padded_index(std::int64_t i, std::int64_t n, PadMode mode) {
  switch (mode) {
    case PadMode::Edge:
      return i < 0 ? 0 : n - 1;
    case PadMode::Reflect: {  // ... 2 1 | 0 1 2 ... n-1 | n-2 ...
      if (n == 1) return 0;
      const std::int64_t period = 2 * (n - 1);
      std::int64_t m = ((i % period) + period) % period;
      return m < n ? m : period - m;
    }
    case PadMode::Symmetric: {  // ... 1 0 | 0 1 ... n-1 | n-1 ...
      const std::int64_t period = 2 * n;
      std::int64_t m = ((i % period) + period) % period;
      return m < n ? m : period - 1 - m;
    }
    case PadMode::Wrap:
      return ((i % n) + n) % n;
    case PadMode::Constant:
      break;
  }
  return -1;  // zero
}

inline void check_params(const StftParams& p) {
  AK_CHECK(p.n_fft >= 1, "n_fft", "must be a positive number of samples, got " << p.n_fft);
  AK_CHECK(p.hop_length >= 1, "hop_length", "must be a positive number of samples, got " << p.hop_length);
}

// Windowed frame t of signal y (n samples) into buf (n_fft samples).
template <typename T>
void load_frame(const T* y, std::int64_t n, std::int64_t t, const T* window,
                const StftParams& p, T* buf) {
  const std::int64_t start = t * p.hop_length - (p.center ? p.n_fft / 2 : 0);
  if (start >= 0 && start + p.n_fft <= n) {
    const T* src = y + start;
    for (std::int64_t k = 0; k < p.n_fft; ++k) buf[k] = src[k] * window[k];
    return;
  }
  for (std::int64_t k = 0; k < p.n_fft; ++k) {
    std::int64_t i = start + k;
    if (i < 0 || i >= n) i = padded_index(i, n, p.pad_mode);
    buf[k] = i < 0 ? T(0) : y[i] * window[k];
  }
}

// Runs emit(signal, n_frames, first_frame, block_frames, spectra, stride, scratch)
// over all frame blocks of the batch in parallel; spectrum j of the block
// (n_fft/2+1 bins) starts at spectra + j * stride; scratch holds
// 2 * kFrameBlock * stride reals for emit's own use. `power`: the power of |X|
// the feature sums, which bounds the input it can take without overflowing T.
template <typename T, typename Emit>
void for_each_frame_block(const SignalBatch<T>& batch, const T* window, const StftParams& p, double power,
                          int num_threads, Emit emit) {
  check_params(p);
  AK_CHECK(batch.count >= 0, "y", "batch size must be non-negative, got " << batch.count);
  std::vector<std::int64_t> first_block(batch.count + 1, 0);
  for (std::int64_t i = 0; i < batch.count; ++i) {
    check_finite_within(batch.signals[i], batch.lengths[i], spectrum_input_limit<T>(p.n_fft, power), "y",
                        "its spectrum overflows the input's precision");
    const std::int64_t frames = stft_num_frames(batch.lengths[i], p);
    first_block[i + 1] = first_block[i] + (frames + kFrameBlock - 1) / kFrameBlock;
  }
  check_finite(window, p.n_fft, "window");
  // One FFTW call transforms a whole block of frames.
  const RealFFT<T> fft(p.n_fft, kFrameBlock);
  const std::int64_t frame_stride = fft.real_distance();
  const std::int64_t stride = fft.complex_distance();
  parallel_for(first_block.back(), num_threads, [&](std::int64_t begin, std::int64_t end) {
    AlignedBuffer<T> frames_in(kFrameBlock * frame_stride);
    AlignedBuffer<std::complex<T>> spectra(kFrameBlock * stride);
    AlignedBuffer<T> scratch(2 * kFrameBlock * stride);
    // A short last block transforms whatever its unused slots hold; never uninitialised memory.
    std::fill(frames_in.data(), frames_in.data() + kFrameBlock * frame_stride, T(0));
    std::int64_t signal = std::upper_bound(first_block.begin(), first_block.end(), begin) -
                          first_block.begin() - 1;
    for (std::int64_t block = begin; block < end; ++block) {
      interruption_point();
      while (block >= first_block[signal + 1]) ++signal;
      const std::int64_t n = batch.lengths[signal];
      const std::int64_t frames = stft_num_frames(n, p);
      const std::int64_t t0 = (block - first_block[signal]) * kFrameBlock;
      const std::int64_t count = std::min(kFrameBlock, frames - t0);
      for (std::int64_t j = 0; j < count; ++j) {
        load_frame(batch.signals[signal], n, t0 + j, window, p, frames_in.data() + j * frame_stride);
      }
      fft.forward(frames_in.data(), spectra.data());
      emit(signal, frames, t0, count, spectra.data(), stride, scratch.data());
    }
  });
}


// |X|**power of count spectra (spectrum j at spectra + j * stride) into
// magnitude (same layout). Row-major passes with the power branch hoisted, so
// each loop vectorises.
template <typename T>
void block_power(const std::complex<T>* spectra, std::int64_t stride, std::int64_t count, T power,
                 T* magnitude) {
  const std::int64_t n = count * stride;
  const T* re_im = reinterpret_cast<const T*>(spectra);
  for (std::int64_t i = 0; i < n; ++i) {
    magnitude[i] = re_im[2 * i] * re_im[2 * i] + re_im[2 * i + 1] * re_im[2 * i + 1];
  }
  if (power == T(1)) {
    for (std::int64_t i = 0; i < n; ++i) magnitude[i] = std::sqrt(magnitude[i]);
  } else if (power != T(2)) {
    for (std::int64_t i = 0; i < n; ++i) magnitude[i] = std::pow(std::sqrt(magnitude[i]), power);
  }
}

}  // namespace affectkit::detail
