#include "affectkit/features/cochleagram.h"

#include <cmath>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/interrupt.h"
#include "affectkit/common/thread_pool.h"

namespace affectkit {

std::int64_t cochleagram_num_frames(std::int64_t n, std::int64_t win_length, std::int64_t hop_length) {
  AK_CHECK(win_length >= 1, "win_length", "must be a positive number of samples, got " << win_length);
  AK_CHECK(hop_length >= 1, "hop_length", "must be a positive number of samples, got " << hop_length);
  AK_CHECK(n >= win_length, "y", "has " << n << " samples, fewer than one window of win_length = " << win_length);
  return 1 + (n - win_length) / hop_length;
}

template <typename T>
void cochleagram(const SignalBatch<T>& batch, const double* c, std::int64_t n_channels, std::int64_t win_length,
                 std::int64_t hop_length, T* const* out, int num_threads) {
  AK_CHECK(n_channels >= 1, "n_channels", "must be at least 1, got " << n_channels);
  check_finite(c, 10 * n_channels, "coefficients");
  for (std::int64_t i = 0; i < batch.count; ++i) {
    check_finite(batch.signals[i], batch.lengths[i], "y");
    cochleagram_num_frames(batch.lengths[i], win_length, hop_length);
  }
  parallel_for(batch.count * n_channels, num_threads, [&](std::int64_t begin, std::int64_t end) {
    std::vector<double> energy;
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t signal = task / n_channels, channel = task % n_channels;
      const double* k = c + 10 * channel;
      const T* x = batch.signals[signal];
      const std::int64_t n = batch.lengths[signal];
      // Four biquads b = [A0, A1s, A2], a = [B0 = 1, B1, B2], transposed direct form II.
      double state[4][2] = {};
      const double b0 = k[0], b2 = k[5], a1 = k[7] / k[6], a2 = k[8] / k[6];
      const double inv_gain = 1.0 / k[9];
      energy.resize(static_cast<std::size_t>(n));
      for (std::int64_t t = 0; t < n; ++t) {
        if (t % 65536 == 0) interruption_point();  // a channel of an hour takes ~0.3 s
        double v = static_cast<double>(x[t]);
        for (int s = 0; s < 4; ++s) {
          const double b1 = k[1 + s];
          const double y = b0 * v + state[s][0];
          state[s][0] = b1 * v - a1 * y + state[s][1];
          state[s][1] = b2 * v - a2 * y;
          v = y;
        }
        v *= inv_gain;
        energy[t] = v * v;
      }
      const std::int64_t frames = cochleagram_num_frames(n, win_length, hop_length);
      T* row = out[signal] + channel * frames;
      for (std::int64_t f = 0; f < frames; ++f) {
        double sum = 0;
        const double* e = energy.data() + f * hop_length;
        for (std::int64_t i = 0; i < win_length; ++i) sum += e[i];
        row[f] = static_cast<T>(std::sqrt(sum / static_cast<double>(win_length)));
      }
    }
  });
}

template void cochleagram<float>(const SignalBatch<float>&, const double*, std::int64_t, std::int64_t,
                                 std::int64_t, float* const*, int);
template void cochleagram<double>(const SignalBatch<double>&, const double*, std::int64_t, std::int64_t,
                                  std::int64_t, double* const*, int);

}  // namespace affectkit
