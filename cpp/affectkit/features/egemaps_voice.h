// The voice low-level descriptors of eGeMAPSv02 as openSMILE 3 computes them (config
// gemaps/v01b/GeMAPSv01b_core.lld.conf.inc), per 60 ms frame every 10 ms, unsmoothed
// (the functionals smooth them after selecting voiced frames):
//   F0semitoneFrom27.5Hz  cFramer 60 ms -> cWindower gauss (sigma 0.4) -> |FFT| zero-padded
//                         to a power of 2 -> cSpecScale (peak enhancement, [1 2 1]/4
//                         smoothing, natural cubic spline onto a log2 axis from 25 Hz to
//                         Nyquist, auditory weighting) -> cPitchShs (15 harmonics, compression
//                         0.85, 6 candidates by score, parabolic peaks, voicing 1 - mean/score,
//                         55-1000 Hz) -> cPitchSmootherViterbi (bufferLength 40, the config's
//                         weights) -> 0 where the frame's RMS is below 0.001 -> semitones
//                         above 27.5 Hz (0 unvoiced).
//   jitterLocal, shimmerLocaldB
//                         cPitchJitter: waveform matching of consecutive periods in the
//                         signal, streamed in F0 frame order.
//   HNRdBACF, logRelF0-H1-H2, logRelF0-H1-A3, F1-F3 amplitudeLogRelF0
//                         cHarmonics on the 60 ms frames' magnitude spectrum given that F0.
//   F1-F3 frequency and bandwidth
//                         cSpecResample of the 20 ms Hamming frames' FFT to 11 kHz -> cLpc
//                         (autocorrelation, order 11) -> cFormantLpc.
// See egemaps_voice.cpp for each step and the openSMILE quirks it keeps.
#pragma once

#include <array>
#include <cstdint>

#include "affectkit/features/stft.h"  // SignalBatch

namespace affectkit {

// Rows of egemaps_voice's output, in the order of openSMILE's egemapsv02_lldsetF level.
inline constexpr int kEgemapsVoiceCount = 15;
extern const std::array<const char*, kEgemapsVoiceCount> kEgemapsVoiceNames;

// 60 ms frames of a clip: (n_samples - round(0.060 sr)) / round(0.010 sr) + 1; checks sr
// and that one frame fits (as egemaps_num_frames).
std::int64_t egemaps_num_voice_frames(std::int64_t n_samples, double sr);

// out[i] is (kEgemapsVoiceCount, egemaps_num_voice_frames(lengths[i])) row-major for clip i,
// in double whatever T.
template <typename T>
void egemaps_voice(const SignalBatch<T>& batch, double sr, double* const* out, int num_threads);

}  // namespace affectkit
