// Bindings for cpp/affectkit/ot: batched Sinkhorn and cost matrices.
#include <pybind11/stl.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "affectkit/ot/cost.h"
#include "affectkit/ot/sinkhorn.h"
#include "array.h"

namespace affectkit::bindings {
namespace {

// Per-problem sizes: None (the full size) or an integer array of shape (batch,).
std::optional<Array<std::int64_t>> sizes_array(const py::object& sizes, std::int64_t batch, const char* argument) {
  if (sizes.is_none()) return std::nullopt;
  if (!py::isinstance<py::array>(sizes) || py::reinterpret_borrow<py::array>(sizes).dtype().kind() != 'i') {
    type_error(argument, "must be None or an integer array");
  }
  auto array = as_array<std::int64_t>(sizes, argument, 1);
  if (array.shape(0) != batch) {
    value_error(argument, "must have one size per problem (" + std::to_string(batch) + "), got shape " +
                              shape_text(array));
  }
  return array;
}

py::tuple sinkhorn_binding(const py::handle& a, const py::handle& b, const py::handle& M, double reg,
                           double reg_m, const std::string& method, std::int64_t numItermax, double stopThr,
                           double epsilon_scaling, double tau, const py::object& n_sizes,
                           const py::object& m_sizes, int num_threads) {
  SinkhornParams params;
  params.reg = reg;
  params.reg_m = reg_m;
  params.method = parse_sinkhorn_method(method.c_str());
  params.max_iter = numItermax;
  params.stop_thr = stopThr;
  params.epsilon_scaling = epsilon_scaling;
  params.tau = tau;
  return dispatch(precision_of(M, "M"), [&](auto zero) -> py::tuple {
    using T = decltype(zero);
    if (precision_of(a, "a") != precision_of(M, "M")) type_error("a", "must have the dtype of M");
    if (precision_of(b, "b") != precision_of(M, "M")) type_error("b", "must have the dtype of M");
    Array<T> costs = as_array<T>(M, "M", 3);
    Array<T> wa = as_array<T>(a, "a", 2);
    Array<T> wb = as_array<T>(b, "b", 2);
    const OtBatchShape shape{costs.shape(0), costs.shape(1), costs.shape(2)};
    if (wa.shape(0) != shape.batch || wa.shape(1) != shape.n) {
      value_error("a", "must have shape (batch, n) = (" + std::to_string(shape.batch) + ", " +
                           std::to_string(shape.n) + ") to match M " + shape_text(costs) + ", got " + shape_text(wa));
    }
    if (wb.shape(0) != shape.batch || wb.shape(1) != shape.m) {
      value_error("b", "must have shape (batch, m) = (" + std::to_string(shape.batch) + ", " +
                           std::to_string(shape.m) + ") to match M " + shape_text(costs) + ", got " + shape_text(wb));
    }
    const auto rows = sizes_array(n_sizes, shape.batch, "n_sizes");
    const auto columns = sizes_array(m_sizes, shape.batch, "m_sizes");
    Array<T> plan({shape.batch, shape.n, shape.m});
    Array<T> f({shape.batch, shape.n});
    Array<T> g({shape.batch, shape.m});
    Array<T> cost(shape.batch), value(shape.batch), error(shape.batch);
    Array<std::int64_t> iterations(shape.batch), used(shape.batch);
    const SinkhornOutput<T> out{plan.mutable_data(), f.mutable_data(),     g.mutable_data(),
                                cost.mutable_data(), value.mutable_data(), error.mutable_data(),
                                iterations.mutable_data(), used.mutable_data()};
    {
      WithoutGil without_gil;
      sinkhorn(wa.data(), wb.data(), costs.data(), rows ? rows->data() : nullptr,
               columns ? columns->data() : nullptr, shape, params, out, num_threads);
    }
    return py::make_tuple(plan, f, g, cost, value, error, iterations, used);
  });
}

py::object pairwise_cost_binding(const py::handle& x, const py::handle& y, const std::string& metric,
                                 int num_threads) {
  const CostMetric parsed = parse_cost_metric(metric.c_str());
  return dispatch(precision_of(x, "x"), [&](auto zero) -> py::object {
    using T = decltype(zero);
    if (precision_of(y, "y") != precision_of(x, "x")) type_error("y", "must have the dtype of x");
    Array<T> xs = as_array<T>(x, "x", 3);
    Array<T> ys = as_array<T>(y, "y", 3);
    if (ys.shape(0) != xs.shape(0) || ys.shape(2) != xs.shape(2)) {
      value_error("y", "must have shape (batch, m, d) with the batch and d of x " + shape_text(xs) + ", got " +
                           shape_text(ys));
    }
    const PointCloudShape shape{xs.shape(0), xs.shape(1), ys.shape(1), xs.shape(2)};
    Array<T> out({shape.batch, shape.n, shape.m});
    {
      WithoutGil without_gil;
      pairwise_cost(xs.data(), ys.data(), shape, parsed, out.mutable_data(), num_threads);
    }
    return std::move(out);
  });
}

}  // namespace

void register_ot(py::module_& m) {
  m.def("sinkhorn", &sinkhorn_binding, py::arg("a"), py::arg("b"), py::arg("M"), py::arg("reg"),
        py::arg("reg_m"), py::arg("method"), py::arg("numItermax"), py::arg("stopThr"),
        py::arg("epsilon_scaling"), py::arg("tau"), py::arg("n_sizes"), py::arg("m_sizes"),
        py::arg("num_threads"),
        "Batched Sinkhorn: a (batch, n), b (batch, m), M (batch, n, m) -> (plan, f, g, cost, value, "
        "error, iterations, method).");
  m.def("pairwise_cost", &pairwise_cost_binding, py::arg("x"), py::arg("y"), py::arg("metric"),
        py::arg("num_threads"), "Cost matrices (batch, n, m) between x (batch, n, d) and y (batch, m, d).");
}

}  // namespace affectkit::bindings
