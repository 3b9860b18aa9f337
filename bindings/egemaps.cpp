// Bindings for cpp/affectkit/features/egemaps_lld: openSMILE's eGeMAPSv02 energy and
// spectral low-level descriptors.
#include <algorithm>
#include <utility>
#include <vector>

#include "affectkit/features/egemaps_lld.h"
#include "affectkit/features/egemaps_voice.h"
#include "array.h"

namespace affectkit::bindings {
namespace {

// (llds, leq_db): llds is (batch, kEgemapsLldCount, n_frames) for a 2-D array or a list
// of (kEgemapsLldCount, n_frames) arrays for a list; leq_db is (batch,). smooth picks the
// LLD table's smoothed rows or every 20 ms frame unsmoothed.
py::tuple egemaps_lld_binding(const py::handle& y, double sr, bool smooth, int num_threads) {
  const EgemapsFraming framing = egemaps_framing(sr);
  return dispatch(precision_of(first_signal(y), "y"), [&](auto zero) -> py::tuple {
    using T = decltype(zero);
    std::vector<T> leq;  // sized under the released GIL, copied out after
    py::object llds = run_per_signal<T, T>(
        y,
        [&](std::int64_t n) {
          return std::vector<py::ssize_t>{
              kEgemapsLldCount, smooth ? egemaps_num_frames(n, framing) : egemaps_num_raw_frames(n, framing)};
        },
        [&](const SignalBatch<T>& batch, T* const* out) {
          leq.resize(batch.count);
          egemaps_lld(batch, sr, smooth, out, leq.data(), num_threads);
        });
    Array<T> leq_db(static_cast<py::ssize_t>(leq.size()));
    std::copy(leq.begin(), leq.end(), leq_db.mutable_data());
    return py::make_tuple(std::move(llds), std::move(leq_db));
  });
}

// (batch, kEgemapsVoiceCount, n_frames) float64 for a 2-D array, or a list of
// (kEgemapsVoiceCount, n_frames) arrays for a list.
py::object egemaps_voice_binding(const py::handle& y, double sr, int num_threads) {
  egemaps_framing(sr);
  return dispatch(precision_of(first_signal(y), "y"), [&](auto zero) -> py::object {
    using T = decltype(zero);
    return run_per_signal<T, double>(
        y,
        [&](std::int64_t n) {
          return std::vector<py::ssize_t>{kEgemapsVoiceCount, egemaps_num_voice_frames(n, sr)};
        },
        [&](const SignalBatch<T>& batch, double* const* out) { egemaps_voice(batch, sr, out, num_threads); });
  });
}

py::tuple egemaps_framing_binding(double sr) {
  const EgemapsFraming f = egemaps_framing(sr);
  return py::make_tuple(f.frame_length, f.hop_length, f.pitch_frame_length, f.n_fft);
}

}  // namespace

void register_egemaps(py::module_& m) {
  using namespace pybind11::literals;
  py::tuple names(kEgemapsLldCount);
  for (int i = 0; i < kEgemapsLldCount; ++i) names[i] = kEgemapsLldNames[i];
  m.attr("EGEMAPS_LLD_NAMES") = names;
  py::tuple voice_names(kEgemapsVoiceCount);
  for (int i = 0; i < kEgemapsVoiceCount; ++i) voice_names[i] = kEgemapsVoiceNames[i];
  m.attr("EGEMAPS_VOICE_NAMES") = voice_names;
  m.def("egemaps_voice", &egemaps_voice_binding, "y"_a, "sr"_a, "num_threads"_a,
        "openSMILE's eGeMAPSv02 voice LLDs per 60 ms frame, unsmoothed (rows not yet computed "
        "are NaN) of a 2-D array or a list of 1-D signals.");
  m.def("egemaps_framing", &egemaps_framing_binding, "sr"_a,
        "openSMILE's eGeMAPS framing at sr: (frame_length, hop_length, pitch_frame_length, n_fft).");
  m.def("egemaps_lld", &egemaps_lld_binding, "y"_a, "sr"_a, "smooth"_a, "num_threads"_a,
        "openSMILE's eGeMAPSv02 energy/spectral LLDs of a 2-D array or a list of 1-D signals "
        "(smooth: the LLD table's _sma3 rows; else every 20 ms frame unsmoothed), and each "
        "clip's equivalent sound level: (llds, leq_db).");
}

}  // namespace affectkit::bindings
