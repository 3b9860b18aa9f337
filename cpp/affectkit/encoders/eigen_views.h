// Eigen views of the core's plain weight structs (attention.h), for the encoder
// sources only: Eigen types stay inside the core, compiled with one set of flags.
#pragma once

#include <vector>

#include "affectkit/common/eigen.h"
#include "affectkit/encoders/attention.h"

namespace affectkit {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using VectorF = Eigen::Matrix<float, 1, Eigen::Dynamic>;  // a row: broadcasts over rows
using ConstRowMap = Eigen::Map<const RowMatrixF>;
using RowMap = Eigen::Map<RowMatrixF>;

inline ConstRowMap view(const Matrix& m) { return ConstRowMap(m.values.data(), m.rows, m.cols); }

inline Eigen::Map<const VectorF> view(const std::vector<float>& v) {
  return Eigen::Map<const VectorF>(v.data(), static_cast<Eigen::Index>(v.size()));
}

}  // namespace affectkit
