#include "affectkit/prosody/pyin.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/fft.h"
#include "affectkit/common/interrupt.h"
#include "affectkit/common/thread_pool.h"
#include "affectkit/features/frame_blocks.h"  // detail::padded_index: numpy.pad's modes

namespace affectkit {
namespace {

// librosa adds util.tiny(prob) = the smallest normal float64 before every log and
// divides by (mean + tiny): log(0 + tiny) is the floor of every log-probability.
constexpr double kTiny = std::numeric_limits<double>::min();
constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();

// The smallest even 2^a 3^b 5^c >= n: FFTW is fast at these sizes.
std::int64_t next_fast_even(std::int64_t n) {
  std::int64_t best = 2;
  while (best < n) best *= 2;
  for (std::int64_t p5 = 2; p5 < best; p5 *= 5) {
    for (std::int64_t p35 = p5; p35 < best; p35 *= 3) {
      std::int64_t size = p35;
      while (size < n) size *= 2;
      best = std::min(best, size);
    }
  }
  return best;
}

// numpy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src,
// DOUBLE_pairwise_sum) of x[0..n), where x is zero outside [lo, hi]: blocks that
// miss [lo, hi] sum to +0.0 without being read, so a banded row costs its band.
double pairwise_sum(const double* x, std::int64_t n, std::int64_t lo, std::int64_t hi) {
  if (hi < 0 || lo >= n) return 0.0;
  if (n < 8) {
    double sum = 0.0;
    for (std::int64_t i = 0; i < n; ++i) sum += x[i];
    return sum;
  }
  if (n <= 128) {
    double r[8];
    for (int k = 0; k < 8; ++k) r[k] = x[k];
    std::int64_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int k = 0; k < 8; ++k) r[k] += x[i + k];
    }
    double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += x[i];
    return sum;
  }
  std::int64_t half = n / 2;
  half -= half % 8;
  return pairwise_sum(x, half, lo, hi) + pairwise_sum(x + half, n - half, lo - half, hi - half);
}

// ---------------------------------------------------------------- the decoder

// log(transition + tiny) of librosa's pyin transition matrix
// kron(transition_loop(2, 1 - switch_prob), transition_local(n, width, "triangle")),
// by source row: row i steps to the bins i - h .. i + h (h = width // 2); every
// entry off the band is log(0 + tiny). Rows away from the edges differ only by
// the last bit of their numpy row sum, so they come in a few distinct kinds: rows
// are stored once per kind (a table that stays in cache), and row_kind[i] names
// row i's.
struct BandedTransition {
  std::int64_t n = 0, h = 0, band = 0;  // pitch bins; half band; 2 h + 1
  double log_tiny = 0;
  std::vector<std::int32_t> row_kind;
  // kinds[(kind * 2 + s) * band + (j - i + h)]: log-probability of the step from
  // bin i to bin j within a voicing block (s = 0) or across (s = 1).
  std::vector<double> kinds;
  std::vector<double> kind_max;  // [kind * 2 + s]: the largest of the row's steps
};

BandedTransition make_transition(std::int64_t n, std::int64_t width, double switch_prob) {
  AK_CHECK(n >= 2, "n_pitch_bins", "must be at least 2 (librosa.sequence.transition_local), got " << n);
  AK_CHECK(width >= 1 && width <= n, "transition_width",
           "must lie in [1, n_pitch_bins = " << n << "] (librosa's pad_center), got " << width);
  AK_CHECK(switch_prob >= 0 && switch_prob <= 1, "switch_prob", "must lie in [0, 1], got " << switch_prob);
  AK_CHECK(2 * n <= 65536, "n_pitch_bins",
           "gives " << 2 * n << " states; librosa's decoder stores states as uint16 (at most 65536)");
  BandedTransition tr;
  tr.n = n;
  tr.h = width / 2;
  tr.band = 2 * tr.h + 1;
  tr.log_tiny = std::log(0.0 + kTiny);
  const std::int64_t h = tr.h, band = tr.band;
  const std::vector<double> window = pyin_detail::triangle_window(width);
  // transition_loop(2, p): p on the diagonal, (1 - p) / (2 - 1) off it; p = 1 - switch_prob.
  const double stay = 1.0 - switch_prob;
  const double scale[2] = {stay, (1.0 - stay) / 1.0};
  std::vector<double> row(n, 0.0), logs(2 * band);
  std::unordered_map<std::string, std::int32_t> seen;
  tr.row_kind.resize(n);
  for (std::int64_t i = 0; i < n; ++i) {
    // Row i of transition_local divided by its numpy row sum, scaled by
    // transition_loop (np.kron), plus tiny, log.
    const std::int64_t lo = std::max<std::int64_t>(0, i - h), hi = std::min(n - 1, i + h);
    for (std::int64_t j = lo; j <= hi; ++j) row[j] = pyin_detail::transition_local_raw(n, width, window, i, j);
    const double sum = pairwise_sum(row.data(), n, lo, hi);
    std::fill(logs.begin(), logs.end(), kMinusInfinity);  // off the grid: never read
    for (std::int64_t j = lo; j <= hi; ++j) {
      const double local = row[j] / sum;
      for (int s = 0; s < 2; ++s) logs[s * band + (j - i + h)] = std::log(scale[s] * local + kTiny);
      row[j] = 0.0;
    }
    std::string key(reinterpret_cast<const char*>(logs.data()), logs.size() * sizeof(double));
    const auto found = seen.emplace(std::move(key), static_cast<std::int32_t>(seen.size()));
    if (found.second) {
      tr.kinds.insert(tr.kinds.end(), logs.begin(), logs.end());
      for (int s = 0; s < 2; ++s) {
        tr.kind_max.push_back(*std::max_element(logs.begin() + s * band, logs.begin() + (s + 1) * band));
      }
    }
    tr.row_kind[i] = found.first->second;
  }
  return tr;
}

// librosa.sequence._viterbi on log(prob + tiny) with log(transition + tiny) and a
// uniform initial distribution: same values, same first-index argmax.
// - Off the band every transition is log(tiny), so the best such predecessor of
//   bin j (in either block) is the first maximum of value + log(tiny) over three
//   ranges of states, [0, lo), (hi, n + lo) and (n + hi, 2n) with [lo, hi] the band
//   of j: prefix, sliding-window (monotone deque) and suffix maxima.
// - Within the band, each source bin updates its 2 h + 1 targets in both blocks
//   (contiguous, so the loop vectorises), unless its best step cannot reach the
//   off-band best of any of them.
// log_observation(t, row) writes the 2n log-observations of frame t.
template <typename LogObservation>
void viterbi_banded(const BandedTransition& tr, std::int64_t n_frames, LogObservation log_observation,
                    std::int64_t* states) {
  if (n_frames <= 0) return;
  const std::int64_t n = tr.n, h = tr.h, band = tr.band, S = 2 * n;
  std::vector<double> value(S), next(S), observation(S), shifted(S);
  std::vector<std::uint16_t> pointer(static_cast<std::size_t>(n_frames) * S);
  std::vector<double> best[4] = {std::vector<double>(n), std::vector<double>(n), std::vector<double>(n),
                                 std::vector<double>(n)};
  std::vector<std::int32_t> from[4] = {std::vector<std::int32_t>(n), std::vector<std::int32_t>(n),
                                       std::vector<std::int32_t>(n), std::vector<std::int32_t>(n)};
  std::vector<std::int64_t> prefix(n + 1), suffix(S + 1), window(S);
  std::vector<double> outside_value(n), least_outside(n);
  std::vector<std::int64_t> outside_index(n);

  log_observation(0, observation.data());
  const double log_init = std::log(1.0 / static_cast<double>(S) + kTiny);
  for (std::int64_t k = 0; k < S; ++k) value[k] = observation[k] + log_init;

  for (std::int64_t t = 1; t < n_frames; ++t) {
    interruption_point();
    log_observation(t, observation.data());
    // Off the band: value + log(tiny), one constant, so its maxima are range maxima.
    for (std::int64_t k = 0; k < S; ++k) shifted[k] = value[k] + tr.log_tiny;
    prefix[0] = -1;  // first argmax of shifted[0..x)
    for (std::int64_t x = 0; x < n; ++x) {
      prefix[x + 1] = (prefix[x] < 0 || shifted[x] > shifted[prefix[x]]) ? x : prefix[x];
    }
    suffix[S] = -1;  // first argmax of shifted[x..S)
    for (std::int64_t x = S - 1; x >= n; --x) {
      suffix[x] = (suffix[x + 1] < 0 || shifted[x] >= shifted[suffix[x + 1]]) ? x : suffix[x + 1];
    }
    std::int64_t head = 0, tail = 0, pushed = 0;  // deque window[head..tail): indices, values decreasing
    for (std::int64_t j = 0; j < n; ++j) {
      const std::int64_t lo = std::max<std::int64_t>(0, j - h), hi = std::min(n - 1, j + h);
      double top = kMinusInfinity;
      std::int64_t index = -1;
      auto consider = [&](std::int64_t k) {
        if (k >= 0 && (index < 0 || shifted[k] > top || (shifted[k] == top && k < index))) {
          top = shifted[k];
          index = k;
        }
      };
      consider(prefix[lo]);
      // (hi, n + lo): both ends move right with j.
      for (; pushed < n + lo; ++pushed) {
        while (tail > head && shifted[window[tail - 1]] < shifted[pushed]) --tail;  // equal: keep the earlier
        window[tail++] = pushed;
      }
      while (tail > head && window[head] <= hi) ++head;
      if (tail > head) consider(window[head]);
      consider(suffix[n + hi + 1]);
      outside_value[j] = top;
      outside_index[j] = index;
    }

    // A source whose best step is below the best off-band predecessor of every
    // target in its band can be the argmax of none: it is skipped (exact, as
    // value + step rounds monotonically). least_outside[i]: the least off-band
    // best over the targets of row i (sliding minimum).
    head = tail = pushed = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      for (; pushed <= std::min(n - 1, i + h); ++pushed) {
        while (tail > head && outside_value[window[tail - 1]] > outside_value[pushed]) --tail;
        window[tail++] = pushed;
      }
      while (window[head] < i - h) ++head;
      least_outside[i] = outside_value[window[head]];
    }
    // The band. For each pair of blocks (a: source, b: target) the sources i come
    // in increasing order with a strict comparison: the first maximum, as
    // np.argmax; the pairs are merged below (block 0 before block 1).
    for (auto& row : best) std::fill(row.begin(), row.end(), kMinusInfinity);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t first = std::max<std::int64_t>(0, i - h), count = std::min(n - 1, i + h) - first + 1;
      const std::int32_t kind = tr.row_kind[i];
      const double* within = tr.kinds.data() + 2 * band * kind + (first - (i - h));
      const double* across = within + band;
      for (int a = 0; a < 2; ++a) {
        const double source = value[a * n + i];
        const bool to0 = source + tr.kind_max[2 * kind + (a == 0 ? 0 : 1)] >= least_outside[i];
        const bool to1 = source + tr.kind_max[2 * kind + (a == 1 ? 0 : 1)] >= least_outside[i];
        const double* step0 = a == 0 ? within : across;  // to block 0
        const double* step1 = a == 1 ? within : across;  // to block 1
        const auto k = static_cast<std::int32_t>(a * n + i);
        double* best0 = best[2 * a].data() + first;
        double* best1 = best[2 * a + 1].data() + first;
        std::int32_t* from0 = from[2 * a].data() + first;
        std::int32_t* from1 = from[2 * a + 1].data() + first;
        if (to0 && to1) {
#pragma omp simd
          for (std::int64_t e = 0; e < count; ++e) {
            const double c0 = source + step0[e], c1 = source + step1[e];
            const bool u0 = c0 > best0[e], u1 = c1 > best1[e];
            best0[e] = u0 ? c0 : best0[e];
            from0[e] = u0 ? k : from0[e];
            best1[e] = u1 ? c1 : best1[e];
            from1[e] = u1 ? k : from1[e];
          }
        } else if (to0 || to1) {
          const double* step = to0 ? step0 : step1;
          double* best_ = to0 ? best0 : best1;
          std::int32_t* from_ = to0 ? from0 : from1;
#pragma omp simd
          for (std::int64_t e = 0; e < count; ++e) {
            const double c = source + step[e];
            const bool u = c > best_[e];
            best_[e] = u ? c : best_[e];
            from_[e] = u ? k : from_[e];
          }
        }
      }
    }
    for (int b = 0; b < 2; ++b) {
      for (std::int64_t j = 0; j < n; ++j) {
        double top = best[b][j];  // from block 0 (a = 0)
        std::int64_t index = from[b][j];
        if (best[2 + b][j] > top) {  // block 1 wins only if better
          top = best[2 + b][j];
          index = from[2 + b][j];
        }
        if (outside_index[j] >= 0 &&
            (outside_value[j] > top || (outside_value[j] == top && outside_index[j] < index))) {
          top = outside_value[j];
          index = outside_index[j];
        }
        next[b * n + j] = observation[b * n + j] + top;
        pointer[static_cast<std::size_t>(t) * S + b * n + j] = static_cast<std::uint16_t>(index);
      }
    }
    std::swap(value, next);
  }
  std::int64_t state = 0;
  for (std::int64_t k = 1; k < S; ++k) {
    if (value[k] > value[state]) state = k;
  }
  states[n_frames - 1] = state;
  for (std::int64_t t = n_frames - 2; t >= 0; --t) {
    state = pointer[static_cast<std::size_t>(t + 1) * S + state];
    states[t] = state;
  }
}

// ---------------------------------------------------------------- observations

struct Candidate {
  std::int32_t bin;  // pitch bin, < n_pitch_bins
  double prob;
};

// Everything that depends on the parameters only.
struct Setup {
  PyinParams params;
  PyinLayout layout;
  std::int64_t n_periods = 0;          // max_period - min_period + 1 lags in the YIN curve
  std::vector<double> thresholds;      // np.linspace(0, 1, n_thresholds + 1)
  std::vector<double> no_trough_mass;  // [k]: np.sum(threshold_prior[:k])
  std::vector<double> decay;           // [k]: exp(-lambda k), the Boltzmann prior's numerator
  std::vector<double> boltzmann_norm;  // [N]: (1 - exp(-lambda)) / (1 - exp(-lambda N))
  std::vector<double> frequencies;     // Hz of each pitch bin
};

Setup make_setup(const PyinParams& p) {
  Setup s;
  s.params = p;
  s.layout = pyin_layout(p);
  s.n_periods = s.layout.max_period - s.layout.min_period + 1;
  const std::int64_t n_thresholds = static_cast<std::int64_t>(p.threshold_prior.size());
  s.thresholds.resize(n_thresholds + 1);
  const double step = 1.0 / static_cast<double>(n_thresholds);  // np.linspace: arange * step, end exact
  for (std::int64_t j = 0; j < n_thresholds; ++j) s.thresholds[j] = static_cast<double>(j) * step;
  s.thresholds[n_thresholds] = 1.0;
  s.no_trough_mass.resize(n_thresholds + 1);
  for (std::int64_t k = 0; k <= n_thresholds; ++k) {
    s.no_trough_mass[k] = pairwise_sum(p.threshold_prior.data(), k, 0, k - 1);
  }
  // scipy.stats.boltzmann._pmf: fact * exp(-lambda k), fact = (1 - exp(-lambda)) / (1 - exp(-lambda N)).
  const double lambda = p.boltzmann_parameter;
  const std::int64_t max_troughs = s.n_periods;
  s.decay.resize(max_troughs + 1);
  s.boltzmann_norm.assign(max_troughs + 1, 0.0);
  for (std::int64_t k = 0; k <= max_troughs; ++k) s.decay[k] = std::exp(-lambda * static_cast<double>(k));
  for (std::int64_t N = 1; N <= max_troughs; ++N) {
    s.boltzmann_norm[N] = (1.0 - std::exp(-lambda)) / (1.0 - std::exp(-lambda * static_cast<double>(N)));
  }
  // fmin * 2 ** (np.arange(n_pitch_bins) / (12 * n_bins_per_semitone))
  const double per_octave = static_cast<double>(12 * s.layout.bins_per_semitone);
  s.frequencies.resize(s.layout.n_pitch_bins);
  for (std::int64_t k = 0; k < s.layout.n_pitch_bins; ++k) {
    s.frequencies[k] = p.fmin * std::pow(2.0, static_cast<double>(k) / per_octave);
  }
  return s;
}

// Per-thread buffers for one frame's analysis.
struct Workspace {
  explicit Workspace(const Setup& s)
      : fft(s.layout.fft_size), frame(s.layout.fft_size), spectrum(fft.num_bins()),
        energy(s.layout.max_period + 1), difference(s.layout.max_period + 1), yin(s.n_periods) {
    troughs.reserve(s.n_periods);
    heights.reserve(s.n_periods);
    probs.reserve(s.n_periods);
  }
  RealFFT<double> fft;
  AlignedBuffer<double> frame;
  AlignedBuffer<std::complex<double>> spectrum;
  std::vector<double> energy, difference, yin;
  std::vector<std::int64_t> troughs;
  std::vector<double> heights, probs;
};

// __pyin_helper and what feeds it, for one frame: writes the candidates (pitch
// bin, probability; in decreasing bin order, one per bin) and returns the voiced
// probability. single_frame: the signal has one frame only, where numpy sums the
// bins pairwise instead of one by one.
template <typename T>
double analyse_frame(const T* y, std::int64_t n, std::int64_t t, const Setup& s, Workspace& w, bool single_frame,
                     std::vector<Candidate>& candidates) {
  const PyinParams& p = s.params;
  const PyinLayout& layout = s.layout;
  const std::int64_t W = p.frame_length, N = layout.fft_size;
  const std::int64_t min_period = layout.min_period, max_period = layout.max_period;
  const std::int64_t start = t * p.hop_length - (p.center ? W / 2 : 0);
  double* x = w.frame.data();
  if (start >= 0 && start + W <= n) {
    for (std::int64_t k = 0; k < W; ++k) x[k] = static_cast<double>(y[start + k]);
  } else {
    for (std::int64_t k = 0; k < W; ++k) {
      std::int64_t i = start + k;
      if (i < 0 || i >= n) i = detail::padded_index(i, n, p.pad_mode);
      x[k] = i < 0 ? 0.0 : static_cast<double>(y[i]);
    }
  }
  std::fill(x + W, x + N, 0.0);

  // _cumulative_mean_normalized_difference. Energy: np.cumsum(y ** 2), whose
  // first entry librosa zeroes before it is used.
  double* energy = w.energy.data();
  double running = 0.0;
  for (std::int64_t k = 0; k < max_period; ++k) {
    running += x[k] * x[k];
    energy[k] = running;
  }
  energy[0] = 0.0;
  // Autocorrelation (librosa.autocorrelate): irfft(|rfft(frame, N)|^2) / N, exact
  // up to lag N - W >= max_period.
  w.fft.forward(x, w.spectrum.data());
  for (std::int64_t k = 0; k < w.fft.num_bins(); ++k) w.spectrum[k] = std::norm(w.spectrum[k]);
  w.fft.inverse(w.spectrum.data(), x);
  const double scale = 1.0 / static_cast<double>(N);
  const double acf0 = x[0] * scale;
  // d(k) = 2 (r(0) - r(k)) - sum_{m < k} y(m)^2; cumulative mean by np.cumsum / k.
  double* difference = w.difference.data();
  double* yin = w.yin.data();
  double cumulative = 0.0;
  for (std::int64_t k = 1; k <= max_period; ++k) {
    difference[k] = 2.0 * (acf0 - x[k] * scale) - energy[k - 1];
    cumulative += difference[k];
    if (k >= min_period) {
      const double mean = cumulative / static_cast<double>(k);
      yin[k - min_period] = difference[k] / (mean + kTiny);
    }
  }

  // Troughs (librosa.util.localmin, plus the first lag when it is below the second).
  const std::int64_t P = s.n_periods;
  auto& troughs = w.troughs;
  auto& heights = w.heights;
  troughs.clear();
  heights.clear();
  if (yin[0] < yin[1]) troughs.push_back(0);
  for (std::int64_t i = 1; i + 1 < P; ++i) {
    if (yin[i] < yin[i - 1] && yin[i] <= yin[i + 1]) troughs.push_back(i);
  }
  if (yin[P - 1] < yin[P - 2]) troughs.push_back(P - 1);
  candidates.clear();
  if (troughs.empty()) return 0.0;
  const std::int64_t m = static_cast<std::int64_t>(troughs.size());
  for (std::int64_t trough : troughs) heights.push_back(yin[trough]);

  // Each threshold below which some troughs lie gives them its prior mass, shared
  // by the Boltzmann prior over their order (smaller periods first):
  // probs = trough_prior.dot(beta_probs), summed here threshold by threshold.
  auto& probs = w.probs;
  probs.assign(m, 0.0);
  const std::int64_t n_thresholds = static_cast<std::int64_t>(p.threshold_prior.size());
  for (std::int64_t j = 0; j < n_thresholds; ++j) {
    const double threshold = s.thresholds[j + 1];
    std::int64_t below = 0;
    for (std::int64_t i = 0; i < m; ++i) below += heights[i] < threshold;
    if (below == 0) continue;  // adds 0 * prior to every trough
    const double norm = s.boltzmann_norm[below], prior = p.threshold_prior[j];
    std::int64_t position = 0;
    for (std::int64_t i = 0; i < m; ++i) {
      if (heights[i] < threshold) {
        const double pmf = std::min(std::max(norm * s.decay[position], 0.0), 1.0);  // rv_discrete.pmf clips
        probs[i] += pmf * prior;
        ++position;
      }
    }
  }
  // The lowest trough also takes no_trough_prob of the mass of the thresholds it is not below.
  const std::int64_t lowest = std::min_element(heights.begin(), heights.end()) - heights.begin();
  std::int64_t not_below = 0;
  for (std::int64_t j = 0; j < n_thresholds; ++j) not_below += !(heights[lowest] < s.thresholds[j + 1]);
  probs[lowest] += p.no_trough_prob * s.no_trough_mass[not_below];

  // Candidates: every trough of non-zero probability (np.nonzero), its period
  // refined by parabolic interpolation (librosa's _pi_stencil), binned by rounding
  // (half to even) and clipped to [0, n_pitch_bins]. Bin n_pitch_bins is the first
  // unvoiced state, which librosa overwrites; a later trough in the same bin
  // overwrites an earlier one.
  const std::int64_t n_bins = layout.n_pitch_bins;
  const double per_octave = static_cast<double>(12 * layout.bins_per_semitone);
  for (std::int64_t i = 0; i < m; ++i) {
    if (probs[i] == 0.0) continue;
    const std::int64_t lag = troughs[i];
    double shift = 0.0;
    if (lag > 0 && lag < P - 1) {
      const double a = yin[lag + 1] + yin[lag - 1] - 2.0 * yin[lag];
      const double b = (yin[lag + 1] - yin[lag - 1]) / 2.0;
      shift = std::fabs(b) >= std::fabs(a) ? 0.0 : -b / a;
    }
    const double period = static_cast<double>(min_period + lag) + shift;
    const double f0 = p.sample_rate / period;
    double bin = std::nearbyint(per_octave * std::log2(f0 / p.fmin));
    if (std::isnan(bin)) continue;  // a YIN curve of inf / inf (overflowing input): no pitch
    bin = std::min(std::max(bin, 0.0), static_cast<double>(n_bins));
    const auto index = static_cast<std::int32_t>(bin);
    if (index == n_bins) continue;
    if (!candidates.empty() && candidates.back().bin == index) {
      candidates.back().prob = probs[i];
    } else {
      candidates.push_back({index, probs[i]});
    }
  }
  // np.sum over the voiced bins, in increasing bin order.
  double voiced = 0.0;
  if (single_frame) {
    std::vector<double> column(n_bins, 0.0);
    for (const Candidate& c : candidates) column[c.bin] = c.prob;
    voiced = pairwise_sum(column.data(), n_bins, 0, n_bins - 1);
  } else {
    for (auto c = candidates.rbegin(); c != candidates.rend(); ++c) voiced += c->prob;
  }
  return std::min(std::max(voiced, 0.0), 1.0);
}

}  // namespace

// ---------------------------------------------------------------- public

namespace pyin_detail {

double numpy_sum(const double* x, std::int64_t n) { return pairwise_sum(x, n, 0, n - 1); }

std::vector<double> triangle_window(std::int64_t width) {
  AK_CHECK(width >= 1, "transition_width", "must be positive, got " << width);
  if (width == 1) return {1.0};
  // n = arange(1, (M + 1) // 2 + 1); even M: (2n - 1) / M mirrored; odd: 2n / (M + 1), centre once.
  const std::int64_t half = (width + 1) / 2;
  std::vector<double> w(width);
  for (std::int64_t k = 0; k < half; ++k) {
    const double i = static_cast<double>(k + 1);
    const double value = width % 2 == 0 ? (2.0 * i - 1.0) / static_cast<double>(width)
                                        : 2.0 * i / (static_cast<double>(width) + 1.0);
    w[k] = value;
    w[width - 1 - k] = value;
  }
  return w;
}

double transition_local_raw(std::int64_t n, std::int64_t width, const std::vector<double>& window, std::int64_t i,
                            std::int64_t j) {
  // trans_row = np.roll(pad_center(window, size=n), n // 2 + i + 1), zero outside
  // [i - width // 2, i + width // 2].
  if (j < i - width / 2 || j > i + width / 2 || j < 0 || j >= n) return 0.0;
  const std::int64_t left = (n - width) / 2;  // pad_center's left padding
  const std::int64_t source = (((j - (n / 2 + i + 1)) % n) + n) % n;
  const std::int64_t k = source - left;
  return k >= 0 && k < width ? window[k] : 0.0;
}

}  // namespace pyin_detail

PyinLayout pyin_layout(const PyinParams& p) {
  const double sr = p.sample_rate;
  AK_CHECK(sr > 0 && std::isfinite(sr), "sr", "must be positive and finite, got " << sr);
  AK_CHECK(!std::isnan(p.fmin), "fmin", "must be a number, got " << p.fmin);
  AK_CHECK(!std::isnan(p.fmax), "fmax", "must be a number, got " << p.fmax);
  // librosa's __check_yin_params, in its order.
  AK_CHECK(p.fmax <= sr / 2, "fmax", "must not exceed the Nyquist frequency sr / 2 = " << sr / 2 << ", got " << p.fmax);
  AK_CHECK(p.fmin < p.fmax, "fmin", "must be below fmax = " << p.fmax << ", got " << p.fmin);
  AK_CHECK(p.fmin > 0, "fmin", "must be positive, got " << p.fmin);
  AK_CHECK(p.frame_length >= 1 && sr / p.fmin < static_cast<double>(p.frame_length - 1), "frame_length",
           "is " << p.frame_length << " but one period of fmin = " << p.fmin << " Hz is " << sr / p.fmin
                 << " samples at sr = " << sr << "; frame_length must exceed it by more than one sample ("
                 << static_cast<std::int64_t>(std::ceil(sr / p.fmin)) + 2 << " or more), or raise fmin above "
                 << sr / static_cast<double>(p.frame_length - 1));
  AK_CHECK(p.hop_length >= 1, "hop_length", "must be a positive number of samples, got " << p.hop_length);
  AK_CHECK(!p.threshold_prior.empty(), "n_thresholds", "must be positive, got 0");
  for (double mass : p.threshold_prior) {
    AK_CHECK(std::isfinite(mass) && mass >= 0, "beta_parameters",
             "give a threshold prior that is not a finite non-negative mass: " << mass);
  }
  AK_CHECK(p.boltzmann_parameter > 0 && std::isfinite(p.boltzmann_parameter), "boltzmann_parameter",
           "must be positive and finite, got " << p.boltzmann_parameter);
  AK_CHECK(p.resolution > 0 && std::isfinite(p.resolution), "resolution",
           "must be positive and finite, got " << p.resolution);
  AK_CHECK(p.max_transition_rate >= 0 && std::isfinite(p.max_transition_rate), "max_transition_rate",
           "must be non-negative and finite, got " << p.max_transition_rate);
  AK_CHECK(p.switch_prob >= 0 && p.switch_prob <= 1, "switch_prob", "must lie in [0, 1], got " << p.switch_prob);
  AK_CHECK(p.no_trough_prob >= 0 && p.no_trough_prob <= 1, "no_trough_prob",
           "must lie in [0, 1], got " << p.no_trough_prob);
  PyinLayout layout;
  layout.min_period = static_cast<std::int64_t>(std::floor(sr / p.fmax));
  layout.max_period = std::min(static_cast<std::int64_t>(std::ceil(sr / p.fmin)), p.frame_length - 1);
  const double per_semitone = std::ceil(1.0 / p.resolution);
  const double octaves = std::log2(p.fmax / p.fmin);
  const double bins = std::floor(12.0 * per_semitone * octaves) + 1.0;
  AK_CHECK(bins >= 2, "fmax",
           "gives a single pitch bin between fmin = " << p.fmin << " and fmax = " << p.fmax
                                                      << " at resolution = " << p.resolution
                                                      << "; librosa's transition matrix needs two or more");
  AK_CHECK(bins <= 32768, "resolution",
           "gives " << bins << " pitch bins (2 states each) between fmin and fmax; librosa's decoder stores "
                    << "states as uint16, so at most 32768 bins");
  layout.bins_per_semitone = static_cast<std::int64_t>(per_semitone);
  layout.n_pitch_bins = static_cast<std::int64_t>(bins);
  // Python's round (half to even) of max_transition_rate * 12 * hop_length / sr.
  const double semitones =
      std::nearbyint(p.max_transition_rate * 12.0 * static_cast<double>(p.hop_length) / sr);
  AK_CHECK(semitones * per_semitone + 1 <= bins, "max_transition_rate",
           "allows " << semitones << " semitones per hop (max_transition_rate * 12 * hop_length / sr), a band of "
                     << semitones * per_semitone + 1 << " bins, wider than the " << bins
                     << " pitch bins between fmin and fmax (librosa refuses this too); lower hop_length or "
                     << "max_transition_rate, or widen fmin..fmax");
  layout.transition_width = static_cast<std::int64_t>(semitones) * layout.bins_per_semitone + 1;
  layout.fft_size = next_fast_even(p.frame_length + layout.max_period);
  return layout;
}

std::int64_t pyin_num_frames(std::int64_t n_samples, const PyinParams& params) {
  pyin_layout(params);
  AK_CHECK(n_samples >= 0, "y", "length must be non-negative, got " << n_samples);
  const std::int64_t W = params.frame_length;
  AK_CHECK(!(params.center && n_samples == 0 && params.pad_mode != PadMode::Constant), "y",
           "is empty; only pad_mode='constant' can pad an empty signal");
  const std::int64_t padded = n_samples + (params.center ? 2 * (W / 2) : 0);
  AK_CHECK(padded >= W, "y",
           "has " << n_samples << " samples, too few for one frame of frame_length = " << W
                  << (params.center ? "" : " (center=False)"));
  return 1 + (padded - W) / params.hop_length;
}

template <typename T>
void pyin(const SignalBatch<T>& batch, const PyinParams& params, double* const* out, int num_threads) {
  AK_CHECK(batch.count >= 0, "y", "batch size must be non-negative, got " << batch.count);
  const Setup s = make_setup(params);
  const std::int64_t count = batch.count;
  std::vector<std::int64_t> first_frame(count + 1, 0);
  for (std::int64_t i = 0; i < count; ++i) {
    check_finite(batch.signals[i], batch.lengths[i], "y");
    first_frame[i + 1] = first_frame[i] + pyin_num_frames(batch.lengths[i], params);
  }
  const std::int64_t total = first_frame[count];
  std::vector<std::vector<Candidate>> candidates(total);
  std::vector<double> voiced_prob(total);
  // Frames of all signals are independent until the decoder.
  parallel_for(total, num_threads, [&](std::int64_t begin, std::int64_t end) {
    Workspace workspace(s);
    std::int64_t signal = std::upper_bound(first_frame.begin(), first_frame.end(), begin) - first_frame.begin() - 1;
    for (std::int64_t frame = begin; frame < end; ++frame) {
      interruption_point();
      while (frame >= first_frame[signal + 1]) ++signal;
      const bool single = first_frame[signal + 1] - first_frame[signal] == 1;
      voiced_prob[frame] = analyse_frame(batch.signals[signal], batch.lengths[signal], frame - first_frame[signal],
                                         s, workspace, single, candidates[frame]);
    }
  });
  const BandedTransition transition =
      make_transition(s.layout.n_pitch_bins, s.layout.transition_width, params.switch_prob);
  const std::int64_t n = s.layout.n_pitch_bins;
  parallel_for(count, num_threads, [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::int64_t> states;
    for (std::int64_t i = begin; i < end; ++i) {
      const std::int64_t first = first_frame[i], n_frames = first_frame[i + 1] - first;
      // observation_probs: the candidates' probabilities in the voiced bins, (1 -
      // voiced_prob) / n_pitch_bins in every unvoiced one; logs of (prob + tiny).
      auto log_observation = [&](std::int64_t t, double* row) {
        std::fill(row, row + n, transition.log_tiny);
        for (const Candidate& c : candidates[first + t]) row[c.bin] = std::log(c.prob + kTiny);
        const double unvoiced = std::log((1.0 - voiced_prob[first + t]) / static_cast<double>(n) + kTiny);
        std::fill(row + n, row + 2 * n, unvoiced);
      };
      states.resize(n_frames);
      viterbi_banded(transition, n_frames, log_observation, states.data());
      double* f0 = out[i];
      double* voiced = out[i] + n_frames;
      double* probability = out[i] + 2 * n_frames;
      for (std::int64_t t = 0; t < n_frames; ++t) {
        f0[t] = s.frequencies[states[t] % n];
        voiced[t] = states[t] < n ? 1.0 : 0.0;
        probability[t] = voiced_prob[first + t];
      }
    }
  });
}

void pyin_viterbi(const double* observation_probs, std::int64_t n_frames, std::int64_t n_pitch_bins,
                  std::int64_t transition_width, double switch_prob, std::int64_t* states) {
  AK_CHECK(n_frames >= 0, "observation_probs", "must have a non-negative number of frames, got " << n_frames);
  const BandedTransition transition = make_transition(n_pitch_bins, transition_width, switch_prob);
  const std::int64_t S = 2 * n_pitch_bins;
  for (std::int64_t k = 0; k < S * n_frames; ++k) {
    const double prob = observation_probs[k];
    AK_CHECK(prob >= 0 && prob <= 1, "observation_probs",
             "must lie in [0, 1], found " << prob << " at flat index " << k);
  }
  viterbi_banded(
      transition, n_frames,
      [&](std::int64_t t, double* row) {
        for (std::int64_t k = 0; k < S; ++k) row[k] = std::log(observation_probs[k * n_frames + t] + kTiny);
      },
      states);
}

template void pyin<float>(const SignalBatch<float>&, const PyinParams&, double* const*, int);
template void pyin<double>(const SignalBatch<double>&, const PyinParams&, double* const*, int);

}  // namespace affectkit
