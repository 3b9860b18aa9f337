// The energy and spectral low-level descriptors of eGeMAPSv02 as openSMILE 3 computes
// them (config gemaps/v01b/GeMAPSv01b_core.lld.conf.inc and egemaps/v02/
// eGeMAPSv02_core.lld.conf.inc), batched over clips. Per frame of 20 ms (Hamming),
// every 10 ms, from the unnormalised FFT magnitude |X| zero-padded to a power of 2:
//   Loudness         cMelspec (26 triangular mel bands 20-8000 Hz on |X|^2) -> cPlp's
//                    auditory spectrum (max(band, 9.3e-10) * Hermansky's equal-loudness
//                    weight at the band centre)^0.33 -> mean over the bands (cVectorOperation ll1)
//   alphaRatio       cSpectral: 10 log10(sum |X|^2 over 1-5 kHz / sum over 0-1 kHz)
//   hammarbergIndex  cSpectral: 10 log10(max |X|^2 over 0-2 kHz / max over 2-5 kHz)
//   slope0-500, slope500-1500
//                    cSpectral: least-squares slope (dB/Hz) of 10 log10 |X|^2 over the band
//   spectralFlux     cSpectral: sqrt(mean over the bins below 5 kHz of (|X_t| - |X_t-1|)^2)
//   mfcc1-4          cMfcc (htkcompatible): DCT-II of ln(max(band * 32767^2, 1)) on the same
//                    mel bands, lifter 22, times sqrt(2 / 26)
// each then smoothed by cContourSmoother's 3-frame moving average ("_sma3", first and
// last frame repeated at the edges); plus equivalentSoundLevel_dBp, 10 log10 of the mean
// over frames of the frame's mean square (unwindowed), one value per clip.
#pragma once

#include <array>
#include <cstdint>

#include "affectkit/features/stft.h"  // SignalBatch

namespace affectkit {

// Rows of egemaps_lld's output, in openSMILE's column order.
inline constexpr int kEgemapsLldCount = 10;
extern const std::array<const char*, kEgemapsLldCount> kEgemapsLldNames;

// openSMILE's framing at sample rate sr: cFramer rounds seconds to samples (half away
// from zero), cTransformFFT zero-pads to the next power of 2.
struct EgemapsFraming {
  std::int64_t frame_length = 0;        // round(0.020 sr)
  std::int64_t hop_length = 0;          // round(0.010 sr)
  std::int64_t pitch_frame_length = 0;  // round(0.060 sr): eGeMAPS's F0 frames, which set the row count
  std::int64_t n_fft = 0;
};

// Checks sr: 8000 to 768000 Hz (rates from 8 kHz are checked against openSMILE, which
// cuts its 5 and 8 kHz band edges at Nyquist; the cap keeps frames a sane size).
EgemapsFraming egemaps_framing(double sr);

// Rows of openSMILE's eGeMAPSv02 LLD table for n_samples samples:
// (n_samples - pitch_frame_length) / hop_length + 2. openSMILE joins these LLDs with
// its 60 ms F0 analysis and keeps the rows both have; the 20 ms frames run 2-3 frames
// further, and those frames still feed the smoothing of the last rows. Checks that
// the clip holds one 60 ms frame (openSMILE returns no row for shorter clips).
std::int64_t egemaps_num_frames(std::int64_t n_samples, const EgemapsFraming& framing);

// All 20 ms frames of a clip: (n_samples - frame_length) / hop_length + 1 (checks, as
// egemaps_num_frames, that the clip holds one 60 ms frame).
std::int64_t egemaps_num_raw_frames(std::int64_t n_samples, const EgemapsFraming& framing);

// smooth: out[i] is (kEgemapsLldCount, egemaps_num_frames(lengths[i])) row-major for
// clip i, the "_sma3" values of openSMILE's LLD table; otherwise out[i] is
// (kEgemapsLldCount, egemaps_num_raw_frames(lengths[i])), the unsmoothed values of every
// 20 ms frame (what eGeMAPS's functionals start from: its voiced/unvoiced selections are
// made before smoothing). leq_db[i] is the clip's equivalentSoundLevel_dBp. Spectra are
// computed in T; every sum and reduction in double.
template <typename T>
void egemaps_lld(const SignalBatch<T>& batch, double sr, bool smooth, T* const* out, T* leq_db,
                 int num_threads);

}  // namespace affectkit
