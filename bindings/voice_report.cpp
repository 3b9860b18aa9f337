// Bindings for cpp/affectkit/prosody/voice_report: Praat's glottal pulses
// ("To PointProcess (cc)"), jitter and shimmer, per clip of a batch.
#include <pybind11/stl.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "affectkit/prosody/voice_report.h"
#include "array.h"

namespace affectkit::bindings {
namespace {

// The clips, their pitch contours (one F0 row per clip: a 2-D array or a list
// of 1-D float64 arrays, NaN or 0 where unvoiced) and the contours' frame times
// (frame i of clip c at first_times[c] + i * time_steps[c], as Praat's x1 + (i - 1) dx).
struct ClipsAndContours {
  SignalList<double> signals;
  SignalList<double> f0;
  std::vector<PitchContour> contours;
};

ClipsAndContours clips_and_contours(const py::handle& y, const py::handle& f0, const std::vector<double>& first_times,
                                    const std::vector<double>& time_steps) {
  precision_of(first_signal(y), "y");
  ClipsAndContours c{signal_list<double>(y, "y"), signal_list<double>(f0, "pitch"), {}};
  const std::size_t count = c.signals.lengths.size();
  if (c.f0.lengths.size() != count || first_times.size() != count || time_steps.size() != count) {
    value_error("pitch", "needs one contour per clip: got " + std::to_string(c.f0.lengths.size()) + " contours, " +
                             std::to_string(first_times.size()) + " first frame times and " +
                             std::to_string(time_steps.size()) + " time steps for " + std::to_string(count) + " clips");
  }
  for (std::size_t i = 0; i < count; ++i) {
    c.contours.push_back(PitchContour{c.f0.pointers[i], c.f0.lengths[i], first_times[i], time_steps[i]});
  }
  return c;
}

py::list point_process_binding(const py::handle& y, const py::handle& f0, const std::vector<double>& first_times,
                               const std::vector<double>& time_steps, double sr, int num_threads) {
  ClipsAndContours c = clips_and_contours(y, f0, first_times, time_steps);
  VoiceReportParams params;
  params.sample_rate = sr;
  const auto count = static_cast<std::int64_t>(c.contours.size());
  std::vector<std::vector<double>> pulses(count);
  {
    WithoutGil without_gil;
    const SignalBatch<double> batch{c.signals.pointers.data(), c.signals.lengths.data(), count};
    voice_report(batch, c.contours.data(), params, pulses.data(), nullptr, num_threads);
  }
  py::list out;
  for (const std::vector<double>& times : pulses) {
    Array<double> array(static_cast<py::ssize_t>(times.size()));
    std::copy(times.begin(), times.end(), array.mutable_data());
    out.append(std::move(array));
  }
  return out;
}

// {name: (n_clips,) array}: counts as int64, the rest float64 (NaN = undefined).
py::dict voice_report_binding(const py::handle& y, const py::handle& f0, const std::vector<double>& first_times,
                              const std::vector<double>& time_steps, const VoiceReportParams& params,
                              int num_threads) {
  check_voice_report_params(params);
  ClipsAndContours c = clips_and_contours(y, f0, first_times, time_steps);
  const auto count = static_cast<std::int64_t>(c.contours.size());
  std::vector<VoiceMeasures> measures(count);
  {
    WithoutGil without_gil;
    const SignalBatch<double> batch{c.signals.pointers.data(), c.signals.lengths.data(), count};
    voice_report(batch, c.contours.data(), params, nullptr, measures.data(), num_threads);
  }
  py::dict out;
  auto counts = [&](const char* name, std::int64_t VoiceMeasures::*field) {
    Array<std::int64_t> array(count);
    for (std::int64_t i = 0; i < count; ++i) array.mutable_data()[i] = measures[i].*field;
    out[name] = std::move(array);
  };
  auto values = [&](const char* name, double VoiceMeasures::*field) {
    Array<double> array(count);
    for (std::int64_t i = 0; i < count; ++i) array.mutable_data()[i] = measures[i].*field;
    out[name] = std::move(array);
  };
  counts("num_pulses", &VoiceMeasures::num_pulses);
  counts("num_periods", &VoiceMeasures::num_periods);
  values("mean_period", &VoiceMeasures::mean_period);
  values("stdev_period", &VoiceMeasures::stdev_period);
  values("jitter_local", &VoiceMeasures::jitter_local);
  values("jitter_local_absolute", &VoiceMeasures::jitter_local_absolute);
  values("jitter_rap", &VoiceMeasures::jitter_rap);
  values("jitter_ppq5", &VoiceMeasures::jitter_ppq5);
  values("jitter_ddp", &VoiceMeasures::jitter_ddp);
  values("shimmer_local", &VoiceMeasures::shimmer_local);
  values("shimmer_local_db", &VoiceMeasures::shimmer_local_db);
  values("shimmer_apq3", &VoiceMeasures::shimmer_apq3);
  values("shimmer_apq5", &VoiceMeasures::shimmer_apq5);
  values("shimmer_apq11", &VoiceMeasures::shimmer_apq11);
  values("shimmer_dda", &VoiceMeasures::shimmer_dda);
  return out;
}

}  // namespace

void register_voice_report(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<VoiceReportParams>(m, "VoiceReportParams")
      .def(py::init<>())
      .def_readwrite("sample_rate", &VoiceReportParams::sample_rate)
      .def_readwrite("from_time", &VoiceReportParams::from_time)
      .def_readwrite("to_time", &VoiceReportParams::to_time)
      .def_readwrite("period_floor", &VoiceReportParams::period_floor)
      .def_readwrite("period_ceiling", &VoiceReportParams::period_ceiling)
      .def_readwrite("max_period_factor", &VoiceReportParams::max_period_factor)
      .def_readwrite("max_amplitude_factor", &VoiceReportParams::max_amplitude_factor);
  m.def("check_voice_report_params", &check_voice_report_params, "params"_a,
        "Raises ValueError naming the first bad parameter.");
  m.def("point_process", &point_process_binding, "y"_a, "f0"_a, "first_times"_a, "time_steps"_a, "sr"_a,
        "num_threads"_a,
        "Praat's To PointProcess (cc): a list of pulse-time arrays (s), one per clip, from float64 clips and "
        "their F0 contours (frame i at first_times[clip] + i * time_steps[clip]).");
  m.def("voice_report", &voice_report_binding, "y"_a, "f0"_a, "first_times"_a, "time_steps"_a, "params"_a,
        "num_threads"_a,
        "Praat's pulses, jitter and shimmer per clip: {measure name: (n_clips,) array}.");
}

}  // namespace affectkit::bindings
