// Bindings for cpp/affectkit/encoders: the selective scan (numpy in, numpy out).
#include <optional>
#include <vector>

#include "affectkit/encoders/selective_scan.h"
#include "array.h"

namespace affectkit::bindings {
namespace {

template <typename T>
Dims dims_of(const Array<T>& a) {
  return Dims(a.shape(), a.shape() + a.ndim());
}

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

// (out, last_state): out (batch, dim, length), last_state (batch, dim, state).
py::tuple selective_scan_binding(const py::handle& u_in, const py::handle& delta_in, const py::handle& A_in,
                                 const py::handle& B_in, const py::handle& C_in, const py::object& D_in,
                                 const py::object& z_in, const py::object& delta_bias_in, bool delta_softplus,
                                 int num_threads) {
  return dispatch(precision_of(u_in, "u"), [&](auto zero) -> py::tuple {
    using T = decltype(zero);
    const Array<T> u = as_array<T>(u_in, "u"), delta = like_u<T>(delta_in, "delta", u_in),
                   A = like_u<T>(A_in, "A", u_in), B = like_u<T>(B_in, "B", u_in), C = like_u<T>(C_in, "C", u_in);
    const auto D = optional_like_u<T>(D_in, "D", u_in), z = optional_like_u<T>(z_in, "z", u_in),
               delta_bias = optional_like_u<T>(delta_bias_in, "delta_bias", u_in);
    std::optional<Dims> D_dims, z_dims, bias_dims;
    if (D) D_dims = dims_of(*D);
    if (z) z_dims = dims_of(*z);
    if (delta_bias) bias_dims = dims_of(*delta_bias);
    const SelectiveScanShape shape =
        selective_scan_shape(dims_of(u), dims_of(delta), dims_of(A), dims_of(B), dims_of(C),
                             D_dims ? &*D_dims : nullptr, z_dims ? &*z_dims : nullptr, bias_dims ? &*bias_dims : nullptr);
    Array<T> out({shape.batch, shape.dim, shape.length});
    Array<T> last_state({shape.batch, shape.dim, shape.state});
    SelectiveScanOptions<T> options;
    options.D = D ? D->data() : nullptr;
    options.z = z ? z->data() : nullptr;
    options.delta_bias = delta_bias ? delta_bias->data() : nullptr;
    options.delta_softplus = delta_softplus;
    {
      py::gil_scoped_release release;
      selective_scan_forward(u.data(), delta.data(), A.data(), B.data(), C.data(), options, out.mutable_data(),
                             last_state.mutable_data(), shape, num_threads);
    }
    return py::make_tuple(std::move(out), std::move(last_state));
  });
}

}  // namespace

void register_encoders(py::module_& m) {
  using namespace pybind11::literals;
  m.def("selective_scan", &selective_scan_binding, "u"_a, "delta"_a, "A"_a, "B"_a, "C"_a, "D"_a, "z"_a,
        "delta_bias"_a, "delta_softplus"_a, "num_threads"_a,
        "mamba-ssm's selective_scan_fn: (out (batch, dim, length), last_state (batch, dim, state)).");
}

}  // namespace affectkit::bindings
