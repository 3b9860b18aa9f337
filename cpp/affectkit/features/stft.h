// Short-time Fourier transform with librosa's framing and padding conventions.
#pragma once

#include <complex>
#include <cstdint>

namespace affectkit {

// How a centred STFT extends the signal past its ends (numpy.pad's modes).
enum class PadMode { Constant, Edge, Reflect, Symmetric, Wrap };

// Parses "constant", "edge", "reflect", "symmetric", "wrap".
PadMode parse_pad_mode(const char* name);

struct StftParams {
  std::int64_t n_fft = 2048;
  std::int64_t hop_length = 512;
  bool center = true;  // pad n_fft // 2 samples on both sides, as librosa
  PadMode pad_mode = PadMode::Constant;
};

// A batch of signals that may differ in length: signal i has lengths[i] samples.
template <typename T>
struct SignalBatch {
  const T* const* signals;
  const std::int64_t* lengths;
  std::int64_t count;
};

// Frames of a signal of n_samples samples; checks that at least one fits.
std::int64_t stft_num_frames(std::int64_t n_samples, const StftParams& params);

// Complex STFT. window has n_fft values (already centred and zero-padded to n_fft).
// out[i] is (n_fft/2+1, num_frames(lengths[i])), frames contiguous (librosa's layout).
template <typename T>
void stft(const SignalBatch<T>& batch, const T* window, const StftParams& params,
          std::complex<T>* const* out, int num_threads);

// |STFT|**power without storing the complex spectrum; same layout as stft.
template <typename T>
void power_spectrogram(const SignalBatch<T>& batch, const T* window, const StftParams& params,
                       T power, T* const* out, int num_threads);

struct IstftParams {
  std::int64_t n_fft = 2048;
  std::int64_t hop_length = 512;
  bool center = true;
  std::int64_t length = -1;  // output samples; < 0: from the frame count, as librosa
};

// Output samples of istft for n_frames frames.
std::int64_t istft_length(std::int64_t n_frames, const IstftParams& params);

// Inverse STFT by weighted overlap-add, normalised by the window's squared
// overlap-add where that exceeds the smallest normal number (librosa.istft).
// stft_matrix is (batch, n_fft/2+1, n_frames); out is (batch, istft_length).
template <typename T>
void istft(const std::complex<T>* stft_matrix, std::int64_t batch, std::int64_t n_frames,
           const T* window, const IstftParams& params, T* out, int num_threads);

}  // namespace affectkit
