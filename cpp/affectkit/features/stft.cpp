#include "affectkit/features/stft.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/fft.h"
#include "affectkit/common/thread_pool.h"

namespace affectkit {
namespace {

// Frames are transformed in small blocks and written frame-contiguous, so the
// (frequency, frame) output is filled with short unit-stride runs.
constexpr std::int64_t kFrameBlock = 16;

// Index into a signal of n samples for a position i outside [0, n), as numpy.pad.
std::int64_t padded_index(std::int64_t i, std::int64_t n, PadMode mode) {
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

void check_params(const StftParams& p) {
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
// kFrameBlock * stride reals for emit's own use.
template <typename T, typename Emit>
void for_each_frame_block(const SignalBatch<T>& batch, const T* window, const StftParams& p,
                          int num_threads, Emit emit) {
  check_params(p);
  AK_CHECK(batch.count >= 0, "y", "batch size must be non-negative, got " << batch.count);
  std::vector<std::int64_t> first_block(batch.count + 1, 0);
  for (std::int64_t i = 0; i < batch.count; ++i) {
    check_finite(batch.signals[i], batch.lengths[i], "y");
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
    AlignedBuffer<T> scratch(kFrameBlock * stride);
    // A short last block transforms zeros in its unused slots.
    std::fill(frames_in.data(), frames_in.data() + kFrameBlock * frame_stride, T(0));
    std::int64_t signal = std::upper_bound(first_block.begin(), first_block.end(), begin) -
                          first_block.begin() - 1;
    for (std::int64_t block = begin; block < end; ++block) {
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

}  // namespace

PadMode parse_pad_mode(const char* name) {
  const std::string mode(name);
  if (mode == "constant") return PadMode::Constant;
  if (mode == "edge") return PadMode::Edge;
  if (mode == "reflect") return PadMode::Reflect;
  if (mode == "symmetric") return PadMode::Symmetric;
  if (mode == "wrap") return PadMode::Wrap;
  AK_CHECK(false, "pad_mode",
           "must be one of 'constant', 'edge', 'reflect', 'symmetric', 'wrap', got '" << mode << "'");
  return PadMode::Constant;
}

std::int64_t stft_num_frames(std::int64_t n_samples, const StftParams& p) {
  check_params(p);
  AK_CHECK(n_samples >= 1, "y", "must have at least one sample, got " << n_samples);
  const std::int64_t padded = n_samples + (p.center ? 2 * (p.n_fft / 2) : 0);
  AK_CHECK(padded >= p.n_fft, "n_fft",
           "is " << p.n_fft << " but the signal has only " << n_samples
                 << " samples (center=False); use a shorter n_fft or center=True");
  return 1 + (padded - p.n_fft) / p.hop_length;
}

// Copies a block of count rows (row j at src + j * stride) of bins values into
// columns t0.. of a (bins, frames) output.
template <typename V>
void transpose_block(const V* src, std::int64_t stride, std::int64_t count, std::int64_t bins,
                     V* dst, std::int64_t frames) {
  if (count == kFrameBlock) {  // the common full block: a fixed trip count the compiler unrolls
    for (std::int64_t f = 0; f < bins; ++f) {
      for (std::int64_t j = 0; j < kFrameBlock; ++j) dst[f * frames + j] = src[j * stride + f];
    }
    return;
  }
  for (std::int64_t f = 0; f < bins; ++f) {
    for (std::int64_t j = 0; j < count; ++j) dst[f * frames + j] = src[j * stride + f];
  }
}

template <typename T>
void stft(const SignalBatch<T>& batch, const T* window, const StftParams& params,
          std::complex<T>* const* out, int num_threads) {
  const std::int64_t bins = params.n_fft / 2 + 1;
  for_each_frame_block(batch, window, params, num_threads,
                       [&](std::int64_t signal, std::int64_t frames, std::int64_t t0,
                           std::int64_t count, const std::complex<T>* spectra,
                           std::int64_t stride, T*) {
                         transpose_block(spectra, stride, count, bins, out[signal] + t0, frames);
                       });
}

template <typename T>
void power_spectrogram(const SignalBatch<T>& batch, const T* window, const StftParams& params,
                       T power, T* const* out, int num_threads) {
  AK_CHECK(std::isfinite(power) && power > 0, "power", "must be a positive number, got " << power);
  const std::int64_t bins = params.n_fft / 2 + 1;
  for_each_frame_block(
      batch, window, params, num_threads,
      [&](std::int64_t signal, std::int64_t frames, std::int64_t t0, std::int64_t count,
          const std::complex<T>* spectra, std::int64_t stride, T* magnitude) {
        // Row-major passes with the power branch hoisted, so each loop vectorises.
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
        transpose_block(magnitude, stride, count, bins, out[signal] + t0, frames);
      });
}

std::int64_t istft_length(std::int64_t n_frames, const IstftParams& p) {
  AK_CHECK(p.n_fft >= 1, "n_fft", "must be a positive number of samples, got " << p.n_fft);
  AK_CHECK(p.hop_length >= 1, "hop_length", "must be a positive number of samples, got " << p.hop_length);
  AK_CHECK(n_frames >= 1, "stft_matrix", "must have at least one frame, got " << n_frames);
  if (p.length >= 0) return p.length;
  const std::int64_t full = p.n_fft + p.hop_length * (n_frames - 1);
  const std::int64_t trimmed = full - (p.center ? 2 * (p.n_fft / 2) : 0);
  return std::max<std::int64_t>(trimmed, 0);
}

template <typename T>
void istft(const std::complex<T>* stft_matrix, std::int64_t batch, std::int64_t n_frames,
           const T* window, const IstftParams& p, T* out, int num_threads) {
  const std::int64_t length = istft_length(n_frames, p);
  const std::int64_t start = p.center ? p.n_fft / 2 : 0;
  const std::int64_t bins = p.n_fft / 2 + 1;
  check_finite(reinterpret_cast<const T*>(stft_matrix), 2 * batch * bins * n_frames, "stft_matrix");
  check_finite(window, p.n_fft, "window");
  const RealFFT<T> fft(p.n_fft);
  // librosa uses only the frames that reach into the requested length.
  const std::int64_t stride = n_frames;
  if (p.length >= 0) {
    const std::int64_t padded = p.length + 2 * start;
    n_frames = std::max<std::int64_t>(1, std::min(n_frames, (padded + p.hop_length - 1) / p.hop_length));
  }
  const std::int64_t full = p.n_fft + p.hop_length * (n_frames - 1);

  // Squared-window overlap-add: the same for every signal.
  std::vector<T> envelope(full, T(0));
  for (std::int64_t t = 0; t < n_frames; ++t) {
    for (std::int64_t k = 0; k < p.n_fft; ++k) envelope[t * p.hop_length + k] += window[k] * window[k];
  }
  const T tiny = std::numeric_limits<T>::min();
  const T scale = T(1) / static_cast<T>(p.n_fft);
  parallel_for(batch, num_threads, [&](std::int64_t begin, std::int64_t end) {
    AlignedBuffer<std::complex<T>> spectrum(bins);
    AlignedBuffer<T> frame(p.n_fft);
    std::vector<T> sum(full);
    for (std::int64_t b = begin; b < end; ++b) {
      std::fill(sum.begin(), sum.end(), T(0));
      const std::complex<T>* S = stft_matrix + b * bins * stride;
      for (std::int64_t t = 0; t < n_frames; ++t) {
        for (std::int64_t f = 0; f < bins; ++f) spectrum[f] = S[f * stride + t];
        fft.inverse(spectrum.data(), frame.data());
        T* dst = sum.data() + t * p.hop_length;
        for (std::int64_t k = 0; k < p.n_fft; ++k) dst[k] += frame[k] * scale * window[k];
      }
      T* y = out + b * length;
      for (std::int64_t i = 0; i < length; ++i) {
        const std::int64_t j = start + i;
        if (j >= full) {
          y[i] = T(0);
        } else {
          y[i] = envelope[j] > tiny ? sum[j] / envelope[j] : sum[j];
        }
      }
    }
  });
}

template void stft<float>(const SignalBatch<float>&, const float*, const StftParams&,
                          std::complex<float>* const*, int);
template void stft<double>(const SignalBatch<double>&, const double*, const StftParams&,
                           std::complex<double>* const*, int);
template void power_spectrogram<float>(const SignalBatch<float>&, const float*, const StftParams&,
                                       float, float* const*, int);
template void power_spectrogram<double>(const SignalBatch<double>&, const double*,
                                        const StftParams&, double, double* const*, int);
template void istft<float>(const std::complex<float>*, std::int64_t, std::int64_t, const float*,
                           const IstftParams&, float*, int);
template void istft<double>(const std::complex<double>*, std::int64_t, std::int64_t, const double*,
                            const IstftParams&, double*, int);

}  // namespace affectkit
