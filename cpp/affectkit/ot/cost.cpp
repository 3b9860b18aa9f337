#include "affectkit/ot/cost.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/eigen.h"
#include "affectkit/common/thread_pool.h"

namespace affectkit {

CostMetric parse_cost_metric(const char* name) {
  if (std::strcmp(name, "sqeuclidean") == 0) return CostMetric::SqEuclidean;
  if (std::strcmp(name, "euclidean") == 0) return CostMetric::Euclidean;
  AK_CHECK(std::strcmp(name, "cosine") == 0, "metric",
           "must be 'sqeuclidean', 'euclidean' or 'cosine', got '" << name << "'");
  return CostMetric::Cosine;
}

template <typename T>
void pairwise_cost(const T* x, const T* y, const PointCloudShape& s, CostMetric metric, T* out,
                   int num_threads) {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ConstMap = Eigen::Map<const Matrix>;
  AK_CHECK(s.batch >= 0 && s.n >= 0 && s.m >= 0, "x", "sizes must be non-negative");
  AK_CHECK(s.d >= 1, "x", "points need at least one feature, got d = " << s.d);
  check_finite(x, s.batch * s.n * s.d, "x");
  check_finite(y, s.batch * s.m * s.d, "y");
  // One task per (problem, block of rows of x): a lone large problem still splits.
  const std::int64_t block = 64;
  const std::int64_t blocks = (s.n + block - 1) / block;
  parallel_for(s.batch * blocks, num_threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t k = task / blocks, i0 = (task % blocks) * block;
      const std::int64_t rows = std::min(block, s.n - i0);
      const ConstMap xs(x + (k * s.n + i0) * s.d, rows, s.d);
      const ConstMap ys(y + k * s.m * s.d, s.m, s.d);
      Eigen::Map<Matrix> cost(out + (k * s.n + i0) * s.m, rows, s.m);
      cost.noalias() = xs * ys.transpose();
      const auto x_norms = xs.rowwise().squaredNorm().eval();
      const auto y_norms = ys.rowwise().squaredNorm().eval();
      if (metric == CostMetric::Cosine) {
        for (std::int64_t i = 0; i < rows; ++i) {
          AK_CHECK(x_norms(i) > 0, "x", "cosine needs non-zero points, point " << i0 + i << " is zero");
        }
        for (std::int64_t j = 0; j < s.m; ++j) {
          AK_CHECK(y_norms(j) > 0, "y", "cosine needs non-zero points, point " << j << " is zero");
        }
        for (std::int64_t i = 0; i < rows; ++i) {
          for (std::int64_t j = 0; j < s.m; ++j) {
            cost(i, j) = T(1) - cost(i, j) / (std::sqrt(x_norms(i)) * std::sqrt(y_norms(j)));
          }
        }
        continue;
      }
      for (std::int64_t i = 0; i < rows; ++i) {
        for (std::int64_t j = 0; j < s.m; ++j) {
          const T squared = std::max(T(0), x_norms(i) + y_norms(j) - T(2) * cost(i, j));
          cost(i, j) = metric == CostMetric::Euclidean ? std::sqrt(squared) : squared;
        }
      }
    }
  });
}

template void pairwise_cost<float>(const float*, const float*, const PointCloudShape&, CostMetric, float*, int);
template void pairwise_cost<double>(const double*, const double*, const PointCloudShape&, CostMetric, double*,
                                    int);

}  // namespace affectkit
