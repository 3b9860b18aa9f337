// affectkit._core: the numpy module. One register_<area> per bindings/<area>.cpp.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "affectkit/common/build_info.h"
#include "affectkit/common/check.h"
#include "without_gil.h"

namespace py = pybind11;

namespace affectkit::bindings {
void register_features(py::module_& m);
void register_egemaps(py::module_& m);
void register_prosody(py::module_& m);
void register_pyin(py::module_& m);
void register_formants(py::module_& m);
void register_voice_report(py::module_& m);
void register_attention(py::module_& m);
void register_ot(py::module_& m);
void register_ensembling(py::module_& m);
void register_encoders(py::module_& m);
}  // namespace affectkit::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "affectkit's C++ core (numpy in, numpy out). Use the affectkit package, not this.";
  // Core argument errors are ValueErrors that name the argument.
  py::register_exception<affectkit::InvalidArgument>(m, "InvalidArgument", PyExc_ValueError);
  // Ctrl-C during a core call: the KeyboardInterrupt its handler raised.
  affectkit::bindings::install_interrupt_translator();
  m.def("build_info", &affectkit::build_info, "Facts about this build: (key, value) pairs.");
  affectkit::bindings::register_features(m);
  affectkit::bindings::register_egemaps(m);
  affectkit::bindings::register_prosody(m);
  affectkit::bindings::register_pyin(m);
  affectkit::bindings::register_formants(m);
  affectkit::bindings::register_voice_report(m);
  affectkit::bindings::register_attention(m);
  affectkit::bindings::register_ot(m);
  affectkit::bindings::register_ensembling(m);
  affectkit::bindings::register_encoders(m);
}
