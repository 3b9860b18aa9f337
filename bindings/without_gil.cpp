#include "without_gil.h"

#include <exception>

namespace py = pybind11;

namespace affectkit::bindings {
namespace {

unsigned long main_thread_ident = 0;

// The exception a signal handler raised while the core ran, kept until the
// Interrupted translator hands it back to Python in the same thread.
thread_local PyObject* pending_type = nullptr;
thread_local PyObject* pending_value = nullptr;
thread_local PyObject* pending_traceback = nullptr;

bool python_signal_raised() {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() == 0) return false;
  PyErr_Fetch(&pending_type, &pending_value, &pending_traceback);
  return true;
}

InterruptPoll poll_for_this_thread() {
  // Python runs signal handlers only in the main thread; other threads need no poll.
  return PyThread_get_thread_ident() == main_thread_ident ? &python_signal_raised : nullptr;
}

}  // namespace

WithoutGil::WithoutGil() : interrupt_(poll_for_this_thread()) {}

void install_interrupt_translator() {
  main_thread_ident = py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const Interrupted&) {
      if (pending_type != nullptr) {
        PyErr_Restore(pending_type, pending_value, pending_traceback);
        pending_type = pending_value = pending_traceback = nullptr;
      } else {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
      }
    }
  });
}

}  // namespace affectkit::bindings
