// Bindings for cpp/affectkit/features: STFT, power spectrogram, inverse STFT.
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "affectkit/features/kaldi.h"
#include "affectkit/features/mel.h"
#include "affectkit/features/resample.h"
#include "affectkit/features/stft.h"
#include "array.h"

namespace affectkit::bindings {
namespace {

StftParams stft_params(std::int64_t n_fft, std::int64_t hop_length, bool center,
                       const std::string& pad_mode) {
  StftParams params;
  params.n_fft = n_fft;
  params.hop_length = hop_length;
  params.center = center;
  params.pad_mode = parse_pad_mode(pad_mode.c_str());
  return params;
}

template <typename T>
Array<T> checked_window(const py::handle& window, std::int64_t n_fft) {
  Array<T> w = as_array<T>(window, "window", 1);
  if (w.shape(0) != n_fft) {
    value_error("window", "must have n_fft = " + std::to_string(n_fft) + " values, got " +
                              std::to_string(w.shape(0)));
  }
  return w;
}

// Allocates one (rows, frames) output per signal -- slices of one 3-D array for
// a 2-D input, separate arrays for a list -- and runs compute(batch, outputs)
// without the GIL.
template <typename T, typename Out, typename Compute>
py::object run_framewise(const py::handle& y, const StftParams& params, std::int64_t rows,
                         Compute compute) {
  SignalList<T> signals = signal_list<T>(y, "y");
  const auto count = static_cast<std::int64_t>(signals.lengths.size());
  std::vector<std::int64_t> frames(count);
  for (std::int64_t i = 0; i < count; ++i) frames[i] = stft_num_frames(signals.lengths[i], params);

  std::vector<Out*> outputs(count);
  py::object result;
  if (py::isinstance<py::array>(y)) {
    const std::int64_t n_frames = count > 0 ? frames[0] : stft_num_frames(signals.arrays[0].shape(1), params);
    Array<Out> out({count, rows, n_frames});
    for (std::int64_t i = 0; i < count; ++i) outputs[i] = out.mutable_data() + i * rows * n_frames;
    result = std::move(out);
  } else {
    py::list out;
    for (std::int64_t i = 0; i < count; ++i) {
      Array<Out> spectrum({rows, frames[i]});
      outputs[i] = spectrum.mutable_data();
      out.append(std::move(spectrum));
    }
    result = std::move(out);
  }
  const SignalBatch<T> batch{signals.pointers.data(), signals.lengths.data(), count};
  {
    py::gil_scoped_release release;
    compute(batch, outputs.data());
  }
  return result;
}

py::object stft_binding(const py::handle& y, const py::handle& window, std::int64_t n_fft,
                        std::int64_t hop_length, bool center, const std::string& pad_mode,
                        int num_threads) {
  const StftParams params = stft_params(n_fft, hop_length, center, pad_mode);
  const py::handle first = py::isinstance<py::array>(y) || py::len(y) == 0 ? y : y[py::int_(0)];
  return dispatch(precision_of(first, "y"), [&](auto zero) -> py::object {
    using T = decltype(zero);
    Array<T> w = checked_window<T>(window, n_fft);
    return run_framewise<T, std::complex<T>>(
        y, params, n_fft / 2 + 1, [&](const SignalBatch<T>& batch, std::complex<T>* const* out) {
          stft(batch, w.data(), params, out, num_threads);
        });
  });
}

py::object power_spectrogram_binding(const py::handle& y, const py::handle& window,
                                     std::int64_t n_fft, std::int64_t hop_length, bool center,
                                     const std::string& pad_mode, double power, int num_threads) {
  const StftParams params = stft_params(n_fft, hop_length, center, pad_mode);
  const py::handle first = py::isinstance<py::array>(y) || py::len(y) == 0 ? y : y[py::int_(0)];
  return dispatch(precision_of(first, "y"), [&](auto zero) -> py::object {
    using T = decltype(zero);
    Array<T> w = checked_window<T>(window, n_fft);
    return run_framewise<T, T>(y, params, n_fft / 2 + 1, [&](const SignalBatch<T>& batch, T* const* out) {
      power_spectrogram(batch, w.data(), params, static_cast<T>(power), out, num_threads);
    });
  });
}

py::object filterbank_spectrogram_binding(const py::handle& y, const py::handle& window,
                                          const py::handle& mel_basis, std::int64_t n_fft,
                                          std::int64_t hop_length, bool center,
                                          const std::string& pad_mode, double power, bool decibels,
                                          double amin, double ref, std::optional<double> top_db,
                                          int num_threads) {
  const StftParams params = stft_params(n_fft, hop_length, center, pad_mode);
  const py::handle first = py::isinstance<py::array>(y) || py::len(y) == 0 ? y : y[py::int_(0)];
  return dispatch(precision_of(first, "y"), [&](auto zero) -> py::object {
    using T = decltype(zero);
    Array<T> w = checked_window<T>(window, n_fft);
    Array<T> basis = as_array<T>(mel_basis, "mel_basis", 2);
    const FilterBank<T> bank = sparse_filterbank(basis.data(), basis.shape(0), basis.shape(1));
    DecibelParams db;
    db.enabled = decibels;
    db.amin = amin;
    db.ref = ref;
    db.top_db = top_db ? *top_db : -1.0;
    if (top_db && !(*top_db >= 0)) value_error("top_db", "must be non-negative, got " + std::to_string(*top_db));
    return run_framewise<T, T>(y, params, bank.n_bands, [&](const SignalBatch<T>& batch, T* const* out) {
      filterbank_spectrogram(batch, w.data(), params, static_cast<T>(power), bank, db, out, num_threads);
    });
  });
}

// Kaldi features: time-major (frames, features) per signal, so not run_framewise.
py::object kaldi_features_binding(const py::handle& y, const KaldiOptions& options,
                                  std::optional<std::vector<std::int64_t>> first_frame, int num_threads) {
  const py::handle first = py::isinstance<py::array>(y) || py::len(y) == 0 ? y : y[py::int_(0)];
  return dispatch(precision_of(first, "y"), [&](auto zero) -> py::object {
    using T = decltype(zero);
    SignalList<T> signals = signal_list<T>(y, "y");
    const auto count = static_cast<std::int64_t>(signals.lengths.size());
    if (first_frame && static_cast<std::int64_t>(first_frame->size()) != count) {
      value_error("first_frame", "must give one index per signal");
    }
    const std::int64_t features = kaldi_num_features(options);
    std::vector<T*> outputs(count);
    py::object result;
    if (py::isinstance<py::array>(y)) {
      const std::int64_t frames = kaldi_num_frames(signals.arrays[0].shape(1), options);
      Array<T> out({count, frames, features});
      for (std::int64_t i = 0; i < count; ++i) outputs[i] = out.mutable_data() + i * frames * features;
      result = std::move(out);
    } else {
      py::list out;
      for (std::int64_t i = 0; i < count; ++i) {
        Array<T> matrix({kaldi_num_frames(signals.lengths[i], options), features});
        outputs[i] = matrix.mutable_data();
        out.append(std::move(matrix));
      }
      result = std::move(out);
    }
    const SignalBatch<T> batch{signals.pointers.data(), signals.lengths.data(), count};
    {
      py::gil_scoped_release release;
      kaldi_features(batch, options, outputs.data(), num_threads, first_frame ? first_frame->data() : nullptr);
    }
    return result;
  });
}

py::object resample_binding(const py::handle& y, const ResampleParams& params, int num_threads) {
  const py::handle first = py::isinstance<py::array>(y) || py::len(y) == 0 ? y : y[py::int_(0)];
  return dispatch(precision_of(first, "y"), [&](auto zero) -> py::object {
    using T = decltype(zero);
    SignalList<T> signals = signal_list<T>(y, "y");
    const auto count = static_cast<std::int64_t>(signals.lengths.size());
    std::vector<T*> outputs(count);
    py::object result;
    if (py::isinstance<py::array>(y)) {
      Array<T> out({count, resample_length(signals.arrays[0].shape(1), params)});
      for (std::int64_t i = 0; i < count; ++i) outputs[i] = out.mutable_data() + i * out.shape(1);
      result = std::move(out);
    } else {
      py::list out;
      for (std::int64_t i = 0; i < count; ++i) {
        Array<T> signal({resample_length(signals.lengths[i], params)});
        outputs[i] = signal.mutable_data();
        out.append(std::move(signal));
      }
      result = std::move(out);
    }
    const SignalBatch<T> batch{signals.pointers.data(), signals.lengths.data(), count};
    {
      py::gil_scoped_release release;
      resample(batch, params, outputs.data(), num_threads);
    }
    return result;
  });
}

py::object istft_binding(const py::handle& stft_matrix, const py::handle& window,
                         std::int64_t n_fft, std::int64_t hop_length, bool center,
                         std::optional<std::int64_t> length, int num_threads) {
  return dispatch(precision_of(stft_matrix, "stft_matrix", true), [&](auto zero) -> py::object {
    using T = decltype(zero);
    auto spectra = as_array<std::complex<T>>(stft_matrix, "stft_matrix", 3);
    if (spectra.shape(1) != n_fft / 2 + 1) {
      value_error("stft_matrix", "must have n_fft // 2 + 1 = " + std::to_string(n_fft / 2 + 1) +
                                     " frequency bins for n_fft = " + std::to_string(n_fft) +
                                     ", got " + std::to_string(spectra.shape(1)));
    }
    Array<T> w = checked_window<T>(window, n_fft);
    IstftParams params;
    params.n_fft = n_fft;
    params.hop_length = hop_length;
    params.center = center;
    if (length) {
      if (*length < 0) value_error("length", "must be non-negative, got " + std::to_string(*length));
      params.length = *length;
    }
    const std::int64_t batch = spectra.shape(0);
    const std::int64_t n_frames = spectra.shape(2);
    Array<T> out({batch, istft_length(n_frames, params)});
    {
      py::gil_scoped_release release;
      istft(spectra.data(), batch, n_frames, w.data(), params, out.mutable_data(), num_threads);
    }
    return std::move(out);
  });
}

}  // namespace

void register_features(py::module_& m) {
  using namespace pybind11::literals;
  m.def("stft", &stft_binding, "y"_a, "window"_a, "n_fft"_a, "hop_length"_a, "center"_a,
        "pad_mode"_a, "num_threads"_a,
        "Complex STFT of a 2-D array of signals (-> 3-D array) or a list of 1-D signals "
        "(-> list of 2-D arrays).");
  m.def("power_spectrogram", &power_spectrogram_binding, "y"_a, "window"_a, "n_fft"_a,
        "hop_length"_a, "center"_a, "pad_mode"_a, "power"_a, "num_threads"_a,
        "|STFT|**power, same layout as stft.");
  m.def("filterbank_spectrogram", &filterbank_spectrogram_binding, "y"_a, "window"_a,
        "mel_basis"_a, "n_fft"_a, "hop_length"_a, "center"_a, "pad_mode"_a, "power"_a,
        "decibels"_a, "amin"_a, "ref"_a, "top_db"_a, "num_threads"_a,
        "mel_basis @ |STFT|**power (optionally in dB), fused; same layouts as stft.");
  py::class_<KaldiOptions>(m, "KaldiOptions", "Kaldi's frame, mel, fbank and MFCC options.")
      .def(py::init<>())
      .def_readwrite("sample_frequency", &KaldiOptions::sample_frequency)
      .def_readwrite("frame_shift_ms", &KaldiOptions::frame_shift_ms)
      .def_readwrite("frame_length_ms", &KaldiOptions::frame_length_ms)
      .def_readwrite("dither", &KaldiOptions::dither)
      .def_readwrite("seed", &KaldiOptions::seed)
      .def_readwrite("preemphasis_coefficient", &KaldiOptions::preemphasis_coefficient)
      .def_readwrite("remove_dc_offset", &KaldiOptions::remove_dc_offset)
      .def_property(
          "window_type",
          [](const KaldiOptions& o) {
            const char* names[] = {"povey", "hamming", "hanning", "rectangular", "blackman"};
            return std::string(names[static_cast<int>(o.window_type)]);
          },
          [](KaldiOptions& o, const std::string& name) { o.window_type = parse_kaldi_window(name.c_str()); })
      .def_readwrite("round_to_power_of_two", &KaldiOptions::round_to_power_of_two)
      .def_readwrite("blackman_coeff", &KaldiOptions::blackman_coeff)
      .def_readwrite("snip_edges", &KaldiOptions::snip_edges)
      .def_readwrite("num_mel_bins", &KaldiOptions::num_mel_bins)
      .def_readwrite("low_freq", &KaldiOptions::low_freq)
      .def_readwrite("high_freq", &KaldiOptions::high_freq)
      .def_readwrite("use_energy", &KaldiOptions::use_energy)
      .def_readwrite("energy_floor", &KaldiOptions::energy_floor)
      .def_readwrite("raw_energy", &KaldiOptions::raw_energy)
      .def_readwrite("use_log_fbank", &KaldiOptions::use_log_fbank)
      .def_readwrite("use_power", &KaldiOptions::use_power)
      .def_readwrite("num_ceps", &KaldiOptions::num_ceps)
      .def_readwrite("cepstral_lifter", &KaldiOptions::cepstral_lifter);
  m.def("kaldi_num_frames", &kaldi_num_frames, "n_samples"_a, "options"_a);
  m.def("kaldi_window_shift", &kaldi_window_shift, "options"_a);
  m.def("kaldi_window_size", &kaldi_window_size, "options"_a);
  m.def("kaldi_features", &kaldi_features_binding, "y"_a, "options"_a, "first_frame"_a, "num_threads"_a,
        "Kaldi fbank (num_ceps = 0) or MFCC of a 2-D array (-> (batch, frames, features)) or a list.");
  py::class_<ResampleParams>(m, "ResampleParams", "Polyphase windowed-sinc resampler settings.")
      .def(py::init<>())
      .def_readwrite("up", &ResampleParams::up)
      .def_readwrite("down", &ResampleParams::down)
      .def_readwrite("cutoff", &ResampleParams::cutoff)
      .def_readwrite("zeros", &ResampleParams::zeros)
      .def_readwrite("kaiser_beta", &ResampleParams::kaiser_beta);
  m.def("resample", &resample_binding, "y"_a, "params"_a, "num_threads"_a,
        "Resample a 2-D array of signals (-> 2-D array) or a list of 1-D signals (-> list).");
  m.def("istft", &istft_binding, "stft_matrix"_a, "window"_a, "n_fft"_a, "hop_length"_a,
        "center"_a, "length"_a, "num_threads"_a,
        "Inverse STFT of a (batch, n_fft // 2 + 1, n_frames) complex array.");
}

}  // namespace affectkit::bindings
