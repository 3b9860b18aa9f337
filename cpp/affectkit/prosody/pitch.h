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

// Building blocks, exposed for tests.
namespace praat {
// Praat's NUM_interpolate_sinc: y[0..size) at fractional index x, Hann-windowed
// sinc over max_depth samples each side (clipped at the ends).
double interpolate_sinc(const double* y, std::int64_t size, double x, std::int64_t max_depth);

// Brent's minimiser of f on [a, b] (golden section with parabolic steps; Brent
// 1973, as in netlib's fmin and Praat's NUMminimize_brent): returns the abscissa
// to within 3 sqrt(eps) |x| + tol and writes the minimum to *fx.
template <typename F>
double minimize_brent(F f, double a, double b, double tol, double* fx) {
  const double golden = (3.0 - std::sqrt(5.0)) / 2.0;
  const double sqrt_epsilon = std::sqrt(0.5 * std::numeric_limits<double>::epsilon());  // LAPACK dlamch eps
  double x = a + golden * (b - a), w = x, v = x;
  double fw = f(x), fv = fw;
  *fx = fw;
  for (int iteration = 0; iteration < 60; ++iteration) {
    const double middle = 0.5 * (a + b), tol_act = sqrt_epsilon * std::fabs(x) + tol / 3.0;
    if (std::fabs(x - middle) + 0.5 * (b - a) <= 2.0 * tol_act) break;
    double step = golden * (x < middle ? b - x : a - x);
    if (std::fabs(x - w) >= tol_act) {  // try a parabola through x, w, v
      double t = (x - w) * (*fx - fv), q = (x - v) * (*fx - fw);
      double p = (x - v) * q - (x - w) * t;
      q = 2.0 * (q - t);
      if (q > 0) p = -p; else q = -q;
      if (std::fabs(p) < std::fabs(step * q) && p > q * (a - x + 2 * tol_act) && p < q * (b - x - 2 * tol_act)) {
        step = p / q;
      }
    }
    if (std::fabs(step) < tol_act) step = step > 0 ? tol_act : -tol_act;
    const double t = x + step, ft = f(t);
    if (ft <= *fx) {
      (t < x ? b : a) = x;
      v = w; w = x; x = t;
      fv = fw; fw = *fx; *fx = ft;
    } else {
      (t < x ? a : b) = t;
      if (ft <= fw || w == x) {
        v = w; w = t;
        fv = fw; fw = ft;
      } else if (ft <= fv || v == x || v == w) {
        v = t;
        fv = ft;
      }
    }
  }
  return x;
}
}  // namespace praat

}  // namespace affectkit
