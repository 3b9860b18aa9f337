#include "affectkit/encoders/pooling.h"

#include <algorithm>
#include <cmath>

#include "affectkit/common/check.h"
#include "affectkit/common/thread_pool.h"

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
  Eigen::Map<VectorF> mean(out, dim);
  Eigen::Map<VectorF> deviation(out + dim, dim);
  mean.noalias() = weights.transpose() * rows;
  deviation.setZero();
  for (Eigen::Index t = 0; t < rows.rows(); ++t) deviation.array() += weights[t] * (rows.row(t) - mean).array().square();
  deviation = deviation.array().max(eps).sqrt();
}

// Finite inputs whose squares or products overflow float32: an error, not inf or NaN.
void check_no_overflow(const float* out, std::int64_t count) {
  AK_CHECK(all_finite(out, count), "x", "overflowed float32 while pooling (values too large)");
}

}  // namespace

void statistics_pooling(const float* x, std::int64_t batch, std::int64_t frames, std::int64_t dim,
                        const std::uint8_t* key_padding_mask, float eps, float* out, int num_threads) {
  AK_CHECK(eps >= 0 && std::isfinite(eps), "eps", "must be non-negative and finite, got " << eps);
  const PackedFrames packed = checked_frames(x, batch, frames, dim, key_padding_mask);
  const RowMatrixF rows = gather_frames(x, frames, dim, packed);
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
                                  const VectorF& score, float eps, float* out, int num_threads) {
  AK_CHECK(eps >= 0 && std::isfinite(eps), "eps", "must be non-negative and finite, got " << eps);
  AK_CHECK(projection.weight.cols() == dim && projection.weight.rows() >= 1, "projection",
           "weight must have shape (attention_dim, " << dim << "), got (" << projection.weight.rows() << ", "
                                                     << projection.weight.cols() << ")");
  AK_CHECK(projection.bias.size() == projection.weight.rows(), "projection",
           "bias must have " << projection.weight.rows() << " values, got " << projection.bias.size());
  AK_CHECK(score.size() == projection.weight.rows(), "score",
           "must have attention_dim = " << projection.weight.rows() << " values, got " << score.size());
  const PackedFrames packed = checked_frames(x, batch, frames, dim, key_padding_mask);
  const RowMatrixF rows = gather_frames(x, frames, dim, packed);
  parallel_for(batch, num_threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      const std::int64_t n = packed.offsets[b + 1] - packed.offsets[b];
      const auto sequence = rows.middleRows(packed.offsets[b], n);
      RowMatrixF hidden = sequence * projection.weight.transpose();
      hidden.rowwise() += projection.bias;
      Eigen::VectorXf weights = hidden.array().tanh().matrix() * score.transpose();
      softmax_inplace(weights);
      weighted_statistics(sequence, weights, eps, out + b * 2 * dim);
    }
  });
  check_no_overflow(out, batch * 2 * dim);
}

void frame_attention_pooling(const float* x, std::int64_t batch, std::int64_t frames, std::int64_t dim,
                             const std::uint8_t* key_padding_mask, const MultiHeadAttention& attention,
                             const VectorF& score, float* out, int num_threads) {
  AK_CHECK(attention.in_proj.weight.cols() == dim, "attention",
           "in_proj_weight must have " << dim << " columns (the features of x), got "
                                       << attention.in_proj.weight.cols());
  AK_CHECK(score.size() == dim, "score", "must have " << dim << " values, got " << score.size());
  const PackedFrames packed = checked_frames(x, batch, frames, dim, key_padding_mask);
  const RowMatrixF rows = gather_frames(x, frames, dim, packed);
  RowMatrixF attended(rows.rows(), dim);
  multi_head_self_attention(attention, rows.data(), packed.offsets, attended.data(), num_threads);
  parallel_for(batch, num_threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      const std::int64_t n = packed.offsets[b + 1] - packed.offsets[b];
      const auto sequence = attended.middleRows(packed.offsets[b], n);
      Eigen::VectorXf weights = sequence * score.transpose();
      softmax_inplace(weights);
      Eigen::Map<VectorF>(out + b * dim, dim).noalias() = weights.transpose() * sequence;
    }
  });
  check_no_overflow(out, batch * dim);
}

}  // namespace affectkit
