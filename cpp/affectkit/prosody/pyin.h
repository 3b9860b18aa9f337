// F0 by probabilistic YIN (Mauch & Dixon 2014, "pYIN: a fundamental frequency
// estimator using probabilistic threshold distributions"), step by step as
// librosa.pyin (librosa 0.11, librosa/core/pitch.py): frames of the (centred,
// padded) signal; YIN's difference function from the autocorrelation by FFT and its
// cumulative mean normalisation (de Cheveigné & Kawahara 2002, eq. 8, with
// librosa's energy term); troughs, weighted by a beta prior over thresholds and a
// Boltzmann prior over troughs, refined by parabolic interpolation and binned on a
// log-frequency grid; then the Viterbi path over (voiced, unvoiced) x pitch bins
// with librosa's banded triangular transitions.
//
// The Viterbi is librosa.sequence.viterbi's exactly (same values, same ties), but
// each step costs O(n_states x band) instead of O(n_states^2): a transition outside
// the band is log(0 + tiny), one constant, so the best predecessor outside the band
// is the best of three contiguous ranges of (value + constant), found by prefix,
// suffix and sliding-window maxima.
#pragma once

#include <cstdint>
#include <vector>

#include "affectkit/features/stft.h"  // SignalBatch, PadMode

namespace affectkit {

// librosa.pyin's parameters (same names). fmin and fmax have no default there.
struct PyinParams {
  double sample_rate = 22050;
  double fmin = 0;
  double fmax = 0;
  std::int64_t frame_length = 2048;
  std::int64_t hop_length = 512;  // librosa: frame_length // 4
  // Prior mass of each threshold linspace(0, 1, n + 1)[1:]; librosa:
  // np.diff(scipy.stats.beta.cdf(np.linspace(0, 1, n + 1), *beta_parameters)).
  // Its size is n_thresholds.
  std::vector<double> threshold_prior;
  double boltzmann_parameter = 2;
  double resolution = 0.1;  // semitones per pitch bin (rounded to 1 / ceil(1 / resolution))
  double max_transition_rate = 35.92;  // octaves per second
  double switch_prob = 0.01;
  double no_trough_prob = 0.01;
  bool center = true;
  PadMode pad_mode = PadMode::Constant;
};

// What the parameters imply, as librosa derives it. Throws InvalidArgument naming
// the parameter when librosa would refuse them (fmin <= 0, fmin >= fmax, fmax above
// Nyquist, not one period of fmin in a frame, a transition band wider than the
// pitch grid, ...).
struct PyinLayout {
  std::int64_t min_period;         // floor(sr / fmax)
  std::int64_t max_period;         // min(ceil(sr / fmin), frame_length - 1)
  std::int64_t bins_per_semitone;  // ceil(1 / resolution)
  std::int64_t n_pitch_bins;       // floor(12 bins_per_semitone log2(fmax / fmin)) + 1
  std::int64_t transition_width;   // round(max_transition_rate 12 hop / sr) bins_per_semitone + 1
  std::int64_t fft_size;           // >= frame_length + max_period: exact lags up to max_period
};
PyinLayout pyin_layout(const PyinParams& params);

// Frames of a signal of n_samples (librosa.util.frame after the centring pad);
// checks the parameters and that one frame fits.
std::int64_t pyin_num_frames(std::int64_t n_samples, const PyinParams& params);

// out[i] holds 3 rows of pyin_num_frames(lengths[i]) values: f0 of the decoded
// pitch bin (Hz, also for unvoiced frames: librosa's fill_na=None), the voiced flag
// (1 or 0) and the voiced probability. Computed in double for both T. Frames of all
// signals are analysed in parallel, then each signal's path is decoded on its own.
template <typename T>
void pyin(const SignalBatch<T>& batch, const PyinParams& params, double* const* out, int num_threads);

// The decoder alone, for any observation probabilities: librosa.sequence.viterbi
// with transition np.kron(transition_loop(2, 1 - switch_prob),
// transition_local(n_pitch_bins, transition_width, window="triangle")) and a uniform
// initial distribution. observation_probs is (2 n_pitch_bins, n_frames) row-major
// (librosa's layout), values in [0, 1]; writes n_frames state indices.
void pyin_viterbi(const double* observation_probs, std::int64_t n_frames, std::int64_t n_pitch_bins,
                  std::int64_t transition_width, double switch_prob, std::int64_t* states);

// Building blocks, exposed for tests.
namespace pyin_detail {
// numpy's float64 sum of a contiguous array (pairwise: 8 accumulators in blocks of
// up to 128 values, halves above that), to the last bit.
double numpy_sum(const double* x, std::int64_t n);
// scipy.signal.windows.triang(width, sym=True).
std::vector<double> triangle_window(std::int64_t width);
// Row i of librosa.sequence.transition_local(n, width, window="triangle",
// wrap=False) (before its row normalisation) at column j.
double transition_local_raw(std::int64_t n, std::int64_t width, const std::vector<double>& window, std::int64_t i,
                            std::int64_t j);
}  // namespace pyin_detail

}  // namespace affectkit
