// Bindings for cpp/affectkit/ensembling/prompt_weights: entropy-weighted prompt
// ensembling and zero-shot logits from embeddings.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "affectkit/ensembling/prompt_weights.h"
#include "array.h"

namespace affectkit::bindings {
namespace {

// (weights, kept, predictions, objective, solve_lengths): weights float64 and kept
// bool, (P,) or (N, P) per sample; predictions (N, C) in the dtype of logits;
// objective float64 and solve_lengths int64, as in PromptWeightsTrace.
py::tuple prompt_weights_binding(const py::handle& logits, const PromptWeightsParams& params, int num_threads) {
  return dispatch(precision_of(logits, "logits"), [&](auto zero) -> py::tuple {
    using T = decltype(zero);
    const Array<T> L = as_array<T>(logits, "logits", 3);
    const PromptShape shape{L.shape(0), L.shape(1), L.shape(2)};
    check_prompt_weights(shape, params);
    std::vector<py::ssize_t> weight_shape{shape.prompts};
    if (params.per_sample) weight_shape.insert(weight_shape.begin(), shape.samples);
    py::array_t<double> weights(weight_shape);
    py::array_t<bool> kept(weight_shape);
    Array<T> predictions({shape.samples, shape.classes});
    PromptWeightsTrace trace;
    {
      WithoutGil without_gil;
      static_assert(sizeof(bool) == sizeof(std::uint8_t), "numpy bools are bytes");
      trace = prompt_weights(L.data(), shape, params, weights.mutable_data(),
                             reinterpret_cast<std::uint8_t*>(kept.mutable_data()), predictions.mutable_data(),
                             num_threads);
    }
    py::array_t<double> objective(static_cast<py::ssize_t>(trace.objective.size()));
    std::copy(trace.objective.begin(), trace.objective.end(), objective.mutable_data());
    py::array_t<std::int64_t> lengths(static_cast<py::ssize_t>(trace.solve_lengths.size()));
    std::copy(trace.solve_lengths.begin(), trace.solve_lengths.end(), lengths.mutable_data());
    return py::make_tuple(std::move(weights), std::move(kept), std::move(predictions), std::move(objective),
                          std::move(lengths));
  });
}

// (N, P, C) cosine similarities of audio (N, d) and text (P, C, d) embeddings.
py::object prompt_logits_binding(const py::handle& audio_embeddings, const py::handle& text_embeddings,
                                 int num_threads) {
  const Precision precision = precision_of(audio_embeddings, "audio_embeddings");
  if (precision_of(text_embeddings, "text_embeddings") != precision) {
    type_error("text_embeddings", "must have the dtype of audio_embeddings, got " + dtype_name(text_embeddings) +
                                      " and " + dtype_name(audio_embeddings));
  }
  return dispatch(precision, [&](auto zero) -> py::object {
    using T = decltype(zero);
    const Array<T> audio = as_array<T>(audio_embeddings, "audio_embeddings", 2);
    const Array<T> text = as_array<T>(text_embeddings, "text_embeddings", 3);
    if (text.shape(2) != audio.shape(1)) {
      value_error("text_embeddings", "must have the embedding dimension of audio_embeddings, " +
                                         std::to_string(audio.shape(1)) + ", got " + std::to_string(text.shape(2)));
    }
    const PromptShape shape{audio.shape(0), text.shape(0), text.shape(1)};
    Array<T> out({shape.samples, shape.prompts, shape.classes});
    {
      WithoutGil without_gil;
      prompt_logits(audio.data(), text.data(), shape, audio.shape(1), out.mutable_data(), num_threads);
    }
    return std::move(out);
  });
}

}  // namespace

void register_ensembling(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<PromptWeightsParams>(m, "PromptWeightsParams")
      .def(py::init<>())
      .def_readwrite("temperature", &PromptWeightsParams::temperature)
      .def_readwrite("lambda_zs", &PromptWeightsParams::lambda_zs)
      .def_readwrite("lambda_beta", &PromptWeightsParams::lambda_beta)
      .def_readwrite("damping", &PromptWeightsParams::damping)
      .def_readwrite("max_iter", &PromptWeightsParams::max_iter)
      .def_readwrite("tol", &PromptWeightsParams::tol)
      .def_readwrite("prune_rounds", &PromptWeightsParams::prune_rounds)
      .def_readwrite("prune_fraction", &PromptWeightsParams::prune_fraction)
      .def_readwrite("anchor_prompt", &PromptWeightsParams::anchor_prompt)
      .def_readwrite("per_sample", &PromptWeightsParams::per_sample);
  m.def("prompt_weights", &prompt_weights_binding, "logits"_a, "params"_a, "num_threads"_a,
        "Entropy prompt weights of (N, P, C) logits: (weights, kept, predictions, objective, solve_lengths).");
  m.def("prompt_logits", &prompt_logits_binding, "audio_embeddings"_a, "text_embeddings"_a, "num_threads"_a,
        "Cosine similarities (N, P, C) of audio (N, d) and text (P, C, d) embeddings.");
}

}  // namespace affectkit::bindings
