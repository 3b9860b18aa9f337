// The torch op library's counterpart of bindings/array.h: checks that name the
// argument, float32/float64 dispatch, and core errors turned into torch's
// ValueError (so Python sees ValueError, as from the numpy module).
#pragma once

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <string>
#include <utility>

#include "affectkit/common/check.h"

namespace affectkit::torch_ops {

inline void check_float_cpu(const at::Tensor& t, const char* argument) {
  TORCH_CHECK_TYPE(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble,
                   "invalid argument '", argument, "': must be float32 or float64, got ",
                   t.scalar_type());
  TORCH_CHECK_VALUE(t.device().is_cpu() || t.device().is_meta(), "invalid argument '", argument,
                    "': must be on the CPU, got ", t.device());
}

inline void check_dim(const at::Tensor& t, const char* argument, int64_t dim, const char* layout) {
  TORCH_CHECK_VALUE(t.dim() == dim, "invalid argument '", argument, "': must have shape ", layout,
                    ", got ", t.sizes());
}

inline void check_same_dtype(const at::Tensor& t, const at::Tensor& like, const char* argument,
                             const char* like_argument) {
  TORCH_CHECK_TYPE(t.scalar_type() == like.scalar_type(), "invalid argument '", argument,
                   "': must have the dtype of '", like_argument, "' (", like.scalar_type(),
                   "), got ", t.scalar_type());
}

// For ops that read their inputs in place: a strided view is an error naming
// the argument (call .contiguous() on it), never a hidden copy.
inline void check_contiguous(const at::Tensor& t, const char* argument) {
  TORCH_CHECK_VALUE(t.is_contiguous(), "invalid argument '", argument,
                    "': must be contiguous (a strided view was given; call .contiguous() on it), got strides ",
                    t.strides(), " for shape ", t.sizes());
}

// Runs body<T>() for T = float or double; core InvalidArgument becomes ValueError.
template <typename Body>
void dispatch_core(at::ScalarType type, Body&& body) {
  try {
    if (type == at::kFloat) {
      body(float{});
    } else {
      body(double{});
    }
  } catch (const affectkit::InvalidArgument& error) {
    TORCH_CHECK_VALUE(false, error.what());
  }
}

}  // namespace affectkit::torch_ops
