// Bindings for cpp/affectkit/prosody/formant: Praat's "To Formant (burg)", plus its
// Burg LPC and polynomial roots on their own (for the differential tests).
#include <algorithm>
#include <complex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/prosody/formant.h"
#include "array.h"

namespace affectkit::bindings {
namespace {

// Frame centres t1 + i * dt (Praat's Sampled_indexToX).
Array<double> frame_times(const FormantFrames& frames) {
  Array<double> times(frames.count);
  for (std::int64_t i = 0; i < frames.count; ++i) {
    times.mutable_data()[i] = frames.t1 + static_cast<double>(i) * frames.dt;
  }
  return times;
}

// (times, frequencies, bandwidths) with times (frames,) and the others (frames,
// slots): one tuple with a leading batch axis for a 2-D array, a list for a list.
py::object formants_binding(const py::handle& y, double sr, double time_step, double max_number_of_formants,
                            double maximum_formant, double window_length, double pre_emphasis_from,
                            int num_threads) {
  FormantParams params;
  params.sample_rate = sr;
  params.time_step = time_step;
  params.max_number_of_formants = max_number_of_formants;
  params.maximum_formant = maximum_formant;
  params.window_length = window_length;
  params.pre_emphasis_from = pre_emphasis_from;
  const std::int64_t slots = formant_slots(params);
  return dispatch(precision_of(first_signal(y), "y"), [&](auto zero) -> py::object {
    using T = decltype(zero);
    SignalList<T> signals = signal_list<T>(y, "y");
    const auto count = static_cast<std::int64_t>(signals.lengths.size());
    std::vector<double*> frequencies(count), bandwidths(count);
    py::object result;
    if (py::isinstance<py::array>(y)) {
      const FormantFrames frames = formant_frames(signals.arrays[0].shape(1), params);
      Array<double> f({count, frames.count, slots}), b({count, frames.count, slots});
      for (std::int64_t i = 0; i < count; ++i) {
        frequencies[i] = f.mutable_data() + i * frames.count * slots;
        bandwidths[i] = b.mutable_data() + i * frames.count * slots;
      }
      result = py::make_tuple(frame_times(frames), std::move(f), std::move(b));
    } else {
      py::list out;
      for (std::int64_t i = 0; i < count; ++i) {
        const FormantFrames frames = formant_frames(signals.lengths[i], params);
        Array<double> f({frames.count, slots}), b({frames.count, slots});
        frequencies[i] = f.mutable_data();
        bandwidths[i] = b.mutable_data();
        out.append(py::make_tuple(frame_times(frames), std::move(f), std::move(b)));
      }
      result = std::move(out);
    }
    const SignalBatch<T> batch{signals.pointers.data(), signals.lengths.data(), count};
    {
      WithoutGil without_gil;
      formants_burg(batch, params, frequencies.data(), bandwidths.data(), num_threads);
    }
    return result;
  });
}

py::tuple lpc_burg_binding(const py::handle& x, int order) {
  Array<double> signal = as_array<double>(x, "x", 1);
  if (order < 0) value_error("order", "must be non-negative, got " + std::to_string(order));
  check_finite(signal.data(), signal.shape(0), "x");
  Array<double> a(order);
  double xms;
  {
    WithoutGil without_gil;
    xms = lpc_burg(signal.data(), signal.shape(0), a.mutable_data(), order);
  }
  return py::make_tuple(std::move(a), xms);
}

Array<std::complex<double>> polynomial_roots_binding(const py::handle& coefficients) {
  Array<double> c = as_array<double>(coefficients, "coefficients", 1);
  check_finite(c.data(), c.shape(0), "coefficients");
  const auto degree = static_cast<int>(c.shape(0)) - 1;
  Array<std::complex<double>> roots(std::max(degree, 0));
  if (!polynomial_roots(c.data(), degree, roots.mutable_data())) {
    throw std::runtime_error("polynomial_roots: the QR iteration did not converge");
  }
  return roots;
}

}  // namespace

void register_formants(py::module_& m) {
  using namespace pybind11::literals;
  m.def("formants", &formants_binding, "y"_a, "sr"_a, "time_step"_a, "max_number_of_formants"_a,
        "maximum_formant"_a, "window_length"_a, "pre_emphasis_from"_a, "num_threads"_a,
        "Praat's To Formant (burg): (times, frequencies, bandwidths) of a 2-D array (frequencies "
        "(batch, frames, slots)) or a list of such tuples for a list of 1-D signals.");
  m.def("lpc_burg", &lpc_burg_binding, "x"_a, "order"_a,
        "Burg LPC as Praat's VECburg: (a, residual mean square), x[i] ~ sum_j a[j] x[i-1-j].");
  m.def("polynomial_roots", &polynomial_roots_binding, "coefficients"_a,
        "Roots of c[0] + c[1] z + ... (ascending powers): companion eigenvalues, Newton-polished.");
}

}  // namespace affectkit::bindings
