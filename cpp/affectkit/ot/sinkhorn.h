// Entropic optimal transport by Sinkhorn's iterations, for a padded stack of
// problems (POT's ot.sinkhorn / sinkhorn_log / sinkhorn_stabilized /
// sinkhorn_unbalanced, one problem per batch entry):
//
//   P = argmin <P, M> + reg KL(P | a b^T) + reg_m KL(P 1 | a) + reg_m KL(P^T 1 | b)
//
// (reg_m infinite: the marginals are constraints, the balanced problem). The
// plan is P_ij = exp((f_i + g_j - M_ij) / reg) with the dual potentials f, g in
// POT's convention: f = reg log_u of ot.sinkhorn_log = alpha of
// ot.bregman.sinkhorn_stabilized. GeomLoss's potentials are f - reg log a.
#pragma once

#include <cstdint>
#include <limits>

namespace affectkit {

enum class SinkhornMethod {
  Auto,        // Stabilized for balanced problems whose kernel exp(-M / reg) is
               // representable (and no epsilon scaling asked for), else Log
  Log,         // log-sum-exp updates of the potentials (POT's sinkhorn_log): always stable
  Stabilized,  // scalings u, v absorbed into the potentials when they pass tau
               // (POT's sinkhorn_stabilized): matrix-vector products, no exp per iteration
};

// Parses POT's method names 'auto', 'sinkhorn_log', 'sinkhorn_stabilized'
// (else InvalidArgument naming "method").
SinkhornMethod parse_sinkhorn_method(const char* name);

struct SinkhornParams {
  double reg = 0;  // entropic regularisation, in the units of M
  double reg_m = std::numeric_limits<double>::infinity();  // KL marginal relaxation
  SinkhornMethod method = SinkhornMethod::Auto;
  std::int64_t max_iter = 1000;  // POT's numItermax
  double stop_thr = 1e-9;        // POT's stopThr
  // Annealing (log domain): reg starts at the range of M and is multiplied by this
  // factor per stage, down to reg; 0 turns it off; negative: automatic (0.5 when the
  // log domain runs with reg below 1/100 of the range of M).
  double epsilon_scaling = -1;
  double tau = 1e3;  // absorption threshold of the scaling form (POT's tau)
};

// Padded sizes: problem k uses the top-left n_sizes[k] x m_sizes[k] block of
// its (n, m) slice; padding is ignored on input and written as 0.
struct OtBatchShape {
  std::int64_t batch = 0;
  std::int64_t n = 0;
  std::int64_t m = 0;
};

// Outputs, all contiguous and of the padded shape. plan (batch, n, m); f (batch, n),
// g (batch, m) (-inf where the weight is 0); cost = <P, M> (POT's sinkhorn2);
// value = the minimised objective above (ot.solve's value for balanced problems);
// error = reached stopping criterion (balanced: ||P^T 1 - b||_2 as POT; unbalanced:
// largest change of a potential over the last iteration, divided by reg);
// iterations = completed iterations; method = the method used (1 Log, 2 Stabilized).
template <typename T>
struct SinkhornOutput {
  T* plan;
  T* f;
  T* g;
  T* cost;
  T* value;
  T* error;
  std::int64_t* iterations;
  std::int64_t* method;
};

// a (batch, n) and b (batch, m) non-negative weights (not normalised here), M (batch,
// n, m) finite costs; n_sizes, m_sizes (batch,) per-problem sizes or nullptr for
// the full n, m. Problems run in parallel; a single problem parallelises its rows.
template <typename T>
void sinkhorn(const T* a, const T* b, const T* M, const std::int64_t* n_sizes,
              const std::int64_t* m_sizes, const OtBatchShape& shape,
              const SinkhornParams& params, const SinkhornOutput<T>& out, int num_threads);

}  // namespace affectkit
