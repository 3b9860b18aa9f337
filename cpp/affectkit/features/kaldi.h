// Kaldi-compatible filterbank and MFCC features (compute-fbank-feats,
// compute-mfcc-feats), with Kaldi's option names. Output is time-major as in
// Kaldi: (num_frames, num_features) per signal.
#pragma once

#include <cstdint>

#include "affectkit/features/stft.h"

namespace affectkit {

enum class KaldiWindow { Povey, Hamming, Hanning, Rectangular, Blackman };

// Parses "povey", "hamming", "hanning", "rectangular", "blackman".
KaldiWindow parse_kaldi_window(const char* name);

struct KaldiOptions {
  // FrameExtractionOptions
  double sample_frequency = 16000;
  double frame_shift_ms = 10;
  double frame_length_ms = 25;
  double dither = 0;  // Kaldi's default is 1.0 (int16 scale); see the Python docs
  std::uint64_t seed = 0;
  double preemphasis_coefficient = 0.97;
  bool remove_dc_offset = true;
  KaldiWindow window_type = KaldiWindow::Povey;
  bool round_to_power_of_two = true;
  double blackman_coeff = 0.42;
  bool snip_edges = true;
  // MelBanksOptions
  std::int64_t num_mel_bins = 23;
  double low_freq = 20;
  double high_freq = 0;  // <= 0: Nyquist + high_freq
  // FbankOptions / MfccOptions
  bool use_energy = false;
  double energy_floor = 0;
  bool raw_energy = true;
  bool use_log_fbank = true;
  bool use_power = true;
  double mel_floor = 1.1920928955078125e-07;  // log(max(mel, mel_floor)); Kaldi: float epsilon, HTK: 1
  bool htk_compat = false;  // energy (or C0 x sqrt 2) last, as HTK orders them
  std::int64_t num_ceps = 0;  // 0: filterbank; > 0: MFCC with that many coefficients
  double cepstral_lifter = 22;
};

// Samples per frame and per shift, as Kaldi rounds them; checks the options.
std::int64_t kaldi_window_size(const KaldiOptions& options);
std::int64_t kaldi_window_shift(const KaldiOptions& options);

// Frames of a signal of n samples (0 when snip_edges and n < window size).
std::int64_t kaldi_num_frames(std::int64_t n_samples, const KaldiOptions& options);

// Features per frame: num_mel_bins (+1 with use_energy) for fbank, num_ceps for MFCC.
std::int64_t kaldi_num_features(const KaldiOptions& options);

// out[i] is (kaldi_num_frames(lengths[i]), kaldi_num_features) row-major.
// first_frame[i] (or 0 when null) is the global index of signal i's first frame,
// which seeds its dither, so a signal cut into chunks dithers as a whole.
template <typename T>
void kaldi_features(const SignalBatch<T>& batch, const KaldiOptions& options, T* const* out,
                    int num_threads, const std::int64_t* first_frame = nullptr);

}  // namespace affectkit
