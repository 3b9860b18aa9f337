#include "affectkit/prosody/pitch.h"

#include <algorithm>
#include <complex>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/fft.h"
#include "affectkit/common/interrupt.h"
#include "affectkit/common/lanes.h"
#include "affectkit/common/thread_pool.h"

namespace affectkit {
namespace {

struct Candidate {
  double frequency = 0;  // 0: the unvoiced candidate
  double strength = 0;
};

// Everything that depends on the parameters only (Sound_to_Pitch_any's set-up).
struct Setup {
  bool cross_correlation;
  double dx, time_step, window_duration, analysis_duration, ceiling;
  std::int64_t max_candidates, period, half_period, window_size, half_window, maximum_lag, fft_size;
  std::int64_t interpolation_lags;  // brent_ixmax: lags kept for sinc interpolation
  std::int64_t refine_depth;        // sinc depth of the final peak refinement
  std::vector<double> window, window_autocorrelation;
};

Setup make_setup(const PraatPitchParams& p) {
  AK_CHECK(p.sample_rate > 0 && std::isfinite(p.sample_rate), "sr", "must be positive, got " << p.sample_rate);
  AK_CHECK(p.pitch_floor > 0 && std::isfinite(p.pitch_floor), "pitch_floor", "must be positive, got " << p.pitch_floor);
  AK_CHECK(p.pitch_ceiling > p.pitch_floor && std::isfinite(p.pitch_ceiling), "pitch_ceiling",
           "must be above pitch_floor = " << p.pitch_floor << ", got " << p.pitch_ceiling);
  AK_CHECK(p.time_step >= 0 && std::isfinite(p.time_step), "time_step", "must be >= 0 (0: automatic), got " << p.time_step);
  AK_CHECK(p.max_candidates >= 2 && p.max_candidates <= 1000, "max_candidates",
           "must be between 2 and 1000, got " << p.max_candidates);
  for (double value : {p.silence_threshold, p.voicing_threshold, p.octave_cost, p.octave_jump_cost, p.voiced_unvoiced_cost}) {
    AK_CHECK(std::isfinite(value), "voicing_threshold", "thresholds and costs must be finite");
  }
  AK_CHECK(p.periods_per_window > 0 && std::isfinite(p.periods_per_window), "periods_per_window",
           "must be positive, got " << p.periods_per_window);
  Setup s;
  s.cross_correlation = p.cross_correlation;
  s.dx = 1.0 / p.sample_rate;
  double periods = p.periods_per_window;
  s.time_step = p.time_step > 0 ? p.time_step : periods / p.pitch_floor / 4.0;
  s.max_candidates = p.max_candidates;
  if (static_cast<double>(s.max_candidates) < p.pitch_ceiling / p.pitch_floor) {
    s.max_candidates = static_cast<std::int64_t>(std::floor(p.pitch_ceiling / p.pitch_floor));
  }
  // Praat's methods: AC_HANNING, AC_GAUSS (very accurate), FCC_NORMAL, FCC_ACCURATE.
  double interpolation_depth = 0.5;
  s.refine_depth = p.very_accurate ? 700 : 70;
  if (p.cross_correlation) {
    interpolation_depth = 1.0;
  } else if (p.very_accurate) {  // the Gaussian window is twice as long
    periods *= 2;
    interpolation_depth = 0.25;
  }
  s.period = static_cast<std::int64_t>(std::floor(1.0 / s.dx / p.pitch_floor));
  s.half_period = s.period / 2 + 1;
  s.ceiling = std::min(p.pitch_ceiling, 0.5 / s.dx);
  s.window_duration = periods / p.pitch_floor;
  s.half_window = static_cast<std::int64_t>(std::floor(s.window_duration / s.dx)) / 2 - 1;
  AK_CHECK(s.half_window >= 2, "pitch_floor", "gives an analysis window of fewer than 6 samples at sr = " << p.sample_rate);
  s.window_size = 2 * s.half_window;
  s.maximum_lag = std::min(static_cast<std::int64_t>(std::floor(static_cast<double>(s.window_size) / periods)) + 2,
                           s.window_size);
  s.interpolation_lags = static_cast<std::int64_t>(std::floor(static_cast<double>(s.window_size) * interpolation_depth));
  // cc frames also reach one longest period beyond the window.
  s.analysis_duration = p.cross_correlation ? 1.0 / p.pitch_floor + s.window_duration : s.window_duration;
  s.fft_size = 1;
  if (p.cross_correlation) {  // room for the window plus the longest lag, without wrap-around
    while (s.fft_size < s.window_size + s.maximum_lag) s.fft_size *= 2;
    return s;
  }
  while (static_cast<double>(s.fft_size) < static_cast<double>(s.window_size) * (1 + interpolation_depth)) s.fft_size *= 2;
  return s;
}

// The ac methods' window and its normalised autocorrelation (what framing alone does not need).
void make_window(const PraatPitchParams& p, Setup& s) {
  if (s.cross_correlation) return;
  // Praat's windows (1-based i): Hanning 0.5 - 0.5 cos(2 pi i / (N + 1)); the
  // Gaussian reaches exp(-12) at the edges and is lifted to zero there.
  const double N = static_cast<double>(s.window_size);
  s.window.resize(s.window_size);
  for (std::int64_t j = 0; j < s.window_size; ++j) {
    const double i = static_cast<double>(j + 1);
    if (p.very_accurate) {
      const double middle = 0.5 * (N + 1), edge = std::exp(-12.0);
      s.window[j] = (std::exp(-48.0 * (i - middle) * (i - middle) / (N + 1) / (N + 1)) - edge) / (1.0 - edge);
    } else {
      s.window[j] = 0.5 - 0.5 * std::cos(i * 2 * M_PI / (N + 1));
    }
  }
  // The window's own autocorrelation, normalised: the frame's is divided by it.
  const RealFFT<double> fft(s.fft_size);
  AlignedBuffer<double> frame(s.fft_size);
  AlignedBuffer<std::complex<double>> spectrum(fft.num_bins());
  std::fill(frame.data(), frame.data() + s.fft_size, 0.0);
  std::copy(s.window.begin(), s.window.end(), frame.data());
  fft.forward(frame.data(), spectrum.data());
  for (std::int64_t k = 0; k < fft.num_bins(); ++k) spectrum[k] = std::norm(spectrum[k]);
  fft.inverse(spectrum.data(), frame.data());
  s.window_autocorrelation.assign(frame.data(), frame.data() + s.window_size);
  for (double& value : s.window_autocorrelation) value /= frame[0];
}

PitchFrames frames_of(std::int64_t n, const Setup& s) {
  // Sampled_shortTermAnalysis: as many windows as fit, centred in the signal.
  const double duration = s.dx * static_cast<double>(n);
  if (n < 1 || s.analysis_duration > duration) return {0, 0.0, s.time_step};
  const std::int64_t count = static_cast<std::int64_t>(std::floor((duration - s.analysis_duration) / s.time_step)) + 1;
  const double x1 = 0.5 * s.dx;  // the first sample's time
  const double middle = x1 - 0.5 * s.dx + 0.5 * duration;
  return {count, middle - 0.5 * static_cast<double>(count) * s.time_step + 0.5 * s.time_step, s.time_step};
}

// Per-thread buffers for the analysis of a pair of frames.
struct Workspace {
  explicit Workspace(const Setup& s)
      : fft(s.fft_size), pair_fft(s.fft_size), window(s.fft_size), later(s.fft_size), spectrum(fft.num_bins()),
        later_spectrum(fft.num_bins()), packed(s.fft_size), transformed(s.fft_size),
        lags{std::vector<double>(2 * s.interpolation_lags + 1), std::vector<double>(2 * s.interpolation_lags + 1)},
        peak_lag(s.max_candidates) {}
  RealFFT<double> fft;
  ComplexFFT pair_fft;
  AlignedBuffer<double> window, later;  // cc only: the window and the signal after it
  AlignedBuffer<std::complex<double>> spectrum, later_spectrum;  // cc only
  AlignedBuffer<std::complex<double>> packed, transformed;      // ac: a pair's frames, their autocorrelations
  std::vector<double> lags[2];  // r[-L..L] at lags[L + lag], L = interpolation_lags
  std::vector<std::int64_t> peak_lag;
  std::vector<Candidate> candidates;  // frame_candidates' scratch
};

// The forward cross-correlation of one window with the signal lag samples later,
// normalised by both energies (Praat's cc methods), into r[-L..L]. Praat sums the
// products directly in long double; here they come from one FFT correlation in
// double (the same values to ~1e-15, and O(n log n) instead of O(n^2)).
void cross_correlation(const double* y, std::int64_t n, double t, double mean, const Setup& s, double pitch_floor,
                       Workspace& w, double* r) {
  const std::int64_t N = s.window_size, L = s.interpolation_lags, M = s.fft_size;
  const double start_time = t - 0.5 * (1.0 / pitch_floor + s.window_duration);
  std::int64_t first = static_cast<std::int64_t>(std::floor((start_time - 0.5 * s.dx) / s.dx + 1.0)) - 1;
  first = std::max<std::int64_t>(first, 0);
  const std::int64_t span = std::min(s.maximum_lag + N, n - first);
  const std::int64_t maximum_lag = span - N;
  const double* x = y + first;
  double* window = w.window.data();
  double* later = w.later.data();
  for (std::int64_t i = 0; i < M; ++i) {
    window[i] = i < N ? x[i] - mean : 0.0;
    later[i] = i < span ? x[i] - mean : 0.0;
  }
  w.fft.forward(window, w.spectrum.data());
  w.fft.forward(later, w.later_spectrum.data());
  for (std::int64_t k = 0; k < w.fft.num_bins(); ++k) w.spectrum[k] = std::conj(w.spectrum[k]) * w.later_spectrum[k];
  w.fft.inverse(w.spectrum.data(), window);  // window[lag] * M = sum_j x[j] x[j + lag]
  long double sum_x2 = 0;
  for (std::int64_t i = 0; i < N; ++i) sum_x2 += (x[i] - mean) * (x[i] - mean);
  long double sum_y2 = sum_x2;  // at lag 0 the two windows are the same
  const double scale = 1.0 / static_cast<double>(M);
  for (std::int64_t lag = 1; lag <= maximum_lag; ++lag) {
    const double leaving = x[lag - 1] - mean, entering = x[lag - 1 + N] - mean;
    sum_y2 += entering * entering - leaving * leaving;
    r[lag] = r[-lag] = window[lag] * scale / std::sqrt(static_cast<double>(sum_x2) * static_cast<double>(sum_y2));
  }
  for (std::int64_t lag = std::max<std::int64_t>(maximum_lag + 1, 1); lag <= L; ++lag) r[lag] = r[-lag] = 0.0;
}

// Where the frame centred at time t lies (Sound_into_PitchFrame): its sample j is
// y[start + j], inside the signal for j in [inside_first, inside_end) and zero
// elsewhere; and its local mean, over one longest period to both sides (summed in
// lanes: Praat's one running sum differs in the last bits only).
struct FrameSpan {
  std::int64_t start = 0, inside_first = 0, inside_end = 0;
  double mean = 0;
};

FrameSpan frame_span(const double* y, std::int64_t n, double t, const Setup& s) {
  const std::int64_t left = static_cast<std::int64_t>(std::floor((t - 0.5 * s.dx) / s.dx + 1.0)) - 1;
  const std::int64_t right = left + 1;
  const std::int64_t mean_first = std::max<std::int64_t>(0, right - s.period);
  FrameSpan f;
  f.mean = lane_sum(y + mean_first, std::min(n - 1, left + s.period) - mean_first + 1) / static_cast<double>(2 * s.period);
  f.start = right - s.half_window;
  f.inside_first = std::clamp<std::int64_t>(-f.start, 0, s.window_size);
  f.inside_end = std::clamp<std::int64_t>(n - f.start, f.inside_first, s.window_size);
  return f;
}

// The frame's sample j: the local mean removed before windowing ('ac'); 0 outside the signal.
double frame_sample(const double* y, const FrameSpan& f, const Setup& s, std::int64_t j) {
  if (j < f.inside_first || j >= f.inside_end) return 0.0;
  const double centred = y[f.start + j] - f.mean;
  return s.cross_correlation ? centred : centred * s.window[j];
}

// The frame's local peak, over half a longest period to both sides of its centre.
double local_peak(const double* y, const FrameSpan& f, const Setup& s) {
  const std::int64_t first = std::max({std::int64_t{0}, s.half_window - s.half_period, f.inside_first});
  const std::int64_t end = std::min({s.window_size, s.half_window + s.half_period, f.inside_end});
  Lanes peaks = {};
  std::int64_t j = first;
  for (; j + kLanes <= end; j += kLanes) {
    Lanes v = load_lanes(y + f.start + j) - f.mean;
    if (!s.cross_correlation) v *= load_lanes(s.window.data() + j);
    const Lanes magnitude = v < 0 ? -v : v;
    peaks = magnitude > peaks ? magnitude : peaks;
  }
  double peak = 0;
  for (int k = 0; k < kLanes; ++k) peak = std::max(peak, peaks[k]);
  for (; j < end; ++j) peak = std::max(peak, std::fabs(frame_sample(y, f, s, j)));
  return peak;
}

// The two windowed frames of a pair ('ac'), straight into the complex input of
// autocorrelate_two (fft_size values a + i b: a's samples the real parts, b's the
// imaginary ones), zeros after the windows; b may be absent (zeros). One pass where
// writing each frame and then interleaving them took two.
void window_pair(const double* y, const FrameSpan& a, const FrameSpan* b, const Setup& s, double* packed) {
  const FrameSpan none;  // inside nowhere
  const FrameSpan& other = b != nullptr ? *b : none;
  const std::int64_t both_first = std::max(a.inside_first, other.inside_first);
  const std::int64_t both_end = std::min(a.inside_end, other.inside_end);
  std::int64_t j = 0;
  for (; j < both_first; ++j) {
    packed[2 * j] = frame_sample(y, a, s, j);
    packed[2 * j + 1] = frame_sample(y, other, s, j);
  }
  for (; j + kLanes <= both_end; j += kLanes) {  // the whole window, but at the signal's ends
    const Lanes window = load_lanes(s.window.data() + j);
    const Lanes va = (load_lanes(y + a.start + j) - a.mean) * window;
    const Lanes vb = (load_lanes(y + other.start + j) - other.mean) * window;
    store_lanes(packed + 2 * j, __builtin_shufflevector(va, vb, 0, 8, 1, 9, 2, 10, 3, 11));
    store_lanes(packed + 2 * j + kLanes, __builtin_shufflevector(va, vb, 4, 12, 5, 13, 6, 14, 7, 15));
  }
  for (; j < s.window_size; ++j) {
    packed[2 * j] = frame_sample(y, a, s, j);
    packed[2 * j + 1] = frame_sample(y, other, s, j);
  }
  std::fill(packed + 2 * s.window_size, packed + 2 * s.fft_size, 0.0);
}

// The normalised autocorrelations r[-L..L] of the two windowed frames in w.packed (see
// window_pair), by autocorrelate_two: two frames for the price of about one. A frame's pair is
// fixed (frames 2j and 2j + 1 of a signal, the last one alone against zeros), so its
// rounding does not depend on the batch or the threads. Each is normalised by its zero
// lag and divided by the window's autocorrelation.
void autocorrelate_pair(const Setup& s, Workspace& w, double* r_a, double* r_b) {
  autocorrelate_two(w.pair_fft, w.packed.data(), w.transformed.data());
  const double* c = reinterpret_cast<const double*>(w.transformed.data());  // M (r_a + i r_b), interleaved
  for (int part = 0; part < 2; ++part) {
    double* r = part == 0 ? r_a : r_b;
    r[0] = 1.0;
    if (c[part] == 0.0) continue;  // a silent frame (its candidates are not asked for)
    for (std::int64_t i = 1; i <= s.interpolation_lags; ++i) {
      r[i] = r[-i] = c[2 * i + part] / (c[part] * s.window_autocorrelation[i]);
    }
  }
}

// Sound_into_PitchFrame's candidates from the frame's normalised correlation
// r[-L..L] (lags[0..2L]): the unvoiced candidate and up to max_candidates - 1 peaks.
std::vector<Candidate> frame_candidates(const double* lags, const Setup& s, const PraatPitchParams& p, Workspace& w) {
  const std::int64_t L = s.interpolation_lags;
  const double* r = lags + L;
  // Gathered in the thread's scratch and returned at their own size: reserving
  // max_candidates per frame (106 for harmonicity at 16 kHz) made tens of megabytes,
  // which came page by page from the kernel on every call.
  std::vector<Candidate>& candidates = w.candidates;
  candidates.assign(1, Candidate{});  // the unvoiced candidate is always there
  const double minimum_pitch = p.pitch_floor;
  auto octave_weighted = [&](const Candidate& c) { return c.strength - p.octave_cost * std::log2(minimum_pitch / c.frequency); };
  // Sinc interpolation for the strength, needed only to choose the weakest when there are
  // more peaks than places (the refinement replaces it): made when that first happens.
  auto estimate_strength = [&](Candidate& c) {
    const double strength = praat::interpolate_sinc(lags, 2 * L + 1, 1.0 / s.dx / c.frequency + static_cast<double>(L), 30);
    c.strength = strength > 1.0 ? 1.0 / strength : strength;  // short windows overshoot: reflect around 1
  };
  bool estimated = false;
  auto add_peak = [&](std::int64_t i) {
    // Parabolic interpolation for the lag.
    const double dr = 0.5 * (r[i + 1] - r[i - 1]), d2r = 2.0 * r[i] - r[i - 1] - r[i + 1];
    Candidate candidate{1.0 / s.dx / (static_cast<double>(i) + dr / d2r), 0.0};
    std::size_t place = 0;
    if (static_cast<std::int64_t>(candidates.size()) < s.max_candidates) {
      candidates.push_back(candidate);
      place = candidates.size() - 1;
    } else {  // replace the weakest, favouring high frequencies (octave cost)
      if (!estimated) {
        for (std::size_t k = 1; k < candidates.size(); ++k) estimate_strength(candidates[k]);
        estimated = true;
      }
      estimate_strength(candidate);
      double weakest = 2.0;
      for (std::size_t k = 1; k < candidates.size(); ++k) {
        if (octave_weighted(candidates[k]) < weakest) {
          weakest = octave_weighted(candidates[k]);
          place = k;
        }
      }
      if (octave_weighted(candidate) <= weakest) place = 0;
      if (place != 0) candidates[place] = candidate;
    }
    if (place != 0) w.peak_lag[place] = i;
  };
  // The peaks above half the voicing threshold, in order of lag: eight lags tested at
  // once (few are peaks), each peak then taken on its own.
  const double threshold = 0.5 * p.voicing_threshold;
  const std::int64_t end = std::min(s.maximum_lag, L);
  std::int64_t lag = 2;
  for (; lag + kLanes <= end; lag += kLanes) {
    const Lanes v = load_lanes(r + lag);
    const LaneMask peak = (v > threshold) & (v > load_lanes(r + lag - 1)) & (v >= load_lanes(r + lag + 1));
    if (!any_lane(peak)) continue;
    for (int j = 0; j < kLanes; ++j) {
      if (peak[j]) add_peak(lag + j);
    }
  }
  for (; lag < end; ++lag) {
    if (r[lag] > threshold && r[lag] > r[lag - 1] && r[lag] >= r[lag + 1]) add_peak(lag);
  }
  // Refine each peak by maximising the sinc interpolation on the two intervals around
  // it: Newton (Halley) from the quartic's vertex lands on the maximum that Praat's Brent finds
  // to its tolerance (~1e-8 |x|) in ~1.45 full and one cheaper confirming pass over the
  // terms (each ~2 interpolations) instead of Brent's ~15 interpolations; where Newton
  // gives up, Brent itself (in Praat's 1-based index coordinates so that the tolerance is
  // the same).
  for (std::size_t k = 1; k < candidates.size(); ++k) {
    // Not refined where it cannot be chosen: the refined lag stays below i + 1, so the
    // frequency stays at or above the ceiling, voiceless like the unvoiced candidate 0,
    // which find_path takes on ties (its parabolic estimate is voiceless too).
    if (1.0 / s.dx / static_cast<double>(w.peak_lag[k] + 1) >= s.ceiling) continue;
    const std::int64_t depth = candidates[k].frequency > 0.3 / s.dx ? 700 : s.refine_depth;
    const std::int64_t i = w.peak_lag[k];
    const double centre = static_cast<double>(i + L);
    double x = praat::sinc_peak_start(lags, 2 * L + 1, i + L), strength;
    if (!praat::maximize_sinc_newton(lags, 2 * L + 1, depth, i + L, &x, &strength)) {
      double minimum;
      x = praat::minimize_brent(
              [&](double x1) { return -praat::interpolate_sinc(lags, 2 * L + 1, x1 - 1.0, depth); },
              centre, centre + 2.0, 1e-10, &minimum) -
          1.0;
      strength = -minimum;
    }
    const double lag = x - static_cast<double>(L);
    candidates[k].frequency = 1.0 / s.dx / lag;
    candidates[k].strength = strength > 1.0 ? 1.0 / strength : strength;
  }
  return {candidates.begin(), candidates.end()};
}

// Pitch_pathFinder: the Viterbi path through the candidates of n frames; writes the
// chosen candidate of each frame.
void find_path(const std::vector<Candidate>* frames, const double* intensity, std::int64_t n, const Setup& s,
               const PraatPitchParams& p, double* f0, double* strength) {
  if (n == 0) return;
  const double correction = 0.01 / s.time_step;  // costs are defined per 10 ms
  const double jump_cost = p.octave_jump_cost * correction, vu_cost = p.voiced_unvoiced_cost * correction;
  const double ceiling = s.ceiling;
  auto voiceless = [&](double f) { return !(f > 0.0 && f < ceiling); };
  // The frames' scores and back-pointers in one buffer each (frame t's from first[t]),
  // not two allocations per frame.
  std::vector<std::size_t> first(n + 1, 0);
  for (std::int64_t t = 0; t < n; ++t) first[t + 1] = first[t] + frames[t].size();
  std::vector<double> scores(first[n]), octaves(first[n]);  // octaves: log2 of the frequency, once per candidate
  std::vector<std::int64_t> back_pointers(first[n], 0);
  auto delta = [&](std::int64_t t) { return scores.data() + first[t]; };
  auto psi = [&](std::int64_t t) { return back_pointers.data() + first[t]; };
  auto octave = [&](std::int64_t t) { return octaves.data() + first[t]; };
  for (std::int64_t t = 0; t < n; ++t) {
    double unvoiced = p.silence_threshold <= 0 ? 0 : 2 - intensity[t] / (p.silence_threshold / (1 + p.voicing_threshold));
    unvoiced = p.voicing_threshold + (unvoiced > 0 ? unvoiced : 0);
    for (std::size_t c = 0; c < frames[t].size(); ++c) {
      const Candidate& candidate = frames[t][c];
      octave(t)[c] = voiceless(candidate.frequency) ? 0.0 : std::log2(candidate.frequency);
      delta(t)[c] = voiceless(candidate.frequency)
                        ? unvoiced
                        : candidate.strength - p.octave_cost * std::log2(ceiling / candidate.frequency);
    }
  }
  for (std::int64_t t = 1; t < n; ++t) {
    interruption_point();
    for (std::size_t c2 = 0; c2 < frames[t].size(); ++c2) {
      const double f2 = frames[t][c2].frequency;
      double maximum = -1e30;
      std::int64_t place = 0;
      for (std::size_t c1 = 0; c1 < frames[t - 1].size(); ++c1) {
        const double f1 = frames[t - 1][c1].frequency;
        double transition;
        if (voiceless(f2)) {
          transition = voiceless(f1) ? 0.0 : vu_cost;
        } else {
          transition = voiceless(f1) ? vu_cost : jump_cost * std::fabs(octave(t - 1)[c1] - octave(t)[c2]);
        }
        const double value = delta(t - 1)[c1] - transition + delta(t)[c2];
        if (value > maximum) {
          maximum = value;
          place = static_cast<std::int64_t>(c1);
        }
      }
      delta(t)[c2] = maximum;
      psi(t)[c2] = place;
    }
  }
  std::int64_t place = 0;
  for (std::size_t c = 1; c < frames[n - 1].size(); ++c) {
    if (delta(n - 1)[c] > delta(n - 1)[place]) place = static_cast<std::int64_t>(c);
  }
  for (std::int64_t t = n - 1; t >= 0; --t) {
    const Candidate& chosen = frames[t][place];
    f0[t] = chosen.frequency;
    strength[t] = chosen.strength;
    place = psi(t)[place];
  }
}

}  // namespace


PitchFrames praat_pitch_frames(std::int64_t n_samples, const PraatPitchParams& params) {
  AK_CHECK(n_samples >= 0, "y", "length must be non-negative, got " << n_samples);
  return frames_of(n_samples, make_setup(params));
}

void praat_pitch(const SignalBatch<double>& batch, const PraatPitchParams& params, double* const* out,
                 int num_threads) {
  Setup s = make_setup(params);
  make_window(params, s);
  const double* const* signals = batch.signals;
  const std::int64_t* lengths = batch.lengths;
  const std::int64_t count = batch.count;
  std::vector<PitchFrames> framing(count);
  std::vector<double> global_peak(count, 0.0);
  std::vector<std::int64_t> first_frame(count + 1, 0), first_pair(count + 1, 0);
  for (std::int64_t i = 0; i < count; ++i) {
    check_finite(signals[i], lengths[i], "y");
    framing[i] = frames_of(lengths[i], s);
    first_frame[i + 1] = first_frame[i] + framing[i].count;
    first_pair[i + 1] = first_pair[i] + (framing[i].count + 1) / 2;
    // The global peak (about the mean) sets the silence threshold: the largest |y - mean|
    // is that of an extreme (y - mean rounds monotonically in y).
    if (lengths[i] > 0) {
      const double mean = lane_sum(signals[i], lengths[i]) / static_cast<double>(lengths[i]);
      double low, high;
      lane_min_max(signals[i], lengths[i], &low, &high);
      global_peak[i] = std::max(high - mean, mean - low);
    }
  }
  const std::int64_t total = first_frame[count];
  std::vector<std::vector<Candidate>> candidates(total);
  std::vector<double> intensity(total, 0.0);
  // Frames of all signals are independent until the path search. They go in pairs of
  // one signal (2j, 2j + 1), the unit of autocorrelate_pair, so that a frame's pair
  // does not depend on the batch or the threads.
  parallel_for(first_pair[count], num_threads, [&](std::int64_t begin, std::int64_t end) {
    Workspace w(s);
    std::int64_t signal = std::upper_bound(first_pair.begin(), first_pair.end(), begin) - first_pair.begin() - 1;
    for (std::int64_t pair = begin; pair < end; ++pair) {
      interruption_point();
      while (pair >= first_pair[signal + 1]) ++signal;
      const std::int64_t first = first_frame[signal] + 2 * (pair - first_pair[signal]);
      const std::int64_t frames = std::min<std::int64_t>(2, first_frame[signal + 1] - first);
      if (global_peak[signal] == 0.0) {  // all silent: only the unvoiced candidate
        for (std::int64_t f = first; f < first + frames; ++f) candidates[f].assign(1, Candidate{});
        continue;
      }
      const double* y = signals[signal];
      double peak[2] = {0.0, 0.0}, t[2] = {0.0, 0.0};
      FrameSpan spans[2];
      for (std::int64_t j = 0; j < frames; ++j) {
        t[j] = framing[signal].first_time + static_cast<double>(first + j - first_frame[signal]) * s.time_step;
        spans[j] = frame_span(y, lengths[signal], t[j], s);
        peak[j] = local_peak(y, spans[j], s);
        intensity[first + j] = peak[j] > global_peak[signal] ? 1.0 : peak[j] / global_peak[signal];
      }
      const std::int64_t L = s.interpolation_lags;
      if (!s.cross_correlation && (peak[0] > 0.0 || peak[1] > 0.0)) {  // a last frame alone: its pair is zeros
        window_pair(y, spans[0], frames == 2 ? &spans[1] : nullptr, s, reinterpret_cast<double*>(w.packed.data()));
        autocorrelate_pair(s, w, w.lags[0].data() + L, w.lags[1].data() + L);
      }
      for (std::int64_t j = 0; j < frames; ++j) {
        if (peak[j] == 0.0) {  // only the unvoiced candidate
          candidates[first + j].assign(1, Candidate{});
          continue;
        }
        if (s.cross_correlation) {
          w.lags[j][L] = 1.0;
          cross_correlation(y, lengths[signal], t[j], spans[j].mean, s, params.pitch_floor, w, w.lags[j].data() + L);
        }
        candidates[first + j] = frame_candidates(w.lags[j].data(), s, params, w);
      }
    }
  });
  parallel_for(count, num_threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const std::int64_t n = first_frame[i + 1] - first_frame[i];
      find_path(candidates.data() + first_frame[i], intensity.data() + first_frame[i], n, s, params, out[i], out[i] + n);
    }
  });
}

}  // namespace affectkit
