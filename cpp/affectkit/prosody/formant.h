// Formant tracking by Burg LPC, as Praat's "Sound: To Formant (burg)..."
// (Sound_to_Formant_burg in Praat's fon/Sound_to_Formant.cpp): resample to twice
// the maximum formant (Praat's own Sound_resample), pre-emphasise, Gaussian
// window of twice window_length, Burg LPC (Praat's VECburg), polynomial roots,
// and every root between 50 Hz and Nyquist - 50 Hz becomes a formant.
#pragma once

#include <complex>
#include <cstdint>

#include "affectkit/features/stft.h"

namespace affectkit {

// Praat's parameter names and defaults.
struct FormantParams {
  double sample_rate = 16000;           // Hz of the input signal
  double time_step = 0;                 // s between frames; 0: window_length / 4
  double max_number_of_formants = 5;    // LPC order = round(2 * this); 5.5 is allowed
  double maximum_formant = 5500;        // Hz; the signal is resampled to twice this
  double window_length = 0.025;         // s; the Gaussian window spans twice this
  double pre_emphasis_from = 50;        // Hz; x[i] -= exp(-2 pi F / fs) x[i-1]
};

// Frame i is centred at t1 + i * dt seconds (the input's first sample is at
// 0.5 / sample_rate, as in a Praat Sound). Checks the parameters and the length.
struct FormantFrames {
  std::int64_t count;
  double t1;
  double dt;
};
FormantFrames formant_frames(std::int64_t n_samples, const FormantParams& params);

// Formant slots per frame, (order + 1) / 2 as Praat's Formant object: frames
// with fewer formants are NaN-padded.
std::int64_t formant_slots(const FormantParams& params);

// Formant frequencies and bandwidths (Hz), each out[i] (frames, slots) row-major,
// frames from formant_frames(lengths[i]); computed in double for both T.
template <typename T>
void formants_burg(const SignalBatch<T>& batch, const FormantParams& params, double* const* frequencies,
                   double* const* bandwidths, int num_threads);

// Burg's method (Anderson 1978, as Praat's VECburg): a[0..order) such that
// x[i] ~ sum_j a[j] x[i - 1 - j]. Returns the residual mean square, or 0 (with
// the coefficients found so far) when x is silent or the recursion breaks down.
double lpc_burg(const double* x, std::int64_t n, double* a, int order);

// The degree roots of c[0] + c[1] z + ... + c[degree] z^degree (c[degree] != 0):
// eigenvalues of the companion matrix (Francis double-shift QR), each polished
// by Newton steps as Praat's Roots_Polynomial_polish. False if QR fails.
bool polynomial_roots(const double* c, int degree, std::complex<double>* roots);

}  // namespace affectkit
