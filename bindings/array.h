// The one place where numpy arrays become core pointers. Every binding converts
// its inputs here (dtype checked, made C-contiguous once), then releases the GIL
// and calls the core. Errors name the argument, as the core's AK_CHECK does.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <complex>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "affectkit/features/stft.h"  // SignalBatch
#include "without_gil.h"

namespace affectkit::bindings {

namespace py = pybind11;

template <typename T>
using Array = py::array_t<T, py::array::c_style>;

[[noreturn]] inline void type_error(const char* argument, const std::string& what) {
  throw py::type_error("invalid argument '" + std::string(argument) + "': " + what);
}

[[noreturn]] inline void value_error(const char* argument, const std::string& what) {
  throw py::value_error("invalid argument '" + std::string(argument) + "': " + what);
}

inline std::string dtype_name(const py::handle& object) {
  return py::str(py::array::ensure(object).dtype()).cast<std::string>();
}

enum class Precision { Single, Double };

// float32 -> Single, float64 -> Double; anything else is a TypeError. complex
// selects complex64/complex128 instead. No silent casts: an int16 signal or a
// float16 spectrum is far more often a mistake than a request. Either byte order
// is accepted (as_array swaps a big-endian '>f4' once): dtype.equal would
// reject it as "not float32".
inline Precision precision_of(const py::handle& object, const char* argument, bool complex = false) {
  if (!py::isinstance<py::array>(object)) type_error(argument, "must be a numpy array");
  const py::dtype dtype = py::reinterpret_borrow<py::array>(object).dtype();
  const char kind = dtype.kind();
  const py::ssize_t size = dtype.itemsize();
  if (complex) {
    if (kind == 'c' && size == 8) return Precision::Single;
    if (kind == 'c' && size == 16) return Precision::Double;
    type_error(argument, "must be complex64 or complex128, got " + dtype_name(object));
  }
  if (kind == 'f' && size == 4) return Precision::Single;
  if (kind == 'f' && size == 8) return Precision::Double;
  type_error(argument, "must be float32 or float64, got " + dtype_name(object));
}

// Calls body(T{}) with T = float or double according to precision.
template <typename Body>
decltype(auto) dispatch(Precision precision, Body&& body) {
  if (precision == Precision::Single) return body(float{});
  return body(double{});
}

// A shape as Python prints it: "(3,)", "(2, 400)". Plain strings: casting a
// std::vector through pybind11 needs pybind11/stl.h in every file that does it.
inline std::string shape_text(const py::ssize_t* shape, py::ssize_t ndim) {
  std::string text = "(";
  for (py::ssize_t i = 0; i < ndim; ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (ndim == 1 ? ",)" : ")");
}
inline std::string shape_text(const py::array& array) { return shape_text(array.shape(), array.ndim()); }
inline std::string shape_text(const std::vector<py::ssize_t>& shape) {
  return shape_text(shape.data(), static_cast<py::ssize_t>(shape.size()));
}

// A C-contiguous view of object with element type T (a copy only when the input
// is strided or in another byte order). ndim < 0 accepts any rank.
template <typename T>
Array<T> as_array(const py::handle& object, const char* argument, int ndim = -1) {
  auto array = Array<T>::ensure(object);
  if (!array) type_error(argument, "could not be converted to a contiguous array");
  if (ndim >= 0 && array.ndim() != ndim) {
    value_error(argument, "must have " + std::to_string(ndim) + " dimension(s), got shape " + shape_text(array));
  }
  return array;
}

// The array whose dtype decides the precision of a call on y: y itself, or the
// first signal of a list (an empty list decides nothing and is y).
inline py::object first_signal(const py::handle& y) {
  if (py::isinstance<py::array>(y) || !py::isinstance<py::sequence>(y) || py::len(y) == 0) {
    return py::reinterpret_borrow<py::object>(y);
  }
  return py::reinterpret_borrow<py::sequence>(y)[0];
}

// A batch of 1-D signals, from a 2-D array (rows) or a sequence of 1-D arrays
// of the same dtype (clips of different lengths). Keeps the converted arrays
// alive for as long as the pointers are used.
template <typename T>
struct SignalList {
  std::vector<Array<T>> arrays;
  std::vector<const T*> pointers;
  std::vector<std::int64_t> lengths;
};

template <typename T>
SignalList<T> signal_list(const py::handle& object, const char* argument) {
  SignalList<T> list;
  if (py::isinstance<py::array>(object)) {
    Array<T> rows = as_array<T>(object, argument, 2);
    for (py::ssize_t i = 0; i < rows.shape(0); ++i) {
      list.pointers.push_back(rows.data() + i * rows.shape(1));
      list.lengths.push_back(rows.shape(1));
    }
    list.arrays.push_back(std::move(rows));
    return list;
  }
  if (!py::isinstance<py::sequence>(object)) {
    type_error(argument, "must be an array or a list of 1-D arrays");
  }
  const Precision expected = std::is_same_v<T, float> ? Precision::Single : Precision::Double;
  for (const py::handle item : py::reinterpret_borrow<py::sequence>(object)) {
    if (precision_of(item, argument) != expected) {
      type_error(argument, "all signals in a list must have the same dtype, found " +
                               dtype_name(item) + " after " +
                               (expected == Precision::Single ? "float32" : "float64"));
    }
    Array<T> signal = as_array<T>(item, argument, 1);
    list.pointers.push_back(signal.data());
    list.lengths.push_back(signal.shape(0));
    list.arrays.push_back(std::move(signal));
  }
  return list;
}

// Allocates one output per signal, of shape shape(n_samples) -- slices of one
// array for a 2-D input, separate arrays for a list -- and runs
// compute(batch, outputs) without the GIL.
template <typename T, typename Out, typename Shape, typename Compute>
py::object run_per_signal(const py::handle& y, Shape shape, Compute compute) {
  SignalList<T> signals = signal_list<T>(y, "y");
  const auto count = static_cast<std::int64_t>(signals.lengths.size());
  std::vector<Out*> outputs(count);
  py::object result;
  if (py::isinstance<py::array>(y)) {
    const std::vector<py::ssize_t> dims = shape(signals.arrays[0].shape(1));
    std::vector<py::ssize_t> full{count};
    full.insert(full.end(), dims.begin(), dims.end());
    Array<Out> out(full);
    py::ssize_t size = 1;
    for (py::ssize_t d : dims) size *= d;
    for (std::int64_t i = 0; i < count; ++i) outputs[i] = out.mutable_data() + i * size;
    result = std::move(out);
  } else {
    py::list out;
    for (std::int64_t i = 0; i < count; ++i) {
      Array<Out> item(shape(signals.lengths[i]));
      outputs[i] = item.mutable_data();
      out.append(std::move(item));
    }
    result = std::move(out);
  }
  const SignalBatch<T> batch{signals.pointers.data(), signals.lengths.data(), count};
  {
    WithoutGil without_gil;
    compute(batch, outputs.data());
  }
  return result;
}

}  // namespace affectkit::bindings
