// Bindings for cpp/affectkit/encoders: the selective scan and Mamba stack inference
// (numpy in, numpy out).
#include <pybind11/stl.h>

#include <complex>
#include <optional>
#include <type_traits>
#include <string>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/encoders/mamba.h"
#include "affectkit/encoders/selective_scan.h"
#include "array.h"

namespace affectkit::bindings {
namespace {

// An argument that must have u's dtype (no silent casts between precisions).
template <typename T>
Array<T> like_u(const py::handle& object, const char* argument, const py::handle& u) {
  if (precision_of(object, argument) != precision_of(u, "u")) {
    type_error(argument, "must have the dtype of u (" + dtype_name(u) + "), got " + dtype_name(object));
  }
  return as_array<T>(object, argument);
}

template <typename T>
std::optional<Array<T>> optional_like_u(const py::object& object, const char* argument, const py::handle& u) {
  if (object.is_none()) return std::nullopt;
  return like_u<T>(object, argument, u);
}

// B or C with complex A: shared (dim, state) arrays have A's dtype; variable ones
// are real with u's dtype, their (real, imag) pairs along time read as complex.
template <typename T>
py::array scan_parameter(const py::handle& object, const char* argument, const py::handle& u) {
  if (!py::isinstance<py::array>(object)) type_error(argument, "must be a numpy array");
  if (py::reinterpret_borrow<py::array>(object).ndim() >= 3) return like_u<T>(object, argument, u);
  if (precision_of(object, argument, true) != precision_of(u, "u")) {
    type_error(argument, std::string("with complex A, a shared (dim, state) ") + argument +
                             " must have A's dtype (the complex of u's " + dtype_name(u) + "), got " +
                             dtype_name(object));
  }
  return as_array<std::complex<T>>(object, argument);
}

// (out, last_state) for A of type W (T, or std::complex<T> for complex A).
template <typename T, typename W>
py::tuple selective_scan_with(const py::handle& u_in, const py::handle& delta_in, const py::handle& A_in,
                              const py::handle& B_in, const py::handle& C_in, const py::object& D_in,
                              const py::object& z_in, const py::object& delta_bias_in, bool delta_softplus,
                              int num_threads) {
  constexpr bool complex_A = !std::is_same_v<T, W>;
  const Array<T> u = as_array<T>(u_in, "u"), delta = like_u<T>(delta_in, "delta", u_in);
  py::array A, B, C;
  if constexpr (complex_A) {
    if (precision_of(A_in, "A", true) != precision_of(u_in, "u")) {
      type_error("A", "must be the complex dtype of u's precision (u is " + dtype_name(u_in) + "), got " +
                          dtype_name(A_in));
    }
    A = as_array<W>(A_in, "A");
    B = scan_parameter<T>(B_in, "B", u_in);
    C = scan_parameter<T>(C_in, "C", u_in);
  } else {
    A = like_u<T>(A_in, "A", u_in);
    B = like_u<T>(B_in, "B", u_in);
    C = like_u<T>(C_in, "C", u_in);
  }
  const auto D = optional_like_u<T>(D_in, "D", u_in), z = optional_like_u<T>(z_in, "z", u_in),
             delta_bias = optional_like_u<T>(delta_bias_in, "delta_bias", u_in);
  auto dims = [](const py::array& a) { return Dims(a.shape(), a.shape() + a.ndim()); };
  std::optional<Dims> D_dims, z_dims, bias_dims;
  if (D) D_dims = dims(*D);
  if (z) z_dims = dims(*z);
  if (delta_bias) bias_dims = dims(*delta_bias);
  const SelectiveScanShape shape =
      selective_scan_shape(dims(u), dims(delta), dims(A), dims(B), dims(C), D_dims ? &*D_dims : nullptr,
                           z_dims ? &*z_dims : nullptr, bias_dims ? &*bias_dims : nullptr, complex_A);
  Array<T> out({shape.batch, shape.dim, shape.length});
  Array<W> last_state({shape.batch, shape.dim, shape.state});
  SelectiveScanOptions<T, W> options;
  options.D = D ? D->data() : nullptr;
  options.z = z ? z->data() : nullptr;
  options.delta_bias = delta_bias ? delta_bias->data() : nullptr;
  options.delta_softplus = delta_softplus;
  // A variable B or C of complex A is real memory holding complex pairs.
  auto as_w = [](const py::array& a) { return static_cast<const W*>(a.data()); };
  {
    WithoutGil without_gil;
    selective_scan_forward(u.data(), delta.data(), as_w(A), as_w(B), as_w(C), options, out.mutable_data(),
                           last_state.mutable_data(), shape, num_threads);
  }
  return py::make_tuple(std::move(out), std::move(last_state));
}

// (out, last_state): out (batch, dim, length), last_state (batch, dim, state),
// complex when A is.
py::tuple selective_scan_binding(const py::handle& u_in, const py::handle& delta_in, const py::handle& A_in,
                                 const py::handle& B_in, const py::handle& C_in, const py::object& D_in,
                                 const py::object& z_in, const py::object& delta_bias_in, bool delta_softplus,
                                 int num_threads) {
  const bool complex_A =
      py::isinstance<py::array>(A_in) && py::reinterpret_borrow<py::array>(A_in).dtype().kind() == 'c';
  return dispatch(precision_of(u_in, "u"), [&](auto zero) -> py::tuple {
    using T = decltype(zero);
    if (complex_A) {
      return selective_scan_with<T, std::complex<T>>(u_in, delta_in, A_in, B_in, C_in, D_in, z_in, delta_bias_in,
                                                     delta_softplus, num_threads);
    }
    return selective_scan_with<T, T>(u_in, delta_in, A_in, B_in, C_in, D_in, z_in, delta_bias_in, delta_softplus,
                                     num_threads);
  });
}

// A weight of a state dict, checked against its expected shape; the message names its key.
template <typename T>
struct WeightTable {
  const py::dict& table;
  std::string prefix;
  std::vector<Array<T>>& keep;  // the converted arrays, alive while the core runs

  const T* get(const std::string& key, const Dims& shape, bool required = true) const {
    const std::string name = prefix + key;
    if (!table.contains(name)) {
      if (required) value_error(name.c_str(), "is missing from the state dict");
      return nullptr;
    }
    const py::object value = table[name.c_str()];
    if (precision_of(value, name.c_str()) != (std::is_same_v<T, float> ? Precision::Single : Precision::Double)) {
      type_error(name.c_str(), "must have the dtype of x, got " + dtype_name(value));
    }
    Array<T> array = as_array<T>(value, name.c_str());
    if (Dims(array.shape(), array.shape() + array.ndim()) != shape) {
      std::string expected = "(";
      for (std::size_t i = 0; i < shape.size(); ++i) expected += (i ? ", " : "") + std::to_string(shape[i]);
      value_error(name.c_str(), "must have shape " + expected + (shape.size() == 1 ? ",)" : ")") + ", got " +
                                    py::str(value.attr("shape")).cast<std::string>());
    }
    check_finite(array.data(), array.size(), name.c_str());
    keep.push_back(array);
    return keep.back().data();
  }
};

// A copy of a recurrent state (zeros when None), of the given shape.
template <typename T>
Array<T> state_copy(const py::object& state, const char* argument, const std::vector<py::ssize_t>& shape) {
  Array<T> copy(shape);
  std::fill(copy.mutable_data(), copy.mutable_data() + copy.size(), T(0));
  if (state.is_none()) return copy;
  const Array<T> given = as_array<T>(state, argument);
  if (std::vector<py::ssize_t>(given.shape(), given.shape() + given.ndim()) != shape) {
    value_error(argument, "must have shape " + shape_text(shape) + ", got " + shape_text(given));
  }
  std::copy(given.data(), given.data() + given.size(), copy.mutable_data());
  return copy;
}

MambaCombine combine_of(const std::string& combine) {
  if (combine == "none") return MambaCombine::none;
  if (combine == "sum") return MambaCombine::sum;
  if (combine == "mean") return MambaCombine::mean;
  if (combine == "concat") return MambaCombine::concat;
  value_error("combine", "must be 'none', 'sum', 'mean' or 'concat', got '" + combine + "'");
}

// One scan direction's weights under mamba-ssm's keys (suffix "" or, for the
// time-reversed direction of a bidirectional layer, affectkit.nn.Mamba's "_b").
template <typename T>
MambaScanWeights<T> scan_weights(const WeightTable<T>& t, const std::string& suffix, std::int64_t E, std::int64_t N,
                                 std::int64_t d_conv, std::int64_t dt_rank) {
  MambaScanWeights<T> w;
  w.conv_weight = t.get("mixer.conv1d" + suffix + ".weight", {E, 1, d_conv});
  w.conv_bias = t.get("mixer.conv1d" + suffix + ".bias", {E}, false);
  w.x_proj_weight = t.get("mixer.x_proj" + suffix + ".weight", {dt_rank + 2 * N, E});
  w.dt_proj_weight = t.get("mixer.dt_proj" + suffix + ".weight", {E, dt_rank});
  w.dt_proj_bias = t.get("mixer.dt_proj" + suffix + ".bias", {E});
  w.A_log = t.get(suffix.empty() ? "mixer.A_log" : "mixer.A_b_log", {E, N});
  w.D = t.get("mixer.D" + suffix, {E});
  return w;
}

// (out, conv_state, ssm_state) for x (batch, frames, d_model), from the state dict
// `weights` (numpy arrays under mamba-ssm's keys, layers.{i}.mixer.* and norm_f).
// A bidirectional stack (combine != "none") takes and returns no states (None).
py::tuple mamba_stack_binding(const py::dict& weights, const py::handle& x_in, const py::object& conv_state_in,
                              const py::object& ssm_state_in, const py::object& lengths_in, std::int64_t n_layer, std::int64_t d_inner,
                              std::int64_t d_state, std::int64_t d_conv, std::int64_t dt_rank, double norm_eps,
                              const std::string& combine, int num_threads) {
  return dispatch(precision_of(x_in, "x"), [&](auto zero) -> py::tuple {
    using T = decltype(zero);
    // (ndim checked here: as_array's own message needs pybind11/stl.h in every binding file, see array.h)
    const Array<T> x = as_array<T>(x_in, "x");
    if (x.ndim() != 3) {
      value_error("x", "must have shape (batch, frames, d_model), got " + py::str(x_in.attr("shape")).cast<std::string>());
    }
    MambaStackShape shape;
    shape.n_layer = n_layer;
    shape.d_model = x.shape(2);
    shape.d_inner = d_inner;
    shape.d_state = d_state;
    shape.d_conv = d_conv;
    shape.dt_rank = dt_rank;
    shape.norm_eps = norm_eps;
    shape.combine = combine_of(combine);
    check_mamba_stack_shape(shape);
    const bool bidirectional = shape.combine != MambaCombine::none;
    if (bidirectional && !(conv_state_in.is_none() && ssm_state_in.is_none())) {
      value_error("conv_state", "must be None for a bidirectional stack: it runs whole sequences only (its "
                                "time-reversed scan starts from the last frame), so it has no state to carry");
    }
    const std::int64_t M = shape.d_model, E = d_inner, N = d_state;
    std::vector<Array<T>> keep;
    keep.reserve(16 * n_layer + 2);
    MambaStackWeights<T> stack;
    for (std::int64_t l = 0; l < n_layer; ++l) {
      const WeightTable<T> t{weights, "layers." + std::to_string(l) + ".", keep};
      MambaLayerWeights<T> w;
      w.norm_weight = t.get("norm.weight", {M});
      w.norm_bias = t.get("norm.bias", {M}, false);
      w.in_proj_weight = t.get("mixer.in_proj.weight", {2 * E, M});
      w.in_proj_bias = t.get("mixer.in_proj.bias", {2 * E}, false);
      w.scan = scan_weights(t, "", E, N, d_conv, dt_rank);
      if (bidirectional) w.reversed = scan_weights(t, "_b", E, N, d_conv, dt_rank);
      w.out_proj_weight = t.get("mixer.out_proj.weight", {M, shape.combine == MambaCombine::concat ? 2 * E : E});
      w.out_proj_bias = t.get("mixer.out_proj.bias", {M}, false);
      stack.layers.push_back(w);
    }
    const WeightTable<T> top{weights, "", keep};
    stack.norm_f_weight = top.get("norm_f.weight", {M});
    stack.norm_f_bias = top.get("norm_f.bias", {M}, false);
    const py::ssize_t batch = x.shape(0), frames = x.shape(1);
    // lengths: int64 (batch,) or None; the core checks the range.
    std::optional<Array<std::int64_t>> lengths;
    if (!lengths_in.is_none()) {
      if (!py::isinstance<py::array>(lengths_in)) type_error("lengths", "must be a numpy array");
      const py::dtype dtype = py::reinterpret_borrow<py::array>(lengths_in).dtype();
      if (dtype.kind() != 'i' || dtype.itemsize() != 8) {
        type_error("lengths", "must be int64, got " + dtype_name(lengths_in));
      }
      lengths = as_array<std::int64_t>(lengths_in, "lengths");
      if (lengths->ndim() != 1 || lengths->shape(0) != batch) {
        value_error("lengths", "must have shape (batch,) = (" + std::to_string(batch) + ",), got " +
                                   shape_text(*lengths));
      }
    }
    const std::int64_t* lengths_data = lengths ? lengths->data() : nullptr;
    Array<T> out({batch, frames, static_cast<py::ssize_t>(M)});
    if (bidirectional) {
      {
        WithoutGil without_gil;
        mamba_stack_forward(shape, stack, x.data(), batch, frames, lengths_data, static_cast<T*>(nullptr),
                            static_cast<T*>(nullptr), out.mutable_data(), num_threads);
      }
      return py::make_tuple(std::move(out), py::none(), py::none());  // with the GIL again
    }
    Array<T> conv_state = state_copy<T>(conv_state_in, "conv_state", {batch, n_layer, E, d_conv - 1});
    Array<T> ssm_state = state_copy<T>(ssm_state_in, "ssm_state", {batch, n_layer, E, N});
    {
      WithoutGil without_gil;
      mamba_stack_forward(shape, stack, x.data(), batch, frames, lengths_data, conv_state.mutable_data(),
                          ssm_state.mutable_data(), out.mutable_data(), num_threads);
    }
    return py::make_tuple(std::move(out), std::move(conv_state), std::move(ssm_state));
  });
}

}  // namespace

void register_encoders(py::module_& m) {
  using namespace pybind11::literals;
  m.def("selective_scan", &selective_scan_binding, "u"_a, "delta"_a, "A"_a, "B"_a, "C"_a, "D"_a, "z"_a,
        "delta_bias"_a, "delta_softplus"_a, "num_threads"_a,
        "mamba-ssm's selective_scan_fn: (out (batch, dim, length), last_state (batch, dim, state)).");
  m.def("mamba_stack", &mamba_stack_binding, "weights"_a, "x"_a, "conv_state"_a, "ssm_state"_a, "lengths"_a,
        "n_layer"_a, "d_inner"_a, "d_state"_a, "d_conv"_a, "dt_rank"_a, "norm_eps"_a, "combine"_a, "num_threads"_a,
        "A Mamba stack on x (batch, frames, d_model) from its state dict: (out, conv_state, ssm_state); "
        "combine 'none' (unidirectional) or a bidirectional stack's 'sum', 'mean', 'concat' (no states).");
}

}  // namespace affectkit::bindings
