// Every binding runs the core inside a WithoutGil scope: the GIL is released,
// and in the main thread the core polls Python's signal handlers (about every
// 20 ms), so Ctrl-C stops a long call with KeyboardInterrupt.
#pragma once

#include <pybind11/pybind11.h>

#include "affectkit/common/interrupt.h"

namespace affectkit::bindings {

class WithoutGil {
 public:
  WithoutGil();  // call with the GIL held

 private:
  InterruptScope interrupt_;
  pybind11::gil_scoped_release release_;
};

// Registers the translation of affectkit::Interrupted into the exception the
// signal handler raised (KeyboardInterrupt for Ctrl-C).
void install_interrupt_translator();

}  // namespace affectkit::bindings
