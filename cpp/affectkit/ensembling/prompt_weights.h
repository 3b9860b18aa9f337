// Zero-shot prompt ensembling by prediction entropy (El Khoury, Zanella et al.,
// arXiv 2601.05011). Given logits L (N samples, P prompts, C classes), weighted
// logits l_i = sum_j beta_j L_ij, predictions p_i = softmax(l_i / tau) and the
// anchor yhat_i (softmax of one template's logits, or of the mean of all
// prompts' logits, at the same temperature), beta minimises on the simplex
//
//   J(beta) = mean_i [ H(p_i) + lambda_zs KL(yhat_i || p_i) ] - lambda_beta H(beta)
//
// by the damped fixed point of its stationarity condition,
//   beta <- (1 - damping) beta + damping softmax(-g / lambda_beta),  g = dJ_data / dbeta,
// from the uniform weights until max |change| < tol. Per-sample mode solves one
// beta per sample (J then is that sample's term). Pruning: after a solve, the
// floor(prune_fraction * P_kept) lowest-weight prompts (ties: the lower index
// first) are dropped and the problem is solved again on the survivors.
#pragma once

#include <cstdint>
#include <vector>

namespace affectkit {

struct PromptShape {
  std::int64_t samples = 0;  // N
  std::int64_t prompts = 0;  // P
  std::int64_t classes = 0;  // C
};

// Defaults: those of ak.prompts.entropy_weights, chosen by benchmarks/study_prompts.py.
struct PromptWeightsParams {
  double temperature = 0.01;       // tau
  double lambda_zs = 0.1;          // weight of KL(yhat || p)
  double lambda_beta = 0.2;        // weight of -H(beta); 0.002 / tau
  double damping = 0.5;            // eta in (0, 1]
  std::int64_t max_iter = 50;      // damped updates per solve
  double tol = 1e-6;               // stop when max |beta_new - beta| < tol
  std::int64_t prune_rounds = 0;   // re-solves after pruning
  double prune_fraction = 0.25;    // share of the kept prompts dropped per round
  std::int64_t anchor_prompt = -1; // yhat from this prompt's logits; -1: mean of all prompts' logits
  bool per_sample = false;         // one beta per sample instead of one per dataset
};

struct PromptWeightsTrace {
  // J after each update of each solve, the solves one after the other:
  // solve s holds solve_lengths[s] values, J(beta_0) ... J(beta_final). In
  // per-sample mode the mean over samples of their J (a converged sample keeps
  // its last value).
  std::vector<double> objective;
  std::vector<std::int64_t> solve_lengths;
};

// Checks shape and params; the first failing check names its argument.
void check_prompt_weights(const PromptShape& shape, const PromptWeightsParams& params);

// logits (N, P, C) contiguous and finite. Writes weights (P,) or, per sample,
// (N, P) (zero for pruned prompts), kept (same shape, 1 for surviving prompts)
// and predictions (N, C): softmax(sum_j beta_j L_ij / tau) at the final weights.
// All sums in double; samples in parallel with a reduction in a fixed order, so
// results do not depend on num_threads.
template <typename T>
PromptWeightsTrace prompt_weights(const T* logits, const PromptShape& shape, const PromptWeightsParams& params,
                                  double* weights, std::uint8_t* kept, T* predictions, int num_threads);

// Cosine similarities of L2-normalised embeddings, the zero-shot logits of a
// CLAP-style model before its logit scale: out[i, j, c] = <a_i, t_jc> / (|a_i| |t_jc|).
// audio (N, dim), text (P, C, dim), out (N, P, C); all contiguous.
template <typename T>
void prompt_logits(const T* audio, const T* text, const PromptShape& shape, std::int64_t dim, T* out,
                   int num_threads);

}  // namespace affectkit
