#include "affectkit/features/egemaps_voice.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/fft.h"
#include "affectkit/common/interrupt.h"
#include "affectkit/common/thread_pool.h"
#include "affectkit/features/egemaps_lld.h"  // egemaps_framing

// GCC 12 warns inside the AVX-512 intrinsics Eigen's kernels use (a false positive of
// -Wmaybe-uninitialized, GCC bug 105593), placed in the headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Eigenvalues>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace affectkit {

const std::array<const char*, kEgemapsVoiceCount> kEgemapsVoiceNames = {
    "F0semitoneFrom27.5Hz", "jitterLocal",       "shimmerLocaldB",      "HNRdBACF",
    "logRelF0-H1-H2",       "logRelF0-H1-A3",    "F1frequency",         "F1bandwidth",
    "F1amplitudeLogRelF0",  "F2frequency",       "F2bandwidth",         "F2amplitudeLogRelF0",
    "F3frequency",          "F3bandwidth",       "F3amplitudeLogRelF0"};

namespace {

// cPitchShs and cPitchSmootherViterbi settings of eGeMAPSv02.
constexpr int kCandidates = 6;
constexpr int kStates = kCandidates + 1;  // the last state is "unvoiced"
constexpr int kHarmonics = 15;
constexpr double kCompression = 0.85;
constexpr double kMinPitch = 55.0, kMaxPitch = 1000.0;
constexpr double kMinScaleHz = 25.0;           // cSpecScale minF
const double kVoicingCutoff = 0.7f;            // stored as float by openSMILE
constexpr std::int64_t kViterbiBuffer = 40;    // bufferLength
constexpr double kWeightLocal = 2.0, kWeightVoicedVoiced = 10.0, kWeightVoicedUnvoiced = 10.0;
constexpr double kWeightThreshold = 4.0, kWeightRange = 1.0;
// cSmileViterbiPitchSmooth::setWeights stores tvv as the delta weight too (wTvvd = wTvv).
constexpr double kWeightDelta = kWeightVoicedVoiced;
// Its unvoiced-unvoiced test (i == j == nStates - 1) compares a bool with 6, never true:
// the transition falls through to the "unknown" cost of 1.
constexpr double kUnvoicedUnvoicedCost = 1.0;
constexpr double kGateRms = 0.001;     // cValbasedSelector on the 60 ms frame's RMS
constexpr double kLowestSemitoneHz = 29.136;

struct Tables {
  std::int64_t length = 0, hop = 0, n_fft = 0, bins = 0;
  std::vector<double> window;
  // Natural cubic spline from the log2 bin axis onto an even log2 grid (cSpecScale):
  // the tridiagonal factors depend on the axis only.
  std::vector<double> axis, sig, pivot, y2_factor;
  std::vector<std::int64_t> below;  // target point k lies in [axis[below], axis[below + 1]]
  std::vector<double> weight_lo, weight_hi, step;
  std::vector<double> auditory;
  double bin_hz = 0.0, log2_min = 0.0, log2_step = 0.0, points_per_octave = 0.0;
  std::int64_t shift[kHarmonics + 1] = {};
};

Tables make_tables(double sr) {
  Tables tb;
  const EgemapsFraming f = egemaps_framing(sr);
  tb.length = f.pitch_frame_length;
  tb.hop = f.hop_length;
  tb.n_fft = 1;
  while (tb.n_fft < tb.length) tb.n_fft *= 2;
  tb.bins = tb.n_fft / 2 + 1;
  const std::int64_t n = tb.bins;
  tb.window.resize(tb.length);
  for (std::int64_t i = 0; i < tb.length; ++i) {  // smileDsp_winGau, sigma 0.4
    const double x = (i - (tb.length - 1.0) / 2.0) / (0.4 * (tb.length - 1.0) / 2.0);
    tb.window[i] = std::exp(-0.5 * x * x);
  }
  // The bins are 1 / frame duration apart, as cSpecScale reads it (as float) from the
  // level: cFramer's configured 60 ms (not the rounded frame length: 661.5 samples at
  // 11025 Hz become 662), stretched by cTransformFFT's zero padding n_fft / length.
  tb.bin_hz = 1.0 / static_cast<double>(static_cast<float>(0.060 * (static_cast<double>(tb.n_fft) /
                                                                    static_cast<double>(tb.length))));
  const double bin_hz = tb.bin_hz;
  const double max_hz = bin_hz * static_cast<double>(n - 1);
  tb.axis.resize(n);
  for (std::int64_t i = 1; i < n; ++i) tb.axis[i] = std::log2(static_cast<double>(i) * bin_hz);
  tb.axis[0] = 2.0 * tb.axis[1] - tb.axis[2];  // openSMILE's stand-in for log2(0)
  tb.sig.assign(n, 0.0);
  tb.pivot.assign(n, 1.0);
  tb.y2_factor.assign(n, 0.0);
  for (std::int64_t i = 1; i < n - 1; ++i) {
    tb.sig[i] = (tb.axis[i] - tb.axis[i - 1]) / (tb.axis[i + 1] - tb.axis[i - 1]);
    tb.pivot[i] = tb.sig[i] * tb.y2_factor[i - 1] + 2.0;
    tb.y2_factor[i] = (tb.sig[i] - 1.0) / tb.pivot[i];
  }
  const double lo = std::log2(kMinScaleHz), hi = std::log2(max_hz);
  const double target_step = (hi - lo) / static_cast<double>(n - 1);
  tb.below.resize(n);
  tb.weight_lo.resize(n);
  tb.weight_hi.resize(n);
  tb.step.resize(n);
  for (std::int64_t k = 0; k < n; ++k) {
    const double x = lo + static_cast<double>(k) * target_step;
    // Numerical Recipes' splint bisection: the last interval whose left end is <= x.
    std::int64_t klo = 0, khi = n - 1;
    while (khi - klo > 1) {
      const std::int64_t mid = (khi + klo) / 2;
      if (tb.axis[mid] > x) khi = mid; else klo = mid;
    }
    const double h = tb.axis[khi] - tb.axis[klo];
    tb.below[k] = klo;
    tb.step[k] = h;
    tb.weight_lo[k] = (tb.axis[khi] - x) / h;
    tb.weight_hi[k] = (x - tb.axis[klo]) / h;
  }
  const double octaves = std::log2(max_hz / kMinScaleHz);
  tb.points_per_octave = static_cast<double>(n) / octaves;
  const double atan_s = tb.points_per_octave * std::log2(65.0 / 50.0) - 1.0;
  tb.auditory.resize(n);
  for (std::int64_t k = 0; k < n; ++k) {
    tb.auditory[k] = 0.5 + std::atan(3.0 * (static_cast<double>(k) + 1.0 - atan_s) / tb.points_per_octave) / M_PI;
  }
  // cPitchShs reads the scale from the level's float metadata.
  tb.log2_min = static_cast<float>(lo);
  tb.log2_step = static_cast<float>((static_cast<float>(hi) - static_cast<float>(lo)) / static_cast<float>(n - 1));
  for (int h = 2; h <= kHarmonics; ++h) {
    tb.shift[h] = static_cast<std::int64_t>(std::floor(tb.points_per_octave * std::log2(static_cast<double>(h))));
  }
  return tb;
}

// smileDsp_specEnhanceSHS: zero everything further than 2 bins from the local maxima.
void enhance_peaks(std::vector<double>& a, std::vector<std::int64_t>& peaks) {
  const std::int64_t n = static_cast<std::int64_t>(a.size());
  peaks.clear();
  if (a[0] > a[1]) peaks.push_back(0);
  for (std::int64_t i = 1; i < n - 1; ++i) {
    if (a[i] > a[i - 1] && a[i] >= a[i + 1]) peaks.push_back(i);
  }
  if (a[n - 1] > a[n - 2]) peaks.push_back(n - 1);
  if (peaks.size() == 1) {
    // openSMILE reads posmax[1] here, a zero from calloc: all but the first 3 bins go.
    std::fill(a.begin() + std::min<std::int64_t>(3, n), a.end(), 0.0);
    return;
  }
  for (std::size_t i = 1; i < peaks.size(); ++i) {
    for (std::int64_t j = peaks[i - 1] + 3; j <= peaks[i] - 3; ++j) a[j] = 0.0;
  }
}

// smileDsp_specSmoothSHS: [1 2 1] / 4 in place, the last bin untouched.
void smooth_spectrum(std::vector<double>& a) {
  double previous = 0.0;
  for (std::size_t i = 0; i + 1 < a.size(); ++i) {
    const double current = a[i];
    a[i] = (previous + 2.0 * current + a[i + 1]) / 4.0;
    previous = current;
  }
}

// smileMath_quadFrom3pts: vertex (x, y) of the parabola through three points.
void parabola_peak(double x1, double y1, double x2, double y2, double x3, double y3, double* x, double* y) {
  const double den = x1 * x1 * x2 + x2 * x2 * x3 + x3 * x3 * x1 - x3 * x3 * x2 - x2 * x2 * x1 - x1 * x1 * x3;
  if (den != 0.0) {
    const double a = (y1 * x2 + y2 * x3 + y3 * x1 - y3 * x2 - y2 * x1 - y1 * x3) / den;
    const double b = (x1 * x1 * y2 + x2 * x2 * y3 + x3 * x3 * y1 - x3 * x3 * y2 - x2 * x2 * y1 - x1 * x1 * y3) / den;
    const double c = (x1 * x1 * x2 * y3 + x2 * x2 * x3 * y1 + x3 * x3 * x1 * y2 - x3 * x3 * x2 * y1 -
                      x2 * x2 * x1 * y3 - x1 * x1 * x3 * y2) / den;
    if (a != 0.0) {
      *x = -b / (2.0 * a);
      *y = c - a * *x * *x;
      return;
    }
  }
  *x = x2;
  *y = y2;
  if (y1 > y2 && y1 > y3) { *x = x1; *y = y1; }
  else if (y3 > y1 && y3 > y2) { *x = x3; *y = y3; }
}

struct Candidates {
  double f0[kCandidates];
  double voicing[kCandidates];
};

struct Scratch {
  std::vector<double> magnitude, spectrum, u, y2, scaled, summed;
  std::vector<std::int64_t> peaks;
};

// cSpecScale + cPitchShs + cPitchBase for one frame's FFT magnitude.
Candidates frame_candidates(const Tables& tb, Scratch& s) {
  const std::int64_t n = tb.bins;
  std::vector<double>& y = s.spectrum;
  y = s.magnitude;
  enhance_peaks(y, s.peaks);
  smooth_spectrum(y);
  // Natural spline second derivatives (Numerical Recipes' spline with y'' = 0 at the ends).
  s.u.assign(n, 0.0);
  s.y2.assign(n, 0.0);
  for (std::int64_t i = 1; i < n - 1; ++i) {
    const double slope = (y[i + 1] - y[i]) / (tb.axis[i + 1] - tb.axis[i]) - (y[i] - y[i - 1]) / (tb.axis[i] - tb.axis[i - 1]);
    s.u[i] = (6.0 * slope / (tb.axis[i + 1] - tb.axis[i - 1]) - tb.sig[i] * s.u[i - 1]) / tb.pivot[i];
    s.y2[i] = tb.y2_factor[i];
  }
  s.y2[n - 1] = 0.0;
  for (std::int64_t k = n - 2; k >= 0; --k) s.y2[k] = s.y2[k] * s.y2[k + 1] + s.u[k];
  s.scaled.resize(n);
  for (std::int64_t k = 0; k < n; ++k) {
    const std::int64_t lo = tb.below[k];
    const double a = tb.weight_lo[k], b = tb.weight_hi[k], h = tb.step[k];
    const double v = a * y[lo] + b * y[lo + 1] + ((a * a * a - a) * s.y2[lo] + (b * b * b - b) * s.y2[lo + 1]) * (h * h) / 6.0;
    s.scaled[k] = v > 0.0 ? v * tb.auditory[k] : 0.0;
  }
  // Subharmonic summation: the spectrum shifted down by log2(h) octaves, weighted 0.85^(h-1).
  s.summed = s.scaled;
  double weight = kCompression;
  for (int h = 2; h <= kHarmonics; ++h) {
    const std::int64_t shift = tb.shift[h];
    for (std::int64_t j = shift; j < n; ++j) s.summed[j - shift] += s.scaled[j] * weight;
    weight *= kCompression;
  }
  double mean = 0.0;
  for (std::int64_t j = 0; j < n; ++j) {
    s.summed[j] = std::max(s.summed[j] / kHarmonics, 0.0);
    mean += s.summed[j];
  }
  mean /= static_cast<double>(n);
  // greedyPeakAlgo: the 6 highest local maxima, best first.
  std::int64_t at[kCandidates] = {};
  double score[kCandidates] = {};
  int found = 0;
  const std::vector<double>& ss = s.summed;
  for (std::int64_t i = 1; i < n - 1; ++i) {
    if (!(ss[i - 1] < ss[i] && ss[i] > ss[i + 1])) continue;
    for (int j = 0; j < kCandidates; ++j) {
      if (score[j] == 0.0 || score[j] < ss[i]) {
        for (int k = kCandidates - 1; k > j; --k) {
          score[k] = score[k - 1];
          at[k] = at[k - 1];
        }
        at[j] = i;
        score[j] = ss[i];
        found = std::min(found + 1, kCandidates);
        break;
      }
    }
  }
  Candidates c{};
  double scores[kCandidates] = {};
  for (int k = 0; k < found; ++k) {
    const std::int64_t j = at[k];
    auto x_of = [&](std::int64_t i) { return static_cast<double>(static_cast<float>(i) * tb.log2_step + tb.log2_min); };
    double x, peak;
    parabola_peak(x_of(j - 1), ss[j - 1], x_of(j), ss[j], x_of(j + 1), ss[j + 1], &x, &peak);
    c.f0[k] = std::exp2(x);
    scores[k] = peak;
    c.voicing[k] = peak > 0.0 && peak > mean ? 1.0 - mean / peak : 0.0;
  }
  // cPitchBase: drop candidates outside 55-1000 Hz (moving the rest up), then the best
  // score first.
  for (int i = 0; i < kCandidates && found > 0; ++i) {
    if (c.f0[i] > kMaxPitch || c.f0[i] < kMinPitch) {
      const double dropped = c.f0[i];
      for (int j = i + 1; j < kCandidates; ++j) {
        c.f0[j - 1] = c.f0[j];
        c.voicing[j - 1] = c.voicing[j];
        scores[j - 1] = scores[j];
      }
      c.f0[kCandidates - 1] = c.voicing[kCandidates - 1] = scores[kCandidates - 1] = 0.0;
      if (dropped > 0.0) {
        --found;
        --i;
      }
    }
  }
  int best = 0;
  for (int i = 1; i < kCandidates; ++i) if (scores[i] > scores[best]) best = i;
  std::swap(c.f0[0], c.f0[best]);
  std::swap(c.voicing[0], c.voicing[best]);
  return c;
}

// cSmileViterbiPitchSmooth's frequency range cost.
double range_cost(double f) {
  if (f > 0.0 && f < 100.0) return 1.0 - f / 100.0;
  if (f >= 100.0 && f < 350.0) return 0.0;
  if (f >= 350.0 && f < 600.0) return (f - 350.0) / 250.0;
  if (f >= 600.0) return 1.2;
  return 2.0;
}

double local_cost(const Candidates& c, int state) {
  if (state < kCandidates) {
    const double pv = std::clamp(c.voicing[state], 0.01, 1.0);
    const double threshold = pv < kVoicingCutoff ? kWeightThreshold : 0.0;
    return (-std::log(pv) + threshold) * kWeightLocal + range_cost(c.f0[state]) * kWeightRange;
  }
  for (int j = 0; j < kCandidates; ++j) {
    if (c.voicing[j] >= kVoicingCutoff) return kWeightLocal * kWeightThreshold;
  }
  return 0.0;
}

// cPitchSmootherViterbi over one clip's frames: a Viterbi trellis whose decisions are
// made where all surviving paths agree, or forced for the oldest undecided frame once
// 40 frames are undecided; the rest at the end from the best path. The voiced-voiced
// cost depends on the log-ratio of the transition computed just before (lastChange,
// shared across all transitions in openSMILE's evaluation order), kept.
void viterbi_path(const Candidates* frames, std::int64_t count, double* f0_hz) {
  if (count == 0) return;
  std::vector<int> back(count * kStates, 0), best(count, kStates - 1);
  double cost[kStates], next[kStates];
  for (int i = 0; i < kStates; ++i) cost[i] = local_cost(frames[0], i);
  double last_change = 1.0;
  std::int64_t decided = -1;
  int history[kStates][kViterbiBuffer + 1];
  for (std::int64_t t = 1; t < count; ++t) {
    const Candidates& a = frames[t - 1];
    const Candidates& b = frames[t];
    for (int i = 0; i < kStates; ++i) {
      int arg = 0;
      double least = 0.0;
      for (int j = 0; j < kStates; ++j) {
        double transition;
        if (i < kCandidates && j < kCandidates) {
          if (a.f0[j] == 0.0 || b.f0[i] == 0.0) {
            transition = 999.0;
          } else {
            const double r = std::log(b.f0[i] / a.f0[j]);
            transition = kWeightVoicedVoiced * std::fabs(r) + kWeightDelta * std::fabs(r - last_change);
            last_change = r;
          }
        } else if ((i == kCandidates) != (j == kCandidates)) {
          last_change = 0.0;
          transition = kWeightVoicedUnvoiced;
        } else {
          transition = kUnvoicedUnvoicedCost;
        }
        const double total = transition + cost[j];
        if (j == 0 || total < least) {
          least = total;
          arg = j;
        }
      }
      back[t * kStates + i] = arg;
      next[i] = least + local_cost(b, i);
    }
    std::copy(next, next + kStates, cost);
    // Each state's path over the undecided frames decided+1..t.
    const std::int64_t from = decided + 1;
    const std::int64_t span = t - from + 1;
    for (int s = 0; s < kStates; ++s) {
      int state = s;
      for (std::int64_t n = t; n >= from; --n) {
        history[s][n - from] = state;
        if (n > 0) state = back[n * kStates + state];
      }
    }
    if (t + 1 - decided > kViterbiBuffer) {
      const int leader = static_cast<int>(std::min_element(cost, cost + kStates) - cost);
      best[++decided] = history[leader][0];
    } else {
      for (std::int64_t n = 0; n < span; ++n) {
        const int x = history[0][n];
        bool agree = true;
        for (int s = 1; s < kStates && agree; ++s) agree = history[s][n] == x;
        if (!agree) break;
        best[++decided] = x;
      }
    }
  }
  // End of input: the rest from the best final path.
  int state = static_cast<int>(std::min_element(cost, cost + kStates) - cost);
  for (std::int64_t n = count - 1; n > decided; --n) {
    best[n] = state;
    if (n > 0) state = back[n * kStates + state];
  }
  for (std::int64_t t = 0; t < count; ++t) f0_hz[t] = best[t] < kCandidates ? frames[t].f0[best[t]] : 0.0;
}

double semitones(double hz) {  // F0finalLog
  if (hz > kLowestSemitoneHz) return 12.0 * std::log2(hz / 27.5);
  return hz > 0.0 ? 1.0 : 0.0;
}

// cHarmonics on the 60 ms Gaussian frame's magnitude spectrum, given the final F0.
enum VoiceRow { kF0Row = 0, kJitterRow = 1, kShimmerRow = 2, kHnrRow = 3, kH1H2Row = 4, kH1A3Row = 5, kFormantRow = 6 };

bool is_peak(const double* x, std::int64_t n, std::int64_t i) {
  if (i < 0 || i >= n) return false;
  if (i + 1 < n) return i > 0 ? x[i] > x[i - 1] && x[i] > x[i + 1] : x[0] > x[1];
  return i > 0 && x[i] > x[i - 1];
}

// cHarmonics::getClosestPeak: the nearest local maximum, looking left first.
std::int64_t closest_peak(const double* x, std::int64_t n, std::int64_t i) {
  if (is_peak(x, n, i)) return i;
  for (std::int64_t o = 1; i - o > 0 || i + o < n - 1; ++o) {
    if (i - o > 0 && is_peak(x, n, i - o)) return i - o;
    if (i + o < n - 1 && is_peak(x, n, i + o)) return i + o;
  }
  if (x[0] > x[i] && x[n - 1] <= x[i]) return 0;
  if (x[0] <= x[i] && x[n - 1] > x[i]) return n - 1;
  if (x[0] > x[i] && x[n - 1] > x[i]) return i < n / 2 ? 0 : n - 1;
  return i;
}

// HarmonicsToNoiseRatioACFLogdB: 10 log10(r(T0) / (r(0) - r(T0))) of the power spectrum's
// autocorrelation at the peak nearest the F0 period, clamped to [-90, 110] dB; 0 unvoiced.
double acf_hnr_db(const double* acf, std::int64_t n, std::int64_t lag) {
  if (lag <= 0 || lag >= n) return 0.0;  // no period inside the autocorrelation: as unvoiced
  const double noise = acf[0] - acf[lag];
  double ratio = noise == 0.0 ? 10e10 : acf[lag] / noise;
  ratio = std::clamp(ratio, 10e-10, 10e10);
  return 10.0 * std::log10(ratio);
}

// cHarmonics::freqToBin on the bin axis k * bin_hz: of the first bin from start (at least
// 1) above hz and the one before it, the nearer (ties to the upper); 0 past the last bin.
// openSMILE scans bin by bin; the first bin above hz is found here from hz / bin_hz.
std::int64_t nearest_bin(double hz, std::int64_t start, std::int64_t bins, double bin_hz) {
  start = std::max<std::int64_t>(start, 1);
  if (!(hz < static_cast<double>(bins) * bin_hz)) return 0;
  std::int64_t k = std::max(start, static_cast<std::int64_t>(std::floor(hz / bin_hz)) - 1);
  while (k < bins && static_cast<double>(k) * bin_hz <= hz) ++k;
  if (k >= bins) return 0;
  const double f = static_cast<double>(k) * bin_hz;
  return f - hz > hz - static_cast<double>(k - 1) * bin_hz ? k - 1 : k;
}

// cHarmonics' harmonic list (nHarmonics 100): harmonic h (h = 0 is F0 itself) is the
// local maximum of the magnitude spectrum found from the bin nearest (h+1) F0 outwards
// (right first) within half an F0, searched from the previous harmonic's bin; its
// frequency and level the vertex of a parabola through the peak and its neighbours.
// level[h] is 20 log10 of that over the F0 peak's bin magnitude, floored at -200 dB; a
// harmonic on the previous one's bin is a duplicate (-201 dB).
constexpr int kHarmonicList = 100;
struct Harmonic {
  std::int64_t bin = -1;
  double magnitude = 0.0, hz = 0.0, interpolated = 0.0, level = -201.0;
};

void harmonic_list(const double* magnitude, std::int64_t bins, double bin_hz, float f0, Harmonic* h) {
  std::int64_t last = nearest_bin(0.5f * f0, 1, bins, bin_hz);
  const std::int64_t first = nearest_bin(0.5f * f0, last, bins, bin_hz);
  for (int i = 0; i < kHarmonicList; ++i) {
    h[i] = Harmonic{};
    const std::int64_t candidate = nearest_bin(static_cast<float>(i + 1) * f0, last, bins, bin_hz);
    std::int64_t peak = -1;
    if (is_peak(magnitude, bins, candidate)) {
      peak = candidate;
    } else {
      std::int64_t left = candidate - 1, right = candidate + 1;
      const std::int64_t lower = nearest_bin((static_cast<float>(i) + 0.5f) * f0, last, bins, bin_hz);
      const std::int64_t upper = nearest_bin((static_cast<float>(i) + 1.5f) * f0, candidate, bins, bin_hz);
      while ((left >= lower || right <= upper) && peak == -1) {
        if (right <= upper) {
          if (is_peak(magnitude, bins, right)) { peak = right; break; }
          ++right;
        }
        if (left >= lower) {
          if (is_peak(magnitude, bins, left)) { peak = left; break; }
          --left;
        }
      }
    }
    if (peak >= first && peak < bins - 1) {
      h[i].bin = peak;
      h[i].magnitude = static_cast<float>(magnitude[peak]);
      double x, y;
      parabola_peak(static_cast<double>(peak - 1) * bin_hz, magnitude[peak - 1], static_cast<double>(peak) * bin_hz,
                    magnitude[peak], static_cast<double>(peak + 1) * bin_hz, magnitude[peak + 1], &x, &y);
      h[i].hz = static_cast<float>(x);
      h[i].interpolated = static_cast<float>(y);
    } else {
      h[i].bin = candidate;
    }
    last = candidate;
  }
  // postProcessHarmonics
  const bool relative = h[0].magnitude != 0.0;
  const double reference = relative ? static_cast<float>(std::log10(h[0].magnitude)) : 0.0;
  h[0].level = 0.0;
  for (int i = 1; i < kHarmonicList; ++i) {
    if (relative) {
      h[i].level = h[i].interpolated > 0.0
                       ? std::max(static_cast<double>(static_cast<float>(20.0 * (std::log10(h[i].interpolated) - reference))), -200.0)
                       : -200.0;
    }
    if (h[i].bin == h[i - 1].bin) {
      h[i].bin = 0;
      h[i].hz = h[i].magnitude = h[i].interpolated = 0.0;
      h[i].level = -201.0;
    }
  }
}

// getFormantAmplitudeIndices: the strongest harmonic (by its bin magnitude) within
// 0.8-1.2 times the formant frequency, or -1.
int formant_harmonic(const Harmonic* h, double formant_hz) {
  const float lo = 0.8f * static_cast<float>(formant_hz), hi = 1.2f * static_cast<float>(formant_hz);
  int best = -1;
  float strongest = 0.0f;
  for (int i = 0; i < kHarmonicList; ++i) {
    if (h[i].hz >= lo && h[i].hz <= hi && h[i].magnitude > strongest) {
      best = i;
      strongest = static_cast<float>(h[i].magnitude);
    }
  }
  return best;
}


// cSpecResample (to 11 kHz) + cLpc (autocorrelation, order 11) + cFormantLpc on the
// 20 ms Hamming frames of the energy/spectral LLDs.
constexpr int kLpcOrder = 11;
constexpr int kFormants = 5;
constexpr double kLpcRateHz = 11000.0;
constexpr double kMinFormantHz = 50.0, kMaxFormantHz = 5450.0;

struct FormantTables {
  std::int64_t length = 0, n_fft = 0, offset = 0, out = 0, k_max = 0;
  double rate = 0.0;  // the rate the formants assume (cSpecResample's targetFs)
  std::vector<double> window;
  std::vector<float> cosine, sine;  // (k_max / 2, out) cSpecResample's float tables
};

FormantTables make_formant_tables(double sr) {
  const EgemapsFraming f = egemaps_framing(sr);
  FormantTables ft;
  ft.length = f.frame_length;
  ft.n_fft = f.n_fft;
  ft.offset = (ft.n_fft - ft.length) / 2;  // cTransformFFT centres the frame in its zero padding
  ft.window.resize(ft.length);
  for (std::int64_t i = 0; i < ft.length; ++i) ft.window[i] = 0.54 - 0.46 * std::cos(2.0 * M_PI * i / (ft.length - 1.0));
  // cSpecResample on a zero-padded FFT: the frame's own length times the rate ratio,
  // rounded; the sin/cos denominator n_fft times the adjusted ratio.
  const double ratio = kLpcRateHz / sr;
  const double frame_ratio = static_cast<double>(ft.length) / static_cast<double>(ft.n_fft);
  ft.out = std::llround(static_cast<double>(ft.n_fft) * ratio * frame_ratio);
  const double adjusted = static_cast<double>(ft.out) / (static_cast<double>(ft.n_fft) * frame_ratio);
  const double denominator = static_cast<double>(ft.n_fft) * adjusted;
  // The formants convert angles with the level's sample rate, which cSpecResample set to
  // targetFs before it adjusted the ratio (differs from sr * adjusted at 11025 Hz only).
  ft.rate = kLpcRateHz;
  ft.k_max = std::min(ft.n_fft, ft.out) & ~std::int64_t(1);  // antiAlias: bins below the new length
  const std::int64_t half = ft.k_max / 2;
  ft.cosine.assign(ft.out * half, 0.0f);
  ft.sine.assign(ft.out * half, 0.0f);
  for (std::int64_t k = 1; k < half; ++k) {  // [k][i]: the irdft runs over i innermost
    for (std::int64_t i = 0; i < ft.out; ++i) {
      const double phase = 2.0 * M_PI * static_cast<double>(k * i) / denominator;
      ft.cosine[k * ft.out + i] = static_cast<float>(std::cos(phase));
      ft.sine[k * ft.out + i] = static_cast<float>(std::sin(phase));
    }
  }
  return ft;
}

// The roots of c[0] + c[1] z + ... + z^11: eigenvalues of the companion matrix. A heap
// matrix: Eigen's fixed 11x11 one is not 16-byte aligned, so its vectorised paths (and
// their rounding) would depend on where it lands on the thread's stack.
bool lpc_roots(const double* c, std::complex<double>* roots) {
  Eigen::MatrixXd companion = Eigen::MatrixXd::Zero(kLpcOrder, kLpcOrder);
  for (int j = 0; j < kLpcOrder; ++j) companion(0, j) = -c[kLpcOrder - 1 - j];
  for (int j = 1; j < kLpcOrder; ++j) companion(j, j - 1) = 1.0;
  const Eigen::EigenSolver<Eigen::MatrixXd> solver(companion, false);
  if (solver.info() != Eigen::Success) return false;
  for (int i = 0; i < kLpcOrder; ++i) roots[i] = solver.eigenvalues()[i];
  return true;
}

// Formant frequencies and bandwidths (Hz, ascending, 0 past the last found) of one
// frame, from its FFT (frame centred in n_fft). openSMILE hands the LPC coefficients
// a_k (x[n] ~ -sum a_k x[n-k]) to its root solver as z^p - a_1 z^(p-1) - ... - a_p:
// the opposite of the predictor polynomial's signs; kept, as its formants come from it.
void frame_formants(const FormantTables& ft, const std::complex<double>* spectrum, double* frequency, double* bandwidth) {
  const std::int64_t half = ft.k_max / 2;
  // smileDsp_irdft in float on Ooura's packing. Each output sums its terms in openSMILE's
  // order (k ascending); looping over the outputs innermost lets that vectorise.
  std::vector<float> x(ft.out, static_cast<float>(spectrum[0].real()));
  for (std::int64_t k = 1; k < half; ++k) {
    const float re = static_cast<float>(spectrum[k].real()), im = static_cast<float>(-spectrum[k].imag());
    const float* cosine = ft.cosine.data() + k * ft.out;
    const float* sine = ft.sine.data() + k * ft.out;
    for (std::int64_t i = 0; i < ft.out; ++i) {
      x[i] += re * cosine[i];
      x[i] += im * sine[i];
    }
  }
  for (float& v : x) v /= static_cast<float>(ft.n_fft / 2);
  float r[kLpcOrder + 1];
  for (int lag = 0; lag <= kLpcOrder; ++lag) {  // smileDsp_autoCorr
    r[lag] = 0.0f;
    for (std::int64_t i = lag; i < ft.out; ++i) r[lag] += x[i] * x[i - lag];
  }
  float a[kLpcOrder] = {};
  if (r[0] != 0.0f) {  // smileDsp_calcLpcAcf (Durbin), in float
    float e = r[0];
    for (int m = 1; m <= kLpcOrder; ++m) {
      float sum = r[m];
      for (int i = 1; i < m; ++i) sum += a[i - 1] * r[m - i];
      const float k_m = (-1.0f / e) * sum;
      a[m - 1] = k_m;
      for (int i = 1; i <= m / 2; ++i) {
        const float prev = a[i - 1];
        a[i - 1] += k_m * a[m - i - 1];
        if (i < m / 2 || (m & 1) == 1) a[m - i - 1] += k_m * prev;
      }
      e *= 1.0f - k_m * k_m;
    }
  }
  double c[kLpcOrder + 1];
  for (int i = 0; i < kLpcOrder; ++i) c[i] = -static_cast<double>(a[kLpcOrder - 1 - i]);
  c[kLpcOrder] = 1.0;
  std::complex<double> roots[kLpcOrder];
  int found = 0;
  // A silent frame, or a recursion that broke down (its error reached 0), has no formants.
  const bool finite = std::all_of(c, c + kLpcOrder, [](double v) { return std::isfinite(v); });
  if (r[0] != 0.0f && finite && lpc_roots(c, roots)) {
    const double period = 1.0 / ft.rate;
    for (int i = 0; i < kLpcOrder && found < kFormants; ++i) {
      std::complex<double> z = roots[i];
      if (std::abs(z) > 1.0) z = 1.0 / std::conj(z);  // smileMath_complexIntoUnitCircle
      if (z.imag() < 0.0) continue;
      const double hz = std::fabs(std::atan2(z.imag(), z.real())) / (2.0 * M_PI * period);
      if (hz < kMinFormantHz || hz > kMaxFormantHz) continue;
      frequency[found] = hz;
      bandwidth[found] = -std::log(std::abs(z)) / (M_PI * period);
      ++found;
    }
  }
  for (int i = found; i < kFormants; ++i) frequency[i] = bandwidth[i] = 0.0;
  for (int i = 0; i < found; ++i) {  // ascending, bandwidths alongside
    for (int j = i + 1; j < found; ++j) {
      if (frequency[j] < frequency[i]) {
        std::swap(frequency[i], frequency[j]);
        std::swap(bandwidth[i], bandwidth[j]);
      }
    }
  }
}

// cPitchJitter (searchRangeRel 0.1, minNumPeriods 2, minCC 0.5, period lengths from the
// correlation peak, peak-to-peak amplitudes), a stream over the clip's samples in F0
// frame order. In a voiced frame it walks period by period from where the previous
// frame stopped: each next period length is the best local maximum of the normalised
// cross-correlation of two adjacent stretches of 0.9-1.1 F0 periods; periods whose
// interpolated correlation exceeds 0.5 count. jitterLocal = mean |T_i - T_i-1| / mean T;
// shimmerLocaldB = 20 log10(1 + mean |A_i - A_i+1| / mean A) with A a period's
// peak-to-peak amplitude. A voiced frame without a counted period repeats the previous
// frame's values (its state is kept, as openSMILE's members are); unvoiced frames are
// 0 and reset it.
struct JitterState {
  std::int64_t last_index = 0, last_miss = 0;
  double last_period = 0.0, last_jitter = 0.0, last_shimmer = 0.0;
};

double normalised_cross_correlation(const double* x, const double* y, std::int64_t n) {
  double mx = 0.0, my = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double cc = 0.0, nx = 0.0, ny = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    cc += (x[i] - mx) * (y[i] - my);
    nx += (x[i] - mx) * (x[i] - mx);
    ny += (y[i] - my) * (y[i] - my);
  }
  return cc / (std::sqrt(nx) * std::sqrt(ny));  // NaN for a flat stretch, as openSMILE's
}

// cPitchJitter::amplitudeDiff's peak-to-peak amplitude over x[1..n-2].
double peak_to_peak(const double* x, std::int64_t n) {
  double high = x[1], low = x[1];
  for (std::int64_t i = 1; i < n - 1; ++i) {
    high = std::max(high, x[i]);
    low = std::min(low, x[i]);
  }
  return static_cast<float>(high - low);
}

void jitter_shimmer_frame(const double* y, std::int64_t n_samples, std::int64_t start_sample, std::int64_t step,
                          std::int64_t frame_length, double sr, float f0, JitterState& st, double* jitter,
                          double* shimmer_db) {
  const std::int64_t to_read0 = step + st.last_miss;
  std::int64_t to_read = to_read0, max_read = st.last_miss + frame_length;
  double t0 = 0.0;
  std::int64_t t0_samples = 0, t0_min = 0, t0_max = 0;
  if (f0 > 0.0f) {
    t0 = sr / static_cast<double>(f0);
    t0_samples = std::llround(t0);
    t0_min = static_cast<std::int64_t>(std::floor(0.9 * t0));
    t0_max = static_cast<std::int64_t>(std::ceil(1.1 * t0));
    to_read = std::max(to_read, 2 * t0_max + 2);
  }
  to_read = std::min(to_read, max_read);
  if (start_sample - st.last_miss != st.last_index) {  // after unvoiced frames or at the start
    st.last_index = start_sample;
    to_read = std::min(to_read, frame_length);
  }
  const double* x = y + std::min(st.last_index, n_samples);
  const std::int64_t count = std::max<std::int64_t>(0, std::min(to_read, n_samples - st.last_index));
  std::int64_t last_period_start = 0;
  double periods = 0.0, period_sum = 0.0, jitter_sum = 0.0, jitter_count = 0.0, amplitude = 0.0, amplitude_diff = 0.0;
  if (f0 > 0.0f) {
    std::vector<double> cc(t0_max - t0_min + 1);
    std::int64_t start = 0;
    while (start < count - 2 * t0_max - 1) {
      for (std::int64_t lag = t0_min; lag <= t0_max; ++lag) {
        cc[lag - t0_min] = normalised_cross_correlation(x + start, x + start + lag, lag);
      }
      std::int64_t best = -1;
      double best_cc = 0.0;
      for (std::int64_t i = 1; i < t0_max - t0_min - 1; ++i) {
        if (cc[i - 1] < cc[i] && cc[i] > cc[i + 1] && (best == -1 || cc[i] > best_cc)) {
          best = i;
          best_cc = cc[i];
        }
      }
      if (best >= 0) {
        const std::int64_t length = t0_min + best, previous = start;
        start += length;
        const double a0 = peak_to_peak(x + previous, length), a1 = peak_to_peak(x + start, length);
        double vertex, peak_cc;
        parabola_peak(static_cast<double>(best - 1), cc[best - 1], static_cast<double>(best), cc[best],
                      static_cast<double>(best + 1), cc[best + 1], &vertex, &peak_cc);
        if (peak_cc > 0.5) {
          const double period = static_cast<float>(std::fabs(static_cast<double>(t0_min) + vertex) / sr);
          period_sum += period;
          periods += 1.0;
          if (st.last_period > 0.0) {
            jitter_sum += std::fabs(st.last_period - period);
            jitter_count += 1.0;
          }
          st.last_period = period;
          amplitude += (a0 + a1) / 2.0;
          amplitude_diff += std::fabs(a0 - a1);
        }
      } else {
        start += t0_samples;
      }
      if (start < to_read0 - 1) last_period_start = start;
    }
    st.last_miss = to_read0 - last_period_start;
  } else {
    last_period_start = to_read0;
    st.last_miss = 0;
    st.last_period = st.last_jitter = st.last_shimmer = 0.0;
  }
  st.last_index += last_period_start;
  *jitter = 0.0;
  *shimmer_db = 0.0;
  if (!(f0 > 0.0f)) return;
  if (periods > 0.0 && jitter_count > 0.0) st.last_jitter = jitter_sum / jitter_count / (period_sum / periods);
  if (periods > 0.0) st.last_shimmer = amplitude > 0.0 ? amplitude_diff / amplitude : 0.0;
  if (periods == 0.0 || jitter_count > 0.0) {
    st.last_jitter = std::min(st.last_jitter, 1.0);
    *jitter = st.last_jitter;
  }
  st.last_shimmer = std::min(st.last_shimmer, 1.0);
  *shimmer_db = 20.0 * std::log10(st.last_shimmer + 1.0);
}

}  // namespace

std::int64_t egemaps_num_voice_frames(std::int64_t n_samples, double sr) {
  const EgemapsFraming f = egemaps_framing(sr);
  egemaps_num_frames(n_samples, f);  // checks that one 60 ms frame fits
  return (n_samples - f.pitch_frame_length) / f.hop_length + 1;
}

template <typename T>
void egemaps_voice(const SignalBatch<T>& batch, double sr, double* const* out, int num_threads) {
  const Tables tb = make_tables(sr);
  AK_CHECK(batch.count >= 0, "y", "batch size must be non-negative, got " << batch.count);
  std::vector<std::int64_t> frames(batch.count), offset(batch.count + 1, 0);
  for (std::int64_t i = 0; i < batch.count; ++i) {
    frames[i] = egemaps_num_voice_frames(batch.lengths[i], sr);
    check_finite(batch.signals[i], batch.lengths[i], "y");
    offset[i + 1] = offset[i] + frames[i];
  }
  std::vector<Candidates> candidates(offset.back());
  std::vector<double> rms(offset.back()), f0_hz(offset.back());
  const RealFFT<double> fft(tb.n_fft, 1);
  parallel_for(offset.back(), num_threads, [&](std::int64_t begin, std::int64_t end) {
    AlignedBuffer<double> frame(fft.real_distance());
    AlignedBuffer<std::complex<double>> spectrum(fft.complex_distance());
    std::fill(frame.data(), frame.data() + fft.real_distance(), 0.0);
    Scratch scratch;
    scratch.magnitude.resize(tb.bins);
    std::int64_t clip = std::upper_bound(offset.begin(), offset.end(), begin) - offset.begin() - 1;
    for (std::int64_t k = begin; k < end; ++k) {
      if ((k - begin) % 64 == 0) interruption_point();
      while (k >= offset[clip + 1]) ++clip;
      const T* x = batch.signals[clip] + (k - offset[clip]) * tb.hop;
      double energy = 0.0;
      for (std::int64_t j = 0; j < tb.length; ++j) {
        frame[j] = static_cast<double>(x[j]) * tb.window[j];
        energy += frame[j] * frame[j];
      }
      rms[k] = std::sqrt(energy / static_cast<double>(tb.length));
      fft.forward(frame.data(), spectrum.data());
      for (std::int64_t j = 0; j < tb.bins; ++j) scratch.magnitude[j] = std::sqrt(std::norm(spectrum[j]));  // not std::abs: hypot is slow
      candidates[k] = frame_candidates(tb, scratch);
    }
  });
  parallel_for(batch.count, num_threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      interruption_point();
      double* rows = out[i];
      const std::int64_t n = frames[i];
      std::fill(rows, rows + kEgemapsVoiceCount * n, std::numeric_limits<double>::quiet_NaN());
      viterbi_path(candidates.data() + offset[i], n, rows);
      for (std::int64_t t = 0; t < n; ++t) f0_hz[offset[i] + t] = rms[offset[i] + t] < kGateRms ? 0.0 : rows[t];
      for (std::int64_t t = 0; t < n; ++t) rows[t] = semitones(f0_hz[offset[i] + t]);
      JitterState state;
      // cPitchJitter reads ceil(frame period / sample period) new samples per F0 frame
      // (ppLen): 111 at 11025 Hz, where the frames are round(110.25) = 110 apart.
      const auto jitter_step = static_cast<std::int64_t>(std::ceil(0.010 / (1.0 / sr)));
      const std::int64_t length = batch.lengths[i];
      std::vector<double> samples(batch.signals[i], batch.signals[i] + length);
      for (std::int64_t t = 0; t < n; ++t) {
        if (t % 256 == 0) interruption_point();  // one clip's frames run in sequence
        jitter_shimmer_frame(samples.data(), length, t * tb.hop, jitter_step, tb.length, sr,
                             static_cast<float>(f0_hz[offset[i] + t]), state, rows + kJitterRow * n + t,
                             rows + kShimmerRow * n + t);
      }
    }
  });
  // cFormantLpc on the 20 ms frames and cHarmonics on the 60 ms frames given the final
  // F0 (the spectra are recomputed rather than kept).
  const RealFFT<double> inverse(tb.n_fft, 1);
  const FormantTables ft = make_formant_tables(sr);
  const RealFFT<double> fft20(ft.n_fft, 1);
  const double bin_hz = tb.bin_hz;
  parallel_for(offset.back(), num_threads, [&](std::int64_t begin, std::int64_t end) {
    AlignedBuffer<double> frame(fft.real_distance()), acf(inverse.real_distance()), frame20(fft20.real_distance());
    AlignedBuffer<std::complex<double>> spectrum(fft.complex_distance()), spectrum20(fft20.complex_distance());
    std::fill(frame.data(), frame.data() + fft.real_distance(), 0.0);
    std::fill(frame20.data(), frame20.data() + fft20.real_distance(), 0.0);
    std::vector<double> magnitude(tb.bins);
    std::vector<Harmonic> harmonics(kHarmonicList);
    std::int64_t clip = std::upper_bound(offset.begin(), offset.end(), begin) - offset.begin() - 1;
    for (std::int64_t k = begin; k < end; ++k) {
      if ((k - begin) % 64 == 0) interruption_point();
      while (k >= offset[clip + 1]) ++clip;
      const std::int64_t t = k - offset[clip], n = frames[clip];
      double* rows = out[clip];
      const T* x = batch.signals[clip] + t * tb.hop;
      // Formants: every frame, voiced or not (the functionals keep the voiced ones).
      double frequency[kFormants], bandwidth[kFormants];
      for (std::int64_t j = 0; j < ft.length; ++j) frame20[ft.offset + j] = static_cast<double>(x[j]) * ft.window[j];
      fft20.forward(frame20.data(), spectrum20.data());
      frame_formants(ft, spectrum20.data(), frequency, bandwidth);
      for (int f = 0; f < 3; ++f) {
        rows[(kFormantRow + 3 * f) * n + t] = frequency[f];
        rows[(kFormantRow + 3 * f + 1) * n + t] = bandwidth[f];
      }
      const float f0 = static_cast<float>(f0_hz[k]);
      if (!(f0 > 0.0f)) {  // cHarmonics' unvoiced outputs
        rows[kHnrRow * n + t] = rows[kH1H2Row * n + t] = rows[kH1A3Row * n + t] = 0.0;
        for (int f = 0; f < 3; ++f) rows[(kFormantRow + 3 * f + 2) * n + t] = -201.0;
        continue;
      }
      for (std::int64_t j = 0; j < tb.length; ++j) frame[j] = static_cast<double>(x[j]) * tb.window[j];
      fft.forward(frame.data(), spectrum.data());
      for (std::int64_t j = 0; j < tb.bins; ++j) {
        magnitude[j] = std::sqrt(std::norm(spectrum[j]));
        spectrum[j] = magnitude[j] * magnitude[j];
      }
      // Ooura's inverse rdft, as cHarmonics calls it, is half FFTW's unnormalised c2r.
      inverse.inverse(spectrum.data(), acf.data());
      for (std::int64_t j = 0; j < tb.bins; ++j) acf[j] = std::fabs(acf[j]) / 2.0 / static_cast<double>(tb.bins);
      const double sample_hz = bin_hz * static_cast<double>(tb.bins - 1) * 2.0;
      const std::int64_t lag = static_cast<std::int64_t>(std::floor(sample_hz / f0));
      rows[kHnrRow * n + t] = acf_hnr_db(acf.data(), tb.bins, lag > 0 ? closest_peak(acf.data(), tb.bins, lag) : 0);
      harmonic_list(magnitude.data(), tb.bins, bin_hz, f0, harmonics.data());
      // "H1-H2" and "H1-A3" index the list from 0 (F0 is "H0"): the levels of harmonics
      // 1 and 2, and of harmonic 1 and the strongest harmonic near F3.
      rows[kH1H2Row * n + t] = std::clamp(harmonics[1].level - harmonics[2].level, -201.0, 201.0);
      int near[3];
      for (int f = 0; f < 3; ++f) near[f] = formant_harmonic(harmonics.data(), frequency[f]);
      rows[kH1A3Row * n + t] = std::clamp(near[2] >= 0 ? harmonics[1].level - harmonics[near[2]].level
                                                       : harmonics[1].level - 201.0, -201.0, 201.0);
      for (int f = 0; f < 3; ++f) rows[(kFormantRow + 3 * f + 2) * n + t] = near[f] >= 0 ? harmonics[near[f]].level : 0.0;
    }
  });
}

template void egemaps_voice<float>(const SignalBatch<float>&, double, double* const*, int);
template void egemaps_voice<double>(const SignalBatch<double>&, double, double* const*, int);

}  // namespace affectkit
