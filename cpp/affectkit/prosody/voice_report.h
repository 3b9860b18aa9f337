// Glottal pulses, jitter and shimmer as Praat's voice report: the pulses of
// "Sound & Pitch: To PointProcess (cc)" (Sound_Pitch_to_PointProcess_cc in
// Praat's fon/Pitch_to_PointProcess.cpp), the five jitter measures of
// PointProcess_getJitter_* and the six shimmer measures of
// PointProcess_Sound_getShimmer_* (fon/VoiceAnalysis.cpp, fon/AmplitudeTier.cpp),
// with Praat's period and amplitude-factor rules and Praat's rounding (sums in
// long double where Praat's are; no fused multiply-adds, see CMakeLists.txt).
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "affectkit/features/stft.h"  // SignalBatch

namespace affectkit {

// Praat's parameters of "Get jitter (local)..." and "Get shimmer (local)...".
struct VoiceReportParams {
  double sample_rate = 16000;      // Hz of the signal
  double from_time = 0;            // s; the time range, to_time <= from_time: the whole clip
  double to_time = 0;              // s
  double period_floor = 0.0001;    // s: shorter intervals are not periods
  double period_ceiling = 0.02;    // s: longer intervals are not periods (equal floor and ceiling: all are)
  double max_period_factor = 1.3;  // largest ratio of consecutive periods
  double max_amplitude_factor = 1.6;  // largest ratio of consecutive amplitudes (shimmer only)
};

// A clip's pitch contour laid out as Praat's Pitch object: frame i is centred at
// first_time + i * time_step (s) and voiced where f0[i] > 0 (Hz; NaN or 0 is
// unvoiced). The Pitch's domain is the clip's, [0, n_samples / sample_rate].
struct PitchContour {
  const double* f0;
  std::int64_t count;
  double first_time;
  double time_step;
};

// Measures of one clip. NaN where Praat's is undefined (too few pulses or
// periods, or none passing the period / amplitude-factor rules).
struct VoiceMeasures {
  static constexpr double undefined = std::numeric_limits<double>::quiet_NaN();
  std::int64_t num_pulses = 0;   // pulses in the time range
  std::int64_t num_periods = 0;  // intervals that count as periods (PointProcess_getNumberOfPeriods)
  double mean_period = undefined;             // s
  double stdev_period = undefined;            // s
  double jitter_local = undefined;            // fraction
  double jitter_local_absolute = undefined;   // s
  double jitter_rap = undefined;              // fraction
  double jitter_ppq5 = undefined;             // fraction
  double jitter_ddp = undefined;              // fraction (3 x rap)
  double shimmer_local = undefined;           // fraction
  double shimmer_local_db = undefined;        // dB
  double shimmer_apq3 = undefined;            // fraction
  double shimmer_apq5 = undefined;            // fraction
  double shimmer_apq11 = undefined;           // fraction
  double shimmer_dda = undefined;             // fraction (3 x apq3)
};

// Checks the parameters; throws InvalidArgument naming the first bad one.
void check_voice_report_params(const VoiceReportParams& params);

// Praat's "To PointProcess (cc)": glottal pulse times (s, ascending) of the
// signal y[0..n) sampled at sample_rate (first sample at 0.5 / sample_rate), from
// the middle of each voiced stretch outwards by waveform cross-correlation.
std::vector<double> point_process_cc(const double* y, std::int64_t n, double sample_rate, const PitchContour& pitch);

// Jitter and shimmer of a point process (times ascending, s) on the clip y[0..n)
// whose domain [0, n / sample_rate] is the point process's.
VoiceMeasures voice_measures(const double* pulses, std::int64_t num_pulses, const double* y, std::int64_t n,
                             const VoiceReportParams& params);

// Both, for each clip of a batch, in parallel over clips: pulses[i] (may be
// null) receives clip i's pulse times and measures[i] (may be null) its measures.
void voice_report(const SignalBatch<double>& batch, const PitchContour* pitch, const VoiceReportParams& params,
                  std::vector<double>* pulses, VoiceMeasures* measures, int num_threads);

// Building blocks, exposed for tests. Times are s; [tmin, tmax] is an already
// resolved window (Praat's Function_unidirectionalAutowindow happened before).
namespace praat {

// Praat's period rules: pmin == pmax accepts every interval.
struct PeriodRule {
  double pmin;
  double pmax;
  double max_period_factor;
};

// PointProcess_getWindowPoints: the 0-based [first, last] of the points in
// [tmin, tmax] (last < first when none).
void window_points(const double* t, std::int64_t n, double tmin, double tmax, std::int64_t* first, std::int64_t* last);

std::int64_t number_of_periods(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule);
double mean_period(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule);
double stdev_period(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule);
double jitter_local(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule);
double jitter_local_absolute(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule);
double jitter_rap(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule);
double jitter_ppq5(const double* t, std::int64_t n, double tmin, double tmax, const PeriodRule& rule);

// The pulse search's correlation sums for the eight shifts b + k, k = 0..7, of a
// window a[0, n): element k of norm2 and product is the sum of b[i + k]^2 and of
// a[i] b[i + k] over i < n. One shift at a time (the readable path, used where the
// signal's ends clip the shifts) and eight at once (the fast path): the two must
// agree to the bit. Reads b[0, n + 7).
void shift_sums_one_at_a_time(const double* a, const double* b, std::int64_t n, double* norm2, double* product);
void shift_sums_eight_at_once(const double* a, const double* b, std::int64_t n, double* norm2, double* product);

// PointProcess_Sound_to_AmplitudeTier_period: for each pulse whose two periods
// pass the rule, the Hann-windowed RMS of y over 0.2 period to either side.
// Returns false (Praat's "Too few pulses") when the window holds fewer than 3
// pulses; times and amplitudes are then empty.
bool period_amplitudes(const double* t, std::int64_t n, const double* y, std::int64_t n_samples, double sample_rate,
                       double tmin, double tmax, const PeriodRule& rule, std::vector<double>* times,
                       std::vector<double>* amplitudes);

// AmplitudeTier_getShimmer_*: on count (time, amplitude) points.
double shimmer_local(const double* t, const double* a, std::int64_t count, double pmin, double pmax, double max_factor);
double shimmer_local_db(const double* t, const double* a, std::int64_t count, double pmin, double pmax, double max_factor);
double shimmer_apq3(const double* t, const double* a, std::int64_t count, double pmin, double pmax, double max_factor);
double shimmer_apq5(const double* t, const double* a, std::int64_t count, double pmin, double pmax, double max_factor);
double shimmer_apq11(const double* t, const double* a, std::int64_t count, double pmin, double pmax, double max_factor);

}  // namespace praat

}  // namespace affectkit
