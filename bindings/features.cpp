// Bindings for cpp/affectkit/features: STFT, power spectrogram, inverse STFT.
#include <pybind11/stl.h>

#include <limits>
#include <optional>
#include <string>

#include "affectkit/features/cochleagram.h"
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

// (rows, STFT frames) per signal.
template <typename T, typename Out, typename Compute>
py::object run_framewise(const py::handle& y, const StftParams& params, std::int64_t rows, Compute compute) {
  return run_per_signal<T, Out>(
      y, [&](std::int64_t n) { return std::vector<py::ssize_t>{rows, stft_num_frames(n, params)}; }, compute);
}

py::object stft_binding(const py::handle& y, const py::handle& window, std::int64_t n_fft,
                        std::int64_t hop_length, bool center, const std::string& pad_mode,
                        int num_threads) {
  const StftParams params = stft_params(n_fft, hop_length, center, pad_mode);
  return dispatch(precision_of(first_signal(y), "y"), [&](auto zero) -> py::object {
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
  return dispatch(precision_of(first_signal(y), "y"), [&](auto zero) -> py::object {
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
  return dispatch(precision_of(first_signal(y), "y"), [&](auto zero) -> py::object {
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
  return dispatch(precision_of(first_signal(y), "y"), [&](auto zero) -> py::object {
    using T = decltype(zero);
    const std::int64_t features = kaldi_num_features(options);
    if (first_frame && static_cast<py::ssize_t>(first_frame->size()) != (py::isinstance<py::array>(y)
            ? py::reinterpret_borrow<py::array>(y).shape(0) : static_cast<py::ssize_t>(py::len(y)))) {
      value_error("first_frame", "must give one index per signal");
    }
    return run_per_signal<T, T>(
        y, [&](std::int64_t n) { return std::vector<py::ssize_t>{kaldi_num_frames(n, options), features}; },
        [&](const SignalBatch<T>& batch, T* const* out) {
          kaldi_features(batch, options, out, num_threads, first_frame ? first_frame->data() : nullptr);
        });
  });
}

py::object resample_binding(const py::handle& y, const ResampleParams& params, int num_threads) {
  return dispatch(precision_of(first_signal(y), "y"), [&](auto zero) -> py::object {
    using T = decltype(zero);
    return run_per_signal<T, T>(
        y, [&](std::int64_t n) { return std::vector<py::ssize_t>{resample_length(n, params)}; },
        [&](const SignalBatch<T>& batch, T* const* out) { resample(batch, params, out, num_threads); });
  });
}

py::object cochleagram_binding(const py::handle& y, const py::handle& coefficients, std::int64_t win_length,
                               std::int64_t hop_length, int num_threads) {
  Array<double> coefs = as_array<double>(coefficients, "coefficients", 2);
  if (coefs.shape(1) != 10) value_error("coefficients", "must have 10 columns (MakeERBFilters layout)");
  return dispatch(precision_of(first_signal(y), "y"), [&](auto zero) -> py::object {
    using T = decltype(zero);
    const std::int64_t channels = coefs.shape(0);
    return run_per_signal<T, T>(
        y,
        [&](std::int64_t n) {
          return std::vector<py::ssize_t>{channels, cochleagram_num_frames(n, win_length, hop_length)};
        },
        [&](const SignalBatch<T>& batch, T* const* out) {
          cochleagram(batch, coefs.data(), channels, win_length, hop_length, out, num_threads);
        });
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
    // The overlap-add spans n_fft + hop_length * (n_frames - 1) samples; keep that
    // product inside int64 (the core would overflow, which is undefined behaviour).
    if (hop_length >= 1 && n_frames > 1 &&
        hop_length > (std::numeric_limits<std::int64_t>::max() - n_fft) / (n_frames - 1)) {
      value_error("hop_length", std::to_string(hop_length) + " with " + std::to_string(n_frames) +
                                    " frames overflows the output length");
    }
    Array<T> out({batch, istft_length(n_frames, params)});
    {
      WithoutGil without_gil;
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
      .def_readwrite("mel_floor", &KaldiOptions::mel_floor)
      .def_readwrite("htk_compat", &KaldiOptions::htk_compat)
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
  m.def("cochleagram", &cochleagram_binding, "y"_a, "coefficients"_a, "win_length"_a, "hop_length"_a,
        "num_threads"_a, "Gammatone filterbank RMS envelopes: (n_channels, n_frames) per signal.");
  m.def("istft", &istft_binding, "stft_matrix"_a, "window"_a, "n_fft"_a, "hop_length"_a,
        "center"_a, "length"_a, "num_threads"_a,
        "Inverse STFT of a (batch, n_fft // 2 + 1, n_frames) complex array.");
}

}  // namespace affectkit::bindings
