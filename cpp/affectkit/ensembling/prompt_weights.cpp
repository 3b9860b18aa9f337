#include "affectkit/ensembling/prompt_weights.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#ifdef __AVX512F__
#include <immintrin.h>
#endif
#include <limits>
#include <numeric>
#include <type_traits>

#include "affectkit/common/check.h"
#include "affectkit/common/eigen.h"
#include "affectkit/common/interrupt.h"
#include "affectkit/common/lanes.h"
#include "affectkit/common/thread_pool.h"
#include "affectkit/common/vector_math.h"

namespace affectkit {
namespace {

// Samples per reduction block. Fixed, so that the order of every sum (and so
// every bit of the result) is the same for any number of threads.
constexpr std::int64_t kBlock = 256;

std::int64_t num_blocks(std::int64_t samples) { return (samples + kBlock - 1) / kBlock; }

// The logits' check: finite, |L| / tau <= 1e100 (far beyond any real logit, and
// small enough that no product in g overflows). Each sample is checked where its
// anchor is computed, in the first read of it, with no pass of its own.
constexpr double kMaxScaledLogit = 1e100;

template <typename T>
void check_sample(const T* L, const T* logits, const PromptShape& s, const PromptWeightsParams& p) {
  if (all_finite_within(L, s.prompts * s.classes, kMaxScaledLogit * p.temperature)) return;
  // the whole check names the first bad value of all the logits, wherever it is
  check_finite_within(logits, s.samples * s.prompts * s.classes, kMaxScaledLogit * p.temperature, "logits",
                      "logits / tau must stay below 1e100 in magnitude");
}

// A sample's anchor yhat = softmax(a / tau) (C,), with a one prompt's logits or the
// mean of all prompts' logits; returns sum_c yhat log yhat (the constant part of
// KL(yhat || p)). z is scratch space of C doubles.
template <typename T>
double sample_anchor(const T* L, std::int64_t P, std::int64_t C, const PromptWeightsParams& p, double* yhat,
                     double* z) {
  if (p.anchor_prompt >= 0) {
    for (std::int64_t c = 0; c < C; ++c) z[c] = L[p.anchor_prompt * C + c];
  } else {
    std::fill(z, z + C, 0.0);
    for (std::int64_t j = 0; j < P; ++j) {
      for (std::int64_t c = 0; c < C; ++c) z[c] += L[j * C + c];
    }
    for (std::int64_t c = 0; c < C; ++c) z[c] /= static_cast<double>(P);
  }
  double top = -std::numeric_limits<double>::infinity();
  for (std::int64_t c = 0; c < C; ++c) {
    z[c] /= p.temperature;
    top = std::max(top, z[c]);
  }
  std::copy(z, z + C, yhat);
  const double total = exp_scaled_sum_inplace(yhat, C, 1.0, top);
  const double lse = top + std::log(total);
  double negentropy = 0;
  for (std::int64_t c = 0; c < C; ++c) {
    yhat[c] /= total;
    negentropy += yhat[c] * (z[c] - lse);  // z - lse is finite, so 0 log 0 contributes 0 here
  }
  return negentropy;
}

// Eight consecutive logits as doubles: float logits are widened as they are loaded,
// so both products with L_i run in double without a converted copy of L_i.
using FloatLanes = float __attribute__((vector_size(32)));
inline Lanes load_logits(const double* p) { return load_lanes(p); }
inline Lanes load_logits(const float* p) {
#ifdef __AVX512F__
  return Lanes(_mm512_cvtps_pd(_mm256_loadu_ps(p)));  // GCC splits __builtin_convertvector in four
#else
  FloatLanes v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, Lanes);
#endif
}

// Column blocks of a row-major (P, C) block, C >= 8: up to eight chunks of eight
// columns, held in registers across the P rows so that L_i is read row after row,
// in memory order. A last chunk that would run past the row starts at C - 8
// instead and overlaps the chunk before it: no masked loads.
constexpr int kMaxChunks = 8;

template <int Chunks>
struct ColumnBlock {
  std::int64_t offset[Chunks];
  std::int64_t overlap = 0;  // leading columns of the last chunk that the one before it has
  ColumnBlock(std::int64_t first, std::int64_t C) {
    for (int k = 0; k < Chunks; ++k) offset[k] = std::min(first + k * kLanes, C - kLanes);
    overlap = first + (Chunks - 1) * kLanes - offset[Chunks - 1];
  }
};

// Calls block(std::integral_constant<int, Chunks>, first column) for each column block.
template <typename Block>
void for_column_blocks(std::int64_t C, Block&& block) {
  for (std::int64_t first = 0; first < C; first += kMaxChunks * kLanes) {
    const auto chunks = static_cast<int>(std::min<std::int64_t>(kMaxChunks, (C - first + kLanes - 1) / kLanes));
    switch (chunks) {
      case 1: block(std::integral_constant<int, 1>{}, first); break;
      case 2: block(std::integral_constant<int, 2>{}, first); break;
      case 3: block(std::integral_constant<int, 3>{}, first); break;
      case 4: block(std::integral_constant<int, 4>{}, first); break;
      case 5: block(std::integral_constant<int, 5>{}, first); break;
      case 6: block(std::integral_constant<int, 6>{}, first); break;
      case 7: block(std::integral_constant<int, 7>{}, first); break;
      default: block(std::integral_constant<int, 8>{}, first); break;
    }
  }
}

// One pass over the rows of row-major (P, C) blocks for up to two products:
// with v: row_sums[j] += the products L[j, :] * v, in lanes whose sum is L[j, :] . v
// (the caller sums the lanes once per block of samples, not once per sample and prompt);
// with next: l = next^T beta (C,), while asking for the block after it, ahead
// (may be null), a row per row, into L2 (the hints into L1 stalled on the miss queue).
// The dataset mode does both in one loop, next being the following sample: its
// block comes from memory while L's is still in cache, so memory is read at an even
// pace through the whole pass. Apart, the product with next waits on memory and the
// gradient product leaves memory idle (the hardware prefetcher runs only a little
// ahead of the loads; software prefetches into L1 were slower than none).
template <typename T, bool Gradient, bool Weighted>
void row_pass(const T* L, const double* v, Lanes* row_sums, const T* next, const T* ahead, const double* beta,
              double* l, std::int64_t P, std::int64_t C) {
  if (C < kLanes) {
    if (Weighted) std::fill(l, l + C, 0.0);
    for (std::int64_t j = 0; j < P; ++j) {
      for (std::int64_t c = 0; c < C; ++c) {
        if (Gradient) row_sums[j][c] += v[c] * static_cast<double>(L[j * C + c]);
        if (Weighted) l[c] += beta[j] * static_cast<double>(next[j * C + c]);
      }
    }
    return;
  }
  for_column_blocks(C, [&](auto chunks, std::int64_t first) {
    constexpr int Chunks = decltype(chunks)::value;
    const ColumnBlock<Chunks> block(first, C);
    Lanes factor[Chunks], sum[Chunks] = {};
    if (Gradient) {
      for (int k = 0; k < Chunks; ++k) factor[k] = load_lanes(v + block.offset[k]);
      for (std::int64_t c = 0; c < block.overlap; ++c) factor[Chunks - 1][c] = 0;  // counted by the chunk before
    }
    const bool prefetch = ahead != nullptr && first == 0;
    const std::int64_t row_bytes = C * static_cast<std::int64_t>(sizeof(T));
    for (std::int64_t j = 0; j < P; ++j) {
      if (prefetch) {
        for (std::int64_t byte = j * row_bytes / 64 * 64; byte < (j + 1) * row_bytes; byte += 64) {
          __builtin_prefetch(reinterpret_cast<const char*>(ahead) + byte, 0, 1);
        }
      }
      if (Weighted) {
        for (int k = 0; k < Chunks; ++k) sum[k] += beta[j] * load_logits(next + j * C + block.offset[k]);
      }
      if (Gradient) {
        // even and odd chunks in two sums: half the chain of dependent fmas per row
        Lanes even = row_sums[j], odd = {};
        for (int k = 0; k < Chunks; ++k) (k % 2 == 0 ? even : odd) += factor[k] * load_logits(L + j * C + block.offset[k]);
        row_sums[j] = even + odd;
      }
    }
    // an overlapping last chunk stores the same sums again
    if (Weighted) {
      for (int k = 0; k < Chunks; ++k) store_lanes(l + block.offset[k], sum[k]);
    }
  });
}

// l = L^T beta (C,) for a row-major (P, C) block L.
template <typename T>
void weighted_rows(const T* L, std::int64_t P, std::int64_t C, const double* beta, double* l) {
  row_pass<T, false, true>(nullptr, nullptr, nullptr, L, nullptr, beta, l, P, C);
}

// row_sums[j] += the products L[j, :] * v (see row_pass); with next (may be null),
// also l = next^T beta, asking for ahead (may be null).
template <typename T>
void add_row_products(const T* L, std::int64_t P, std::int64_t C, const double* v, Lanes* row_sums,
                      const T* next = nullptr, const T* ahead = nullptr, const double* beta = nullptr,
                      double* l = nullptr) {
  if (next != nullptr) {
    row_pass<T, true, true>(L, v, row_sums, next, ahead, beta, l, P, C);
  } else {
    row_pass<T, true, false>(L, v, row_sums, nullptr, nullptr, nullptr, nullptr, P, C);
  }
}

// One sample's data term H(p) + lambda_zs KL(yhat || p), from its weighted logits
// l = L^T beta (C,; overwritten by log p), with beta zero for pruned prompts (which
// then add exact zeros). Writes p to prediction, and to dz (C rounded up to whole
// lanes) the factor whose row products with L are the term's gradient:
// d/dbeta_j = L_j . dz. With z = l / tau: dH/dz = -p (log p + H),
// dKL/dz = p - yhat, dz/dbeta_j = L_j / tau.
template <typename T>
double sample_term(double* l, std::int64_t C, const double* yhat, double yhat_negentropy,
                   const PromptWeightsParams& p, double* dz, T* prediction) {
  double* logp = l;
  const double inv_tau = 1.0 / p.temperature;
  double lowest, largest;  // in lanes: GCC vectorises a max reduction into gathers through the stack
  lane_min_max(l, C, &lowest, &largest);
  const double top = largest * inv_tau;  // = max of the products: rounding is monotone
  for (std::int64_t c = 0; c < C; ++c) logp[c] *= inv_tau;
  std::copy(logp, logp + C, dz);
  // one exp per class, vectorised: the scalar exps were a sixth of a float32 pass.
  // Padded to whole vectors with exp(-700) ~ 1e-304 (a scalar tail of glibc exps
  // cost as much again; out-of-range inputs would send the vector exp to its slow path).
  const std::int64_t padded = (C + kLanes - 1) / kLanes * kLanes;
  std::fill(dz + C, dz + padded, top - 700.0);
  const double total = exp_scaled_sum_inplace(dz, padded, 1.0, top);
  const double lse = top + std::log(total), inv_total = 1.0 / total;
  double entropy = 0, cross = 0;
#pragma omp simd reduction(+ : entropy, cross)
  for (std::int64_t c = 0; c < C; ++c) {
    // in locals: reloading a just-stored vector stalls (the 64-byte store is not forwarded)
    const double log_prob = logp[c] - lse, prob = dz[c] * inv_total;
    logp[c] = log_prob;
    dz[c] = prob;
    entropy -= prob * log_prob;
    cross += yhat[c] * log_prob;
    prediction[c] = static_cast<T>(prob);
  }
  for (std::int64_t c = 0; c < C; ++c) {
    dz[c] = (-dz[c] * (logp[c] + entropy) + p.lambda_zs * (dz[c] - yhat[c])) * inv_tau;
  }
  return entropy + p.lambda_zs * (yhat_negentropy - cross);
}

double weights_entropy(const std::vector<double>& beta, const std::vector<std::int64_t>& kept) {
  double h = 0;
  for (std::int64_t j : kept) {
    if (beta[j] > 0) h -= beta[j] * std::log(beta[j]);
  }
  return h;
}

// beta <- (1 - eta) beta + eta softmax(-g / lambda_beta) on the kept prompts;
// returns max |change|. target is scratch space.
double damped_update(std::vector<double>& beta, const std::vector<double>& g, const std::vector<std::int64_t>& kept,
                     const PromptWeightsParams& p, std::vector<double>& target) {
  target.resize(kept.size());
  double top = -std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < kept.size(); ++k) {
    target[k] = -g[kept[k]] / p.lambda_beta;
    top = std::max(top, target[k]);
  }
  const double total = exp_scaled_sum_inplace(target.data(), static_cast<std::int64_t>(target.size()), 1.0, top);
  double change = 0;
  for (std::size_t k = 0; k < kept.size(); ++k) {
    double& weight = beta[kept[k]];
    const double updated = (1 - p.damping) * weight + p.damping * (target[k] / total);
    change = std::max(change, std::abs(updated - weight));
    weight = updated;
  }
  return change;
}

// One solve from the uniform weights on kept: objective(beta, g) returns J_data
// and sets g on kept. Appends J(beta_0), ..., J(beta_final) to trace.
template <typename Objective>
void damped_solve(Objective&& objective, const std::vector<std::int64_t>& kept, const PromptWeightsParams& p,
                  std::vector<double>& beta, std::vector<double>& g, std::vector<double>& trace) {
  std::fill(beta.begin(), beta.end(), 0.0);
  for (std::int64_t j : kept) beta[j] = 1.0 / static_cast<double>(kept.size());
  auto total = [&] { return objective(beta, g) - p.lambda_beta * weights_entropy(beta, kept); };
  std::vector<double> target(kept.size());
  trace.push_back(total());
  for (std::int64_t t = 0; t < p.max_iter; ++t) {
    interruption_point();  // each update reads all the logits (a gigabyte for 100k x 50 x 50)
    const double change = damped_update(beta, g, kept, p, target);
    trace.push_back(total());
    if (change < p.tol) break;
  }
}

// Keeps all but the drop lowest-weight prompts (ties: the lower index goes first).
void prune(const std::vector<double>& beta, std::int64_t drop, std::vector<std::int64_t>& kept) {
  std::stable_sort(kept.begin(), kept.end(), [&](std::int64_t a, std::int64_t b) { return beta[a] < beta[b]; });
  kept.erase(kept.begin(), kept.begin() + drop);
  std::sort(kept.begin(), kept.end());
}

// Prompts dropped before each re-solve: it depends only on P and the parameters,
// so every sample of the per-sample mode follows the same schedule.
std::vector<std::int64_t> prune_schedule(std::int64_t prompts, const PromptWeightsParams& p) {
  std::vector<std::int64_t> drops;
  std::int64_t count = prompts;
  for (std::int64_t round = 0; round < p.prune_rounds; ++round) {
    const auto drop = std::min(static_cast<std::int64_t>(std::floor(p.prune_fraction * count)), count - 1);
    if (drop <= 0) break;
    drops.push_back(drop);
    count -= drop;
  }
  return drops;
}

// Sums per-sample traces of different lengths; past its end a trace counts with
// its last value (a converged sample keeps its objective). Adding blocks in a
// fixed order keeps the result independent of the threads.
struct TraceSum {
  std::vector<double> sum;
  double final_sum = 0;
  void add(const double* values, std::size_t length, double final_value) {
    if (length > sum.size()) sum.resize(length, final_sum);
    for (std::size_t t = 0; t < sum.size(); ++t) sum[t] += t < length ? values[t] : final_value;
    final_sum += final_value;
  }
};

std::vector<std::int64_t> all_prompts(std::int64_t prompts) {
  std::vector<std::int64_t> kept(static_cast<std::size_t>(prompts));
  std::iota(kept.begin(), kept.end(), std::int64_t{0});
  return kept;
}

template <typename T>
PromptWeightsTrace dataset_weights(const T* logits, const PromptShape& s, const PromptWeightsParams& p,
                                   double* weights, std::uint8_t* kept_out, T* predictions, int num_threads) {
  const std::int64_t P = s.prompts, C = s.classes, blocks = num_blocks(s.samples);
  std::vector<double> block_g(static_cast<std::size_t>(blocks * P)), block_j(static_cast<std::size_t>(blocks));
  std::vector<double> anchor(static_cast<std::size_t>(s.samples * C)), negentropy(static_cast<std::size_t>(s.samples));
  bool anchored = false;  // the first pass checks each sample and computes its anchor
  std::vector<std::int64_t> kept = all_prompts(P);
  // One pass over the logits gives J_data and g together.
  auto objective = [&](const std::vector<double>& beta, std::vector<double>& g) {
    parallel_for(blocks, num_threads, [&](std::int64_t begin, std::int64_t end) {
      // The block's g is summed in this thread's own buffer and stored once: the
      // neighbouring blocks' sums share cache lines, which two threads would fight over.
      std::vector<double> l(static_cast<std::size_t>(C)), dz(static_cast<std::size_t>(C + kLanes)), z(C);
      std::vector<Lanes> row_sums(static_cast<std::size_t>(P));
      for (std::int64_t b = begin; b < end; ++b) {
        std::fill(row_sums.begin(), row_sums.end(), Lanes{});  // all P: pruned prompts get (unused) sums too
        double jb = 0;
        const std::int64_t first = b * kBlock, last = std::min(s.samples, (b + 1) * kBlock);
        // each later sample's l comes with the gradient product of the one before it
        weighted_rows(logits + first * P * C, P, C, beta.data(), l.data());
        for (std::int64_t i = first; i < last; ++i) {
          const T* L = logits + i * P * C;
          if (!anchored) {  // (its l, computed already, is not used before this check)
            check_sample(L, logits, s, p);
            negentropy[i] = sample_anchor(L, P, C, p, anchor.data() + i * C, z.data());
          }
          jb += sample_term(l.data(), C, anchor.data() + i * C, negentropy[i], p, dz.data(), predictions + i * C);
          const T* next = i + 1 < last ? L + P * C : nullptr;
          const T* ahead = i + 2 < s.samples ? L + 2 * P * C : nullptr;
          add_row_products(L, P, C, dz.data(), row_sums.data(), next, ahead, beta.data(), l.data());
        }
        for (std::int64_t j = 0; j < P; ++j) block_g[b * P + j] = sum_lanes(row_sums[j]);
        block_j[b] = jb;
      }
    });
    anchored = true;
    std::fill(g.begin(), g.end(), 0.0);
    double total = 0;
    for (std::int64_t b = 0; b < blocks; ++b) {
      for (std::int64_t j : kept) g[j] += block_g[b * P + j];
      total += block_j[b];
    }
    const double n = static_cast<double>(s.samples);
    for (std::int64_t j : kept) g[j] /= n;
    return total / n;
  };
  PromptWeightsTrace trace;
  std::vector<double> beta(P), g(P);
  const std::vector<std::int64_t> drops = prune_schedule(P, p);
  for (std::size_t solve = 0; solve <= drops.size(); ++solve) {
    if (solve > 0) prune(beta, drops[solve - 1], kept);
    const std::size_t before = trace.objective.size();
    damped_solve(objective, kept, p, beta, g, trace.objective);
    trace.solve_lengths.push_back(static_cast<std::int64_t>(trace.objective.size() - before));
  }
  std::copy(beta.begin(), beta.end(), weights);
  std::fill(kept_out, kept_out + P, 0);
  for (std::int64_t j : kept) kept_out[j] = 1;
  return trace;
}

template <typename T>
PromptWeightsTrace per_sample_weights(const T* logits, const PromptShape& s, const PromptWeightsParams& p,
                                      double* weights, std::uint8_t* kept_out, T* predictions, int num_threads) {
  const std::int64_t P = s.prompts, C = s.classes, blocks = num_blocks(s.samples);
  const std::vector<std::int64_t> drops = prune_schedule(P, p);
  const std::size_t solves = drops.size() + 1;
  std::vector<TraceSum> block_traces(static_cast<std::size_t>(blocks) * solves);
  parallel_for(blocks, num_threads, [&](std::int64_t begin, std::int64_t end) {
    std::vector<double> l(C), dz(static_cast<std::size_t>(C + kLanes)), beta(P), g(P), trace, yhat(C), z(C);
    std::vector<Lanes> row_sums(static_cast<std::size_t>(P));
    for (std::int64_t b = begin; b < end; ++b) {
      for (std::int64_t i = b * kBlock; i < std::min(s.samples, (b + 1) * kBlock); ++i) {
        const T* L = logits + i * P * C;
        check_sample(L, logits, s, p);
        const double negentropy = sample_anchor(L, P, C, p, yhat.data(), z.data());
        std::vector<std::int64_t> kept = all_prompts(P);
        auto objective = [&](const std::vector<double>& weights_i, std::vector<double>& g_i) {
          std::fill(row_sums.begin(), row_sums.end(), Lanes{});
          weighted_rows(L, P, C, weights_i.data(), l.data());
          const double term = sample_term(l.data(), C, yhat.data(), negentropy, p, dz.data(), predictions + i * C);
          add_row_products(L, P, C, dz.data(), row_sums.data());
          for (std::int64_t j = 0; j < P; ++j) g_i[j] = sum_lanes(row_sums[j]);
          return term;
        };
        for (std::size_t solve = 0; solve < solves; ++solve) {
          if (solve > 0) prune(beta, drops[solve - 1], kept);
          trace.clear();
          damped_solve(objective, kept, p, beta, g, trace);
          block_traces[b * solves + solve].add(trace.data(), trace.size(), trace.back());
        }
        std::copy(beta.begin(), beta.end(), weights + i * P);
        std::fill(kept_out + i * P, kept_out + (i + 1) * P, 0);
        for (std::int64_t j : kept) kept_out[i * P + j] = 1;
      }
    }
  });
  PromptWeightsTrace trace;
  for (std::size_t solve = 0; solve < solves; ++solve) {
    TraceSum total;
    for (std::int64_t b = 0; b < blocks; ++b) {
      const TraceSum& part = block_traces[b * solves + solve];
      total.add(part.sum.data(), part.sum.size(), part.final_sum);
    }
    for (double value : total.sum) trace.objective.push_back(value / static_cast<double>(s.samples));
    trace.solve_lengths.push_back(static_cast<std::int64_t>(total.sum.size()));
  }
  return trace;
}

}  // namespace

void check_prompt_weights(const PromptShape& s, const PromptWeightsParams& p) {
  AK_CHECK(s.samples >= 1, "logits", "needs at least one sample, got " << s.samples);
  AK_CHECK(s.prompts >= 1, "logits", "needs at least one prompt, got " << s.prompts);
  AK_CHECK(s.classes >= 2, "logits", "needs at least two classes, got " << s.classes);
  AK_CHECK(std::isfinite(p.temperature) && p.temperature > 0, "tau", "must be positive and finite, got "
                                                                         << p.temperature);
  AK_CHECK(std::isfinite(p.lambda_zs) && p.lambda_zs >= 0, "lambda_zs", "must be >= 0 and finite, got "
                                                                             << p.lambda_zs);
  AK_CHECK(std::isfinite(p.lambda_beta) && p.lambda_beta > 0, "lambda_beta", "must be positive and finite, got "
                                                                                 << p.lambda_beta);
  AK_CHECK(p.damping > 0 && p.damping <= 1, "damping", "must be in (0, 1], got " << p.damping);
  AK_CHECK(p.max_iter >= 0, "max_iter", "must be >= 0, got " << p.max_iter);
  AK_CHECK(p.tol >= 0 && !std::isnan(p.tol), "tol", "must be >= 0, got " << p.tol);
  AK_CHECK(p.prune_rounds >= 0, "prune_rounds", "must be >= 0, got " << p.prune_rounds);
  AK_CHECK(p.prune_fraction >= 0 && p.prune_fraction < 1, "prune_fraction", "must be in [0, 1), got "
                                                                                << p.prune_fraction);
  AK_CHECK(p.anchor_prompt >= -1 && p.anchor_prompt < s.prompts, "template",
           "must be a prompt index in [0, " << s.prompts << ") (or -1 for the mean of all prompts), got "
                                            << p.anchor_prompt);
}

template <typename T>
PromptWeightsTrace prompt_weights(const T* logits, const PromptShape& shape, const PromptWeightsParams& params,
                                  double* weights, std::uint8_t* kept, T* predictions, int num_threads) {
  check_prompt_weights(shape, params);
  if (params.per_sample) return per_sample_weights(logits, shape, params, weights, kept, predictions, num_threads);
  return dataset_weights(logits, shape, params, weights, kept, predictions, num_threads);
}

template <typename T>
void prompt_logits(const T* audio, const T* text, const PromptShape& s, std::int64_t dim, T* out, int num_threads) {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  AK_CHECK(s.samples >= 0, "audio_embeddings", "must have a non-negative number of rows, got " << s.samples);
  AK_CHECK(s.prompts >= 1 && s.classes >= 1, "text_embeddings",
           "must have at least one prompt and one class, got (" << s.prompts << ", " << s.classes << ")");
  AK_CHECK(dim >= 1, "audio_embeddings", "embedding dimension must be positive, got " << dim);
  check_finite(audio, s.samples * dim, "audio_embeddings");
  check_finite(text, s.prompts * s.classes * dim, "text_embeddings");
  // Normalised copies in double (float norms of 512-d vectors lose digits), back to T for the product.
  auto normalised = [dim](const T* rows, std::int64_t count, const char* argument) {
    const Eigen::Map<const Matrix> x(rows, count, dim);
    Matrix result(count, dim);
    for (std::int64_t r = 0; r < count; ++r) {
      const double norm = x.row(r).template cast<double>().stableNorm();  // no overflow
      AK_CHECK(norm > 0, argument, "row " << r << " has zero norm; cannot normalise it");
      result.row(r) = (x.row(r).template cast<double>() / norm).template cast<T>();
    }
    return result;
  };
  const Matrix a = normalised(audio, s.samples, "audio_embeddings");
  const Matrix t = normalised(text, s.prompts * s.classes, "text_embeddings");
  Eigen::Map<Matrix> result(out, s.samples, s.prompts * s.classes);
  parallel_for(num_blocks(s.samples), num_threads, [&](std::int64_t begin, std::int64_t end) {
    const std::int64_t first = begin * kBlock, rows = std::min(s.samples, end * kBlock) - first;
    result.middleRows(first, rows).noalias() = a.middleRows(first, rows) * t.transpose();
  });
}

template PromptWeightsTrace prompt_weights<float>(const float*, const PromptShape&, const PromptWeightsParams&,
                                                  double*, std::uint8_t*, float*, int);
template PromptWeightsTrace prompt_weights<double>(const double*, const PromptShape&, const PromptWeightsParams&,
                                                   double*, std::uint8_t*, double*, int);
template void prompt_logits<float>(const float*, const float*, const PromptShape&, std::int64_t, float*, int);
template void prompt_logits<double>(const double*, const double*, const PromptShape&, std::int64_t, double*, int);

}  // namespace affectkit
