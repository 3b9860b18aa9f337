#include "affectkit/encoders/pooling.h"

#include <algorithm>
#include <cmath>

#include "affectkit/common/check.h"
#include "affectkit/common/thread_pool.h"
#include "affectkit/encoders/eigen_views.h"

namespace affectkit {
namespace {

// The valid frames of every sequence, packed; refuses sequences without one (their
// mean and weights would be 0 / 0).
PackedFrames checked_frames(const float* x, std::int64_t batch, std::int64_t frames, std::int64_t dim,
                            const std::uint8_t* key_padding_mask) {
  AK_CHECK(dim >= 1, "x", "must have at least one feature per frame, got " << dim);
  check_finite(x, batch * frames * dim, "x");
  PackedFrames packed = pack_frames(batch, frames, key_padding_mask);
  for (std::int64_t b = 0; b < batch; ++b) {
    AK_CHECK(packed.offsets[b + 1] > packed.offsets[b], key_padding_mask ? "lengths" : "x",
             "sequence " << b << " has no valid frame to pool");
  }
  return packed;
}

// weights <- softmax(weights) over one sequence's frames.
void softmax_inplace(Eigen::Ref<Eigen::VectorXf> weights) {
  weights = (weights.array() - weights.maxCoeff()).exp();
  weights /= weights.sum();
}

// [sum_t w_t x_t, sqrt(max(sum_t w_t (x_t - mean)^2, eps))] for weights summing to 1.
void weighted_statistics(const Eigen::Ref<const RowMatrixF>& rows, const Eigen::VectorXf& weights, float eps,
                         float* out) {
  const std::int64_t dim = rows.cols();
  const VectorF mean = weights.transpose() * rows;
  VectorF variance = VectorF::Zero(dim);
  for (Eigen::Index t = 0; t < rows.rows(); ++t) variance.array() += weights[t] * (rows.row(t) - mean).array().square();
  // std::sqrt, not Eigen's: Eigen's float packets take a fast approximate square root
  // while its scalar head and tail are exact, so results would depend on out's address.
  for (std::int64_t i = 0; i < dim; ++i) {
    out[i] = mean[i];
    out[dim + i] = std::sqrt(std::max(variance[i], eps));
  }
}

// Finite inputs whose squares or products overflow float32: an error, not inf or NaN.
// The packed frames as consecutive rows, in Eigen's allocation (64-byte aligned)
// rather than std::vector's: vectorised sums start at the first aligned element,
// so the buffer's address would change the rounding from call to call.
RowMatrixF valid_rows(const float* x, std::int64_t frames, std::int64_t dim, const PackedFrames& packed) {
  RowMatrixF rows(packed.offsets.back(), dim);
  gather_frames(x, frames, dim, packed, rows.data());
  return rows;
}

void check_no_overflow(const float* out, std::int64_t count) {
  AK_CHECK(all_finite(out, count), "x", "overflowed float32 while pooling (values too large)");
}

}  // namespace

void statistics_pooling(const float* x, std::int64_t batch, std::int64_t frames, std::int64_t dim,
                        const std::uint8_t* key_padding_mask, float eps, float* out, int num_threads) {
  AK_CHECK(eps >= 0 && std::isfinite(eps), "eps", "must be non-negative and finite, got " << eps);
  const PackedFrames packed = checked_frames(x, batch, frames, dim, key_padding_mask);
  const RowMatrixF rows = valid_rows(x, frames, dim, packed);
  parallel_for(batch, num_threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      const std::int64_t n = packed.offsets[b + 1] - packed.offsets[b];
      const Eigen::VectorXf uniform = Eigen::VectorXf::Constant(n, 1.0f / static_cast<float>(n));
      weighted_statistics(rows.middleRows(packed.offsets[b], n), uniform, eps, out + b * 2 * dim);
    }
  });
  check_no_overflow(out, batch * 2 * dim);
}

void attentive_statistics_pooling(const float* x, std::int64_t batch, std::int64_t frames, std::int64_t dim,
                                  const std::uint8_t* key_padding_mask, const Linear& projection,
                                  const std::vector<float>& score, float eps, float* out, int num_threads) {
  AK_CHECK(eps >= 0 && std::isfinite(eps), "eps", "must be non-negative and finite, got " << eps);
  const std::int64_t attention_dim = projection.weight.rows;
  AK_CHECK(projection.weight.cols == dim && attention_dim >= 1 &&
               static_cast<std::int64_t>(projection.weight.values.size()) == attention_dim * dim,
           "projection", "weight must have shape (attention_dim, " << dim << "), got (" << attention_dim << ", "
                                                                   << projection.weight.cols << ")");
  AK_CHECK(static_cast<std::int64_t>(projection.bias.size()) == attention_dim, "projection",
           "bias must have " << attention_dim << " values, got " << projection.bias.size());
  AK_CHECK(static_cast<std::int64_t>(score.size()) == attention_dim, "score",
           "must have attention_dim = " << attention_dim << " values, got " << score.size());
  const PackedFrames packed = checked_frames(x, batch, frames, dim, key_padding_mask);
  const RowMatrixF rows = valid_rows(x, frames, dim, packed);
  parallel_for(batch, num_threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      const std::int64_t n = packed.offsets[b + 1] - packed.offsets[b];
      const auto sequence = rows.middleRows(packed.offsets[b], n);
      RowMatrixF hidden = sequence * view(projection.weight).transpose();
      hidden.rowwise() += view(projection.bias);
      Eigen::VectorXf weights = hidden.array().tanh().matrix() * view(score).transpose();
      softmax_inplace(weights);
      weighted_statistics(sequence, weights, eps, out + b * 2 * dim);
    }
  });
  check_no_overflow(out, batch * 2 * dim);
}

void frame_attention_pooling(const float* x, std::int64_t batch, std::int64_t frames, std::int64_t dim,
                             const std::uint8_t* key_padding_mask, const MultiHeadAttention& attention,
                             const std::vector<float>& score, float* out, int num_threads) {
  AK_CHECK(attention.in_proj.weight.cols == dim, "attention",
           "in_proj_weight must have " << dim << " columns (the features of x), got " << attention.in_proj.weight.cols);
  AK_CHECK(static_cast<std::int64_t>(score.size()) == dim, "score",
           "must have " << dim << " values, got " << score.size());
  const PackedFrames packed = checked_frames(x, batch, frames, dim, key_padding_mask);
  const RowMatrixF rows = valid_rows(x, frames, dim, packed);
  RowMatrixF attended(packed.offsets.back(), dim);
  multi_head_self_attention(attention, rows.data(), packed.offsets, attended.data(), num_threads);
  parallel_for(batch, num_threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      const std::int64_t n = packed.offsets[b + 1] - packed.offsets[b];
      const auto sequence = attended.middleRows(packed.offsets[b], n);
      Eigen::VectorXf weights = sequence * view(score).transpose();
      softmax_inplace(weights);
      Eigen::Map<VectorF>(out + b * dim, dim).noalias() = weights.transpose() * sequence;
    }
  });
  check_no_overflow(out, batch * dim);
}

}  // namespace affectkit
