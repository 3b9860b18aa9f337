#include "affectkit/features/stft.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/fft.h"
#include "affectkit/common/interrupt.h"
#include "affectkit/common/thread_pool.h"
#include "affectkit/features/frame_blocks.h"

namespace affectkit {
namespace {

using detail::kFrameBlock;

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
  detail::check_params(p);
  AK_CHECK(n_samples >= 1, "y", "must have at least one sample, got " << n_samples);
  const std::int64_t padded = n_samples + (p.center ? 2 * (p.n_fft / 2) : 0);
  AK_CHECK(padded >= p.n_fft, "n_fft",
           "is " << p.n_fft << " but the signal has only " << n_samples
                 << " samples (center=False); use a shorter n_fft or center=True");
  return 1 + (padded - p.n_fft) / p.hop_length;
}

template <typename T>
void stft(const SignalBatch<T>& batch, const T* window, const StftParams& params,
          std::complex<T>* const* out, int num_threads) {
  const std::int64_t bins = params.n_fft / 2 + 1;
  detail::for_each_frame_block(batch, window, params, 1.0, num_threads,
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
  detail::for_each_frame_block(
      batch, window, params, power, num_threads,
      [&](std::int64_t signal, std::int64_t frames, std::int64_t t0, std::int64_t count,
          const std::complex<T>* spectra, std::int64_t stride, T* magnitude) {
        detail::block_power(spectra, stride, count, power, magnitude);
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
  check_finite(stft_matrix, batch * bins * n_frames, "stft_matrix");
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
        interruption_point();
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
