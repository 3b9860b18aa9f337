#include "affectkit/encoders/attention.h"

#include <algorithm>
#include <cmath>

#include "affectkit/common/check.h"
#include "affectkit/common/thread_pool.h"
#include "affectkit/common/vector_math.h"
#include "affectkit/encoders/eigen_views.h"

namespace affectkit {
namespace {

// A column block of a row-major matrix (one head's slice of q, k, v or the context).
using ConstStridedMap = Eigen::Map<const RowMatrixF, 0, Eigen::OuterStride<>>;
using StridedMap = Eigen::Map<RowMatrixF, 0, Eigen::OuterStride<>>;

// Granularity of the row-parallel work: a batch of one 500-frame sequence still splits
// into enough tasks for every thread. Each task multiplies all its rows in one GEMM.
constexpr std::int64_t kRowBlock = 32;
// Queries per attention task: a (64, frames) score block stays in L2 for long inputs.
constexpr std::int64_t kQueryBlock = 64;

// Calls body(first_row, row_count) on disjoint runs of [0, rows) in parallel.
template <typename Body>
void for_row_runs(std::int64_t rows, int num_threads, Body body) {
  parallel_for((rows + kRowBlock - 1) / kRowBlock, num_threads, [&](std::int64_t begin, std::int64_t end) {
    const std::int64_t r0 = begin * kRowBlock;
    body(r0, std::min(rows, end * kRowBlock) - r0);
  });
}

// y = x W^T + b over rows in parallel, then epilogue(first_row, y_block) on each
// finished run of rows (activation, residual, LayerNorm) while it is still in cache.
// Each output element sums over the inputs in the same order however the rows are
// split, so results do not depend on the thread count.
template <typename Epilogue>
void linear_rows(const Linear& f, const float* x, std::int64_t rows, float* y, int num_threads,
                 Epilogue epilogue) {
  const std::int64_t in = f.weight.cols;
  const std::int64_t out = f.weight.rows;
  for_row_runs(rows, num_threads, [&](std::int64_t r0, std::int64_t n) {
    RowMap block(y + r0 * out, n, out);
    block.noalias() = ConstRowMap(x + r0 * in, n, in) * view(f.weight).transpose();
    block.rowwise() += view(f.bias);
    epilogue(r0, block);
  });
}

void linear_rows(const Linear& f, const float* x, std::int64_t rows, float* y, int num_threads) {
  linear_rows(f, x, rows, y, num_threads, [](std::int64_t, RowMap&) {});
}

// nn.LayerNorm over each row: biased variance, eps inside the square root.
void layer_norm_rows(const LayerNorm& norm, RowMap& rows) {
  const float d = static_cast<float>(rows.cols());
  for (Eigen::Index r = 0; r < rows.rows(); ++r) {
    auto row = rows.row(r);
    const float mean = row.sum() / d;
    row.array() -= mean;
    const float variance = row.squaredNorm() / d;
    row *= 1.0f / std::sqrt(variance + norm.eps);
    row.array() = row.array() * view(norm.weight).array() + view(norm.bias).array();
  }
}

// out = LayerNorm(x) row by row (the pre-norm input of a sublayer).
void layer_norm_copy(const LayerNorm& norm, const RowMatrixF& x, RowMatrixF& out, int num_threads) {
  out.resize(x.rows(), x.cols());
  for_row_runs(x.rows(), num_threads, [&](std::int64_t r0, std::int64_t n) {
    RowMap block(out.data() + r0 * x.cols(), n, x.cols());
    block = x.middleRows(r0, n);
    layer_norm_rows(norm, block);
  });
}

void check_linear(const Linear& f, std::int64_t out, std::int64_t in, const char* name) {
  AK_CHECK(f.weight.rows == out && f.weight.cols == in &&
               static_cast<std::int64_t>(f.weight.values.size()) == out * in,
           name, "weight must have shape (" << out << ", " << in << "), got (" << f.weight.rows << ", "
                                            << f.weight.cols << ")");
  AK_CHECK(static_cast<std::int64_t>(f.bias.size()) == out, name,
           "bias must have " << out << " values, got " << f.bias.size());
}

void check_layer_norm(const LayerNorm& norm, std::int64_t d, const char* name) {
  AK_CHECK(static_cast<std::int64_t>(norm.weight.size()) == d && static_cast<std::int64_t>(norm.bias.size()) == d, name,
           "weight and bias must have " << d << " values, got " << norm.weight.size() << " and "
                                        << norm.bias.size());
  AK_CHECK(norm.eps > 0 && std::isfinite(norm.eps), name, "eps must be positive, got " << norm.eps);
}

void check_attention(const MultiHeadAttention& a, std::int64_t d, const char* name) {
  AK_CHECK(a.num_heads >= 1 && d % a.num_heads == 0, name,
           "num_heads must divide the model dimension " << d << ", got " << a.num_heads);
  check_linear(a.in_proj, 3 * d, d, name);
  check_linear(a.out_proj, d, d, name);
}

// One encoder layer on the packed rows h (in place).
void layer_forward(const TransformerLayer& layer, bool norm_first, Activation activation, RowMatrixF& h,
                   const std::vector<std::int64_t>& offsets, int num_threads, RowMatrixF& normed,
                   RowMatrixF& attended, RowMatrixF& hidden) {
  const std::int64_t rows = h.rows();
  const std::int64_t d = h.cols();
  const std::int64_t d_ff = layer.linear1.weight.rows;
  attended.resize(rows, d);
  hidden.resize(rows, d_ff);
  // Residual add, then (post-norm) the LayerNorm, on each finished block of rows.
  auto residual = [&](const LayerNorm& norm) {
    return [&, norm_after = !norm_first](std::int64_t r0, RowMap& block) {
      block += h.middleRows(r0, block.rows());
      if (norm_after) layer_norm_rows(norm, block);
    };
  };
  auto activate = [&](std::int64_t, RowMap& block) {
    if (activation == Activation::Relu) {
      block = block.cwiseMax(0.0f);
    } else {
      gelu_inplace(block.data(), block.size());
    }
  };

  // Self-attention block: attention output projected, added, normalised.
  const RowMatrixF* input = &h;
  if (norm_first) {
    layer_norm_copy(layer.norm1, h, normed, num_threads);
    input = &normed;
  }
  multi_head_self_attention(layer.self_attn, input->data(), offsets, attended.data(), num_threads);
  // attended holds SA(x); fold in the residual (and norm1 for post-norm) row-parallel.
  auto add_attention = residual(layer.norm1);
  for_row_runs(rows, num_threads, [&](std::int64_t r0, std::int64_t n) {
    RowMap block(attended.data() + r0 * d, n, d);
    add_attention(r0, block);
  });
  h.swap(attended);

  // Feed-forward block.
  input = &h;
  if (norm_first) {
    layer_norm_copy(layer.norm2, h, normed, num_threads);
    input = &normed;
  }
  linear_rows(layer.linear1, input->data(), rows, hidden.data(), num_threads, activate);
  linear_rows(layer.linear2, hidden.data(), rows, attended.data(), num_threads, residual(layer.norm2));
  h.swap(attended);
}

}  // namespace

const TransformerEncoderWeights& check_transformer_encoder(const TransformerEncoderWeights& w) {
  AK_CHECK(w.d_model >= 1, "d_model", "must be positive, got " << w.d_model);
  AK_CHECK(w.input_dim >= 1, "input_dim", "must be positive, got " << w.input_dim);
  if (w.has_input_proj) {
    check_linear(w.input_proj, w.d_model, w.input_dim, "input_proj");
  } else {
    AK_CHECK(w.input_dim == w.d_model, "input_dim",
             "must equal d_model = " << w.d_model << " without an input projection, got " << w.input_dim);
  }
  if (w.positional == PositionalEncoding::Learned) {
    const Matrix& table = w.positional_table;
    AK_CHECK(table.rows >= 1 && table.cols == w.d_model &&
                 static_cast<std::int64_t>(table.values.size()) == table.rows * table.cols,
             "positional", "weight must have shape (max_frames, " << w.d_model << "), got (" << table.rows << ", "
                                                                  << table.cols << ")");
  }
  for (const TransformerLayer& layer : w.layers) {
    check_attention(layer.self_attn, w.d_model, "self_attn");
    const std::int64_t d_ff = layer.linear1.weight.rows;
    AK_CHECK(d_ff >= 1, "linear1", "dim_feedforward must be positive");
    check_linear(layer.linear1, d_ff, w.d_model, "linear1");
    check_linear(layer.linear2, w.d_model, d_ff, "linear2");
    check_layer_norm(layer.norm1, w.d_model, "norm1");
    check_layer_norm(layer.norm2, w.d_model, "norm2");
  }
  if (w.has_final_norm) check_layer_norm(w.norm, w.d_model, "norm");
  return w;
}

PackedFrames pack_frames(std::int64_t batch, std::int64_t frames, const std::uint8_t* key_padding_mask) {
  AK_CHECK(batch >= 0 && frames >= 0, "features", "batch and frames must be non-negative");
  PackedFrames packed;
  packed.offsets.reserve(batch + 1);
  packed.offsets.push_back(0);
  packed.frames.reserve(batch * frames);
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t t = 0; t < frames; ++t) {
      if (!key_padding_mask || !key_padding_mask[b * frames + t]) packed.frames.push_back(t);
    }
    packed.offsets.push_back(static_cast<std::int64_t>(packed.frames.size()));
  }
  return packed;
}

void gather_frames(const float* x, std::int64_t frames, std::int64_t dim, const PackedFrames& packed, float* out) {
  for (std::size_t b = 0; b + 1 < packed.offsets.size(); ++b) {
    for (std::int64_t r = packed.offsets[b]; r < packed.offsets[b + 1]; ++r) {
      const float* row = x + (static_cast<std::int64_t>(b) * frames + packed.frames[r]) * dim;
      std::copy(row, row + dim, out + r * dim);
    }
  }
}

void multi_head_self_attention(const MultiHeadAttention& attention, const float* x,
                               const std::vector<std::int64_t>& offsets, float* out, int num_threads) {
  const std::int64_t d = attention.out_proj.weight.rows;
  const std::int64_t heads = attention.num_heads;
  const std::int64_t head_dim = d / heads;
  check_attention(attention, d, "attention");
  const std::int64_t rows = offsets.back();
  RowMatrixF qkv(rows, 3 * d);
  linear_rows(attention.in_proj, x, rows, qkv.data(), num_threads);

  struct Task {
    std::int64_t sequence, head, first_query, queries;
  };
  std::vector<Task> tasks;
  std::int64_t longest = 0;
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
    const std::int64_t length = offsets[s + 1] - offsets[s];
    longest = std::max(longest, length);
    for (std::int64_t h = 0; h < heads; ++h) {
      for (std::int64_t q = 0; q < length; q += kQueryBlock) {
        tasks.push_back({static_cast<std::int64_t>(s), h, q, std::min(kQueryBlock, length - q)});
      }
    }
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  RowMatrixF context(rows, d);
  parallel_for(static_cast<std::int64_t>(tasks.size()), num_threads, [&](std::int64_t begin, std::int64_t end) {
    RowMatrixF scores(kQueryBlock, longest);
    for (std::int64_t i = begin; i < end; ++i) {
      const Task& task = tasks[i];
      const std::int64_t base = offsets[task.sequence];
      const std::int64_t length = offsets[task.sequence + 1] - base;
      const float* head = qkv.data() + base * 3 * d + task.head * head_dim;
      const Eigen::OuterStride<> stride(3 * d);
      ConstStridedMap q(head + task.first_query * 3 * d, task.queries, head_dim, stride);
      ConstStridedMap k(head + d, length, head_dim, stride);
      ConstStridedMap v(head + 2 * d, length, head_dim, stride);
      RowMap s(scores.data(), task.queries, length);
      s.noalias() = q * k.transpose();
      // Softmax of scale * scores, row by row: shifted by the maximum, normalised once.
      for (std::int64_t r = 0; r < task.queries; ++r) {
        float* row = s.data() + r * length;
        const float total = exp_scaled_sum_inplace(row, length, scale, s.row(r).maxCoeff());
        s.row(r) *= 1.0f / total;
      }
      StridedMap c(context.data() + (base + task.first_query) * d + task.head * head_dim, task.queries, head_dim,
                   Eigen::OuterStride<>(d));
      c.noalias() = s * v;
    }
  });
  linear_rows(attention.out_proj, context.data(), rows, out, num_threads);
}

Matrix sinusoidal_positions(std::int64_t frames, std::int64_t d_model) {
  Matrix table{frames, d_model, std::vector<float>(frames * d_model)};
  for (std::int64_t i = 0; i < d_model; i += 2) {
    // Computed in double: t * frequency reaches thousands of radians.
    const double frequency = std::exp(-std::log(10000.0) * static_cast<double>(i) / static_cast<double>(d_model));
    for (std::int64_t t = 0; t < frames; ++t) {
      table.values[t * d_model + i] = static_cast<float>(std::sin(t * frequency));
      if (i + 1 < d_model) table.values[t * d_model + i + 1] = static_cast<float>(std::cos(t * frequency));
    }
  }
  return table;
}

void transformer_encoder_forward(const TransformerEncoderWeights& weights, const float* x, std::int64_t batch,
                                 std::int64_t frames, const std::uint8_t* key_padding_mask, float* out,
                                 int num_threads) {
  const TransformerEncoderWeights& w = check_transformer_encoder(weights);
  if (w.positional == PositionalEncoding::Learned) {
    AK_CHECK(frames <= w.positional_table.rows, "features",
             "has " << frames << " frames, more than the " << w.positional_table.rows
                    << " positions of the learned positional embedding");
  }
  check_finite(x, batch * frames * w.input_dim, "features");
  const PackedFrames packed = pack_frames(batch, frames, key_padding_mask);
  const std::int64_t rows = packed.offsets.back();

  // Gather the kept frames, project them, add their positions.
  RowMatrixF gathered(rows, w.input_dim);
  gather_frames(x, frames, w.input_dim, packed, gathered.data());
  RowMatrixF h;
  if (w.has_input_proj) {
    h.resize(rows, w.d_model);
    linear_rows(w.input_proj, gathered.data(), rows, h.data(), num_threads);
  } else {
    h.swap(gathered);
  }
  if (w.positional != PositionalEncoding::None) {
    const Matrix table = w.positional == PositionalEncoding::Learned ? Matrix() : sinusoidal_positions(frames, w.d_model);
    const ConstRowMap positions = view(w.positional == PositionalEncoding::Learned ? w.positional_table : table);
    for (std::int64_t r = 0; r < rows; ++r) h.row(r) += positions.row(packed.frames[r]);
  }

  RowMatrixF normed, attended, hidden;
  for (const TransformerLayer& layer : w.layers) {
    layer_forward(layer, w.norm_first, w.activation, h, packed.offsets, num_threads, normed, attended, hidden);
  }
  if (w.has_final_norm) {
    RowMap all(h.data(), rows, w.d_model);
    layer_norm_rows(w.norm, all);
  }
  // Finite inputs so large that float32 overflows inside the layers: an error, not NaN.
  AK_CHECK(all_finite(h.data(), h.size()), "features",
           "overflowed float32 inside the encoder (inputs too large for these weights)");

  std::fill(out, out + batch * frames * w.d_model, 0.0f);
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t r = packed.offsets[b]; r < packed.offsets[b + 1]; ++r) {
      RowMap(out + (b * frames + packed.frames[r]) * w.d_model, 1, w.d_model) = h.row(r);
    }
  }
}

}  // namespace affectkit
