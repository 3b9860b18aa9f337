#include "affectkit/ot/sinkhorn.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/common/eigen.h"
#include "affectkit/common/interrupt.h"
#include "affectkit/common/thread_pool.h"
#include "affectkit/common/vector_math.h"

namespace affectkit {
namespace {

// log of a zero weight: finite (the row kernels run under -ffast-math) and far below
// exp's range, so rows and columns of zero weight get exactly zero mass.
constexpr double kLogZero = -1e4;
// Iterations per annealing stage before the last, as GeomLoss (more did not cut the
// total number of iterations on the benchmark's problems, and each costs two exps per entry).
constexpr std::int64_t kStageIterations = 1;
constexpr std::int64_t kColumnBlock = 256;  // columns per task of a K^T u product

// body(begin, end) over [0, count), in parallel when a single problem has the threads.
template <typename Body>
void for_rows(std::int64_t count, int threads, const Body& body) {
  if (threads == 1) {
    body(std::int64_t{0}, count);
  } else {
    parallel_for(count, threads, body);
  }
}

template <typename T>
struct Problem {
  const T* a;
  const T* b;
  const T* M;  // row stride `stride`
  std::int64_t n, m, stride;
};

// log w, kLogZero where w is 0: vectorised (n + m scalar logs per call of each were a
// tenth of a short solve).
template <typename T>
std::vector<T> log_weights(const T* w, std::int64_t count) {
  std::vector<T> out(count);
  for (std::int64_t i = 0; i < count; ++i) out[i] = w[i] > 0 ? w[i] : T(1);
  log_inplace(out.data(), count);
  for (std::int64_t i = 0; i < count; ++i) out[i] = w[i] > 0 ? out[i] : T(kLogZero);
  return out;
}

// The potentials f, g and what both solvers need to run on them.
template <typename T>
struct State {
  const Problem<T>& p;
  const SinkhornParams& params;
  int threads;
  bool balanced;
  double fraction_a, fraction_b;  // reg_m / (reg_m + reg): POT's fi; 1 when balanced
  std::vector<T> log_a, log_b;    // log_weights of a and b
  std::vector<T> f, g;
  std::int64_t iterations = 0;

  State(const Problem<T>& problem, const SinkhornParams& prm, int num_threads)
      : p(problem), params(prm), threads(num_threads), balanced(std::isinf(prm.reg_m)),
        fraction_a(balanced ? 1.0 : prm.reg_m / (prm.reg_m + prm.reg)), fraction_b(fraction_a),
        log_a(log_weights(problem.a, problem.n)), log_b(log_weights(problem.b, problem.m)),
        f(problem.n, T(0)), g(problem.m, T(0)) {}

  // The stopping criterion from the g update: balanced, ||P^T 1 - b||_2 of the
  // current state, whose column sums are b_j exp((g_j - g_next_j) / eps) (no extra
  // pass over the plan); unbalanced, the largest change of a potential / eps.
  double error(const std::vector<T>& g_next, double eps, double last_f_change) const {
    double sum = 0, change = last_f_change;
    for (std::int64_t j = 0; j < p.m; ++j) {
      if (!(p.b[j] > 0)) continue;
      const double delta = double(g[j]) - double(g_next[j]);
      if (balanced) {
        const double violation = p.b[j] * std::expm1(delta / eps);
        sum += violation * violation;
      } else {
        change = std::max(change, std::abs(delta) / eps);
      }
    }
    return balanced ? std::sqrt(sum) : change;
  }
};

// A row's log2 sum_j 2^(c_j - scale M_ij) is computed as shift + log2(sum of the shifted
// terms); any shift within about 60 (float) of the row's largest exponent keeps that sum
// in [2^-64, 2^63], where it neither overflows nor loses terms to underflow (the terms
// below 2^-126.5 that the float exp2 flushes weigh under n 2^-62 of the sum). Outside,
// the row is summed again with its exact maximum as the shift.
template <typename T>
constexpr T kShiftedSumLow = sizeof(T) == 4 ? T(0x1p-64) : T(0x1p-500);
template <typename T>
constexpr T kShiftedSumHigh = sizeof(T) == 4 ? T(0x1p63) : T(0x1p500);
constexpr double kLog2e = 1.4426950408889634;
constexpr double kLn2 = 0.69314718055994531;

// POT's sinkhorn_log: g_j = eps (log b_j - lse_i((f_i - M_ij) / eps)), then the same
// for f over j (times POT's fi when unbalanced). M is copied transposed once so that
// both updates reduce contiguous rows. In base 2, with the potentials scaled by
// log2(e) / eps once per half-iteration, each entry costs one fma and one exp2; the
// shift of each row is its result of the previous iteration (in units of M, so it
// survives a change of eps), which saves the max pass but the first.
template <typename T>
class LogSolver {
 public:
  explicit LogSolver(State<T>& s)
      : s_(s), transposed_(s.p.n * s.p.m), g_next_(s.p.m), f_next_(s.p.n), scaled_(std::max(s.p.n, s.p.m)),
        row_shift_(s.p.n), column_shift_(s.p.m) {
    const Problem<T>& p = s.p;
    for (std::int64_t i = 0; i < p.n; ++i) {
      for (std::int64_t j = 0; j < p.m; ++j) transposed_[j * p.n + i] = p.M[i * p.stride + j];
    }
  }

  // Iterates at eps until the error is below stop_thr or limit iterations are done;
  // returns the error of the state reached.
  double run(double eps, std::int64_t limit) {
    for (;;) {
      interruption_point();  // Ctrl-C: a large problem can iterate for minutes
      update_g(eps);
      const double err = s_.error(g_next_, eps, f_change_);
      if (err < s_.params.stop_thr || s_.iterations >= limit) return err;
      std::swap(s_.g, g_next_);
      update_f(eps);
      ++s_.iterations;
    }
  }

 private:
  // log2 sum_j 2^(c_j - scale row_j), shifted by the row's last result (shift, in units
  // of M; updated) when known, else (or when that shift is too far off) by the exact max.
  static T log2_sum_exp2(const T* c, const T* row, T scale, std::int64_t count, bool known, T& shift) {
    T exponent_shift = shift * scale;
    T sum = known ? sum_exp2_difference(c, row, scale, exponent_shift, count) : T(0);
    if (!(sum >= kShiftedSumLow<T> && sum <= kShiftedSumHigh<T>)) {
      exponent_shift = max_difference(c, row, scale, count);
      sum = sum_exp2_difference(c, row, scale, exponent_shift, count);
    }
    const T result = exponent_shift + std::log2(sum);
    shift = result / scale;
    return result;
  }

  void update_g(double eps) {
    const Problem<T>& p = s_.p;
    const T scale = T(kLog2e / eps);
    for (std::int64_t i = 0; i < p.n; ++i) scaled_[i] = s_.f[i] * scale;
    for_rows(p.m, s_.threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t j = begin; j < end; ++j) {
        const T lse2 = log2_sum_exp2(scaled_.data(), transposed_.data() + j * p.n, scale, p.n, columns_known_,
                                     column_shift_[j]);
        g_next_[j] = T(eps * (s_.log_b[j] - s_.fraction_b * kLn2 * lse2));
      }
    });
    columns_known_ = true;
  }

  void update_f(double eps) {
    const Problem<T>& p = s_.p;
    const T scale = T(kLog2e / eps);
    for (std::int64_t j = 0; j < p.m; ++j) scaled_[j] = s_.g[j] * scale;
    for_rows(p.n, s_.threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const T lse2 = log2_sum_exp2(scaled_.data(), p.M + i * p.stride, scale, p.m, rows_known_, row_shift_[i]);
        f_next_[i] = T(eps * (s_.log_a[i] - s_.fraction_a * kLn2 * lse2));
      }
    });
    rows_known_ = true;
    f_change_ = 0;
    if (!s_.balanced) {
      for (std::int64_t i = 0; i < p.n; ++i) {
        if (p.a[i] > 0) f_change_ = std::max(f_change_, std::abs(double(f_next_[i]) - s_.f[i]) / eps);
      }
    }
    std::swap(s_.f, f_next_);
  }

  State<T>& s_;
  std::vector<T> transposed_, g_next_, f_next_;
  std::vector<T> scaled_;                     // the other side's potentials times log2(e) / eps
  std::vector<T> row_shift_, column_shift_;  // each row's (column's) last result, in units of M
  bool rows_known_ = false, columns_known_ = false;
  double f_change_ = 0;
};

// POT's sinkhorn_stabilized: scalings u, v on the kernel K = exp((alpha + beta - M) / eps),
// absorbed into the potentials alpha, beta (f = alpha + eps log u) when one leaves
// [1 / tau, tau]. run() returns false, with f and g the last good state, when the
// kernel under- or overflows; the caller then continues in the log domain.
template <typename T>
class StabilizedSolver {
 public:
  // Starts from the potentials in s (0, or a log-domain warm start) as alpha, beta, or
  // (cold) from the hard c-transform pair shifted by the log weights.
  StabilizedSolver(State<T>& s, double eps, bool cold)
      : s_(s), eps_(eps), kernel_(s.p.n * s.p.m), u_(s.p.n), v_(s.p.m), u_next_(s.p.n), v_next_(s.p.m),
        alpha_(s.f), beta_(s.g) {
    if (cold) start_from_c_transform();
    absorb();
  }

  bool run(std::int64_t limit, double& err) {
    const Problem<T>& p = s_.p;
    for (;;) {
      interruption_point();
      if (!update(u_, p.b, p.m, v_next_, true)) return fail();
      err = column_error();
      if (err < s_.params.stop_thr || s_.iterations >= limit) return finish();
      std::swap(v_, v_next_);
      if (!update(v_, p.a, p.n, u_next_, false)) return fail();
      std::swap(u_, u_next_);
      ++s_.iterations;
      if (outside(u_, p.a) || outside(v_, p.b)) absorb();
    }
  }

  // The plan diag(u) K diag(v) of the state reached (exp((f_i + g_j - M_ij) / eps), with
  // f = alpha + eps log u): a product per entry instead of an exp; 0 at zero weights,
  // whose scalings are 0.
  void write_plan(T* plan) const {
    const Problem<T>& p = s_.p;
    for_rows(p.n, s_.threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const T* kernel = kernel_.data() + i * p.m;
        T* row = plan + i * p.stride;
        for (std::int64_t j = 0; j < p.m; ++j) row[j] = u_[i] * kernel[j] * v_[j];
      }
    });
  }

 private:
  // next = w / (K v) (rows) or w / (K^T u) (columns); false if a positive weight
  // meets a zero or non-finite product.
  bool update(const std::vector<T>& other, const T* w, std::int64_t count, std::vector<T>& next,
              bool columns) {
    const Problem<T>& p = s_.p;
    // Eigen's matrix-vector kernels: several rows (columns) per sweep, so that each load
    // of v (and each store of the column sums) serves several rows of the kernel.
    using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
    const Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> K(kernel_.data(), p.n,
                                                                                                p.m);
    if (columns) {
      const std::int64_t blocks = (p.m + kColumnBlock - 1) / kColumnBlock;
      const Eigen::Map<const Vector> u(other.data(), p.n);
      for_rows(blocks, s_.threads, [&](std::int64_t begin, std::int64_t end) {
        const std::int64_t j0 = begin * kColumnBlock, width = std::min(p.m, end * kColumnBlock) - j0;
        Eigen::Map<Vector>(next.data() + j0, width).noalias() = K.middleCols(j0, width).transpose() * u;
      });
    } else {
      const Eigen::Map<const Vector> v(other.data(), p.m);
      for_rows(p.n, s_.threads, [&](std::int64_t begin, std::int64_t end) {
        Eigen::Map<Vector>(next.data() + begin, end - begin).noalias() = K.middleRows(begin, end - begin) * v;
      });
    }
    for (std::int64_t i = 0; i < count; ++i) {
      if (!(w[i] > 0)) {
        next[i] = 0;
        continue;
      }
      next[i] = w[i] / next[i];
      if (!(next[i] > 0 && next[i] <= std::numeric_limits<T>::max())) return false;
    }
    return true;
  }

  // ||P^T 1 - b||_2 of the current state: its column sums are v_j (K^T u)_j = b_j v_j / v_next_j.
  double column_error() const {
    double sum = 0;
    for (std::int64_t j = 0; j < s_.p.m; ++j) {
      if (!(s_.p.b[j] > 0)) continue;
      const double violation = double(s_.p.b[j]) * (double(v_[j]) / v_next_[j] - 1);
      sum += violation * violation;
    }
    return std::sqrt(sum);
  }

  // Some scaling of a positive weight outside [1 / tau, tau] (compared, not by its log:
  // n + m logs per iteration were a tenth of a short solve).
  bool outside(const std::vector<T>& scaling, const T* w) const {
    const double tau = s_.params.tau;
    for (std::size_t i = 0; i < scaling.size(); ++i) {
      if (w[i] > 0 && (scaling[i] > tau || scaling[i] * tau < 1)) return true;
    }
    return false;
  }

  // alpha + eps log u, with kLogZero for zero weights (whose scaling is 0).
  std::vector<T> potentials(const std::vector<T>& scaling, const T* w, const std::vector<T>& shift) const {
    std::vector<T> out = log_weights(scaling.data(), std::int64_t(scaling.size()));  // positive where w is
    for (std::size_t i = 0; i < scaling.size(); ++i) {
      out[i] = w[i] > 0 ? T(shift[i] + eps_ * out[i]) : T(eps_ * kLogZero);
    }
    return out;
  }

  // alpha_i = min_j M_ij + eps log a_i, beta_j = min_i (M_ij - min_j' M_ij') + eps log b_j:
  // every kernel entry is at most a_i b_j, and each row and column reaches it, so the
  // first scalings are within a factor n or m of 1. From alpha = beta = 0 the kernel
  // exp(-M / reg) can be e^-30, the scalings leave [1 / tau, tau] at once, and the second
  // iteration absorbs: a second exp pass over the matrix, a third of a short solve.
  void start_from_c_transform() {
    const Problem<T>& p = s_.p;
    std::fill(beta_.begin(), beta_.end(), std::numeric_limits<T>::max());
    for (std::int64_t i = 0; i < p.n; ++i) {
      const T* row = p.M + i * p.stride;
      T low = row[0];
#pragma omp simd reduction(min : low)
      for (std::int64_t j = 0; j < p.m; ++j) low = row[j] < low ? row[j] : low;
      for (std::int64_t j = 0; j < p.m; ++j) {
        const T excess = row[j] - low;
        beta_[j] = excess < beta_[j] ? excess : beta_[j];  // a select, vectorised (std::min is not)
      }
      alpha_[i] = low + (p.a[i] > 0 ? T(eps_ * s_.log_a[i]) : T(0));
    }
    for (std::int64_t j = 0; j < p.m; ++j) {
      if (p.b[j] > 0) beta_[j] += T(eps_ * s_.log_b[j]);
    }
  }

  void absorb() {
    const Problem<T>& p = s_.p;
    if (absorbed_) {
      alpha_ = potentials(u_, p.a, alpha_);
      beta_ = potentials(v_, p.b, beta_);
    }
    absorbed_ = true;
    for (std::int64_t i = 0; i < p.n; ++i) u_[i] = p.a[i] > 0 ? T(1) : T(0);
    for (std::int64_t j = 0; j < p.m; ++j) v_[j] = p.b[j] > 0 ? T(1) : T(0);
    const T inv_eps = T(1 / eps_);
    for_rows(p.n, s_.threads, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        exp_difference(alpha_[i], beta_.data(), p.M + i * p.stride, inv_eps, kernel_.data() + i * p.m, p.m);
      }
    });
  }

  bool finish() {
    s_.f = potentials(u_, s_.p.a, alpha_);
    s_.g = potentials(v_, s_.p.b, beta_);
    return true;
  }

  bool fail() {
    finish();
    return false;
  }

  State<T>& s_;
  double eps_;
  std::vector<T> kernel_, u_, v_, u_next_, v_next_, alpha_, beta_;
  bool absorbed_ = false;  // false until the first kernel: u, v hold nothing to absorb yet
};

// Checks that the costs are finite (naming the first that is not) and returns their
// range, max - min: one vectorised pass, the only one over M before the solver's.
template <typename T>
double checked_cost_range(const Problem<T>& p) {
  std::int64_t bad = 0;
  T low = p.M[0], high = p.M[0];
  for (std::int64_t i = 0; i < p.n; ++i) {
    const T* row = p.M + i * p.stride;
#pragma omp simd reduction(+ : bad) reduction(min : low) reduction(max : high)
    for (std::int64_t j = 0; j < p.m; ++j) {
      bad += !(row[j] - row[j] == T(0));
      low = row[j] < low ? row[j] : low;
      high = row[j] > high ? row[j] : high;
    }
  }
  if (bad != 0) {
    for (std::int64_t i = 0; i < p.n; ++i) check_finite(p.M + i * p.stride, p.m, "M");
  }
  return double(high) - double(low);
}

// The method and the annealing factor (0: none) for one problem.
template <typename T>
std::pair<SinkhornMethod, double> resolve(double cost_range, const SinkhornParams& params, bool balanced) {
  const double range = cost_range / params.reg;  // the cost range in units of reg
  SinkhornMethod method = params.method;
  if (method == SinkhornMethod::Auto) {
    // The scaling form needs exp(-M / reg) without underflow to start from.
    const double representable = 0.5 * std::log(double(std::numeric_limits<T>::max()));
    const bool stabilized = balanced && params.epsilon_scaling <= 0 && range <= representable;
    method = stabilized ? SinkhornMethod::Stabilized : SinkhornMethod::Log;
  }
  double scaling = params.epsilon_scaling;
  if (scaling < 0) scaling = method == SinkhornMethod::Log && range > 100 ? 0.5 : 0.0;
  return {method, scaling};
}

// Log-domain iterations (annealed from the cost range when epsilon_scaling > 0); with
// warm_start, only kStageIterations at reg after the annealing.
template <typename T>
double run_log(State<T>& s, double cost_range, double epsilon_scaling, bool warm_start) {
  const SinkhornParams& params = s.params;
  LogSolver<T> solver(s);
  if (epsilon_scaling > 0) {
    for (double eps = cost_range * epsilon_scaling; eps > params.reg; eps *= epsilon_scaling) {
      solver.run(eps, std::min(params.max_iter, s.iterations + kStageIterations));
    }
  }
  return solver.run(params.reg, warm_start ? std::min(params.max_iter, s.iterations + kStageIterations)
                                           : params.max_iter);
}

// The plan exp((f_i + g_j - M_ij) / eps) from the potentials, 0 at zero weights.
template <typename T>
void write_plan(const State<T>& s, const Problem<T>& p, double eps, T* plan) {
  const T inv_eps = T(1 / eps);
  for_rows(p.n, s.threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      T* row = plan + i * p.stride;
      if (p.a[i] > 0) {
        exp_difference(s.f[i], s.g.data(), p.M + i * p.stride, inv_eps, row, p.m);
      } else {
        std::fill(row, row + p.m, T(0));
      }
      for (std::int64_t j = 0; j < p.m; ++j) {
        if (!(p.b[j] > 0)) row[j] = 0;
      }
    }
  });
}

// Marginals, <P, M> and the objective of the written plan.
template <typename T>
void summarise(const State<T>& s, const Problem<T>& p, double eps, const T* plan, T* value, T* cost) {
  std::vector<double> row_mass(p.n), row_cost(p.n), column_mass(p.m, 0.0);
  for_rows(p.n, s.threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const T* row = plan + i * p.stride;
      const T* costs = p.M + i * p.stride;
      double mass = 0, linear = 0;
      // Vectorised: two scalar double sums cost as much as all of a few iterations.
#pragma omp simd reduction(+ : mass, linear)
      for (std::int64_t j = 0; j < p.m; ++j) {
        mass += row[j];
        linear += double(row[j]) * costs[j];
      }
      row_mass[i] = mass;
      row_cost[i] = linear;
    }
  });
  double total_cost = 0, total_mass = 0, mass_a = 0, mass_b = 0;
  for (std::int64_t i = 0; i < p.n; ++i) {
    const T* row = plan + i * p.stride;
    for (std::int64_t j = 0; j < p.m; ++j) column_mass[j] += row[j];
    total_cost += row_cost[i];
    total_mass += row_mass[i];
    mass_a += p.a[i];
  }
  for (std::int64_t j = 0; j < p.m; ++j) mass_b += p.b[j];
  // cost + eps KL(P | a b^T) = <P 1, f - eps log a> + <P^T 1, g - eps log b> + eps (|a||b| - |P|)
  // since log P_ij = (f_i + g_j - M_ij) / eps.
  double objective = eps * (mass_a * mass_b - total_mass);
  const auto marginal_terms = [&](const std::vector<double>& mass, const std::vector<T>& potential,
                                  const std::vector<T>& log_w, const T* w, std::int64_t count) {
    double sum = 0;
    for (std::int64_t i = 0; i < count; ++i) {
      if (!(w[i] > 0)) continue;
      sum += mass[i] * (potential[i] - eps * log_w[i]);
      if (!s.balanced) {  // reg_m KL(P 1 | a), generalised
        const double kl = mass[i] > 0 ? mass[i] * std::log(mass[i] / w[i]) - mass[i] + w[i] : double(w[i]);
        sum += s.params.reg_m * kl;
      }
    }
    return sum;
  };
  objective += marginal_terms(row_mass, s.f, s.log_a, p.a, p.n) + marginal_terms(column_mass, s.g, s.log_b, p.b, p.m);
  *cost = T(total_cost);
  *value = T(objective);
  // Only an unbalanced plan can grow without bound: its mass is about
  // exp(-min M / (2 reg_m + reg)) for negative costs.
  AK_CHECK(std::isfinite(*cost) && std::isfinite(*value) && std::isfinite(T(total_mass)), "reg_m",
           "the optimal plan overflows this precision with these costs (its mass grows like exp(-min(M) / "
           "(2 reg_m + reg))): use non-negative costs, a larger reg_m, or float64");
}

template <typename T>
void check_weights(const T* w, std::int64_t count, const char* argument) {
  double mass = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    AK_CHECK(std::isfinite(w[i]) && w[i] >= 0, argument,
             "weights must be finite and non-negative, found " << w[i] << " at index " << i);
    mass += w[i];
  }
  AK_CHECK(mass > 0, argument, "weights must have a positive sum");
}

template <typename T>
void solve_problem(const Problem<T>& p, double cost_range, const SinkhornParams& params, int threads, T* plan,
                   T* f, T* g, T* cost, T* value, T* error, std::int64_t* iterations, std::int64_t* method) {
  State<T> s(p, params, threads);
  const auto [chosen, epsilon_scaling] = resolve<T>(cost_range, params, s.balanced);
  // 'auto' on a balanced problem whose kernel exp(-M / reg) underflows: a log-domain warm
  // start makes exp((f + g - M) / reg) representable, then the scaling form (no exp per
  // iteration) finishes.
  const bool hand_over = chosen == SinkhornMethod::Log && params.method == SinkhornMethod::Auto && s.balanced;
  double err = 0;
  bool stabilized = chosen == SinkhornMethod::Stabilized;
  if (hand_over) {
    err = run_log(s, cost_range, epsilon_scaling, true);
    stabilized = !(err < params.stop_thr) && s.iterations < params.max_iter;
  }
  bool done = !stabilized && hand_over;
  if (stabilized) {
    // 'auto' starts cold from the c-transform pair (fewer absorptions); an explicit
    // 'sinkhorn_stabilized' from 0, POT's iterates.
    StabilizedSolver<T> solver(s, params.reg, params.method == SinkhornMethod::Auto && !hand_over);
    done = solver.run(params.max_iter, err);
    if (done) solver.write_plan(plan);
  }
  // plain log domain; also the fallback when the kernel of the scaling form under- or overflows
  if (!done) err = run_log(s, cost_range, stabilized ? 0.0 : epsilon_scaling, false);
  if (!(stabilized && done)) write_plan(s, p, params.reg, plan);
  summarise(s, p, params.reg, plan, value, cost);
  for (std::int64_t i = 0; i < p.n; ++i) f[i] = p.a[i] > 0 ? s.f[i] : -std::numeric_limits<T>::infinity();
  for (std::int64_t j = 0; j < p.m; ++j) g[j] = p.b[j] > 0 ? s.g[j] : -std::numeric_limits<T>::infinity();
  *error = T(err);
  *iterations = s.iterations;
  *method = stabilized && done ? 2 : 1;
}

}  // namespace

SinkhornMethod parse_sinkhorn_method(const char* name) {
  const std::string method(name);
  if (method == "auto") return SinkhornMethod::Auto;
  if (method == "sinkhorn_log") return SinkhornMethod::Log;
  AK_CHECK(method == "sinkhorn_stabilized", "method",
           "must be 'auto', 'sinkhorn_log' or 'sinkhorn_stabilized', got '" << method << "'");
  return SinkhornMethod::Stabilized;
}

template <typename T>
void sinkhorn(const T* a, const T* b, const T* M, const std::int64_t* n_sizes, const std::int64_t* m_sizes,
              const OtBatchShape& shape, const SinkhornParams& params, const SinkhornOutput<T>& out,
              int num_threads) {
  AK_CHECK(shape.batch >= 0, "M", "batch must be non-negative, got " << shape.batch);
  AK_CHECK(shape.n >= 1 && shape.m >= 1, "M", "needs at least one row and one column, got " << shape.n
                                                                                          << " x " << shape.m);
  AK_CHECK(std::isfinite(params.reg) && params.reg > 0, "reg", "must be positive and finite, got " << params.reg);
  AK_CHECK(params.reg_m > 0, "reg_m", "must be positive (infinity: balanced), got " << params.reg_m);
  AK_CHECK(params.max_iter >= 0, "numItermax", "must be non-negative, got " << params.max_iter);
  AK_CHECK(params.stop_thr >= 0, "stopThr", "must be non-negative, got " << params.stop_thr);
  AK_CHECK(params.epsilon_scaling < 1, "epsilon_scaling",
           "must be below 1 (a factor in (0, 1); 0: off; negative: automatic), got " << params.epsilon_scaling);
  AK_CHECK(params.tau > 1, "tau", "must be greater than 1, got " << params.tau);
  const bool balanced = std::isinf(params.reg_m);
  AK_CHECK(params.method != SinkhornMethod::Stabilized || (balanced && params.epsilon_scaling <= 0), "method",
           "'sinkhorn_stabilized' solves balanced problems without epsilon scaling; use 'sinkhorn_log'");
  std::vector<std::int64_t> sizes(2 * shape.batch);
  for (std::int64_t k = 0; k < shape.batch; ++k) {
    sizes[2 * k] = n_sizes ? n_sizes[k] : shape.n;
    sizes[2 * k + 1] = m_sizes ? m_sizes[k] : shape.m;
    AK_CHECK(sizes[2 * k] >= 1 && sizes[2 * k] <= shape.n, "n_sizes",
             "must be in [1, " << shape.n << "], got " << sizes[2 * k] << " for problem " << k);
    AK_CHECK(sizes[2 * k + 1] >= 1 && sizes[2 * k + 1] <= shape.m, "m_sizes",
             "must be in [1, " << shape.m << "], got " << sizes[2 * k + 1] << " for problem " << k);
  }
  const auto problem = [&](std::int64_t k) {
    return Problem<T>{a + k * shape.n, b + k * shape.m, M + k * shape.n * shape.m, sizes[2 * k],
                      sizes[2 * k + 1], shape.m};
  };
  std::vector<double> cost_ranges(shape.batch);
  for (std::int64_t k = 0; k < shape.batch; ++k) {
    const Problem<T> p = problem(k);
    check_weights(p.a, p.n, "a");
    check_weights(p.b, p.m, "b");
    cost_ranges[k] = checked_cost_range(p);
    if (balanced) {
      double mass_a = 0, mass_b = 0;
      for (std::int64_t i = 0; i < p.n; ++i) mass_a += p.a[i];
      for (std::int64_t j = 0; j < p.m; ++j) mass_b += p.b[j];
      AK_CHECK(std::abs(mass_a - mass_b) <= 1e-5 * std::max(mass_a, mass_b), "b",
               "must have the total mass of a for balanced OT, got " << mass_b << " and " << mass_a
                   << " (problem " << k << "); normalise both, or use sinkhorn_unbalanced");
    }
  }
  const std::int64_t nm = shape.n * shape.m;
  std::fill(out.f, out.f + shape.batch * shape.n, T(0));
  std::fill(out.g, out.g + shape.batch * shape.m, T(0));
  const int threads = num_threads <= 0 ? hardware_threads() : num_threads;
  // Threads over problems; a lone problem (or fewer problems than threads) splits its rows.
  const int inner = shape.batch >= threads ? 1 : std::max(1, threads / int(std::max<std::int64_t>(1, shape.batch)));
  parallel_for(shape.batch, threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t k = begin; k < end; ++k) {
      const Problem<T> p = problem(k);
      T* plan = out.plan + k * nm;
      solve_problem(p, cost_ranges[k], params, inner, plan, out.f + k * shape.n, out.g + k * shape.m,
                    out.cost + k, out.value + k, out.error + k, out.iterations + k, out.method + k);
      // padding only: the solver wrote the n x m block (a fill of the whole output
      // beforehand was a pass over it)
      for (std::int64_t i = 0; i < p.n; ++i) std::fill(plan + i * shape.m + p.m, plan + (i + 1) * shape.m, T(0));
      std::fill(plan + p.n * shape.m, plan + nm, T(0));
    }
  });
}

template void sinkhorn<float>(const float*, const float*, const float*, const std::int64_t*,
                              const std::int64_t*, const OtBatchShape&, const SinkhornParams&,
                              const SinkhornOutput<float>&, int);
template void sinkhorn<double>(const double*, const double*, const double*, const std::int64_t*,
                               const std::int64_t*, const OtBatchShape&, const SinkhornParams&,
                               const SinkhornOutput<double>&, int);

}  // namespace affectkit
