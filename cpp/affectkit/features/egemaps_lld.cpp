#include "affectkit/features/egemaps_lld.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/fft.h"
#include "affectkit/common/interrupt.h"
#include "affectkit/common/thread_pool.h"
#include "affectkit/features/mel.h"  // FilterBank, sparse_filterbank

namespace affectkit {

const std::array<const char*, kEgemapsLldCount> kEgemapsLldNames = {
    "Loudness_sma3",      "alphaRatio_sma3",   "hammarbergIndex_sma3", "slope0-500_sma3",
    "slope500-1500_sma3", "spectralFlux_sma3", "mfcc1_sma3",           "mfcc2_sma3",
    "mfcc3_sma3",         "mfcc4_sma3"};

namespace {

enum Row { kLoudness, kAlphaRatio, kHammarberg, kSlopeLow, kSlopeHigh, kFlux, kMfcc1 };
constexpr int kRawRows = kEgemapsLldCount + 1;  // + each frame's mean square, for the Leq
constexpr int kBands = 26;
constexpr int kMfccs = 4;
constexpr std::int64_t kBlock = 16;  // frames per batched FFT (plus the one before, for the flux)

// openSMILE keeps its settings and data in float (FLOAT_DMEM); these are its values as stored.
const double kMelFloor = static_cast<float>(0.00000000093);  // cPlp melfloor
const double kCompression = 0.33f;                           // cPlp: power law of hearing
const float kSpecFloorRoot = 1e-7f;                          // cSpectral specFloor, squared on use
const double kSpecFloor = kSpecFloorRoot * kSpecFloorRoot;
const double kLogSpecFloor = static_cast<float>(10.0 * std::log(kSpecFloor) / std::log(10.0));
const double kLeqFloor = 0.000000000001f;  // cVectorOperation logfloor

double hz_to_mel(double hz) { return hz > 0.0 ? 1127.0 * std::log(1.0 + hz / 700.0) : 0.0; }
double mel_to_hz(double mel) { return 700.0 * (std::exp(mel / 1127.0) - 1.0); }

// Hermansky (1990)'s equal-loudness curve as openSMILE scales it (smileDsp_equalLoudnessWeight).
double equal_loudness(double hz) {
  const double w = 2.0 * M_PI * hz;
  const double w2 = w * w;
  const double c = w2 + 6300000.0;
  return 1e32 * ((w2 + 56.8e6) * w2 * w2) / (c * c * (w2 + 0.38e9) * (w2 * w2 * w2 * w + 1.7e31));
}

// Everything that depends on sr only.
template <typename T>
struct Tables {
  EgemapsFraming framing;
  std::int64_t bins = 0;
  std::vector<T> window;  // Hamming over frame_length; the FFT's zero padding follows
  FilterBank<double> mel;
  double loudness_weight[kBands];
  double dct[kMfccs][kBands];  // cosine * lifter * sqrt(2 / 26)
  std::int64_t below_1k = 0, below_2k = 0, up_to_5k = 0, flux_bins = 0;
  std::int64_t slope_first[2] = {0, 0};
  std::vector<double> slope_weight[2];
};

// cMelspec's 26 bands from 20 to 8000 Hz (clipped at Nyquist), built as openSMILE
// builds them: in float, a bin between centres c[m] and c[m+1] (on the mel scale)
// gives weight (c[m+1] - mel) / (c[m+1] - c[m]) to band m-1 and the rest to band m.
// Also fills each band's centre frequency (Hz), where cPlp weighs its loudness.
FilterBank<double> mel_bands(std::int64_t bins, double frame_seconds, double* centre_hz) {
  const float bin_hz = static_cast<float>(1.0 / frame_seconds);
  const float fs = static_cast<float>(static_cast<float>((bins - 1) * 2) / frame_seconds);
  float lo = 20.0f, hi = 8000.0f;
  if (lo > fs / 2.0) lo = 0.0f;
  if (hi > fs / 2.0) hi = fs / 2.0f;
  const float lo_mel = static_cast<float>(hz_to_mel(lo));
  const float hi_mel = static_cast<float>(hz_to_mel(hi));
  auto to_bin = [&](float hz) {
    return std::clamp<std::int64_t>(std::lround(static_cast<double>(hz / bin_hz)), 0, bins);
  };
  const std::int64_t first = to_bin(lo), last = to_bin(hi);
  float centre[kBands + 2];
  const float step = (hi_mel - lo_mel) / static_cast<float>(kBands + 1);
  for (int m = 0; m < kBands + 2; ++m) centre[m] = lo_mel + static_cast<float>(m) * step;
  for (int m = 0; m < kBands; ++m) centre_hz[m] = mel_to_hz(centre[m + 1]);
  std::vector<double> dense(kBands * bins, 0.0);
  int m = 0;
  for (std::int64_t n = first + 1; n < last; ++n) {  // openSMILE skips the bin at lo
    const float mel = static_cast<float>(hz_to_mel(static_cast<float>(n) * bin_hz));
    while (m < kBands && mel > centre[m + 1]) ++m;
    const double falling = static_cast<float>((centre[m + 1] - mel) / (centre[m + 1] - centre[m]));
    if (m >= 1) dense[(m - 1) * bins + n] += falling;
    if (m < kBands) dense[m * bins + n] += 1.0 - falling;
  }
  return sparse_filterbank(dense.data(), kBands, bins);
}

// cSpectral's slope over [lo, hi] Hz of the dB spectrum L, as weights: slope = sum_j w_j L_j.
// The end bins enter with fractional weights; the least-squares count is
// idxR - idxL, one less than the bins summed (openSMILE's formula, kept).
void slope_weights(double lo, double hi, double bin_hz, std::int64_t bins, std::int64_t* first,
                   std::vector<double>* weights) {
  auto hz = [&](std::int64_t j) { return bin_hz * static_cast<double>(j); };
  std::int64_t above = 0;
  while (above < bins && hz(above) <= lo) ++above;
  double weight_lo = above < bins && above > 0 ? (hz(above) - lo) / (hz(above) - hz(above - 1)) : 1.0;
  const std::int64_t left = std::max<std::int64_t>(above - 1, 0);
  std::int64_t reach = 0;
  while (reach < bins && hz(reach) < hi) ++reach;
  double weight_hi = reach < bins && reach > 0 ? (hi - hz(reach - 1)) / (hz(reach) - hz(reach - 1)) : 1.0;
  const std::int64_t right = std::clamp<std::int64_t>(reach < bins && hz(reach) == hi ? reach : reach - 1, 0, bins - 1);
  if (weight_lo == 0.0) weight_lo = 1.0;
  if (weight_hi == 0.0) weight_hi = 1.0;
  // Coefficients of sum_j a_j L_j (frequency-weighted) and sum_j b_j L_j.
  std::vector<double> a(right - left + 1, 0.0), b(right - left + 1, 0.0);
  a[0] += hz(left) * weight_lo;
  b[0] += weight_lo;
  for (std::int64_t j = left + 1; j < right; ++j) {
    a[j - left] = hz(j);
    b[j - left] = 1.0;
  }
  a[right - left] += hz(right) * weight_hi;
  b[right - left] += weight_hi;
  double sf = hz(left) * weight_lo, s2f = sf * sf;
  for (std::int64_t j = left + 1; j < right; ++j) {
    sf += hz(j);
    s2f += hz(j) * hz(j);
  }
  sf += hz(right) * weight_hi;
  s2f += hz(right) * weight_hi * hz(right) * weight_hi;
  const double count = static_cast<double>(right - left);
  const double denominator = count * s2f - sf * sf;
  weights->assign(a.size(), 0.0);
  if (denominator != 0.0) {
    for (std::size_t j = 0; j < a.size(); ++j) (*weights)[j] = (count * a[j] - sf * b[j]) / denominator;
  }
  *first = left;
}

template <typename T>
Tables<T> make_tables(double sr) {
  Tables<T> tb;
  tb.framing = egemaps_framing(sr);
  const std::int64_t length = tb.framing.frame_length, n_fft = tb.framing.n_fft;
  tb.bins = n_fft / 2 + 1;
  tb.window.resize(length);
  for (std::int64_t i = 0; i < length; ++i) {
    tb.window[i] = static_cast<T>(0.54 - 0.46 * std::cos(2.0 * M_PI * i / (length - 1.0)));
  }
  // cTransformFFT stretches the frame's duration by the zero padding: bin j is at j / that.
  const double frame_seconds = 0.020 * (static_cast<double>(n_fft) / static_cast<double>(length));
  const double bin_hz = 1.0 / frame_seconds;
  double centre_hz[kBands];
  tb.mel = mel_bands(tb.bins, frame_seconds, centre_hz);
  for (int m = 0; m < kBands; ++m) tb.loudness_weight[m] = static_cast<float>(equal_loudness(centre_hz[m]));
  const float root = static_cast<float>(std::sqrt(2.0 / kBands));
  for (int i = 1; i <= kMfccs; ++i) {
    const float lifter = 1.0f + 22.0f / 2.0f * std::sin(static_cast<float>(M_PI) * static_cast<float>(i) / 22.0f);
    for (int m = 0; m < kBands; ++m) {
      const float cosine = static_cast<float>(std::cos(M_PI * (i / double(kBands)) * (m + 0.5)));
      tb.dct[i - 1][m] = static_cast<double>(cosine) * lifter * root;
    }
  }
  // Bins from 0 Hz while <= 5 kHz, split below 1 kHz (alpha ratio) and 2 kHz (Hammarberg);
  // the flux uses the bins below 5 kHz.
  auto count_bins = [&](auto below) {
    std::int64_t j = 0;
    while (j < tb.bins && below(bin_hz * static_cast<double>(j))) ++j;
    return j;
  };
  tb.up_to_5k = count_bins([](double f) { return f <= 5000.0; });
  tb.below_1k = std::min(tb.up_to_5k, count_bins([](double f) { return f < 1000.0; }));
  tb.below_2k = std::min(tb.up_to_5k, count_bins([](double f) { return f < 2000.0; }));
  tb.flux_bins = count_bins([](double f) { return f < 5000.0; });
  if (tb.flux_bins == 0) tb.flux_bins = tb.bins;
  slope_weights(0.0, 500.0, bin_hz, tb.bins, &tb.slope_first[0], &tb.slope_weight[0]);
  slope_weights(500.0, 1500.0, bin_hz, tb.bins, &tb.slope_first[1], &tb.slope_weight[1]);
  return tb;
}

// 10 log10 of a power as cSpectral takes it, floored at specFloor.
double power_db(double p) { return p <= kSpecFloor ? kLogSpecFloor : 10.0 / std::log(10.0) * std::log(p); }

// One frame's LLDs (before smoothing) from its magnitude spectrum and the previous
// frame's (nullptr for the first frame). power has tb.bins scratch values.
template <typename T>
void frame_llds(const Tables<T>& tb, const double* magnitude, const double* previous, double* power,
                double* values) {
  const std::int64_t bins = tb.bins;
  for (std::int64_t j = 0; j < bins; ++j) power[j] = magnitude[j] * magnitude[j];
  double loudness = 0.0, log_mel[kBands];
  for (int m = 0; m < kBands; ++m) {
    const double* w = tb.mel.weights.data() + tb.mel.offset[m];
    const double* p = power + tb.mel.first[m];
    double band = 0.0;
    for (std::int64_t k = 0; k < tb.mel.size[m]; ++k) band += w[k] * p[k];
    loudness += std::pow(std::max(band, kMelFloor) * tb.loudness_weight[m], kCompression);
    // cMelspec htkcompatible: the power of 16-bit samples (x 32767^2), floored at 1 (cMfcc).
    log_mel[m] = std::log(std::max(band * (32767.0 * 32767.0), 1.0));
  }
  values[kLoudness] = loudness / kBands;
  for (int i = 0; i < kMfccs; ++i) {
    double c = 0.0;
    for (int m = 0; m < kBands; ++m) c += tb.dct[i][m] * log_mel[m];
    values[kMfcc1 + i] = c;
  }
  double low = 0.0, high = 0.0, peak_low = 0.0, peak_high = 0.0;
  for (std::int64_t j = 0; j < tb.below_1k; ++j) low += power[j];
  for (std::int64_t j = tb.below_1k; j < tb.up_to_5k; ++j) high += power[j];
  for (std::int64_t j = 0; j < tb.below_2k; ++j) peak_low = std::max(peak_low, power[j]);
  for (std::int64_t j = tb.below_2k; j < tb.up_to_5k; ++j) peak_high = std::max(peak_high, power[j]);
  // A silent reference band gives 0, a silent other band the dB of specFloor (cSpectral).
  const double db = 10.0 / std::log(10.0);
  values[kAlphaRatio] = low > 0.0 ? db * (std::log(std::max(high, kSpecFloor)) - std::log(low)) : 0.0;
  values[kHammarberg] = peak_high > 0.0 ? db * (std::log(std::max(peak_low, kSpecFloor)) - std::log(peak_high)) : 0.0;
  for (int s = 0; s < 2; ++s) {
    const std::vector<double>& w = tb.slope_weight[s];
    const double* p = power + tb.slope_first[s];
    double slope = 0.0;
    for (std::size_t k = 0; k < w.size(); ++k) slope += w[k] * power_db(p[k]);
    values[kSlopeLow + s] = slope;
  }
  double flux = 0.0;
  if (previous != nullptr) {
    for (std::int64_t j = 0; j < tb.flux_bins; ++j) {
      const double d = magnitude[j] - previous[j];
      flux += d * d;
    }
  }
  values[kFlux] = std::sqrt(flux / static_cast<double>(tb.flux_bins));
}

}  // namespace

EgemapsFraming egemaps_framing(double sr) {
  AK_CHECK(std::isfinite(sr) && sr >= 8000.0 && sr <= 768000.0, "sr",
           "must be a sample rate between 8000 and 768000 Hz, got " << sr);
  // cFramer: frameSizeFrames = round(frameSize / T) with T = 1 / sr.
  auto samples = [&](double seconds) { return static_cast<std::int64_t>(std::round(seconds / (1.0 / sr))); };
  EgemapsFraming f;
  f.frame_length = samples(0.020);
  f.hop_length = samples(0.010);
  f.pitch_frame_length = samples(0.060);
  f.n_fft = 1;
  while (f.n_fft < f.frame_length) f.n_fft *= 2;
  return f;
}

std::int64_t egemaps_num_frames(std::int64_t n_samples, const EgemapsFraming& f) {
  AK_CHECK(n_samples >= f.pitch_frame_length, "y",
           "must hold at least 60 ms (" << f.pitch_frame_length << " samples at this sr), got "
                                        << n_samples << " samples");
  const std::int64_t frames = (n_samples - f.frame_length) / f.hop_length + 1;
  return std::min(frames, (n_samples - f.pitch_frame_length) / f.hop_length + 2);
}

std::int64_t egemaps_num_raw_frames(std::int64_t n_samples, const EgemapsFraming& f) {
  egemaps_num_frames(n_samples, f);
  return (n_samples - f.frame_length) / f.hop_length + 1;
}

template <typename T>
void egemaps_lld(const SignalBatch<T>& batch, double sr, bool smooth, T* const* out, T* leq_db,
                 int num_threads) {
  const Tables<T> tb = make_tables<T>(sr);
  const EgemapsFraming& f = tb.framing;
  AK_CHECK(batch.count >= 0, "y", "batch size must be non-negative, got " << batch.count);
  // Raw (unsmoothed) rows per clip, [row][frame], over all 20 ms frames.
  std::vector<std::int64_t> raw_frames(batch.count), raw_offset(batch.count + 1, 0), first_block(batch.count + 1, 0);
  for (std::int64_t i = 0; i < batch.count; ++i) {
    raw_frames[i] = egemaps_num_raw_frames(batch.lengths[i], f);
    check_finite(batch.signals[i], batch.lengths[i], "y");
    raw_offset[i + 1] = raw_offset[i] + kRawRows * raw_frames[i];
    first_block[i + 1] = first_block[i] + (raw_frames[i] + kBlock - 1) / kBlock;
  }
  std::vector<double> raw(raw_offset.back());
  const RealFFT<T> fft(f.n_fft, kBlock + 1);
  const std::int64_t real_stride = fft.real_distance(), complex_stride = fft.complex_distance();
  const std::int64_t bins = tb.bins;
  parallel_for(first_block.back(), num_threads, [&](std::int64_t begin, std::int64_t end) {
    AlignedBuffer<T> frames_in((kBlock + 1) * real_stride);
    AlignedBuffer<std::complex<T>> spectra((kBlock + 1) * complex_stride);
    std::vector<double> magnitude((kBlock + 1) * bins), power(bins);
    // The zero padding after each frame is never written, so it stays zero.
    std::fill(frames_in.data(), frames_in.data() + (kBlock + 1) * real_stride, T(0));
    std::int64_t signal = std::upper_bound(first_block.begin(), first_block.end(), begin) - first_block.begin() - 1;
    for (std::int64_t block = begin; block < end; ++block) {
      interruption_point();
      while (block >= first_block[signal + 1]) ++signal;
      const T* y = batch.signals[signal];
      const std::int64_t frames = raw_frames[signal];
      const std::int64_t t0 = (block - first_block[signal]) * kBlock;
      const std::int64_t t_end = std::min(t0 + kBlock, frames);
      const std::int64_t t_first = t0 > 0 ? t0 - 1 : 0;  // the flux needs the frame before t0
      for (std::int64_t t = t_first; t < t_end; ++t) {
        const T* x = y + t * f.hop_length;
        T* buf = frames_in.data() + (t - t_first) * real_stride;
        for (std::int64_t k = 0; k < f.frame_length; ++k) buf[k] = x[k] * tb.window[k];
      }
      fft.forward(frames_in.data(), spectra.data());
      for (std::int64_t j = 0; j < t_end - t_first; ++j) {
        const std::complex<T>* s = spectra.data() + j * complex_stride;
        const T* re_im = reinterpret_cast<const T*>(s);
        for (std::int64_t k = 0; k < bins; ++k) {
          const double re = re_im[2 * k], im = re_im[2 * k + 1];
          magnitude[j * bins + k] = std::sqrt(re * re + im * im);
        }
      }
      double* dst = raw.data() + raw_offset[signal];
      for (std::int64_t t = t0; t < t_end; ++t) {
        const double* current = magnitude.data() + (t - t_first) * bins;
        double values[kRawRows];
        frame_llds(tb, current, t > 0 ? current - bins : nullptr, power.data(), values);
        const T* x = y + t * f.hop_length;
        double energy = 0.0;
        for (std::int64_t k = 0; k < f.frame_length; ++k) energy += static_cast<double>(x[k]) * x[k];
        values[kEgemapsLldCount] = energy / static_cast<double>(f.frame_length);
        for (int r = 0; r < kRawRows; ++r) dst[r * frames + t] = values[r];
      }
    }
  });
  // cContourSmoother (smaWin = 3): the mean of a frame and its two neighbours, the
  // first and last frame standing in for the missing ones.
  parallel_for(batch.count, num_threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const std::int64_t frames = raw_frames[i];
      const std::int64_t rows = smooth ? egemaps_num_frames(batch.lengths[i], f) : frames;
      const double* values = raw.data() + raw_offset[i];
      for (int r = 0; r < kEgemapsLldCount; ++r) {
        const double* x = values + r * frames;
        T* dst = out[i] + r * rows;
        for (std::int64_t t = 0; t < rows; ++t) {
          const double sum = x[std::max<std::int64_t>(t - 1, 0)] + x[t] + x[std::min(t + 1, frames - 1)];
          dst[t] = static_cast<T>(smooth ? sum / 3.0 : x[t]);
        }
      }
      // cEnergy energy2 -> cFunctionals amean over all frames -> cVectorOperation dBp.
      double mean = 0.0;
      for (std::int64_t t = 0; t < frames; ++t) mean += values[kEgemapsLldCount * frames + t];
      mean /= static_cast<double>(frames);
      leq_db[i] = static_cast<T>(10.0 / std::log(10.0) * std::log(mean > kLeqFloor ? mean : kLeqFloor));
    }
  });
}

template void egemaps_lld<float>(const SignalBatch<float>&, double, bool, float* const*, float*, int);
template void egemaps_lld<double>(const SignalBatch<double>&, double, bool, double* const*, double*, int);

}  // namespace affectkit
