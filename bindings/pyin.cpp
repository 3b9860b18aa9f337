// Bindings for cpp/affectkit/prosody/pyin: librosa's probabilistic YIN, and its
// Viterbi decoder on its own (for the differential tests).
#include <string>
#include <vector>

#include "affectkit/prosody/pyin.h"
#include "array.h"

namespace affectkit::bindings {
namespace {

// (3, n_frames) float64 per signal: f0 of the decoded bin (Hz, every frame), voiced
// flag (1/0) and voiced probability. float32 and float64 signals; both computed in double.
py::object pyin_binding(const py::handle& y, double sr, double fmin, double fmax, std::int64_t frame_length,
                        std::int64_t hop_length, const py::handle& threshold_prior, double boltzmann_parameter,
                        double resolution, double max_transition_rate, double switch_prob, double no_trough_prob,
                        bool center, const std::string& pad_mode, int num_threads) {
  PyinParams params;
  params.sample_rate = sr;
  params.fmin = fmin;
  params.fmax = fmax;
  params.frame_length = frame_length;
  params.hop_length = hop_length;
  const Array<double> prior = as_array<double>(threshold_prior, "beta_parameters", 1);
  params.threshold_prior.assign(prior.data(), prior.data() + prior.shape(0));
  params.boltzmann_parameter = boltzmann_parameter;
  params.resolution = resolution;
  params.max_transition_rate = max_transition_rate;
  params.switch_prob = switch_prob;
  params.no_trough_prob = no_trough_prob;
  params.center = center;
  params.pad_mode = parse_pad_mode(pad_mode.c_str());
  pyin_layout(params);  // the parameters are checked before the signals
  return dispatch(precision_of(first_signal(y), "y"), [&](auto zero) -> py::object {
    using T = decltype(zero);
    return run_per_signal<T, double>(
        y, [&](std::int64_t n) { return std::vector<py::ssize_t>{3, pyin_num_frames(n, params)}; },
        [&](const SignalBatch<T>& batch, double* const* out) { pyin(batch, params, out, num_threads); });
  });
}

py::array_t<std::int64_t> viterbi_binding(const py::handle& observation_probs, std::int64_t n_pitch_bins,
                                          std::int64_t transition_width, double switch_prob) {
  precision_of(observation_probs, "observation_probs");
  const Array<double> probs = as_array<double>(observation_probs, "observation_probs", 2);
  if (probs.shape(0) != 2 * n_pitch_bins) {
    value_error("observation_probs", "must have 2 * n_pitch_bins = " + std::to_string(2 * n_pitch_bins) +
                                         " rows, got " + std::to_string(probs.shape(0)));
  }
  const std::int64_t n_frames = probs.shape(1);
  py::array_t<std::int64_t> states(n_frames);
  std::int64_t* out = states.mutable_data();
  {
    WithoutGil without_gil;
    pyin_viterbi(probs.data(), n_frames, n_pitch_bins, transition_width, switch_prob, out);
  }
  return states;
}

}  // namespace

void register_pyin(py::module_& m) {
  using namespace pybind11::literals;
  m.def("pyin", &pyin_binding, "y"_a, "sr"_a, "fmin"_a, "fmax"_a, "frame_length"_a, "hop_length"_a,
        "threshold_prior"_a, "boltzmann_parameter"_a, "resolution"_a, "max_transition_rate"_a, "switch_prob"_a,
        "no_trough_prob"_a, "center"_a, "pad_mode"_a, "num_threads"_a,
        "librosa.pyin: (3, n_frames) per signal, f0 of the decoded bin (Hz), voiced flag (1/0), voiced probability.");
  m.def("pyin_viterbi", &viterbi_binding, "observation_probs"_a, "n_pitch_bins"_a, "transition_width"_a,
        "switch_prob"_a,
        "pyin's Viterbi decoder (librosa.sequence.viterbi with pyin's banded transitions): the state of each frame.");
}

}  // namespace affectkit::bindings
