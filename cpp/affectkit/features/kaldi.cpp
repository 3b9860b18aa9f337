#include "affectkit/features/kaldi.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/fft.h"
#include "affectkit/common/interrupt.h"
#include "affectkit/common/thread_pool.h"

namespace affectkit {
namespace {

constexpr std::int64_t kBlock = 16;  // frames per batched FFT call
// Kaldi floors energies at float epsilon whatever the precision.
constexpr double kEpsilon = std::numeric_limits<float>::epsilon();

double mel_scale(double hz) { return 1127.0 * std::log(1.0 + hz / 700.0); }  // Kaldi's MelScale

// Everything that depends on the options only: window, mel triangles, DCT.
struct KaldiPlan {
  std::int64_t window_size = 0, shift = 0, padded = 0, num_bins = 0;
  std::vector<double> window;
  std::vector<std::int64_t> first, size, offset;  // band m: fft bins [first, first + size)
  std::vector<double> weights;
  std::vector<double> dct;  // num_ceps x num_bins, Kaldi's ComputeDctMatrix rows, liftered
};

std::int64_t round_up_to_power_of_two(std::int64_t n) {
  std::int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

KaldiPlan make_plan(const KaldiOptions& o) {
  KaldiPlan plan;
  plan.window_size = kaldi_window_size(o);
  plan.shift = kaldi_window_shift(o);
  plan.padded = o.round_to_power_of_two ? round_up_to_power_of_two(plan.window_size) : plan.window_size;
  plan.num_bins = o.num_mel_bins;

  // FeatureWindowFunction
  const double a = 2 * M_PI / static_cast<double>(plan.window_size - 1);
  for (std::int64_t i = 0; i < plan.window_size; ++i) {
    const double x = static_cast<double>(i);
    double w = 1.0;
    switch (o.window_type) {
      case KaldiWindow::Hanning: w = 0.5 - 0.5 * std::cos(a * x); break;
      case KaldiWindow::Hamming: w = 0.54 - 0.46 * std::cos(a * x); break;
      case KaldiWindow::Povey: w = std::pow(0.5 - 0.5 * std::cos(a * x), 0.85); break;
      case KaldiWindow::Rectangular: w = 1.0; break;
      case KaldiWindow::Blackman:
        w = o.blackman_coeff - 0.5 * std::cos(a * x) + (0.5 - o.blackman_coeff) * std::cos(2 * a * x);
        break;
    }
    plan.window.push_back(w);
  }

  // MelBanks: triangles in the mel domain over the first padded/2 FFT bins.
  const double nyquist = 0.5 * o.sample_frequency;
  const double high = o.high_freq > 0 ? o.high_freq : nyquist + o.high_freq;
  AK_CHECK(o.low_freq >= 0 && o.low_freq < nyquist, "low_freq",
           "must be in [0, Nyquist = " << nyquist << "), got " << o.low_freq);
  AK_CHECK(high > o.low_freq && high <= nyquist, "high_freq",
           "gives " << high << " Hz, which must be above low_freq = " << o.low_freq
                    << " and at most Nyquist = " << nyquist << " (values <= 0 count down from Nyquist)");
  const std::int64_t fft_bins = plan.padded / 2;
  const double bin_width = o.sample_frequency / static_cast<double>(plan.padded);
  const double mel_low = mel_scale(o.low_freq), mel_high = mel_scale(high);
  const double delta = (mel_high - mel_low) / static_cast<double>(plan.num_bins + 1);
  for (std::int64_t m = 0; m < plan.num_bins; ++m) {
    const double left = mel_low + static_cast<double>(m) * delta, center = left + delta, right = center + delta;
    std::int64_t first = -1, last = -1;
    std::vector<double> row;
    for (std::int64_t i = 0; i < fft_bins; ++i) {
      const double mel = mel_scale(bin_width * static_cast<double>(i));
      if (mel > left && mel < right) {
        if (first < 0) first = i;
        last = i;
        row.push_back(mel <= center ? (mel - left) / (center - left) : (right - mel) / (right - center));
      }
    }
    AK_CHECK(first >= 0, "num_mel_bins",
             "is " << plan.num_bins << ", too many for a " << plan.padded
                   << "-point FFT between low_freq and high_freq: mel bin " << m << " is empty");
    plan.first.push_back(first);
    plan.size.push_back(last - first + 1);
    plan.offset.push_back(static_cast<std::int64_t>(plan.weights.size()));
    plan.weights.insert(plan.weights.end(), row.begin(), row.end());
  }

  // ComputeDctMatrix (orthonormal DCT-II rows) times the cepstral lifter.
  const std::int64_t n = plan.num_bins;
  for (std::int64_t k = 0; k < o.num_ceps; ++k) {
    const double lifter = o.cepstral_lifter != 0
                              ? 1.0 + 0.5 * o.cepstral_lifter * std::sin(M_PI * static_cast<double>(k) / o.cepstral_lifter)
                              : 1.0;
    for (std::int64_t j = 0; j < n; ++j) {
      const double basis = k == 0 ? std::sqrt(1.0 / static_cast<double>(n))
                                  : std::sqrt(2.0 / static_cast<double>(n)) *
                                        std::cos(M_PI / static_cast<double>(n) * (static_cast<double>(j) + 0.5) * static_cast<double>(k));
      plan.dct.push_back(basis * lifter);
    }
  }
  return plan;
}

// Counter-based Gaussian noise: the same (seed, frame, sample) always gives the
// same value, whatever the thread or chunk that computes it.
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

double gaussian(std::uint64_t seed, std::uint64_t frame, std::uint64_t sample) {
  const std::uint64_t key = splitmix64(seed ^ splitmix64(frame * 0x100000001B3ULL + sample));
  const double u1 = (static_cast<double>(key >> 11) + 0.5) * 0x1.0p-53;
  const double u2 = (static_cast<double>(splitmix64(key) >> 11) + 0.5) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

// ExtractWindow + ProcessWindow for one frame into buf (padded samples); returns
// the log energy Kaldi would report (raw or windowed, per the options).
template <typename T>
T process_frame(const T* y, std::int64_t n, std::int64_t frame, std::int64_t global_frame,
                const KaldiOptions& o, const KaldiPlan& plan, T* buf) {
  const std::int64_t ws = plan.window_size;
  const std::int64_t start = o.snip_edges ? frame * plan.shift : frame * plan.shift + plan.shift / 2 - ws / 2;
  for (std::int64_t s = 0; s < ws; ++s) {
    std::int64_t i = start + s;
    while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - 1 - i;  // Kaldi's edge reflection
    buf[s] = y[i];
  }
  std::fill(buf + ws, buf + plan.padded, T(0));
  if (o.dither != 0) {
    for (std::int64_t s = 0; s < ws; ++s) {
      buf[s] += static_cast<T>(o.dither * gaussian(o.seed, static_cast<std::uint64_t>(global_frame), s));
    }
  }
  if (o.remove_dc_offset) {
    T mean = 0;
    for (std::int64_t s = 0; s < ws; ++s) mean += buf[s];
    mean /= static_cast<T>(ws);
    for (std::int64_t s = 0; s < ws; ++s) buf[s] -= mean;
  }
  auto log_energy = [&] {
    T energy = 0;
    for (std::int64_t s = 0; s < ws; ++s) energy += buf[s] * buf[s];
    return std::log(std::max(energy, static_cast<T>(kEpsilon)));
  };
  T energy = 0;
  if (o.use_energy && o.raw_energy) energy = log_energy();
  if (o.preemphasis_coefficient != 0) {
    const T c = static_cast<T>(o.preemphasis_coefficient);
    for (std::int64_t s = ws - 1; s > 0; --s) buf[s] -= c * buf[s - 1];
    buf[0] -= c * buf[0];
  }
  for (std::int64_t s = 0; s < ws; ++s) buf[s] *= static_cast<T>(plan.window[s]);
  if (o.use_energy && !o.raw_energy) energy = log_energy();
  if (o.use_energy && o.energy_floor > 0) energy = std::max(energy, static_cast<T>(std::log(o.energy_floor)));
  return energy;
}

}  // namespace

KaldiWindow parse_kaldi_window(const char* name) {
  const std::string w(name);
  if (w == "povey") return KaldiWindow::Povey;
  if (w == "hamming") return KaldiWindow::Hamming;
  if (w == "hanning") return KaldiWindow::Hanning;
  if (w == "rectangular") return KaldiWindow::Rectangular;
  if (w == "blackman") return KaldiWindow::Blackman;
  AK_CHECK(false, "window_type",
           "must be one of 'povey', 'hamming', 'hanning', 'rectangular', 'blackman', got '" << w << "'");
  return KaldiWindow::Povey;
}

std::int64_t kaldi_window_size(const KaldiOptions& o) {
  AK_CHECK(o.sample_frequency > 0, "sample_frequency", "must be positive, got " << o.sample_frequency);
  const auto size = static_cast<std::int64_t>(o.sample_frequency * 0.001 * o.frame_length_ms);
  AK_CHECK(size >= 2, "frame_length", "must give at least 2 samples, got " << o.frame_length_ms << " ms = " << size << " samples");
  return size;
}

std::int64_t kaldi_window_shift(const KaldiOptions& o) {
  const auto shift = static_cast<std::int64_t>(o.sample_frequency * 0.001 * o.frame_shift_ms);
  AK_CHECK(shift >= 1, "frame_shift", "must give at least 1 sample, got " << o.frame_shift_ms << " ms = " << shift << " samples");
  return shift;
}

std::int64_t kaldi_num_frames(std::int64_t n, const KaldiOptions& o) {
  const std::int64_t size = kaldi_window_size(o), shift = kaldi_window_shift(o);
  AK_CHECK(n >= 0, "y", "length must be non-negative, got " << n);
  if (o.snip_edges) return n < size ? 0 : 1 + (n - size) / shift;
  return (n + shift / 2) / shift;
}

std::int64_t kaldi_num_features(const KaldiOptions& o) {
  AK_CHECK(o.num_mel_bins >= 3, "num_mel_bins", "must be at least 3, got " << o.num_mel_bins);
  AK_CHECK(o.num_ceps >= 0 && o.num_ceps <= o.num_mel_bins, "num_ceps",
           "must be between 1 and num_mel_bins = " << o.num_mel_bins << ", got " << o.num_ceps);
  if (o.num_ceps > 0) return o.num_ceps;
  return o.num_mel_bins + (o.use_energy ? 1 : 0);
}

template <typename T>
void kaldi_features(const SignalBatch<T>& batch, const KaldiOptions& o, T* const* out, int num_threads,
                    const std::int64_t* first_frame) {
  const std::int64_t features = kaldi_num_features(o);
  AK_CHECK(o.preemphasis_coefficient >= 0 && o.preemphasis_coefficient <= 1, "preemphasis_coefficient",
           "must be in [0, 1], got " << o.preemphasis_coefficient);
  AK_CHECK(o.dither >= 0 && std::isfinite(o.dither), "dither", "must be non-negative, got " << o.dither);
  AK_CHECK(o.energy_floor >= 0, "energy_floor", "must be non-negative, got " << o.energy_floor);
  AK_CHECK(o.mel_floor > 0 && std::isfinite(o.mel_floor), "mel_floor",
           "must be positive and finite (the log of a zero mel energy), got " << o.mel_floor);
  const KaldiPlan plan = make_plan(o);
  std::vector<std::int64_t> first_block(batch.count + 1, 0);
  for (std::int64_t i = 0; i < batch.count; ++i) {
    check_finite_within(batch.signals[i], batch.lengths[i], spectrum_input_limit<T>(plan.padded, 2.0), "y",
                        "its power spectrum overflows the input's precision; scale the signal or pass float64");
    const std::int64_t frames = kaldi_num_frames(batch.lengths[i], o);
    first_block[i + 1] = first_block[i] + (frames + kBlock - 1) / kBlock;
  }
  const RealFFT<T> fft(plan.padded, kBlock);
  const std::int64_t frame_stride = fft.real_distance(), stride = fft.complex_distance();
  const std::int64_t fft_bins = plan.padded / 2 + 1;
  const bool log_mel = o.use_log_fbank || o.num_ceps > 0;
  const T mel_floor = static_cast<T>(o.mel_floor);
  parallel_for(first_block.back(), num_threads, [&](std::int64_t begin, std::int64_t end) {
    AlignedBuffer<T> frames_in(kBlock * frame_stride);
    AlignedBuffer<std::complex<T>> spectra(kBlock * stride);
    std::fill(frames_in.data(), frames_in.data() + kBlock * frame_stride, T(0));
    std::vector<T> energy(kBlock), mel(plan.num_bins), power(fft_bins);
    std::int64_t signal = std::upper_bound(first_block.begin(), first_block.end(), begin) - first_block.begin() - 1;
    for (std::int64_t block = begin; block < end; ++block) {
      interruption_point();
      while (block >= first_block[signal + 1]) ++signal;
      const std::int64_t n = batch.lengths[signal];
      const std::int64_t frames = kaldi_num_frames(n, o);
      const std::int64_t t0 = (block - first_block[signal]) * kBlock;
      const std::int64_t count = std::min(kBlock, frames - t0);
      const std::int64_t global0 = (first_frame ? first_frame[signal] : 0) + t0;
      for (std::int64_t j = 0; j < count; ++j) {
        energy[j] = process_frame(batch.signals[signal], n, t0 + j, global0 + j, o, plan,
                                  frames_in.data() + j * frame_stride);
      }
      fft.forward(frames_in.data(), spectra.data());
      for (std::int64_t j = 0; j < count; ++j) {
        const std::complex<T>* X = spectra.data() + j * stride;
        for (std::int64_t k = 0; k < fft_bins; ++k) {
          const T p = X[k].real() * X[k].real() + X[k].imag() * X[k].imag();
          power[k] = o.use_power ? p : std::sqrt(p);
        }
        for (std::int64_t m = 0; m < plan.num_bins; ++m) {
          const double* w = plan.weights.data() + plan.offset[m];
          const T* p = power.data() + plan.first[m];
          T sum = 0;
          for (std::int64_t k = 0; k < plan.size[m]; ++k) sum += static_cast<T>(w[k]) * p[k];
          mel[m] = log_mel ? std::log(std::max(sum, mel_floor)) : sum;
        }
        T* row = out[signal] + (t0 + j) * features;
        if (o.num_ceps > 0) {
          for (std::int64_t k = 0; k < o.num_ceps; ++k) {
            const double* basis = plan.dct.data() + k * plan.num_bins;
            T c = 0;
            for (std::int64_t m = 0; m < plan.num_bins; ++m) c += static_cast<T>(basis[m]) * mel[m];
            row[k] = c;
          }
          if (o.use_energy) row[0] = energy[j];
          if (o.htk_compat) {  // Kaldi's MfccComputer: C0 (unscaled to HTK's sqrt(2/N)) or energy last
            const T first = o.use_energy ? row[0] : row[0] * static_cast<T>(M_SQRT2);
            std::copy(row + 1, row + o.num_ceps, row);
            row[o.num_ceps - 1] = first;
          }
        } else {
          const std::int64_t offset = o.use_energy && !o.htk_compat ? 1 : 0;
          if (o.use_energy) row[o.htk_compat ? plan.num_bins : 0] = energy[j];
          std::copy(mel.begin(), mel.end(), row + offset);
        }
      }
    }
  });
}

template void kaldi_features<float>(const SignalBatch<float>&, const KaldiOptions&, float* const*, int,
                                    const std::int64_t*);
template void kaldi_features<double>(const SignalBatch<double>&, const KaldiOptions&, double* const*, int,
                                     const std::int64_t*);

}  // namespace affectkit
