#include "affectkit/features/resample.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/interrupt.h"
#include "affectkit/common/thread_pool.h"

namespace affectkit {
namespace {

// Zeroth-order modified Bessel function of the first kind, by its power series
// (converges quickly for the beta values used here).
double bessel_i0(double x) {
  double sum = 1, term = 1;
  for (int k = 1; k < 200; ++k) {
    term *= (x / (2 * k)) * (x / (2 * k));
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum;
}

void check_params(const ResampleParams& p) {
  AK_CHECK(p.up >= 1 && p.up <= 1 << 20, "target_sr", "gives an up-sampling factor " << p.up << " outside [1, 2**20]");
  AK_CHECK(p.down >= 1 && p.down <= 1 << 20, "orig_sr", "gives a down-sampling factor " << p.down << " outside [1, 2**20]");
  AK_CHECK(p.cutoff > 0 && p.cutoff <= 1, "cutoff", "must be in (0, 1], got " << p.cutoff);
  AK_CHECK(p.zeros >= 1 && p.zeros <= 1024, "zeros", "must be in [1, 1024], got " << p.zeros);
  AK_CHECK(p.kaiser_beta >= 0 && p.kaiser_beta <= 50, "kaiser_beta", "must be in [0, 50], got " << p.kaiser_beta);
}

// taps[r * width + k] weighs input sample base + k - (half - 1) for phase r.
struct PolyphaseFilter {
  std::int64_t half = 0, width = 0;
  std::vector<double> taps;
};

PolyphaseFilter design(const ResampleParams& p) {
  // Cutoff in cycles per input sample (times 2): below both Nyquist frequencies.
  const double fc = p.cutoff * std::min(1.0, static_cast<double>(p.up) / static_cast<double>(p.down));
  PolyphaseFilter f;
  f.half = static_cast<std::int64_t>(std::ceil(p.zeros / fc));
  f.width = 2 * f.half;
  f.taps.resize(static_cast<std::size_t>(p.up * f.width));
  const double radius = static_cast<double>(f.half);
  const double i0_beta = bessel_i0(p.kaiser_beta);
  for (std::int64_t r = 0; r < p.up; ++r) {
    const double phase = static_cast<double>(r) / static_cast<double>(p.up);
    double sum = 0;
    for (std::int64_t k = 0; k < f.width; ++k) {
      const double t = static_cast<double>(k - (f.half - 1)) - phase;  // input samples from the output time
      const double x = fc * t;
      const double sinc = x == 0 ? 1.0 : std::sin(M_PI * x) / (M_PI * x);
      const double u = t / radius;
      const double window = std::abs(u) < 1 ? bessel_i0(p.kaiser_beta * std::sqrt(1 - u * u)) / i0_beta : 0.0;
      const double h = fc * sinc * window;
      f.taps[r * f.width + k] = h;
      sum += h;
    }
    // Unit DC gain for every phase: no ripple at 0 Hz from the window's truncation.
    for (std::int64_t k = 0; k < f.width; ++k) f.taps[r * f.width + k] /= sum;
  }
  return f;
}

}  // namespace

std::int64_t resample_length(std::int64_t n, const ResampleParams& p) {
  check_params(p);
  AK_CHECK(n >= 1, "y", "must have at least one sample, got " << n);
  return (n * p.up + p.down - 1) / p.down;
}

template <typename T>
void resample(const SignalBatch<T>& batch, const ResampleParams& p, T* const* out, int num_threads) {
  check_params(p);
  for (std::int64_t i = 0; i < batch.count; ++i) check_finite(batch.signals[i], batch.lengths[i], "y");
  const PolyphaseFilter f = design(p);
  std::vector<T> taps(f.taps.begin(), f.taps.end());
  // Work items: (signal, chunk of 4096 output samples), so one long file uses every thread.
  constexpr std::int64_t kChunk = 4096;
  std::vector<std::int64_t> first_chunk(batch.count + 1, 0);
  for (std::int64_t i = 0; i < batch.count; ++i) {
    first_chunk[i + 1] = first_chunk[i] + (resample_length(batch.lengths[i], p) + kChunk - 1) / kChunk;
  }
  parallel_for(first_chunk.back(), num_threads, [&](std::int64_t begin, std::int64_t end) {
    std::int64_t signal = std::upper_bound(first_chunk.begin(), first_chunk.end(), begin) - first_chunk.begin() - 1;
    for (std::int64_t chunk = begin; chunk < end; ++chunk) {
      interruption_point();
      while (chunk >= first_chunk[signal + 1]) ++signal;
      const T* x = batch.signals[signal];
      const std::int64_t n = batch.lengths[signal];
      const std::int64_t n_out = resample_length(n, p);
      const std::int64_t j0 = (chunk - first_chunk[signal]) * kChunk;
      const std::int64_t j1 = std::min(n_out, j0 + kChunk);
      for (std::int64_t j = j0; j < j1; ++j) {
        const std::int64_t position = j * p.down;  // in units of 1/up input samples
        const std::int64_t base = position / p.up;
        const T* h = taps.data() + (position % p.up) * f.width;
        const std::int64_t first = base - (f.half - 1);
        const std::int64_t k0 = std::max<std::int64_t>(0, -first);
        const std::int64_t k1 = std::min<std::int64_t>(f.width, n - first);
        T sum = 0;
#pragma omp simd reduction(+ : sum)  // -fopenmp-simd: vectorises the reduction, no OpenMP runtime
        for (std::int64_t k = k0; k < k1; ++k) sum += h[k] * x[first + k];
        out[signal][j] = sum;
      }
    }
  });
}

template void resample<float>(const SignalBatch<float>&, const ResampleParams&, float* const*, int);
template void resample<double>(const SignalBatch<double>&, const ResampleParams&, double* const*, int);

}  // namespace affectkit
