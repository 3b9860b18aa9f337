#include "affectkit/prosody/formant.h"

#include "affectkit/prosody/praat_numerics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/fft.h"
#include "affectkit/common/interrupt.h"
#include "affectkit/common/lanes.h"
#include "affectkit/common/thread_pool.h"

namespace affectkit {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr std::int64_t kSincDepth = 50;  // Sound_resample (me, 2 * maximumFrequency, 50)
constexpr double kSafetyMargin = 50;     // Hz kept clear of 0 and Nyquist (Sound_to_Formant_burg)
constexpr std::int64_t kPadding = 1000;  // Praat's antiTurnAround: zeros each side of an FFT filter
constexpr std::int64_t kMaxFft = std::int64_t{1} << 30;  // RealFFT's largest size

void check_params(const FormantParams& p) {
  AK_CHECK(std::isfinite(p.sample_rate) && p.sample_rate > 0, "sr",
           "must be a positive number of Hz, got " << p.sample_rate);
  AK_CHECK(std::isfinite(p.time_step) && p.time_step >= 0, "time_step",
           "must be >= 0 seconds (0: window_length / 4), got " << p.time_step);
  AK_CHECK(p.max_number_of_formants >= 0.25 && p.max_number_of_formants <= 100, "max_number_of_formants",
           "must lie in [0.25, 100] (LPC order round(2 x) from 1 to 200), got " << p.max_number_of_formants);
  AK_CHECK(std::isfinite(p.maximum_formant) && p.maximum_formant > 0, "maximum_formant",
           "must be a positive number of Hz, got " << p.maximum_formant);
  AK_CHECK(std::isfinite(p.window_length) && p.window_length > 0, "window_length",
           "must be a positive number of seconds, got " << p.window_length);
  AK_CHECK(std::isfinite(p.pre_emphasis_from) && p.pre_emphasis_from > 0, "pre_emphasis_from",
           "must be a positive number of Hz, got " << p.pre_emphasis_from);
}

int lpc_order(const FormantParams& p) {
  return static_cast<int>(std::floor(2 * p.max_number_of_formants + 0.5));  // Melder_iround
}

// Sound_resample's upfactor: the analysis rate 2 * maximum_formant over sample_rate.
double upfactor(const FormantParams& p) { return 2 * p.maximum_formant * (1.0 / p.sample_rate); }

// How Sound_resample gets from sample_rate to 2 * maximum_formant.
enum class Resampling { None, Double, Sinc };

// The sound Praat analyses: n samples, sample i (0-based) at x1 + i * dx seconds,
// on Praat's time axis (the input's sample i at (i + 0.5) / sample_rate).
struct Grid {
  Resampling how;
  std::int64_t n;
  double dx, x1;
};

Grid analysis_grid(std::int64_t n, const FormantParams& p) {
  const double dx = 1.0 / p.sample_rate, x1 = 0.5 * dx, fs = 2 * p.maximum_formant, up = upfactor(p);
  if (std::fabs(up - 1) < 1e-6) return {Resampling::None, n, dx, x1};
  if (std::fabs(up - 2) < 1e-6) return {Resampling::Double, 2 * n, dx / 2, x1 - dx / 4};  // Sound_upsample
  const double xmax = static_cast<double>(n) / p.sample_rate;
  const double samples = std::floor(xmax * fs + 0.5);  // Melder_iround (duration * samplingFrequency)
  AK_CHECK(samples <= 1e15, "maximum_formant",
           p.maximum_formant << " Hz resamples " << n << " samples to " << samples << " samples");
  const auto m = static_cast<std::int64_t>(samples);
  return {Resampling::Sinc, m, 1.0 / fs, 0.5 * (xmax - static_cast<double>(m - 1) / fs)};
}

// Sampled_shortTermAnalysis as in Sound_to_Formant: frames every dt centred in
// the sound, a Gaussian window of `window` samples spanning 2 * window_length;
// frame samples reach `half` samples either side of the frame centre.
struct Framing {
  std::int64_t count, window, half;
  double t1, dt;
};

Framing framing(const Grid& g, const FormantParams& p, int order) {
  const double dt = p.time_step > 0 ? p.time_step : p.window_length / 4;
  const double duration = static_cast<double>(g.n) * g.dx, dt_window = 2 * p.window_length;
  const double window = std::floor(dt_window / g.dx);
  AK_CHECK(window >= order + 1, "window_length",
           p.window_length << " s gives a window of " << window << " samples at " << 1 / g.dx
                           << " Hz, fewer than LPC order + 1 = " << order + 1);
  const double frames = 1 + std::floor((duration - dt_window) / dt);
  AK_CHECK(frames <= 1e9, "time_step", p.time_step << " s gives " << frames << " frames");
  const auto samples = static_cast<std::int64_t>(std::min(window, static_cast<double>(g.n) + 2));
  // Shorter than a window: one frame over all of it, the Gaussian shrunk to the clip
  // (Praat keeps the nominal half-width, so the frame is clipped to the whole sound).
  if (frames < 1) return {1, g.n, samples / 2, g.x1 + 0.5 * duration, dt};
  const auto count = static_cast<std::int64_t>(frames);
  return {count, samples, samples / 2, g.x1 + 0.5 * (duration - g.dx - static_cast<double>(count - 1) * dt), dt};
}

std::int64_t fft_size(std::int64_t n) {
  std::int64_t size = 1;
  while (size < n + 2 * kPadding) size *= 2;
  return size;
}

// Per-thread buffers of the resampling, kept from clip to clip: new ones of these
// sizes (megabytes) can come from the kernel page by page, zeroed, for every clip
// (12% of the time in a C++ loop over 3 s clips; from Python, whose heap had the
// pages at hand, within the noise).
struct ResampleWork {
  std::int64_t size = 0;  // the FFT size that data and spectrum hold
  AlignedBuffer<double> data;
  AlignedBuffer<std::complex<double>> spectrum;
  std::vector<double> source;  // what resample_sinc reads
};

// Sound_resample's anti-aliasing before downsampling by `up` < 1: a brick wall over
// the whole zero-padded clip, into w.source. Praat zeroes its packed real spectrum
// (DC, Nyquist, re 1, im 1, re 2, ...) from the 1-based index floor(up * nfft) on,
// and Nyquist.
template <typename T>
void lowpass(const T* y, std::int64_t n, double up, ResampleWork& w) {
  const std::int64_t nfft = fft_size(n), bins = nfft / 2;
  const RealFFT<double> fft(nfft);
  if (w.size < nfft) {
    w.data = AlignedBuffer<double>(nfft);
    w.spectrum = AlignedBuffer<std::complex<double>>(bins + 1);
    w.size = nfft;
  }
  double* const data = w.data.data();
  std::complex<double>* const spectrum = w.spectrum.data();
  std::fill(data, data + nfft, 0.0);
  std::copy(y, y + n, data + kPadding);
  fft.forward(data, spectrum);
  const auto first_zero = static_cast<std::int64_t>(std::floor(up * static_cast<double>(nfft)));
  if (first_zero <= 1) spectrum[0] = 0;
  for (std::int64_t k = 1; k < bins; ++k) {
    spectrum[k] = {2 * k + 1 < first_zero ? spectrum[k].real() : 0.0,
                   2 * k + 2 < first_zero ? spectrum[k].imag() : 0.0};
  }
  spectrum[bins] = 0;
  fft.inverse(spectrum, data);
  w.source.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) w.source[i] = data[i + kPadding] / static_cast<double>(nfft);
}

// Sound_upsample (Praat's path for exactly twice the rate): the spectrum zero-padded
// to twice the length, its top 5% (by packed index, as lowpass) tapered to zero.
template <typename T>
std::vector<double> upsample2(const T* y, std::int64_t n) {
  const std::int64_t nfft = fft_size(n), bins = nfft / 2;
  const RealFFT<double> fft(nfft), fft2(2 * nfft);
  AlignedBuffer<double> data(2 * nfft);
  AlignedBuffer<std::complex<double>> spectrum(nfft + 1);
  std::fill(data.data(), data.data() + nfft, 0.0);
  std::copy(y, y + n, data.data() + kPadding);
  fft.forward(data.data(), spectrum.data());
  const auto imin = static_cast<std::int64_t>(static_cast<double>(nfft) * 0.95);
  const auto taper = [&](std::int64_t i) {
    return i > imin ? static_cast<double>(nfft - i) / static_cast<double>(nfft - imin) : 1.0;
  };
  for (std::int64_t k = 1; k < bins; ++k) {
    spectrum[k] = {spectrum[k].real() * taper(2 * k + 1), spectrum[k].imag() * taper(2 * k + 2)};
  }
  std::fill(spectrum.data() + bins, spectrum.data() + nfft + 1, std::complex<double>(0));
  fft2.inverse(spectrum.data(), data.data());
  std::vector<double> out(static_cast<std::size_t>(2 * n));
  for (std::int64_t i = 0; i < 2 * n; ++i) out[i] = data[i + 2 * kPadding] / static_cast<double>(nfft);
  return out;
}

// The clip as Praat analyses it: on the analysis grid, then pre-emphasised.
template <typename T>
std::vector<double> analysed_sound(const T* y, std::int64_t n, const Grid& g, const FormantParams& p,
                                   ResampleWork& w) {
  std::vector<double> s;
  if (g.how == Resampling::None) {
    s.assign(y, y + n);
  } else if (g.how == Resampling::Double) {
    s = upsample2(y, n);
  } else {
    const double dx = 1.0 / p.sample_rate, x1 = 0.5 * dx, up = upfactor(p);
    if (up < 1) {
      lowpass(y, n, up, w);
    } else {
      w.source.assign(y, y + n);
    }
    s.resize(static_cast<std::size_t>(g.n));
    praat::resample_sinc(w.source.data(), n, x1, dx, g.x1, g.dx, g.n, kSincDepth, s.data());
  }
  const double emphasis = std::exp(-2.0 * kPi * p.pre_emphasis_from * g.dx);
  for (std::int64_t i = g.n - 1; i >= 1; --i) s[i] -= emphasis * s[i - 1];
  return s;
}

// Praat's Gaussian window: exp(-12) at the (virtual) samples 0 and n + 1, lowered
// and rescaled so that it reaches 0 there.
std::vector<double> gaussian_window(std::int64_t n) {
  std::vector<double> w(static_cast<std::size_t>(n));
  const double mid = 0.5 * static_cast<double>(n + 1), edge = std::exp(-12.0), span = static_cast<double>(n + 1);
  for (std::int64_t i = 1; i <= n; ++i) {
    const double d = static_cast<double>(i) - mid;
    w[i - 1] = (std::exp(-48.0 * d * d / span / span) - edge) / (1.0 - edge);
  }
  return w;
}

// p(z) and p'(z) by Horner in long double, the complex products written out:
// std::complex's operator* calls libgcc's __mulxc3 (for its inf/nan cases), half of
// the polishing's time; the same four products and two sums otherwise.
// Not inlined into polish(): there GCC keeps the coefficients, converted to long
// double once, in 80-bit stack slots, whose loads cost several times an fadd of a double.
[[gnu::noinline]] void horner_long_double(const double* c, int degree, std::complex<double> z,
                                          std::complex<double>* value, std::complex<double>* slope) {
  long double p_re = c[degree], p_im = 0, dp_re = 0, dp_im = 0;
  const long double z_re = z.real(), z_im = z.imag();
  for (int i = degree - 1; i >= 0; --i) {
    const long double dp_re_next = dp_re * z_re - dp_im * z_im + p_re;
    dp_im = dp_re * z_im + dp_im * z_re + p_im;
    dp_re = dp_re_next;
    const long double p_re_next = p_re * z_re - p_im * z_im + static_cast<long double>(c[i]);
    p_im = p_re * z_im + p_im * z_re;
    p_re = p_re_next;
  }
  *value = {static_cast<double>(p_re), static_cast<double>(p_im)};
  *slope = {static_cast<double>(dp_re), static_cast<double>(dp_im)};
}

// |p(z)| for Newton's polishing, which compares sizes as hypot gives them: here
// sqrt(re^2 + im^2), within 1e-15 relative of hypot's (where 1e-280 < re^2 + im^2 <
// 1e280; else hypot's own), until polishing_stops needs the exact size.
struct PolishSize {
  double size;
  bool exact;  // size is hypot's
  std::complex<double> value;
};

PolishSize polish_size(std::complex<double> value) {
  const double squared = std::norm(value);
  const bool exact = !(squared > 1e-280 && squared < 1e280);
  return {exact ? std::abs(value) : std::sqrt(squared), exact, value};
}

void make_exact(PolishSize& s) {
  if (!s.exact) s.size = std::abs(s.value);
  s.exact = true;
}

// Whether the polishing stops at a size after the best so far: no longer smaller, or
// within DBL_EPSILON of it, as the exact sizes decide. The approximate sizes settle it
// but near a tie (hypot was 4% of the formant analysis).
bool polishing_stops(PolishSize& now, PolishSize& best) {
  constexpr double eps = std::numeric_limits<double>::epsilon(), margin = 1e-15;
  const double low = now.size * (1 - margin), high = now.size * (1 + margin);
  const double best_low = best.size * (1 - margin), best_high = best.size * (1 + margin);
  if (high < best_low && best_low - high >= eps) return false;  // smaller, by eps at least
  if (low > best_high || std::fabs(now.size - best.size) + margin * (now.size + best.size) < 0.5 * eps) return true;
  make_exact(now);
  make_exact(best);
  return now.size > best.size || std::fabs(now.size - best.size) < eps;
}

// Newton steps with long-double evaluation until |p(z)| stops decreasing, keeping
// the best z (Praat's Polynomial_polish_complexroot_nr, 80 steps at most).
std::complex<double> polish(const double* c, int degree, std::complex<double> z) {
  std::complex<double> best = z;
  PolishSize smallest{std::numeric_limits<double>::max(), true, 0.0};  // above every size
  for (int step = 0; step < 80; ++step) {
    std::complex<double> value, slope;
    horner_long_double(c, degree, z, &value, &slope);
    PolishSize size = polish_size(value);
    if (polishing_stops(size, smallest)) return best;
    smallest = size;
    best = z;
    if (slope == 0.0) return z;  // |slope| is 0 exactly when both parts are
    z -= value / slope;
  }
  return z;
}

// Rows of the QR's matrices are padded by kRowPadding columns, so that the left
// reflections can update four columns at a time past the window's last column (those
// columns are no longer read, and the padding never is).
constexpr int kRowPadding = 3;

// The eigenvalues of an upper Hessenberg n x n matrix h (row-major, n + kRowPadding
// doubles a row, overwritten) by Francis double-shift QR steps on the unreduced window
// only (eigenvalues without the Schur form, as LAPACK's dlahqr with wantt = false,
// which Praat calls through dhseqr; Golub & Van Loan, Algorithm 7.5.2). Was Eigen's
// EigenSolver: Hessenberg reduction of a matrix that already is one, and every step
// applied to whole rows, 33% of the formant analysis.
// The iteration advances one reflection at a time, so that hessenberg_eigenvalues can
// interleave several matrices: each reflection is a latency-bound chain (a sqrt, a
// division, then the updates that the next reflection needs), and independent chains
// overlap in the CPU. Every matrix sees the same operations in the same order as alone.
// Fixed > 0: the size known when compiling (the index arithmetic then folds).
template <int Fixed>
class FrancisQr {
 public:
  FrancisQr(double* h, int size, std::complex<double>* eigenvalues)
      : h_(h), size_(size), eigenvalues_(eigenvalues), hi_(n() - 1) {
    for (int i = 0; i < n(); ++i) {
      for (int j = std::max(i - 1, 0); j < n(); ++j) norm_ += std::fabs(H(i, j));
    }
  }

  // Deflates what it can, then starts a QR step on the window [lo, hi]: false when
  // every eigenvalue is found or one took more than dlahqr's 30 max(10, n) steps.
  bool begin_step() {
    constexpr double eps = std::numeric_limits<double>::epsilon();
    while (hi_ >= 0) {
      // The window [lo, hi]: h(lo, lo - 1) negligible next to its diagonal neighbours.
      int lo = hi_;
      for (; lo > 0; --lo) {
        double scale = std::fabs(H(lo - 1, lo - 1)) + std::fabs(H(lo, lo));
        if (scale == 0) scale = norm_;
        if (std::fabs(H(lo, lo - 1)) <= eps * scale) {
          H(lo, lo - 1) = 0;
          break;
        }
      }
      const int hi = hi_;
      if (lo == hi) {  // a 1 x 1 block
        eigenvalues_[hi] = H(hi, hi);
        hi_ -= 1;
        steps_ = 0;
        continue;
      }
      const double a = H(hi - 1, hi - 1), b = H(hi - 1, hi), c = H(hi, hi - 1), d = H(hi, hi);
      if (lo == hi - 1) {  // a 2 x 2 block: the roots of z^2 - (a + d) z + (ad - bc)
        const double half = 0.5 * (a - d), discriminant = half * half + b * c, mean = 0.5 * (a + d);
        if (discriminant >= 0) {
          // The larger root first, the other from the product (no cancellation) unless
          // that comes out larger: then both are rounding-sized (a double root near 0,
          // where ad - bc is rounding too) and the difference is the answer.
          const double root = std::sqrt(discriminant), far = mean + (mean >= 0 ? root : -root);
          const double near = far != 0 ? (a * d - b * c) / far : 0.0;
          eigenvalues_[hi - 1] = far;
          eigenvalues_[hi] = far != 0 && std::fabs(near) <= std::fabs(far) ? near : mean - (mean >= 0 ? root : -root);
        } else {
          const double root = std::sqrt(-discriminant);
          eigenvalues_[hi - 1] = {mean, root};
          eigenvalues_[hi] = {mean, -root};
        }
        hi_ -= 2;
        steps_ = 0;
        continue;
      }
      if (++steps_ > 30 * std::max(10, n())) {  // dlahqr's ITMAX
        failed_ = true;
        return false;
      }
      // Shifts: the trailing 2 x 2 block's eigenvalues (their sum and product), or
      // every 10 steps without deflation dlahqr's exceptional shifts, those of
      // [[d + 0.75 s, -0.4375 s], [s, d + 0.75 s]], to break a cycle.
      double sum = a + d, product = a * d - b * c;
      if (steps_ % 10 == 0) {
        const double s = std::fabs(H(hi, hi - 1)) + std::fabs(H(hi - 1, hi - 2)), diagonal = d + 0.75 * s;
        sum = 2 * diagonal;
        product = diagonal * diagonal + 0.4375 * s * s;
      }
      // The first column of (H - s1)(H - s2), whose bulge reflect() chases down the window.
      x_ = H(lo, lo) * H(lo, lo) + H(lo, lo + 1) * H(lo + 1, lo) - sum * H(lo, lo) + product;
      y_ = H(lo + 1, lo) * (H(lo, lo) + H(lo + 1, lo + 1) - sum);
      z_ = H(lo + 1, lo) * H(lo + 2, lo + 1);
      lo_ = k_ = lo;
      return true;
    }
    return false;
  }

  // The step's next 3-element Householder reflection P = I - beta v v^T (2-element
  // at the window's end): false when the step is done.
  bool reflect() {
    const int k = k_, lo = lo_, hi = hi_;
    const int rows = k < hi - 1 ? 3 : 2;
    // The bulge: the step's first column, then what the last reflection left in column
    // k - 1 (read from the matrix: kept in members, x and y were stored as one vector
    // whose load could not be forwarded from the reflection's stores).
    const double x = k > lo ? H(k, k - 1) : x_, y = k > lo ? H(k + 1, k - 1) : y_;
    const double z = rows == 2 ? 0.0 : k > lo ? H(k + 2, k - 1) : z_;
    const double norm_v = std::sqrt(x * x + y * y + (rows == 3 ? z * z : 0.0));
    if (norm_v != 0) {
      const double alpha = x > 0 ? -norm_v : norm_v;
      const double v0 = x - alpha, v1 = y, v2 = rows == 3 ? z : 0.0;
      const double beta = 2 / (v0 * v0 + v1 * v1 + v2 * v2);
      // P from the left, rows k..k+rows-1, four columns at a time.
      using Quad = double __attribute__((vector_size(32)));
      const auto load = [](const double* p) {
        Quad q;
        std::memcpy(&q, p, sizeof(q));
        return q;
      };
      const auto store = [](double* p, Quad q) { std::memcpy(p, &q, sizeof(q)); };
      for (int j = std::max(lo, k - 1); j <= hi; j += 4) {
        const Quad r0 = load(&H(k, j)), r1 = load(&H(k + 1, j));
        if (rows == 3) {
          const Quad r2 = load(&H(k + 2, j));
          const Quad dot = (v0 * r0 + v1 * r1 + v2 * r2) * beta;
          store(&H(k + 2, j), r2 - dot * v2);
          store(&H(k, j), r0 - dot * v0);
          store(&H(k + 1, j), r1 - dot * v1);
        } else {
          const Quad dot = (v0 * r0 + v1 * r1) * beta;
          store(&H(k, j), r0 - dot * v0);
          store(&H(k + 1, j), r1 - dot * v1);
        }
      }
      if (k > lo) {  // the bulge's column, exactly
        H(k, k - 1) = alpha;
        H(k + 1, k - 1) = 0;
        if (rows == 3) H(k + 2, k - 1) = 0;
      }
      // P from the right, columns k..k+rows-1: the dot product as scalars, the update
      // of each row's columns k..k+3 as one vector (7% less time for the roots), column
      // k + 3 stored as read (with 2 rows, column k + 2 = hi + 1 is past the window).
      const int last_row = std::min(k + 3, hi);
      const Quad v = {v0, v1, v2, 0.0};
      for (int i = lo; i <= last_row; ++i) {
        const Quad r = load(&H(i, k));
        double dot = H(i, k) * v0 + H(i, k + 1) * v1;
        if (rows == 3) dot += H(i, k + 2) * v2;
        dot *= beta;
        const Quad updated = r - dot * v;
        store(&H(i, k), __builtin_shufflevector(updated, r, 0, 1, 2, 7));
      }
    }
    if (k == hi - 1) return false;
    k_ = k + 1;
    return true;
  }

  bool failed() const { return failed_; }

 private:
  int n() const { return Fixed > 0 ? Fixed : size_; }
  double& H(int i, int j) const { return h_[static_cast<std::size_t>(i) * (n() + kRowPadding) + j]; }

  double* h_;
  int size_;
  std::complex<double>* eigenvalues_;
  double norm_ = 0;  // for the deflation test of an all-zero diagonal pair
  int hi_, lo_ = 0, k_ = 0, steps_ = 0;
  bool failed_ = false;
  double x_ = 0, y_ = 0, z_ = 0;  // the first column of the step's bulge
};

// At most this many matrices (frames) go through hessenberg_eigenvalues together.
constexpr int kInterleaved = 2;

// The eigenvalues of count <= kInterleaved Hessenberg matrices, their QR iterations
// interleaved reflection by reflection; found[m] false where QR failed.
template <int Fixed>
void hessenberg_eigenvalues(int count, double* const* h, int size, std::complex<double>* const* eigenvalues,
                            bool* found) {
  std::array<std::optional<FrancisQr<Fixed>>, kInterleaved> qr;
  std::array<bool, kInterleaved> stepping{};
  int active = 0;
  for (int m = 0; m < count; ++m) {
    qr[m].emplace(h[m], size, eigenvalues[m]);
    stepping[m] = qr[m]->begin_step();
    active += stepping[m];
  }
  while (active > 0) {
    for (int m = 0; m < count; ++m) {
      if (stepping[m] && !qr[m]->reflect()) {
        stepping[m] = qr[m]->begin_step();
        active -= !stepping[m];
      }
    }
  }
  for (int m = 0; m < count; ++m) found[m] = !qr[m]->failed();
}

// Polishes each eigenvalue of the companion matrix as Praat's Roots_Polynomial_polish.
void polish_roots(const double* c, int degree, std::complex<double>* roots) {
  std::complex<double> previous = 0;  // the last eigenvalue before polishing
  for (int i = 0; i < degree; ++i) {
    // A complex pair comes out as exact conjugates, and Newton's steps on a real
    // polynomial keep that symmetry bit for bit: the second is the first's conjugate.
    const bool pair = i > 0 && roots[i].imag() < 0 && roots[i] == std::conj(previous);
    previous = roots[i];
    roots[i] = pair ? std::conj(roots[i - 1]) : polish(c, degree, roots[i]);
  }
}

// polynomial_roots for count <= kInterleaved polynomials of one degree, their QR
// iterations interleaved; found[m] false where QR failed.
void polynomial_roots_interleaved(int count, const double* const* c, int degree,
                                  std::complex<double>* const* roots, bool* found) {
  // Companion matrices in upper Hessenberg form, as Praat's Polynomial_to_Roots.
  const std::size_t row = degree + kRowPadding, cells = degree * row;
  std::vector<double> companions(count * cells, 0.0);
  std::array<double*, kInterleaved> h{};
  for (int m = 0; m < count; ++m) {
    h[m] = companions.data() + m * cells;
    for (int j = 0; j < degree; ++j) h[m][j] = -c[m][degree - 1 - j] / c[m][degree];
    for (int j = 1; j < degree; ++j) h[m][j * row + j - 1] = 1;
  }
  // Praat's default order, 10 (five formants), gets its own compiled size.
  if (degree == 10) {
    hessenberg_eigenvalues<10>(count, h.data(), degree, roots, found);
  } else {
    hessenberg_eigenvalues<0>(count, h.data(), degree, roots, found);
  }
  for (int m = 0; m < count; ++m) {
    if (found[m]) polish_roots(c[m], degree, roots[m]);
  }
}

// std::abs(z) > 1 as Praat decides it (hypot, within an ulp of |z|), from |z|^2 (within
// a few ulps) except within 1e-14 of the circle: hypot was 4% of the analysis.
bool outside_unit_circle(std::complex<double> z) {
  const double squared = std::norm(z);  // re^2 + im^2
  if (std::fabs(squared - 1) > 1e-14) return squared > 1;
  return std::abs(z) > 1.0;
}

// True when every sample's square is 0, tested in lanes: the serial maximum of the
// squares that this replaces was 3% of the formant analysis.
bool silent(const double* x, std::int64_t n) {
  LaneMask sound = {};
  std::int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    const Lanes v = load_lanes(x + j);
    sound |= v * v != 0;
  }
  bool any = any_lane(sound);
  for (; j < n; ++j) any = any || x[j] * x[j] != 0;
  return !any;
}

// Per-thread buffers of the frame loop. Frames wait in the queue for their roots,
// which kInterleaved of them find together.
struct FrameWork {
  struct Queued {
    std::vector<double> c;  // the prediction polynomial, constant term first
    std::vector<std::complex<double>> roots;
    double nyquist;
    double *frequency, *bandwidth;
  };
  std::vector<double> frame, a;
  std::vector<std::pair<double, double>> found;  // (frequency, bandwidth)
  std::array<Queued, kInterleaved> queue;
  int queued = 0;
};

// One frame as Praat's static burg() in Sound_to_Formant.cpp, first half: Burg's
// prediction polynomial z^m - a1 z^(m-1) - ... - am of w.frame's n samples, queued.
void queue_frame(std::int64_t n, int order, double nyquist, double* frequency, double* bandwidth, FrameWork& w) {
  lpc_burg(w.frame.data(), n, w.a.data(), order);
  FrameWork::Queued& q = w.queue[w.queued++];
  for (int i = 0; i < order; ++i) q.c[i] = -w.a[order - 1 - i];
  q.c[order] = 1;
  q.nyquist = nyquist;
  q.frequency = frequency;
  q.bandwidth = bandwidth;
}

// Second half, for every queued frame: the polynomial's roots, reflected into the
// unit circle; each one on or above the real axis between 50 Hz and Nyquist - 50 Hz
// is a formant.
void finish_frames(int order, std::int64_t slots, FrameWork& w) {
  std::array<const double*, kInterleaved> c{};
  std::array<std::complex<double>*, kInterleaved> roots{};
  std::array<bool, kInterleaved> solved{};
  for (int m = 0; m < w.queued; ++m) {
    c[m] = w.queue[m].c.data();
    roots[m] = w.queue[m].roots.data();
  }
  polynomial_roots_interleaved(w.queued, c.data(), order, roots.data(), solved.data());
  for (int m = 0; m < w.queued; ++m) {
    if (!solved[m]) continue;
    const FrameWork::Queued& q = w.queue[m];
    w.found.clear();
    for (std::complex<double> z : q.roots) {
      if (outside_unit_circle(z)) z = 1.0 / std::conj(z);  // Roots_fixIntoUnitCircle: same frequency
      if (z.imag() < 0) continue;                    // conjugate pairs: count one of each
      const double f = std::fabs(std::atan2(z.imag(), z.real())) * q.nyquist / kPi;
      if (f >= kSafetyMargin && f <= q.nyquist - kSafetyMargin) {
        w.found.emplace_back(f, -std::log(std::norm(z)) * q.nyquist / kPi);  // norm = |z|^2
      }
    }
    std::sort(w.found.begin(), w.found.end());  // Formant_sort
    const std::size_t kept = std::min(w.found.size(), static_cast<std::size_t>(slots));
    for (std::size_t i = 0; i < kept; ++i) std::tie(q.frequency[i], q.bandwidth[i]) = w.found[i];
  }
  w.queued = 0;
}

}  // namespace

double lpc_burg(const double* x, std::int64_t n, double* a, int order) {
  std::fill(a, a + order, 0.0);
  if (n < 2) return 0;  // (Praat indexes out of bounds here)
  // VECburg (Childers 1978, 252-255) sums in long double; here the two sums of each
  // order run in eight double lanes (x87 long double cannot vectorise) and only the
  // lanes' totals in long double. The coefficients differ from VECburg's by rounding:
  // formants vs Praat stay within 1e-10 relative on loud frames (test_formants.py).
  // The energy only scales the returned power (a does not depend on it): summed in
  // double lanes, where a serial long double sum was a third of Burg's time.
  Lanes energy = {};
  const std::int64_t whole = n / kLanes * kLanes;
  for (std::int64_t j = 0; j < whole; j += kLanes) energy += load_lanes(x + j) * load_lanes(x + j);
  double p = sum_lanes(energy);
  for (std::int64_t j = whole; j < n; ++j) p += x[j] * x[j];
  long double xms = p / static_cast<long double>(n);
  if (xms <= 0) return 0;
  // b1 and b2 start on cache lines (64 bytes): their blocks' stores and half of the
  // loads then touch one line each (std::vector gives 16 bytes).
  const std::int64_t stride = (n - 1 + kLanes - 1) / kLanes * kLanes;
  std::size_t space = static_cast<std::size_t>(2 * stride + kLanes);
  const std::unique_ptr<double[]> storage(new double[space]);
  void* line = storage.get();
  space *= sizeof(double);
  double* const b1 = static_cast<double*>(std::align(64, 2 * stride * sizeof(double), line, space));
  double* const b2 = b1 + stride;
  std::vector<double> aa(static_cast<std::size_t>(order));
  // b1 = x[0, n - 1) and b2 = x[1, n), copied in the pass that sums order 1's products
  // over the blocks of 8 below m = n - 1; the update of b1 and b2 for order i + 1
  // accumulates order i + 1's sums in the same pass.
  Lanes num_lanes = {}, den_lanes = {};
  std::int64_t copied = 0;
  for (; copied + kLanes <= n - 1; copied += kLanes) {
    const Lanes u = load_lanes(x + copied), v = load_lanes(x + copied + 1);
    store_lanes(b1 + copied, u);
    store_lanes(b2 + copied, v);
    num_lanes += u * v;
    den_lanes += u * u + v * v;
  }
  for (; copied < n - 1; ++copied) {
    b1[copied] = x[copied];
    b2[copied] = x[copied + 1];
  }
  for (int i = 1; i <= order; ++i) {
    const std::int64_t m = n - i;
    long double num = 0, den = 0;
    for (int lane = 0; lane < kLanes; ++lane) {
      num += num_lanes[lane];
      den += den_lanes[lane];
    }
    for (std::int64_t j = m / kLanes * kLanes; j < m; ++j) {
      num += b1[j] * b2[j];
      den += b1[j] * b1[j] + b2[j] * b2[j];
    }
    if (den <= 0) return 0;  // ill-conditioned: keep what was found
    a[i - 1] = static_cast<double>(2.0 * num / den);
    xms *= 1.0 - a[i - 1] * a[i - 1];
    for (int k = 1; k < i; ++k) a[k - 1] = aa[k - 1] - a[i - 1] * aa[i - k - 1];
    if (i < order) {
      std::copy(a, a + i, aa.begin());
      // b1[j] -= c b2[j]; b2[j] = b2[j + 1] - c b1[j + 1], all from the old values: each
      // block loads before it stores.
      const double c = aa[i - 1];
      const std::int64_t count = m - 1;
      num_lanes = den_lanes = Lanes{};
      std::int64_t j = 0;
      for (; j + kLanes <= count; j += kLanes) {
        const Lanes u = load_lanes(b1 + j), v = load_lanes(b2 + j);
        const Lanes u_next = load_lanes(b1 + j + 1), v_next = load_lanes(b2 + j + 1);
        const Lanes u_new = u - c * v, v_new = v_next - c * u_next;
        store_lanes(b1 + j, u_new);
        store_lanes(b2 + j, v_new);
        num_lanes += u_new * v_new;
        den_lanes += u_new * u_new + v_new * v_new;
      }
      for (; j < count; ++j) {
        b1[j] -= c * b2[j];
        b2[j] = b2[j + 1] - c * b1[j + 1];
      }
    }
  }
  return static_cast<double>(xms);
}

bool polynomial_roots(const double* c, int degree, std::complex<double>* roots) {
  AK_CHECK(degree >= 1, "degree", "must be at least 1, got " << degree);
  AK_CHECK(c[degree] != 0, "coefficients", "the leading coefficient must be nonzero");
  bool found = false;
  polynomial_roots_interleaved(1, &c, degree, &roots, &found);
  return found;
}

std::int64_t formant_slots(const FormantParams& params) {
  check_params(params);
  return (lpc_order(params) + 1) / 2;
}

FormantFrames formant_frames(std::int64_t n_samples, const FormantParams& params) {
  check_params(params);
  AK_CHECK(n_samples >= 1, "y", "has no samples");
  const Grid grid = analysis_grid(n_samples, params);
  AK_CHECK(grid.n >= 1, "y",
           "has " << n_samples << " samples, none after resampling to " << 2 * params.maximum_formant << " Hz");
  // Praat filters and upsamples a whole clip in one FFT.
  const bool downsampling = grid.how == Resampling::Sinc && upfactor(params) < 1;
  const std::int64_t fft = grid.how == Resampling::Double ? 2 * fft_size(n_samples)
                           : downsampling                  ? fft_size(n_samples)
                                                           : 0;
  AK_CHECK(fft <= kMaxFft, "y", "has " << n_samples << " samples, too many to resample in one FFT");
  const Framing f = framing(grid, params, lpc_order(params));
  return {f.count, f.t1, f.dt};
}

template <typename T>
void formants_burg(const SignalBatch<T>& batch, const FormantParams& params, double* const* frequencies,
                   double* const* bandwidths, int num_threads) {
  const int order = lpc_order(params);
  const std::int64_t slots = formant_slots(params);
  struct Clip {
    Grid grid;
    Framing frames;
    std::vector<double> sound, window;
  };
  std::vector<Clip> clips(static_cast<std::size_t>(batch.count));
  std::vector<std::int64_t> first_frame(static_cast<std::size_t>(batch.count) + 1, 0);
  std::int64_t longest_window = 0;
  for (std::int64_t i = 0; i < batch.count; ++i) {
    check_finite(batch.signals[i], batch.lengths[i], "y");
    formant_frames(batch.lengths[i], params);  // checks the length
    clips[i].grid = analysis_grid(batch.lengths[i], params);
    clips[i].frames = framing(clips[i].grid, params, order);
    first_frame[i + 1] = first_frame[i] + clips[i].frames.count;
    longest_window = std::max(longest_window, clips[i].frames.window);
  }
  // Resampling is per clip (one FFT over each); frames then spread over all threads.
  parallel_for(batch.count, num_threads, [&](std::int64_t begin, std::int64_t end) {
    ResampleWork work;
    for (std::int64_t i = begin; i < end; ++i) {
      clips[i].sound = analysed_sound(batch.signals[i], batch.lengths[i], clips[i].grid, params, work);
      clips[i].window = gaussian_window(clips[i].frames.window);
    }
  });
  parallel_for(first_frame.back(), num_threads, [&](std::int64_t begin, std::int64_t end) {
    FrameWork w;
    w.frame.resize(static_cast<std::size_t>(longest_window));
    w.a.resize(static_cast<std::size_t>(order));
    for (FrameWork::Queued& q : w.queue) {
      q.c.resize(static_cast<std::size_t>(order) + 1);
      q.roots.resize(static_cast<std::size_t>(order));
    }
    for (std::int64_t task = begin; task < end; ++task) {
      interruption_point();
      const auto i = std::upper_bound(first_frame.begin(), first_frame.end(), task) - first_frame.begin() - 1;
      const Clip& clip = clips[i];
      const std::int64_t frame = task - first_frame[i];
      double* frequency = frequencies[i] + frame * slots;
      double* bandwidth = bandwidths[i] + frame * slots;
      std::fill(frequency, frequency + slots, std::numeric_limits<double>::quiet_NaN());
      std::fill(bandwidth, bandwidth + slots, std::numeric_limits<double>::quiet_NaN());
      // Samples [left + 1 - half, left + half] around the sample at or before t,
      // clipped to the sound (Sound_to_Formant's startSample / endSample).
      const Grid& g = clip.grid;
      const double t = clip.frames.t1 + static_cast<double>(frame) * clip.frames.dt;
      const auto left = static_cast<std::int64_t>(std::floor((t - g.x1) / g.dx));
      const std::int64_t half = clip.frames.half;
      const std::int64_t start = std::max<std::int64_t>(left + 1 - half, 0);
      const std::int64_t stop = std::min(left + half, g.n - 1);
      if (silent(clip.sound.data() + start, stop - start + 1)) continue;  // Burg cannot stand all zeroes
      // Fewer samples than order + 1 (a clip of ~1 ms): Burg stops early, leaving
      // multiple roots at 0 whose computed angles are rounding noise. Praat reports
      // those (or crashes on 2 samples); we report no formants.
      if (stop - start + 1 < order + 1) continue;
      for (std::int64_t j = start; j <= stop; ++j) w.frame[j - start] = clip.sound[j] * clip.window[j - start];
      queue_frame(stop - start + 1, order, 0.5 / g.dx, frequency, bandwidth, w);
      if (w.queued == kInterleaved) finish_frames(order, slots, w);
    }
    finish_frames(order, slots, w);
  });
}

template void formants_burg<float>(const SignalBatch<float>&, const FormantParams&, double* const*,
                                   double* const*, int);
template void formants_burg<double>(const SignalBatch<double>&, const FormantParams&, double* const*,
                                    double* const*, int);

}  // namespace affectkit
