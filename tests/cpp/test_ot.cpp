// Invariants of cpp/affectkit/ot: marginals, agreement of the two methods, padding,
// zero weights, tiny reg, bad parameters. Values against POT are in tests/python/test_ot.py.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/ot/cost.h"
#include "affectkit/ot/sinkhorn.h"

namespace affectkit {
namespace {

template <typename T>
struct Solution {
  std::vector<T> plan, f, g, cost, value, error;
  std::vector<std::int64_t> iterations, method;

  explicit Solution(const OtBatchShape& s)
      : plan(s.batch * s.n * s.m), f(s.batch * s.n), g(s.batch * s.m), cost(s.batch), value(s.batch),
        error(s.batch), iterations(s.batch), method(s.batch) {}

  SinkhornOutput<T> output() {
    return {plan.data(), f.data(), g.data(), cost.data(), value.data(), error.data(), iterations.data(),
            method.data()};
  }
};

// Normalised random weights and squared distances of random 2-D points.
template <typename T>
void random_problem(std::int64_t n, std::int64_t m, unsigned seed, std::vector<T>& a, std::vector<T>& b,
                    std::vector<T>& M) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uniform(0.1, 1.0);
  std::normal_distribution<double> normal;
  std::vector<double> x(2 * n), y(2 * m);
  for (auto& v : x) v = normal(rng);
  for (auto& v : y) v = normal(rng);
  a.resize(n);
  b.resize(m);
  double sa = 0, sb = 0;
  for (auto& v : a) sa += (v = T(uniform(rng)));
  for (auto& v : b) sb += (v = T(uniform(rng)));
  for (auto& v : a) v = T(v / sa);
  for (auto& v : b) v = T(v / sb);
  M.resize(n * m);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < m; ++j) {
      const double dx = x[2 * i] - y[2 * j], dy = x[2 * i + 1] - y[2 * j + 1];
      M[i * m + j] = T(dx * dx + dy * dy);
    }
  }
}

template <typename T>
class SinkhornTest : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SinkhornTest, FloatTypes);

TYPED_TEST(SinkhornTest, BothMethodsReachTheMarginalsAndAgree) {
  using T = TypeParam;
  std::vector<T> a, b, M;
  random_problem<T>(13, 7, 1, a, b, M);
  const OtBatchShape shape{1, 13, 7};
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-11;
  SinkhornParams params;
  params.reg = 0.5;
  params.stop_thr = std::is_same_v<T, float> ? 1e-6 : 1e-12;
  params.max_iter = 10000;
  std::vector<std::vector<T>> plans;
  for (SinkhornMethod method : {SinkhornMethod::Log, SinkhornMethod::Stabilized}) {
    params.method = method;
    Solution<T> s(shape);
    sinkhorn(a.data(), b.data(), M.data(), nullptr, nullptr, shape, params, s.output(), 1);
    EXPECT_EQ(s.method[0], method == SinkhornMethod::Log ? 1 : 2);
    EXPECT_LT(s.error[0], params.stop_thr);
    double cost = 0;
    for (std::int64_t i = 0; i < 13; ++i) {
      double row = 0;
      for (std::int64_t j = 0; j < 7; ++j) {
        const T p = s.plan[i * 7 + j];
        // the plan is exp((f + g - M) / reg)
        EXPECT_NEAR(p, std::exp((double(s.f[i]) + s.g[j] - M[i * 7 + j]) / params.reg), 10 * tol);
        row += p;
        cost += double(p) * M[i * 7 + j];
      }
      EXPECT_NEAR(row, a[i], tol);
    }
    for (std::int64_t j = 0; j < 7; ++j) {
      double column = 0;
      for (std::int64_t i = 0; i < 13; ++i) column += s.plan[i * 7 + j];
      EXPECT_NEAR(column, b[j], tol);
    }
    EXPECT_NEAR(s.cost[0], cost, tol);
    EXPECT_GT(s.value[0], s.cost[0]);  // KL(P | a b^T) > 0 for a non-product plan
    plans.push_back(s.plan);
  }
  for (std::size_t k = 0; k < plans[0].size(); ++k) EXPECT_NEAR(plans[0][k], plans[1][k], 10 * tol);
}

TYPED_TEST(SinkhornTest, TinyRegStaysFinite) {
  using T = TypeParam;
  std::vector<T> a, b, M;
  random_problem<T>(20, 30, 2, a, b, M);
  const OtBatchShape shape{1, 20, 30};
  SinkhornParams params;
  params.reg = 1e-4 * *std::max_element(M.begin(), M.end());
  params.max_iter = 2000;
  Solution<T> s(shape);
  sinkhorn(a.data(), b.data(), M.data(), nullptr, nullptr, shape, params, s.output(), 1);
  EXPECT_TRUE(s.method[0] == 1 || s.method[0] == 2);  // auto: log-domain warm start, maybe the scaling form
  for (T v : s.plan) EXPECT_TRUE(std::isfinite(v));
  for (T v : s.f) EXPECT_TRUE(std::isfinite(v));
  EXPECT_TRUE(std::isfinite(s.cost[0]) && std::isfinite(s.error[0]));
}

TYPED_TEST(SinkhornTest, PaddingIsIgnoredAndZeroed) {
  using T = TypeParam;
  std::vector<T> a, b, M;
  random_problem<T>(4, 3, 3, a, b, M);
  SinkhornParams params;
  params.reg = 0.3;
  Solution<T> alone({1, 4, 3});
  sinkhorn(a.data(), b.data(), M.data(), nullptr, nullptr, {1, 4, 3}, params, alone.output(), 1);
  // the same problem at the top-left of a 6 x 5 slice whose padding holds garbage
  const OtBatchShape padded{2, 6, 5};
  std::vector<T> pa(12, T(7)), pb(10, T(7)), pM(60, T(-1e30));
  for (std::int64_t k = 0; k < 2; ++k) {
    for (std::int64_t i = 0; i < 4; ++i) pa[k * 6 + i] = a[i];
    for (std::int64_t j = 0; j < 3; ++j) pb[k * 5 + j] = b[j];
    for (std::int64_t i = 0; i < 4; ++i) {
      for (std::int64_t j = 0; j < 3; ++j) pM[k * 30 + i * 5 + j] = M[i * 3 + j];
    }
  }
  const std::int64_t n_sizes[] = {4, 4}, m_sizes[] = {3, 3};
  Solution<T> s(padded);
  sinkhorn(pa.data(), pb.data(), pM.data(), n_sizes, m_sizes, padded, params, s.output(), 2);
  for (std::int64_t k = 0; k < 2; ++k) {
    for (std::int64_t i = 0; i < 6; ++i) {
      for (std::int64_t j = 0; j < 5; ++j) {
        const T expected = i < 4 && j < 3 ? alone.plan[i * 3 + j] : T(0);
        EXPECT_EQ(s.plan[k * 30 + i * 5 + j], expected);
      }
    }
    EXPECT_EQ(s.cost[k], alone.cost[0]);
    EXPECT_EQ(s.f[k * 6 + 4], T(0));
  }
}

TYPED_TEST(SinkhornTest, ZeroWeightsGetNoMassAndInfinitePotentials) {
  using T = TypeParam;
  std::vector<T> a{0.5, 0, 0.5}, b{0.25, 0.75}, M{1, 2, 3, 4, 5, 6};
  SinkhornParams params;
  params.reg = 0.5;
  for (SinkhornMethod method : {SinkhornMethod::Log, SinkhornMethod::Stabilized}) {
    params.method = method;
    Solution<T> s({1, 3, 2});
    sinkhorn(a.data(), b.data(), M.data(), nullptr, nullptr, {1, 3, 2}, params, s.output(), 1);
    EXPECT_EQ(s.plan[2], T(0));
    EXPECT_EQ(s.plan[3], T(0));
    EXPECT_EQ(s.f[1], -std::numeric_limits<T>::infinity());
    EXPECT_TRUE(std::isfinite(s.f[0]) && std::isfinite(s.g[0]) && std::isfinite(s.g[1]));
  }
}

TEST(Sinkhorn, UnbalancedPlanIsAShrunkBalancedOne) {
  // reg_m -> infinity gives the balanced plan; a small reg_m lets mass shrink.
  std::vector<double> a, b, M;
  random_problem<double>(6, 5, 4, a, b, M);
  SinkhornParams params;
  params.reg = 0.2;
  params.stop_thr = 1e-13;
  params.max_iter = 100000;
  Solution<double> balanced({1, 6, 5});
  sinkhorn(a.data(), b.data(), M.data(), nullptr, nullptr, {1, 6, 5}, params, balanced.output(), 1);
  params.reg_m = 1e7;
  Solution<double> almost({1, 6, 5});
  sinkhorn(a.data(), b.data(), M.data(), nullptr, nullptr, {1, 6, 5}, params, almost.output(), 1);
  for (std::size_t k = 0; k < balanced.plan.size(); ++k) EXPECT_NEAR(almost.plan[k], balanced.plan[k], 1e-6);
  params.reg_m = 0.1;
  Solution<double> relaxed({1, 6, 5});
  sinkhorn(a.data(), b.data(), M.data(), nullptr, nullptr, {1, 6, 5}, params, relaxed.output(), 1);
  double mass = 0;
  for (double p : relaxed.plan) mass += p;
  EXPECT_LT(mass, 1.0);
  EXPECT_LT(relaxed.error[0], 1e-13);
}

TEST(Sinkhorn, BadArgumentsNameTheArgument) {
  std::vector<double> a{0.5, 0.5}, b{1.0}, M{1, 2}, out(2);
  const auto run = [&](SinkhornParams params, std::vector<double> wa, std::vector<double> costs) {
    Solution<double> s({1, 2, 1});
    sinkhorn(wa.data(), b.data(), costs.data(), nullptr, nullptr, {1, 2, 1}, params, s.output(), 1);
  };
  const auto message = [&](SinkhornParams params, std::vector<double> wa, std::vector<double> costs) {
    try {
      run(params, wa, costs);
    } catch (const InvalidArgument& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  SinkhornParams good;
  good.reg = 1;
  EXPECT_NO_THROW(run(good, a, M));
  SinkhornParams bad = good;
  bad.reg = 0;
  EXPECT_NE(message(bad, a, M).find("'reg'"), std::string::npos);
  bad = good;
  bad.reg = std::numeric_limits<double>::infinity();
  EXPECT_NE(message(bad, a, M).find("'reg'"), std::string::npos);
  bad = good;
  bad.tau = 1;
  EXPECT_NE(message(bad, a, M).find("'tau'"), std::string::npos);
  bad = good;
  bad.method = SinkhornMethod::Stabilized;
  bad.reg_m = 1;
  EXPECT_NE(message(bad, a, M).find("'method'"), std::string::npos);
  EXPECT_NE(message(good, {0.5, -0.5}, M).find("'a'"), std::string::npos);
  EXPECT_NE(message(good, {0.5, 0.6}, M).find("'b'"), std::string::npos);  // masses differ
  EXPECT_NE(message(good, a, {1, std::nan("")}).find("'M'"), std::string::npos);
  const std::int64_t too_many[] = {3};
  Solution<double> s({1, 2, 1});
  EXPECT_THROW(sinkhorn(a.data(), b.data(), M.data(), too_many, nullptr, {1, 2, 1}, good, s.output(), 1),
               InvalidArgument);
}

TEST(PairwiseCost, MatchesTheDefinitions) {
  const std::vector<double> x{1, 0, 0, 2}, y{0, 1, 3, 4, -1, 0};  // 2 and 3 points in 2-D
  std::vector<double> out(6);
  const PointCloudShape shape{1, 2, 3, 2};
  pairwise_cost(x.data(), y.data(), shape, CostMetric::SqEuclidean, out.data(), 1);
  EXPECT_NEAR(out[0], 2, 1e-12);   // |(1,0) - (0,1)|^2
  EXPECT_NEAR(out[4], 13, 1e-12);  // |(0,2) - (3,4)|^2
  pairwise_cost(x.data(), y.data(), shape, CostMetric::Euclidean, out.data(), 1);
  EXPECT_NEAR(out[1], std::sqrt(20.0), 1e-12);
  pairwise_cost(x.data(), y.data(), shape, CostMetric::Cosine, out.data(), 1);
  EXPECT_NEAR(out[0], 1, 1e-12);      // orthogonal
  EXPECT_NEAR(out[2], 2, 1e-12);      // opposite
  EXPECT_NEAR(out[4], 1 - 0.8, 1e-12);  // cos((0,2), (3,4)) = 8 / 10
  const std::vector<double> zero{0, 0};
  EXPECT_THROW(pairwise_cost(zero.data(), y.data(), {1, 1, 3, 2}, CostMetric::Cosine, out.data(), 1),
               InvalidArgument);
  EXPECT_THROW(parse_cost_metric("cityblock"), InvalidArgument);
}

}  // namespace
}  // namespace affectkit
