// F0 by Praat's periodicity analysis (Boersma 1993, "Accurate short-term
// analysis of the fundamental frequency and the harmonics-to-noise ratio of a
// sampled sound"), as Praat's Sound_to_Pitch_any: per frame, either the windowed
// autocorrelation divided by the window's (To Pitch (ac)) or the normalised
// forward cross-correlation (To Pitch (cc), To Harmonicity (cc)); peak candidates
// refined by sinc interpolation; then the Viterbi path through the candidates
// with octave, octave-jump and voiced/unvoiced costs.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "affectkit/features/stft.h"  // SignalBatch
#include "affectkit/prosody/praat_numerics.h"

namespace affectkit {

// Praat's parameter names and defaults (Sound: To Pitch (ac)...).
struct PraatPitchParams {
  double sample_rate = 16000;
  double time_step = 0;  // 0: a quarter of the window (0.01 s for 3 periods of 75 Hz)
  double pitch_floor = 75;
  double pitch_ceiling = 600;
  std::int64_t max_candidates = 15;
  bool cross_correlation = false;  // cc instead of ac
  double periods_per_window = 3;   // Praat: 3 for ac, 1 for cc
  bool very_accurate = false;  // ac: Gaussian window of twice the periods; both: finer sinc refinement
  double silence_threshold = 0.03;
  double voicing_threshold = 0.45;
  double octave_cost = 0.01;
  double octave_jump_cost = 0.35;
  double voiced_unvoiced_cost = 0.14;
};

// Frames Praat fits symmetrically into a signal of n_samples: count, first
// centre (s) and step (s). Throws InvalidArgument naming the parameter when the
// signal is shorter than one window or the parameters are out of range.
struct PitchFrames {
  std::int64_t count;
  double first_time;
  double time_step;
};
PitchFrames praat_pitch_frames(std::int64_t n_samples, const PraatPitchParams& params);

// Frequency (Hz) and strength (normalised correlation) of the candidate the path
// chose in each frame of each signal. Frequency 0 is the unvoiced candidate;
// Praat also calls a frame unvoiced when its frequency is not below the ceiling.
// out[i] holds 2 rows of praat_pitch_frames(lengths[i]).count values: F0 then strength.
void praat_pitch(const SignalBatch<double>& batch, const PraatPitchParams& params, double* const* out,
                 int num_threads);


}  // namespace affectkit
