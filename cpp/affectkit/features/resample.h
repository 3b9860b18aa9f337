// Band-limited resampling by a rational factor up/down: polyphase windowed-sinc
// (Kaiser window), one filter phase per output position modulo `up`.
#pragma once

#include <cstdint>

#include "affectkit/features/stft.h"

namespace affectkit {

struct ResampleParams {
  std::int64_t up = 1;     // target_sr / g
  std::int64_t down = 1;   // orig_sr / g
  double cutoff = 0.94;    // -6 dB point as a fraction of the lower Nyquist frequency
  double zeros = 32;       // filter half-length in zero crossings of the sinc
  double kaiser_beta = 10; // window shape: stopband attenuation ~ 8.7 + beta / 0.1102 dB
};

// ceil(n * up / down): samples out for n in.
std::int64_t resample_length(std::int64_t n_samples, const ResampleParams& params);

// out[i] has resample_length(lengths[i]) samples. The signal is zero outside its
// ends; output sample j sits at input time j * down / up.
template <typename T>
void resample(const SignalBatch<T>& batch, const ResampleParams& params, T* const* out, int num_threads);

}  // namespace affectkit
