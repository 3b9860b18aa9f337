// Bindings for cpp/affectkit/prosody: Praat's pitch.
#include <pybind11/stl.h>

#include "affectkit/prosody/pitch.h"
#include "array.h"

namespace affectkit::bindings {
namespace {

// (2, n_frames) per signal: the chosen candidate's frequency (0: unvoiced) and strength. Praat computes
// in double, so signals are float64 here (the Python layer converts).
py::object pitch_binding(const py::handle& y, const PraatPitchParams& params, int num_threads) {
  precision_of(first_signal(y), "y");
  return run_per_signal<double, double>(
      y,
      [&](std::int64_t n) { return std::vector<py::ssize_t>{2, praat_pitch_frames(n, params).count}; },
      [&](const SignalBatch<double>& batch, double* const* out) { praat_pitch(batch, params, out, num_threads); });
}

}  // namespace

void register_prosody(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<PraatPitchParams>(m, "PraatPitchParams")
      .def(py::init<>())
      .def_readwrite("sample_rate", &PraatPitchParams::sample_rate)
      .def_readwrite("time_step", &PraatPitchParams::time_step)
      .def_readwrite("pitch_floor", &PraatPitchParams::pitch_floor)
      .def_readwrite("pitch_ceiling", &PraatPitchParams::pitch_ceiling)
      .def_readwrite("max_candidates", &PraatPitchParams::max_candidates)
      .def_readwrite("cross_correlation", &PraatPitchParams::cross_correlation)
      .def_readwrite("periods_per_window", &PraatPitchParams::periods_per_window)
      .def_readwrite("very_accurate", &PraatPitchParams::very_accurate)
      .def_readwrite("silence_threshold", &PraatPitchParams::silence_threshold)
      .def_readwrite("voicing_threshold", &PraatPitchParams::voicing_threshold)
      .def_readwrite("octave_cost", &PraatPitchParams::octave_cost)
      .def_readwrite("octave_jump_cost", &PraatPitchParams::octave_jump_cost)
      .def_readwrite("voiced_unvoiced_cost", &PraatPitchParams::voiced_unvoiced_cost);
  m.def("pitch_frames",
        [](std::int64_t n, const PraatPitchParams& params) {
          const PitchFrames frames = praat_pitch_frames(n, params);
          return py::make_tuple(frames.count, frames.first_time, frames.time_step);
        },
        "n_samples"_a, "params"_a, "(count, first frame centre in s, time step in s) of Praat's pitch frames.");
  m.def("pitch", &pitch_binding, "y"_a, "params"_a, "num_threads"_a,
        "Praat's pitch path: (2, n_frames) per signal, the chosen frequency (0 = unvoiced) and strength.");
}

}  // namespace affectkit::bindings
