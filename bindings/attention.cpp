// Bindings for cpp/affectkit/encoders/attention and pooling: a transformer encoder
// built once from a state dict's arrays, and the pooling functions, which take their
// module's state dict (the Python layer checks keys and shapes first and lists every
// problem). Float32 throughout.
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "affectkit/common/check.h"
#include "affectkit/encoders/attention.h"
#include "affectkit/encoders/pooling.h"
#include "array.h"

namespace affectkit::bindings {
namespace {

// A float32 copy of state_dict[key] with the given rank; the error names the key.
Matrix matrix(const py::dict& state_dict, const std::string& key) {
  if (!state_dict.contains(key)) value_error("state_dict", "missing key '" + key + "'");
  const py::handle value = state_dict[py::str(key)];
  if (precision_of(value, key.c_str()) != Precision::Single) type_error(key.c_str(), "must be float32");
  Array<float> array = as_array<float>(value, key.c_str(), 2);
  check_finite(array.data(), array.size(), key.c_str());
  return {array.shape(0), array.shape(1), std::vector<float>(array.data(), array.data() + array.size())};
}

std::vector<float> vector(const py::dict& state_dict, const std::string& key) {
  if (!state_dict.contains(key)) value_error("state_dict", "missing key '" + key + "'");
  const py::handle value = state_dict[py::str(key)];
  if (precision_of(value, key.c_str()) != Precision::Single) type_error(key.c_str(), "must be float32");
  Array<float> array = as_array<float>(value, key.c_str(), 1);
  check_finite(array.data(), array.size(), key.c_str());
  return std::vector<float>(array.data(), array.data() + array.size());
}

Linear linear(const py::dict& state_dict, const std::string& weight, const std::string& bias) {
  return {matrix(state_dict, weight), vector(state_dict, bias)};
}

LayerNorm layer_norm(const py::dict& state_dict, const std::string& prefix, double eps) {
  return {vector(state_dict, prefix + ".weight"), vector(state_dict, prefix + ".bias"), static_cast<float>(eps)};
}

TransformerEncoderWeights encoder_from_state_dict(const py::dict& state_dict, std::int64_t num_layers,
                                                  std::int64_t num_heads, bool norm_first,
                                                  const std::string& activation, double layer_norm_eps,
                                                  const std::string& positional) {
  TransformerEncoderWeights w;
  if (activation == "relu") {
    w.activation = Activation::Relu;
  } else if (activation == "gelu") {
    w.activation = Activation::Gelu;
  } else {
    value_error("activation", "must be 'relu' or 'gelu', got '" + activation + "'");
  }
  if (positional == "none") {
    w.positional = PositionalEncoding::None;
  } else if (positional == "sinusoidal") {
    w.positional = PositionalEncoding::Sinusoidal;
  } else if (positional == "learned") {
    w.positional = PositionalEncoding::Learned;
  } else {
    value_error("positional", "must be 'none', 'sinusoidal' or 'learned', got '" + positional + "'");
  }
  if (num_layers < 0) value_error("num_layers", "must be non-negative");
  if (num_heads < 1) value_error("num_heads", "must be positive, got " + std::to_string(num_heads));
  w.norm_first = norm_first;
  for (std::int64_t i = 0; i < num_layers; ++i) {
    const std::string p = "layers." + std::to_string(i) + ".";
    TransformerLayer layer;
    layer.self_attn.in_proj = linear(state_dict, p + "self_attn.in_proj_weight", p + "self_attn.in_proj_bias");
    layer.self_attn.out_proj = linear(state_dict, p + "self_attn.out_proj.weight", p + "self_attn.out_proj.bias");
    layer.self_attn.num_heads = num_heads;
    layer.linear1 = linear(state_dict, p + "linear1.weight", p + "linear1.bias");
    layer.linear2 = linear(state_dict, p + "linear2.weight", p + "linear2.bias");
    layer.norm1 = layer_norm(state_dict, p + "norm1", layer_norm_eps);
    layer.norm2 = layer_norm(state_dict, p + "norm2", layer_norm_eps);
    w.layers.push_back(std::move(layer));
  }
  w.has_input_proj = state_dict.contains("input_proj.weight");
  if (w.has_input_proj) w.input_proj = linear(state_dict, "input_proj.weight", "input_proj.bias");
  if (w.positional == PositionalEncoding::Learned) w.positional_table = matrix(state_dict, "positional.weight");
  w.has_final_norm = state_dict.contains("norm.weight");
  if (w.has_final_norm) w.norm = layer_norm(state_dict, "norm", layer_norm_eps);
  // d_model: the layers' width, else the input projection's, else the final norm's.
  if (!w.layers.empty()) {
    w.d_model = w.layers[0].self_attn.out_proj.weight.rows;
  } else if (w.has_input_proj) {
    w.d_model = w.input_proj.weight.rows;
  } else if (w.has_final_norm) {
    w.d_model = static_cast<std::int64_t>(w.norm.weight.size());
  } else if (w.positional == PositionalEncoding::Learned) {
    w.d_model = w.positional_table.cols;
  }
  w.input_dim = w.has_input_proj ? w.input_proj.weight.cols : w.d_model;
  check_transformer_encoder(w);
  return w;
}

// features as a float32 (batch, frames, dim) array; dim < 0 accepts any.
Array<float> features_array(const py::handle& features, const char* argument, std::int64_t dim) {
  if (precision_of(features, argument) != Precision::Single) {
    type_error(argument, "must be float32 (the encoders compute in float32), got " + dtype_name(features));
  }
  Array<float> x = as_array<float>(features, argument, 3);
  if (dim >= 0 && x.shape(2) != dim) {
    value_error(argument, "must have " + std::to_string(dim) + " features per frame, got shape (" +
                              std::to_string(x.shape(0)) + ", " + std::to_string(x.shape(1)) + ", " +
                              std::to_string(x.shape(2)) + ")");
  }
  return x;
}

using Mask = py::array_t<std::uint8_t, py::array::c_style>;

// A boolean (batch, frames) mask (True = padding) as bytes; nothing for None.
std::optional<Mask> padding_mask(const py::object& key_padding_mask, std::int64_t batch, std::int64_t frames) {
  if (key_padding_mask.is_none()) return std::nullopt;
  if (!py::isinstance<py::array>(key_padding_mask) ||
      py::reinterpret_borrow<py::array>(key_padding_mask).dtype().kind() != 'b') {
    type_error("key_padding_mask", "must be a boolean numpy array (True = padding)");
  }
  Mask mask = Mask::ensure(key_padding_mask.attr("view")("uint8"));
  if (mask.ndim() != 2 || mask.shape(0) != batch || mask.shape(1) != frames) {
    value_error("key_padding_mask", "must have shape (batch, frames) = (" + std::to_string(batch) + ", " +
                                        std::to_string(frames) + "), got " +
                                        py::str(key_padding_mask.attr("shape")).cast<std::string>());
  }
  return mask;
}

const std::uint8_t* mask_data(const std::optional<Mask>& mask) { return mask ? mask->data() : nullptr; }

// A (1, n) weight (nn.Linear(n, 1).weight) as a row.
std::vector<float> score_row(const py::dict& state_dict, const std::string& key) {
  Matrix score = matrix(state_dict, key);
  if (score.rows != 1) value_error(key.c_str(), "must have shape (1, n), got " + std::to_string(score.rows) + " rows");
  return std::move(score.values);
}

py::array_t<float> forward_binding(const TransformerEncoderWeights& w, const py::handle& features,
                                   const py::object& key_padding_mask, int num_threads) {
  Array<float> x = features_array(features, "features", w.input_dim);
  const std::optional<Mask> mask = padding_mask(key_padding_mask, x.shape(0), x.shape(1));
  Array<float> out({x.shape(0), x.shape(1), static_cast<py::ssize_t>(w.d_model)});
  {
    WithoutGil without_gil;
    transformer_encoder_forward(w, x.data(), x.shape(0), x.shape(1), mask_data(mask), out.mutable_data(),
                                num_threads);
  }
  return std::move(out);
}

// Runs pool(x, batch, frames, dim, mask, out) without the GIL into a (batch, width) array.
template <typename Pool>
py::array_t<float> pool_binding(const py::handle& x_in, const py::object& key_padding_mask, std::int64_t width,
                                Pool pool) {
  Array<float> x = features_array(x_in, "x", -1);
  const std::optional<Mask> mask = padding_mask(key_padding_mask, x.shape(0), x.shape(1));
  Array<float> out({x.shape(0), static_cast<py::ssize_t>(width)});
  {
    WithoutGil without_gil;
    pool(x.data(), x.shape(0), x.shape(1), x.shape(2), mask_data(mask), out.mutable_data());
  }
  return std::move(out);
}

std::int64_t feature_dim(const py::handle& x) { return features_array(x, "x", -1).shape(2); }

py::array_t<float> statistics_pooling_binding(const py::handle& x, const py::object& key_padding_mask, double eps,
                                              int num_threads) {
  return pool_binding(x, key_padding_mask, 2 * feature_dim(x),
                      [&](const float* data, std::int64_t batch, std::int64_t frames, std::int64_t dim,
                          const std::uint8_t* mask, float* out) {
                        statistics_pooling(data, batch, frames, dim, mask, static_cast<float>(eps), out, num_threads);
                      });
}

py::array_t<float> attentive_statistics_pooling_binding(const py::handle& x, const py::object& key_padding_mask,
                                                        const py::dict& state_dict, double eps, int num_threads) {
  const Linear projection = linear(state_dict, "projection.weight", "projection.bias");
  const std::vector<float> score = score_row(state_dict, "score.weight");
  return pool_binding(x, key_padding_mask, 2 * feature_dim(x),
                      [&](const float* data, std::int64_t batch, std::int64_t frames, std::int64_t dim,
                          const std::uint8_t* mask, float* out) {
                        attentive_statistics_pooling(data, batch, frames, dim, mask, projection, score,
                                                     static_cast<float>(eps), out, num_threads);
                      });
}

py::array_t<float> frame_attention_pooling_binding(const py::handle& x, const py::object& key_padding_mask,
                                                   const py::dict& state_dict, std::int64_t num_heads,
                                                   int num_threads) {
  MultiHeadAttention attention;
  attention.in_proj = linear(state_dict, "attention.in_proj_weight", "attention.in_proj_bias");
  attention.out_proj = linear(state_dict, "attention.out_proj.weight", "attention.out_proj.bias");
  attention.num_heads = num_heads;
  const std::vector<float> score = score_row(state_dict, "score.weight");
  const std::int64_t dim = feature_dim(x);
  if (num_heads < 1 || dim % num_heads) {
    value_error("num_heads", "must be positive and divide the " + std::to_string(dim) + " features, got " +
                                 std::to_string(num_heads));
  }
  return pool_binding(x, key_padding_mask, dim,
                      [&](const float* data, std::int64_t batch, std::int64_t frames, std::int64_t d,
                          const std::uint8_t* mask, float* out) {
                        frame_attention_pooling(data, batch, frames, d, mask, attention, score, out, num_threads);
                      });
}

}  // namespace

void register_attention(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<TransformerEncoderWeights>(m, "TransformerEncoder",
                                        "A float32 transformer encoder (torch.nn.TransformerEncoder semantics).")
      .def(py::init(&encoder_from_state_dict), "state_dict"_a, "num_layers"_a, "num_heads"_a, "norm_first"_a,
           "activation"_a, "layer_norm_eps"_a, "positional"_a)
      .def_readonly("d_model", &TransformerEncoderWeights::d_model)
      .def_readonly("input_dim", &TransformerEncoderWeights::input_dim)
      .def("forward", &forward_binding, "features"_a, "key_padding_mask"_a, "num_threads"_a,
           "(batch, frames, input_dim) float32 -> (batch, frames, d_model); padded frames are zero.");
  m.def("statistics_pooling", &statistics_pooling_binding, "x"_a, "key_padding_mask"_a, "eps"_a, "num_threads"_a,
        "(batch, frames, dim) -> (batch, 2 dim): mean and standard deviation over the valid frames.");
  m.def("attentive_statistics_pooling", &attentive_statistics_pooling_binding, "x"_a, "key_padding_mask"_a,
        "state_dict"_a, "eps"_a, "num_threads"_a,
        "(batch, frames, dim) -> (batch, 2 dim): attention-weighted mean and standard deviation.");
  m.def("frame_attention_pooling", &frame_attention_pooling_binding, "x"_a, "key_padding_mask"_a, "state_dict"_a,
        "num_heads"_a, "num_threads"_a,
        "(batch, frames, dim) -> (batch, dim): self-attention, then a softmax-weighted sum of frames.");
}

}  // namespace affectkit::bindings
