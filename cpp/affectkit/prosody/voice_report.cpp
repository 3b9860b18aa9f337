#include "affectkit/prosody/voice_report.h"

#include <algorithm>
#include <cmath>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "affectkit/common/check.h"
#include "affectkit/common/interrupt.h"
#include "affectkit/common/lanes.h"
#include "affectkit/common/thread_pool.h"

namespace affectkit {
namespace {

constexpr double kUndefined = std::numeric_limits<double>::quiet_NaN();

// Praat's Sampled index conversions (fon/Sampled.h). Sample and frame numbers
// here are Praat's, 1-based: fractional positions are added to them before they
// are rounded or turned into times, and only the same integers round the same way.
std::int64_t low_index(double x, double x1, double dx) { return static_cast<std::int64_t>(std::floor((x - x1) / dx + 1.0)); }
std::int64_t high_index(double x, double x1, double dx) { return static_cast<std::int64_t>(std::ceil((x - x1) / dx + 1.0)); }
std::int64_t nearest_index(double x, double x1, double dx) {
  return static_cast<std::int64_t>(std::floor((x - x1) / dx + 1.0 + 0.5));  // Melder_iround: ties up
}

// A mono Praat Sound made from a numpy array by parselmouth: domain [0, n / sr],
// samples at x1 + (i - 1) dx.
struct Sound {
  const double* y;  // y[i - 1] is sample i
  std::int64_t nx;
  double dx, x1, xmin, xmax;
  Sound(const double* samples, std::int64_t n, double sample_rate)
      : y(samples), nx(n), dx(1.0 / sample_rate), x1(0.5 / sample_rate), xmin(0.0),
        xmax(static_cast<double>(n) / sample_rate) {}
  double at(std::int64_t i) const { return y[i - 1]; }
};

// Sampled_getWindowSamples: the sample numbers [*imin, *imax] whose times lie in
// [xmin, xmax], clipped to the signal; returns their count.
std::int64_t window_samples(const Sound& s, double xmin, double xmax, std::int64_t* imin, std::int64_t* imax) {
  const double imin_real = 1.0 + std::ceil((xmin - s.x1) / s.dx);
  const double imax_real = 1.0 + std::floor((xmax - s.x1) / s.dx);
  *imin = imin_real < 1.0 ? 1 : static_cast<std::int64_t>(imin_real);
  *imax = imax_real > static_cast<double>(s.nx) ? s.nx : static_cast<std::int64_t>(imax_real);
  return *imin > *imax ? 0 : *imax - *imin + 1;
}

// Praat's Pitch object, as far as the pulse search reads it.
struct Pitch {
  const double* f0;  // f0[i - 1] is frame i
  std::int64_t nx;
  double dx, x1, xmin, xmax;
  bool voiced(std::int64_t i) const { return f0[i - 1] > 0.0; }  // NaN is unvoiced

  // Pitch_getValueAtTime (Hz, linear): Sampled_getValueAtX with interpolation,
  // which extrapolates the nearer frame where the farther one is unvoiced.
  double value_at(double x) const {
    if (x < xmin || x > xmax) return kUndefined;
    const double index_real = (x - x1) / dx + 1.0;
    const std::int64_t left = static_cast<std::int64_t>(std::floor(index_real));
    double phase = index_real - static_cast<double>(left);
    std::int64_t near, far;
    if (phase < 0.5) {
      near = left;
      far = left + 1;
    } else {
      far = left;
      near = left + 1;
      phase = 1.0 - phase;
    }
    if (near < 1 || near > nx || !voiced(near)) return kUndefined;
    const double near_value = f0[near - 1];
    if (far < 1 || far > nx || !voiced(far)) return near_value;
    return near_value + phase * (f0[far - 1] - near_value);
  }

  // Pitch_getVoicedIntervalAfter: the next stretch of voiced frames starting
  // after `after`, each frame counting as voiced over its whole width.
  bool voiced_interval_after(double after, double* tleft, double* tright) const {
    std::int64_t ileft = high_index(after, x1, dx);
    if (ileft > nx) return false;
    if (ileft < 1) ileft = 1;
    while (ileft <= nx && !voiced(ileft)) ++ileft;
    if (ileft > nx) return false;
    std::int64_t iright = ileft;
    while (iright <= nx && voiced(iright)) ++iright;
    --iright;
    *tleft = x1 + static_cast<double>(ileft - 1) * dx - 0.5 * dx;
    *tright = x1 + static_cast<double>(iright - 1) * dx + 0.5 * dx;
    if (*tleft >= xmax - 0.5 * dx) return false;
    if (*tleft < xmin) *tleft = xmin;
    if (*tright > xmax) *tright = xmax;
    return *tright > after;
  }
};

// findExtremum_3 for maxima and minima alike: the 1-based position of the
// largest |sample| among the n samples after offset d, parabolically refined;
// 0 for an empty window.
double find_extremum_3(const Sound& s, std::int64_t d, std::int64_t n) {
  auto value = [&](std::int64_t i) { return s.at(d + i); };
  if (n < 3) {
    if (n <= 0) return 0.0;
    if (n == 1) return 1.0;
    const double left = std::fabs(value(1)), right = std::fabs(value(2));
    return left > right ? 1.0 : left < right ? 2.0 : 1.5;
  }
  double minimum = value(1), maximum = value(1);
  std::int64_t imin = 1, imax = 1;
  for (std::int64_t i = 2; i <= n; ++i) {
    const double v = value(i);
    if (v < minimum) {
      minimum = v;
      imin = i;
    }
    if (v > maximum) {
      maximum = v;
      imax = i;
    }
  }
  if (minimum == maximum) return 0.5 * (static_cast<double>(n) + 1.0);  // all equal
  const std::int64_t iextr = std::fabs(minimum) > std::fabs(maximum) ? imin : imax;
  if (iextr == 1) return 1.0;
  if (iextr == n) return static_cast<double>(n);
  const double mid = value(iextr), left = value(iextr - 1), right = value(iextr + 1);
  return static_cast<double>(iextr) + 0.5 * (right - left) / (2 * mid - left - right);
}

// Sound_findExtremum (maxima and minima): the time of the largest |sample| in [tmin, tmax].
double find_extremum(const Sound& s, double tmin, double tmax) {
  std::int64_t imin = low_index(tmin, s.x1, s.dx), imax = high_index(tmax, s.x1, s.dx);
  if (imin < 1) imin = 1;
  if (imax > s.nx) imax = s.nx;
  const double iextremum = find_extremum_3(s, imin - 1, imax - imin + 1);
  if (iextremum != 0.0) return s.x1 + (static_cast<double>(imin - 1) + iextremum - 1) * s.dx;
  return (tmin + tmax) / 2;
}

// Over the pairs (a[i], b[i]), i < n: the sums of a^2, b^2 and a b. Eight lanes of
// partial sums (vectorised): the sums differ from Praat's one running sum in the
// last bits only; this loop was most of the pulse search.
struct PairSums {
  double norm1, norm2, product;
};

// Without with_norm1 the sum of a^2 is left 0 (the caller knows it from an earlier call).
template <bool with_norm1>
PairSums pair_sums(const double* a, const double* b, std::int64_t n) {
  Lanes norm1 = {}, norm2 = {}, product = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const Lanes u = load_lanes(a + i), v = load_lanes(b + i);
    if constexpr (with_norm1) norm1 += u * u;
    norm2 += v * v;
    product += u * v;
  }
  PairSums sums{0.0, 0.0, 0.0};
  for (int j = 0; j < kLanes; ++j) {
    if constexpr (with_norm1) sums.norm1 += norm1[j];
    sums.norm2 += norm2[j];
    sums.product += product[j];
  }
  for (; i < n; ++i) {
    if constexpr (with_norm1) sums.norm1 += a[i] * a[i];
    sums.norm2 += b[i] * b[i];
    sums.product += a[i] * b[i];
  }
  return sums;
}

// pair_sums' norm2 and product for the eight shifts b + k, k = 0..7, of the same
// first window a (element k of each result is shift k): every element is summed
// in pair_sums' lanes and order, so it is bit-identical to a pair_sums call, but the
// eight shifts share the lane reductions, the tail and the sqrt/divide that follow
// instead of paying them one shift at a time. Reads b[0, n + 7).
struct EightShiftSums {
  Lanes norm2, product;
};

EightShiftSums eight_shift_sums(const double* a, const double* b, std::int64_t n) {
  Lanes product[kLanes] = {};  // [j]: pair_sums' lane j of each shift
  // pair_sums' lane j of shift k sums b[j + k + 8 t]^2 over the blocks t: one sum
  // per j + k < 15, elements 0-7 in `low` and 7-14 in `high`.
  Lanes low = {}, high = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const Lanes v = load_lanes(b + i + j);
      product[j] += a[i + j] * v;
      if (j == 0) low += v * v;
      if (j == kLanes - 1) high += v * v;
    }
  }
  double squares[2 * kLanes];  // squares[j + k]; both hold element 7
  store_lanes(squares, low);
  store_lanes(squares + kLanes - 1, high);
  EightShiftSums sums{Lanes{}, Lanes{}};
  for (int j = 0; j < kLanes; ++j) {
    sums.norm2 += load_lanes(squares + j);
    sums.product += product[j];
  }
  for (; i < n; ++i) {
    const Lanes v = load_lanes(b + i);
    sums.norm2 += v * v;
    sums.product += a[i] * v;
  }
  return sums;
}

// Lane-wise std::sqrt (IEEE square roots are correctly rounded: the vector one
// gives the scalar one's bits). GCC does not vectorise std::sqrt where it must set
// errno, and inserts and tests lane by lane instead.
Lanes sqrt_lanes(Lanes x) {
#ifdef __AVX512F__
  return _mm512_mask_sqrt_pd(x, 0xFF, x);  // _mm512_sqrt_pd trips GCC 12 -Wmaybe-uninitialized
#else
  for (int k = 0; k < kLanes; ++k) x[k] = std::sqrt(x[k]);
  return x;
#endif
}

// Sound_findMaximumCorrelation: slides a window of one period starting in
// [tmin2, tmax2] (minus half a window) along the signal and correlates it with
// the window centred at t1. Returns the largest local maximum of the normalised
// correlation (parabolically refined), writes the matching time to *tout and the
// window's peak |sample| to *peak; -1 (and *tout untouched) when there is none.
double find_maximum_correlation(const Sound& s, double t1, double window_length, double tmin2, double tmax2,
                                double* tout, double* peak) {
  double maximum_correlation = -1.0, r1_best = kUndefined, r3_best = kUndefined, ir = kUndefined;
  double r1 = 0.0, r2 = 0.0, r3 = 0.0;
  const double half_window = 0.5 * window_length;
  const std::int64_t ileft1 = nearest_index(t1 - half_window, s.x1, s.dx);
  const std::int64_t iright1 = nearest_index(t1 + half_window, s.x1, s.dx);
  const std::int64_t ileft2min = low_index(tmin2 - half_window, s.x1, s.dx);
  const std::int64_t ileft2max = high_index(tmax2 - half_window, s.x1, s.dx);
  // Sample pairs with either sample outside the signal are skipped: a shift sums
  // over the pairs first..last (1-based numbers of the first window's samples).
  auto first_pair = [&](std::int64_t shift) { return std::max({ileft1, std::int64_t{1}, 1 - shift}); };
  auto last_pair = [&](std::int64_t shift) { return std::min({iright1, s.nx, s.nx - shift}); };
  std::int64_t peak_shift = 0;
  // The next shift's correlation r; r2 belongs to the previous shift, and Praat
  // records this shift's peak with it.
  auto next = [&](double r, std::int64_t ileft2) {
    r1 = r2;
    r2 = r3;
    r3 = r;
    if (r2 > maximum_correlation && r2 >= r1 && r2 >= r3) {
      r1_best = r1;
      maximum_correlation = r2;
      r3_best = r3;
      ir = static_cast<double>(ileft2 - 1);
      peak_shift = ileft2 - ileft1;
    }
  };
  // The first window's sum of squares only changes where the signal's ends clip it.
  std::int64_t norm1_first = 0, norm1_last = -1;
  double norm1 = 0.0;
  for (std::int64_t ileft2 = ileft2min; ileft2 <= ileft2max;) {
    const std::int64_t shift = ileft2 - ileft1;
    const std::int64_t first = first_pair(shift), last = last_pair(shift);
    if (last < first) {
      next(0.0, ileft2++);
      continue;
    }
    const double* a = s.y + (first - 1);
    if (first != norm1_first || last != norm1_last) {
      norm1 = pair_sums<true>(a, a + shift, last - first + 1).norm1;
      norm1_first = first;
      norm1_last = last;
    }
    if (first_pair(shift + kLanes - 1) == first && last_pair(shift + kLanes - 1) == last) {
      // Eight shifts over the same pairs (past ileft2max too, all inside the signal).
      const EightShiftSums sums = eight_shift_sums(a, a + shift, last - first + 1);
      const Lanes r = sums.product != 0.0 ? sums.product / sqrt_lanes(norm1 * sums.norm2) : Lanes{};
      const std::int64_t count = std::min<std::int64_t>(kLanes, ileft2max - ileft2 + 1);
      for (std::int64_t k = 0; k < count; ++k) next(r[k], ileft2++);
    } else {
      const PairSums sums = pair_sums<false>(a, a + shift, last - first + 1);
      next(sums.product != 0.0 ? sums.product / std::sqrt(norm1 * sums.norm2) : 0.0, ileft2++);
    }
  }
  *peak = 0.0;
  if (maximum_correlation > -1.0) {
    // The peak |sample| of the one window that is reported.
    const std::int64_t first = first_pair(peak_shift), last = last_pair(peak_shift);
    if (last >= first) *peak = lane_max_abs(s.y + (first - 1 + peak_shift), last - first + 1);
    const double d2r = 2 * maximum_correlation - r1_best - r3_best;
    if (d2r != 0.0) {
      const double dr = 0.5 * (r3_best - r1_best);
      maximum_correlation += 0.5 * dr * dr / d2r;
      ir += dr / d2r;
    }
    *tout = t1 + (ir - static_cast<double>(ileft1)) * s.dx;
  }
  return maximum_correlation;
}

// PointProcess_addPoint: keeps the times sorted; a time equal to an earlier one
// is dropped, except at the end (Praat appends t >= last unconditionally).
void add_point(std::vector<double>& t, double time) {
  if (t.empty() || time >= t.back()) {
    t.push_back(time);
    return;
  }
  const auto place = std::upper_bound(t.begin(), t.end(), time);
  if (place == t.begin() || *(place - 1) != time) t.insert(place, time);
}

// PointProcess_isPeriod: is the interval from point ileft to ileft + 1 (0-based)
// a period? It must lie within [pmin, pmax] and not differ by more than the
// factor from both of its neighbours.
bool is_period(const double* t, std::int64_t n, std::int64_t ileft, const praat::PeriodRule& rule) {
  const std::int64_t iright = ileft + 1;
  if (ileft < 0 || iright > n - 1) return false;
  if (rule.pmin == rule.pmax) return true;
  const double interval = t[iright] - t[ileft];
  if (interval <= 0.0 || interval < rule.pmin || interval > rule.pmax) return false;
  if (std::isnan(rule.max_period_factor) || rule.max_period_factor < 1.0) return true;
  const double previous = ileft <= 0 ? kUndefined : t[ileft] - t[ileft - 1];
  const double next = iright >= n - 1 ? kUndefined : t[iright + 1] - t[iright];
  double previous_factor = !std::isnan(previous) && previous > 0.0 ? interval / previous : kUndefined;
  double next_factor = !std::isnan(next) && next > 0.0 ? interval / next : kUndefined;
  if (std::isnan(previous_factor) && std::isnan(next_factor)) return true;  // no neighbours
  if (!std::isnan(previous_factor) && previous_factor > 0.0 && previous_factor < 1.0) previous_factor = 1.0 / previous_factor;
  if (!std::isnan(next_factor) && next_factor > 0.0 && next_factor < 1.0) next_factor = 1.0 / next_factor;
  return !(!std::isnan(previous_factor) && previous_factor > rule.max_period_factor && !std::isnan(next_factor) &&
           next_factor > rule.max_period_factor);
}

// The ratio (>= 1) of two intervals or amplitudes, as Praat writes it.
double factor(double a, double b) { return a > b ? a / b : b / a; }

bool in_range(double p, double pmin, double pmax) { return p >= pmin && p <= pmax; }

// Sound_getHannWindowedRms: RMS of the signal under a Hann window reaching from
// tmid - width_left to tmid + width_right; undefined over fewer than 3 samples.
double hann_windowed_rms(const Sound& s, double tmid, double width_left, double width_right) {
  std::int64_t imin, imax;
  if (window_samples(s, tmid - width_left, tmid + width_right, &imin, &imax) < 3) return kUndefined;
  long double sum_of_squares = 0.0, window_sum_of_squares = 0.0;
  // The cosine's phase grows by a fixed step on each side of tmid: rotate (cos, sin)
  // by that step instead of calling cos per sample (several times faster). Exact
  // values at each side's first sample; the rotation drifts by about one rounding
  // per sample, ~1e-14 relative over a window, far inside the 1e-9 checks.
  double width = 0.0, cosine = 0.0, sine = 0.0, step_cos = 0.0, step_sin = 0.0;
  for (std::int64_t i = imin; i <= imax; ++i) {
    const double t = s.x1 + static_cast<double>(i - 1) * s.dx;
    const double side_width = t < tmid ? width_left : width_right;
    if (i == imin || side_width != width) {
      width = side_width;
      const double phase = M_PI * ((t - tmid) / width), step = M_PI * (s.dx / width);
      cosine = std::cos(phase);
      sine = std::sin(phase);
      step_cos = std::cos(step);
      step_sin = std::sin(step);
    } else {
      const double rotated = cosine * step_cos - sine * step_sin;
      sine = sine * step_cos + cosine * step_sin;
      cosine = rotated;
    }
    const double window = 0.5 + 0.5 * cosine;
    const double windowed = s.at(i) * window;
    sum_of_squares += windowed * windowed;
    window_sum_of_squares += window * window;
  }
  return std::sqrt(static_cast<double>(sum_of_squares / window_sum_of_squares));
}

// The shimmer measures share a denominator: the mean amplitude of all points but
// the last (Praat's loop stops one short), kept in long double as Praat's is.
long double mean_amplitude_but_last(const double* a, std::int64_t count) {
  long double denominator = 0.0;
  std::int64_t number = 0;
  for (std::int64_t i = 0; i < count - 1; ++i) {
    denominator += a[i];
    ++number;
  }
  return denominator / number;
}

void check_contour(const PitchContour& pitch) {
  AK_CHECK(pitch.count >= 0, "pitch", "must have a non-negative number of frames, got " << pitch.count);
  AK_CHECK(std::isfinite(pitch.first_time), "pitch", "frame times must be finite, first is " << pitch.first_time);
  AK_CHECK(pitch.time_step > 0 && std::isfinite(pitch.time_step), "pitch",
           "frames must be a positive time step apart, got " << pitch.time_step << " s");
  for (std::int64_t i = 0; i < pitch.count; ++i) {
    const double f = pitch.f0[i];
    // NaN and values <= 0 are unvoiced; a voiced frame below 1 Hz would make
    // the search windows (one period) absurdly long.
    AK_CHECK(std::isnan(f) || f <= 0.0 || (f >= 1.0 && std::isfinite(f)), "pitch",
             "voiced F0 values must be finite and at least 1 Hz, got " << f << " at frame " << i);
  }
}

}  // namespace

namespace praat {

void window_points(const double* t, std::int64_t n, double tmin, double tmax, std::int64_t* first, std::int64_t* last) {
  // PointProcess_getHighIndex (tmin) and PointProcess_getLowIndex (tmax).
  *first = std::lower_bound(t, t + n, tmin) - t;
  *last = (std::upper_bound(t, t + n, tmax) - t) - 1;
}

std::int64_t number_of_periods(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule) {
  std::int64_t first, last, count = 0;
  window_points(t, n, tmin, tmax, &first, &last);
  for (std::int64_t i = first; i < last; ++i) count += is_period(t, n, i, rule);
  return count;
}

double mean_period(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule) {
  std::int64_t first, last, count = 0;
  window_points(t, n, tmin, tmax, &first, &last);
  long double sum = 0.0;
  for (std::int64_t i = first; i < last; ++i) {
    if (is_period(t, n, i, rule)) {
      ++count;
      sum += t[i + 1] - t[i];
    }
  }
  return count > 0 ? static_cast<double>(sum / count) : kUndefined;
}

// stdev_period given the number of periods and their mean (voice_measures has them).
static double stdev_period(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule,
                           std::int64_t count, double mean) {
  if (count < 2) return kUndefined;
  std::int64_t first, last;
  window_points(t, n, tmin, tmax, &first, &last);
  long double sum2 = 0.0;
  for (std::int64_t i = first; i < last; ++i) {
    if (is_period(t, n, i, rule)) {
      const double deviation = t[i + 1] - t[i] - mean;
      sum2 += deviation * deviation;
    }
  }
  return std::sqrt(static_cast<double>(sum2 / (count - 1)));
}

double stdev_period(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule) {
  return stdev_period(t, n, tmin, tmax, rule, number_of_periods(t, n, tmin, tmax, rule),
                      mean_period(t, n, tmin, tmax, rule));
}

// PointProcess_getJitter_local(_absolute): the mean absolute difference of
// consecutive periods, over the pairs that pass the rule.
static long double jitter_sum(const double* t, std::int64_t first, std::int64_t last, const PeriodRule& rule,
                              std::int64_t* periods) {
  *periods = last - first;  // points in the window minus 1
  long double sum = 0.0;
  if (*periods < 2) return sum;
  for (std::int64_t i = first + 1; i < last; ++i) {
    const double p1 = t[i] - t[i - 1], p2 = t[i + 1] - t[i];
    if (rule.pmin == rule.pmax || (in_range(p1, rule.pmin, rule.pmax) && in_range(p2, rule.pmin, rule.pmax) &&
                                   factor(p1, p2) <= rule.max_period_factor)) {
      sum += std::fabs(p1 - p2);
    } else {
      --*periods;
    }
  }
  return sum;
}

double jitter_local_absolute(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule) {
  std::int64_t first, last, periods;
  window_points(t, n, tmin, tmax, &first, &last);
  const long double sum = jitter_sum(t, first, last, rule, &periods);
  if (periods < 2) return kUndefined;
  return static_cast<double>(sum / (periods - 1));
}

double jitter_local(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule) {
  return jitter_local_absolute(t, n, tmin, tmax, rule) / mean_period(t, n, tmin, tmax, rule);  // NaN stays NaN
}

// jitter_rap and jitter_ppq5 before their division by the mean period, which
// voice_measures computes once for all.
static double jitter_rap_absolute(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule) {
  std::int64_t first, last;
  window_points(t, n, tmin, tmax, &first, &last);
  std::int64_t periods = last - first;
  if (periods < 3) return kUndefined;
  long double sum = 0.0;
  for (std::int64_t i = first + 2; i < last; ++i) {
    const double p1 = t[i - 1] - t[i - 2], p2 = t[i] - t[i - 1], p3 = t[i + 1] - t[i];
    if (rule.pmin == rule.pmax ||
        (in_range(p1, rule.pmin, rule.pmax) && in_range(p2, rule.pmin, rule.pmax) && in_range(p3, rule.pmin, rule.pmax) &&
         factor(p1, p2) <= rule.max_period_factor && factor(p2, p3) <= rule.max_period_factor)) {
      sum += std::fabs(p2 - (p1 + p2 + p3) / 3.0);
    } else {
      --periods;
    }
  }
  if (periods < 3) return kUndefined;
  return static_cast<double>(sum / (periods - 2));
}

static double jitter_ppq5_absolute(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule) {
  std::int64_t first, last;
  window_points(t, n, tmin, tmax, &first, &last);
  std::int64_t periods = last - first;
  if (periods < 5) return kUndefined;
  long double sum = 0.0;
  for (std::int64_t i = first + 5; i <= last; ++i) {
    const double p1 = t[i - 4] - t[i - 5], p2 = t[i - 3] - t[i - 4], p3 = t[i - 2] - t[i - 3],
                 p4 = t[i - 1] - t[i - 2], p5 = t[i] - t[i - 1];
    bool pass = rule.pmin == rule.pmax;
    if (!pass) {
      pass = in_range(p1, rule.pmin, rule.pmax) && in_range(p2, rule.pmin, rule.pmax) &&
             in_range(p3, rule.pmin, rule.pmax) && in_range(p4, rule.pmin, rule.pmax) &&
             in_range(p5, rule.pmin, rule.pmax) && factor(p1, p2) <= rule.max_period_factor &&
             factor(p2, p3) <= rule.max_period_factor && factor(p3, p4) <= rule.max_period_factor &&
             factor(p4, p5) <= rule.max_period_factor;
    }
    if (pass) {
      sum += std::fabs(p3 - (p1 + p2 + p3 + p4 + p5) / 5.0);
    } else {
      --periods;
    }
  }
  if (periods < 5) return kUndefined;
  return static_cast<double>(sum / (periods - 4));
}

double jitter_rap(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule) {
  return jitter_rap_absolute(t, n, tmin, tmax, rule) / mean_period(t, n, tmin, tmax, rule);
}

double jitter_ppq5(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule) {
  return jitter_ppq5_absolute(t, n, tmin, tmax, rule) / mean_period(t, n, tmin, tmax, rule);
}

void shift_sums_one_at_a_time(const double* a, const double* b, std::int64_t n, double* norm2, double* product) {
  for (int k = 0; k < kLanes; ++k) {
    const PairSums sums = pair_sums<false>(a, b + k, n);
    norm2[k] = sums.norm2;
    product[k] = sums.product;
  }
}

void shift_sums_eight_at_once(const double* a, const double* b, std::int64_t n, double* norm2, double* product) {
  const EightShiftSums sums = eight_shift_sums(a, b, n);
  store_lanes(norm2, sums.norm2);
  store_lanes(product, sums.product);
}

bool period_amplitudes(const double* t, std::int64_t n, const double* y, std::int64_t n_samples, double sample_rate,
                       double tmin, double tmax, const PeriodRule& rule, std::vector<double>* times,
                       std::vector<double>* amplitudes) {
  times->clear();
  amplitudes->clear();
  std::int64_t first, last;
  window_points(t, n, tmin, tmax, &first, &last);
  if (last - first + 1 < 3) return false;
  const Sound sound(y, n_samples, sample_rate);
  for (std::int64_t i = first + 1; i < last; ++i) {
    const double p1 = t[i] - t[i - 1], p2 = t[i + 1] - t[i];
    if (rule.pmin == rule.pmax || (in_range(p1, rule.pmin, rule.pmax) && in_range(p2, rule.pmin, rule.pmax) &&
                                   factor(p1, p2) <= rule.max_period_factor)) {
      const double peak = hann_windowed_rms(sound, t[i], 0.2 * p1, 0.2 * p2);
      // An AmplitudeTier holds one point per time.
      if (peak > 0.0 && (times->empty() || times->back() != t[i])) {
        times->push_back(t[i]);
        amplitudes->push_back(peak);
      }
    }
  }
  return true;
}

// The mean of term(a[i-1], a[i]) over consecutive amplitudes whose interval is a
// period and whose ratio is at most max_factor (Praat's shimmer rules); NaN if none.
template <typename Term>
long double mean_over_amplitude_pairs(const double* t, const double* a, std::int64_t count, double pmin, double pmax,
                                      double max_factor, Term term) {
  std::int64_t peaks = 0;
  long double sum = 0.0;
  for (std::int64_t i = 1; i < count; ++i) {
    if ((pmin == pmax || in_range(t[i] - t[i - 1], pmin, pmax)) && factor(a[i - 1], a[i]) <= max_factor) {
      sum += term(a[i - 1], a[i]);
      ++peaks;
    }
  }
  if (peaks < 1) return kUndefined;
  return sum / peaks;
}

// A mean deviation over the mean amplitude (all but the last), NaN for silence.
double relative_to_mean_amplitude(long double deviation, const double* a, std::int64_t count) {
  const long double denominator = mean_amplitude_but_last(a, count);
  if (denominator == 0.0) return kUndefined;
  return static_cast<double>(deviation / denominator);
}

double shimmer_local(const double* t, const double* a, std::int64_t count, double pmin, double pmax, double max_factor) {
  const long double deviation = mean_over_amplitude_pairs(
      t, a, count, pmin, pmax, max_factor, [](double a1, double a2) { return std::fabs(a1 - a2); });
  return relative_to_mean_amplitude(deviation, a, count);
}

double shimmer_local_db(const double* t, const double* a, std::int64_t count, double pmin, double pmax, double max_factor) {
  const long double mean_log = mean_over_amplitude_pairs(
      t, a, count, pmin, pmax, max_factor, [](double a1, double a2) { return std::fabs(std::log10(a1 / a2)); });
  return static_cast<double>(20.0 * mean_log);
}

// AmplitudeTier_getShimmer_apq{3,5,11}: the mean absolute deviation of each
// amplitude from the average of the `width` amplitudes centred on it, over the
// mean amplitude. Praat sums the neighbours in groups of three (((a1 + a2 + a3) +
// (a4 + a5)) for 5); the same grouping keeps the rounding.
template <int width>
double shimmer_apq(const double* t, const double* a, std::int64_t count, double pmin, double pmax, double max_factor) {
  constexpr int half = width / 2;
  std::int64_t peaks = 0;
  long double numerator = 0.0;
  for (std::int64_t i = half; i < count - half; ++i) {
    bool pass = true;
    if (pmin != pmax) {
      for (std::int64_t k = i - half + 1; k <= i + half; ++k) pass = pass && in_range(t[k] - t[k - 1], pmin, pmax);
    }
    if (!pass) continue;
    for (std::int64_t k = i - half + 1; k <= i + half; ++k) pass = pass && factor(a[k - 1], a[k]) <= max_factor;
    if (!pass) continue;
    const double* w = a + (i - half);
    double average;
    if (width == 3) {
      average = (w[0] + w[1] + w[2]) / 3.0;
    } else if (width == 5) {
      average = ((w[0] + w[1] + w[2]) + (w[3] + w[4])) / 5.0;
    } else {
      average = (((w[0] + w[1] + w[2]) + (w[3] + w[4] + w[5])) + ((w[6] + w[7] + w[8]) + (w[9] + w[10]))) / 11.0;
    }
    numerator += std::fabs(a[i] - average);
    ++peaks;
  }
  if (peaks < 1) return kUndefined;
  return relative_to_mean_amplitude(numerator / peaks, a, count);
}

double shimmer_apq3(const double* t, const double* a, std::int64_t count, double pmin, double pmax, double max_factor) {
  return shimmer_apq<3>(t, a, count, pmin, pmax, max_factor);
}
double shimmer_apq5(const double* t, const double* a, std::int64_t count, double pmin, double pmax, double max_factor) {
  return shimmer_apq<5>(t, a, count, pmin, pmax, max_factor);
}
double shimmer_apq11(const double* t, const double* a, std::int64_t count, double pmin, double pmax, double max_factor) {
  return shimmer_apq<11>(t, a, count, pmin, pmax, max_factor);
}

}  // namespace praat

void check_voice_report_params(const VoiceReportParams& p) {
  AK_CHECK(p.sample_rate > 0 && std::isfinite(p.sample_rate), "sr", "must be positive, got " << p.sample_rate);
  AK_CHECK(std::isfinite(p.from_time), "from_time", "must be finite, got " << p.from_time);
  AK_CHECK(std::isfinite(p.to_time), "to_time", "must be finite, got " << p.to_time);
  AK_CHECK(p.period_floor >= 0 && std::isfinite(p.period_floor), "period_floor",
           "must be >= 0 s, got " << p.period_floor);
  AK_CHECK(p.period_ceiling >= p.period_floor && std::isfinite(p.period_ceiling), "period_ceiling",
           "must be >= period_floor = " << p.period_floor << " s (equal: every interval is a period), got "
                                        << p.period_ceiling);
  AK_CHECK(p.max_period_factor > 0 && std::isfinite(p.max_period_factor), "max_period_factor",
           "must be positive, got " << p.max_period_factor);
  AK_CHECK(p.max_amplitude_factor > 0 && std::isfinite(p.max_amplitude_factor), "max_amplitude_factor",
           "must be positive, got " << p.max_amplitude_factor);
}

std::vector<double> point_process_cc(const double* y, std::int64_t n, double sample_rate, const PitchContour& contour) {
  AK_CHECK(sample_rate > 0 && std::isfinite(sample_rate), "sr", "must be positive, got " << sample_rate);
  AK_CHECK(n >= 0, "y", "length must be non-negative, got " << n);
  check_contour(contour);
  std::vector<double> points;
  if (n == 0) return points;
  const Sound sound(y, n, sample_rate);
  const Pitch pitch{contour.f0, contour.count, contour.time_step, contour.first_time, sound.xmin, sound.xmax};
  const double global_peak = lane_max_abs(y, n);  // Vector_getAbsoluteExtremum without interpolation

  // An hour of voice is one long serial search: it stops on request, checked every
  // 64th period (a check reads the clock; 64 periods take well under a millisecond).
  std::int64_t steps = 0;
  auto every_64th_step = [&steps] {
    if (++steps % 64 == 0) interruption_point();
  };
  double t = pitch.xmin, added_right = -1e308, tleft, tright;
  while (pitch.voiced_interval_after(t, &tleft, &tright)) {
    // The first pulse: the largest |sample| within half a period of the stretch's middle.
    const double tmiddle = (tleft + tright) / 2.0;
    const double f0_middle = pitch.value_at(tmiddle);
    if (!std::isnan(f0_middle)) {  // Praat asserts this
      double tmax = find_extremum(sound, tmiddle - 0.5 / f0_middle, tmiddle + 0.5 / f0_middle);
      add_point(points, tmax);
      const double tsave = tmax;
      // Leftwards, one period at a time: the best match of the period around the
      // last pulse, 0.8 to 1.25 periods earlier.
      for (;;) {
        every_64th_step();
        const double f0 = pitch.value_at(tmax);
        if (std::isnan(f0)) break;
        const double previous = tmax;
        double peak;
        const double correlation =
            find_maximum_correlation(sound, tmax, 1.0 / f0, tmax - 1.25 / f0, tmax - 0.8 / f0, &tmax, &peak);
        if (correlation == -1.0) tmax -= 1.0 / f0;  // this one period drops out
        if (tmax < tleft) {
          if (correlation > 0.7 && peak > 0.023333 * global_peak && tmax - added_right > 0.8 / f0) add_point(points, tmax);
          break;
        }
        // Do not fill in a short originally unvoiced interval twice.
        if (correlation > 0.3 && (peak == 0.0 || peak > 0.01 * global_peak) && tmax - added_right > 0.8 / f0) {
          add_point(points, tmax);
        }
        if (!(tmax < previous)) break;  // guard: Praat would search the same place forever
      }
      tmax = tsave;
      for (;;) {  // rightwards
        every_64th_step();
        const double f0 = pitch.value_at(tmax);
        if (std::isnan(f0)) break;
        const double previous = tmax;
        double peak;
        const double correlation =
            find_maximum_correlation(sound, tmax, 1.0 / f0, tmax + 0.8 / f0, tmax + 1.25 / f0, &tmax, &peak);
        if (correlation == -1.0) tmax += 1.0 / f0;
        if (tmax > tright) {
          if (correlation > 0.7 && peak > 0.023333 * global_peak) {
            add_point(points, tmax);
            added_right = tmax;
          }
          break;
        }
        if (correlation > 0.3 && (peak == 0.0 || peak > 0.01 * global_peak)) {
          add_point(points, tmax);
          added_right = tmax;
        }
        if (!(tmax > previous)) break;  // guard, as above
      }
    }
    t = tright;
  }
  return points;
}

VoiceMeasures voice_measures(const double* pulses, std::int64_t num_pulses, const double* y, std::int64_t n,
                             const VoiceReportParams& params) {
  check_voice_report_params(params);
  AK_CHECK(num_pulses >= 0, "pulses", "count must be non-negative, got " << num_pulses);
  AK_CHECK(std::is_sorted(pulses, pulses + num_pulses), "pulses", "must be in ascending order");
  VoiceMeasures m;
  // Function_unidirectionalAutowindow: an empty range means the whole domain.
  double tmin = params.from_time, tmax = params.to_time;
  if (tmin >= tmax) {
    tmin = 0.0;
    tmax = static_cast<double>(n) / params.sample_rate;
  }
  const praat::PeriodRule rule{params.period_floor, params.period_ceiling, params.max_period_factor};
  const double* t = pulses;
  std::int64_t first, last;
  praat::window_points(t, num_pulses, tmin, tmax, &first, &last);
  m.num_pulses = std::max<std::int64_t>(0, last - first + 1);
  m.num_periods = praat::number_of_periods(t, num_pulses, tmin, tmax, rule);
  m.mean_period = praat::mean_period(t, num_pulses, tmin, tmax, rule);
  // As praat::stdev_period and praat::jitter_*, with the periods counted and averaged once.
  m.stdev_period = praat::stdev_period(t, num_pulses, tmin, tmax, rule, m.num_periods, m.mean_period);
  m.jitter_local_absolute = praat::jitter_local_absolute(t, num_pulses, tmin, tmax, rule);
  m.jitter_local = m.jitter_local_absolute / m.mean_period;
  m.jitter_rap = praat::jitter_rap_absolute(t, num_pulses, tmin, tmax, rule) / m.mean_period;
  m.jitter_ppq5 = praat::jitter_ppq5_absolute(t, num_pulses, tmin, tmax, rule) / m.mean_period;
  m.jitter_ddp = std::isnan(m.jitter_rap) ? kUndefined : 3.0 * m.jitter_rap;

  // PointProcess_Sound_getShimmer_multi: one AmplitudeTier for all six measures.
  std::vector<double> times, amplitudes;
  if (praat::period_amplitudes(t, num_pulses, y, n, params.sample_rate, tmin, tmax, rule, &times, &amplitudes)) {
    const double* at = times.data();
    const double* a = amplitudes.data();
    const auto count = static_cast<std::int64_t>(times.size());
    const double pmin = params.period_floor, pmax = params.period_ceiling, factor = params.max_amplitude_factor;
    m.shimmer_local = praat::shimmer_local(at, a, count, pmin, pmax, factor);
    m.shimmer_local_db = praat::shimmer_local_db(at, a, count, pmin, pmax, factor);
    m.shimmer_apq3 = praat::shimmer_apq3(at, a, count, pmin, pmax, factor);
    m.shimmer_apq5 = praat::shimmer_apq5(at, a, count, pmin, pmax, factor);
    m.shimmer_apq11 = praat::shimmer_apq11(at, a, count, pmin, pmax, factor);
    m.shimmer_dda = std::isnan(m.shimmer_apq3) ? kUndefined : 3.0 * m.shimmer_apq3;
  }
  return m;
}

void voice_report(const SignalBatch<double>& batch, const PitchContour* pitch, const VoiceReportParams& params,
                  std::vector<double>* pulses, VoiceMeasures* measures, int num_threads) {
  check_voice_report_params(params);
  // Checked here, in order, so that the first bad clip is the one reported.
  for (std::int64_t i = 0; i < batch.count; ++i) {
    AK_CHECK(batch.lengths[i] >= 0, "y", "length must be non-negative, got " << batch.lengths[i]);
    check_finite(batch.signals[i], batch.lengths[i], "y");
    check_contour(pitch[i]);
  }
  parallel_for(batch.count, num_threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const double* y = batch.signals[i];
      const std::int64_t n = batch.lengths[i];
      std::vector<double> points = point_process_cc(y, n, params.sample_rate, pitch[i]);
      if (measures != nullptr) {
        measures[i] = voice_measures(points.data(), static_cast<std::int64_t>(points.size()), y, n, params);
      }
      if (pulses != nullptr) pulses[i] = std::move(points);
    }
  });
}

}  // namespace affectkit
