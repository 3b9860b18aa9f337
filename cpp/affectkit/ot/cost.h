// Cost matrices between point clouds, as POT's ot.dist / scipy's cdist:
//   sqeuclidean |x_i - y_j|^2, euclidean |x_i - y_j|, cosine 1 - <x_i, y_j> / (|x_i| |y_j|).
#pragma once

#include <cstdint>

namespace affectkit {

enum class CostMetric { SqEuclidean, Euclidean, Cosine };

// Parses 'sqeuclidean', 'euclidean' or 'cosine' (else InvalidArgument naming "metric").
CostMetric parse_cost_metric(const char* name);

struct PointCloudShape {
  std::int64_t batch = 0;
  std::int64_t n = 0;  // points in x
  std::int64_t m = 0;  // points in y
  std::int64_t d = 0;  // features
};

// x (batch, n, d), y (batch, m, d), out (batch, n, m), contiguous. Squared distances
// come from |x|^2 + |y|^2 - 2 <x, y> (one matrix product) and are clipped at 0.
// Cosine needs non-zero points.
template <typename T>
void pairwise_cost(const T* x, const T* y, const PointCloudShape& shape, CostMetric metric, T* out,
                   int num_threads);

}  // namespace affectkit
