#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/ensembling/prompt_weights.h"

namespace affectkit {
namespace {

std::vector<double> random_logits(const PromptShape& s, double scale, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(static_cast<std::size_t>(s.samples * s.prompts * s.classes));
  for (auto& x : v) x = scale * normal(rng);
  return v;
}

std::vector<double> softmax(std::vector<double> z, double tau) {
  const double top = *std::max_element(z.begin(), z.end());
  double total = 0;
  for (auto& x : z) total += (x = std::exp((x - top) / tau));
  for (auto& x : z) x /= total;
  return z;
}

struct Solved {
  std::vector<double> weights;
  std::vector<std::uint8_t> kept;
  std::vector<double> predictions;
  PromptWeightsTrace trace;
};

Solved solve(const std::vector<double>& logits, const PromptShape& s, const PromptWeightsParams& p, int threads) {
  const std::int64_t weight_count = p.per_sample ? s.samples * s.prompts : s.prompts;
  Solved r{std::vector<double>(weight_count), std::vector<std::uint8_t>(weight_count),
           std::vector<double>(s.samples * s.classes), {}};
  r.trace = prompt_weights(logits.data(), s, p, r.weights.data(), r.kept.data(), r.predictions.data(), threads);
  return r;
}

// With no update the weights stay uniform: the prediction is softmax(mean_j L_ij / tau).
TEST(PromptWeights, UniformWeightsGiveTheMeanOfLogits) {
  const PromptShape s{40, 5, 4};
  const auto L = random_logits(s, 0.05, 1);
  PromptWeightsParams p;
  p.max_iter = 0;
  const Solved r = solve(L, s, p, 2);
  for (double w : r.weights) EXPECT_DOUBLE_EQ(w, 0.2);
  for (std::int64_t i = 0; i < s.samples; ++i) {
    std::vector<double> mean(s.classes, 0.0);
    for (std::int64_t j = 0; j < s.prompts; ++j) {
      for (std::int64_t c = 0; c < s.classes; ++c) mean[c] += L[(i * s.prompts + j) * s.classes + c] / s.prompts;
    }
    const auto expected = softmax(mean, p.temperature);
    for (std::int64_t c = 0; c < s.classes; ++c) EXPECT_NEAR(r.predictions[i * s.classes + c], expected[c], 1e-13);
  }
}

// Per sample and per dataset, pruning, several blocks: the weights stay on the simplex,
// pruned prompts get zero, the schedule drops floor(0.25 * kept) per round, and the
// result is the same bit for bit on one and on three threads.
TEST(PromptWeights, SimplexPruningAndThreadIndependence) {
  const PromptShape s{700, 12, 6};
  const auto L = random_logits(s, 0.02, 2);
  for (bool per_sample : {false, true}) {
    PromptWeightsParams p;
    p.per_sample = per_sample;
    p.prune_rounds = 3;  // 12 -> 9 -> 7 -> 6
    const Solved one = solve(L, s, p, 1), three = solve(L, s, p, 3);
    EXPECT_EQ(one.weights, three.weights);
    EXPECT_EQ(one.predictions, three.predictions);
    EXPECT_EQ(one.trace.objective, three.trace.objective);
    ASSERT_EQ(one.trace.solve_lengths.size(), 4u);
    const std::int64_t rows = per_sample ? s.samples : 1;
    for (std::int64_t i = 0; i < rows; ++i) {
      double total = 0;
      int kept = 0;
      for (std::int64_t j = 0; j < s.prompts; ++j) {
        const double w = one.weights[i * s.prompts + j];
        total += w;
        kept += one.kept[i * s.prompts + j];
        if (!one.kept[i * s.prompts + j]) {
          EXPECT_EQ(w, 0.0);
        }
      }
      EXPECT_NEAR(total, 1.0, 1e-12);
      EXPECT_EQ(kept, 6);
    }
  }
}

// With one prompt the weight is 1 and the prediction is the zero-shot softmax.
TEST(PromptWeights, OnePromptIsZeroShot) {
  const PromptShape s{10, 1, 3};
  const auto L = random_logits(s, 0.05, 3);
  for (bool per_sample : {false, true}) {
    PromptWeightsParams p;
    p.per_sample = per_sample;
    p.prune_rounds = 3;  // nothing to prune
    const Solved r = solve(L, s, p, 2);
    EXPECT_EQ(r.trace.solve_lengths.size(), 1u);
    for (double w : r.weights) EXPECT_EQ(w, 1.0);
    for (std::int64_t i = 0; i < s.samples; ++i) {
      const auto expected = softmax({L.begin() + i * 3, L.begin() + i * 3 + 3}, p.temperature);
      for (int c = 0; c < 3; ++c) EXPECT_NEAR(r.predictions[i * 3 + c], expected[c], 1e-14);
    }
  }
}

// At convergence the damped update is a fixed point, so J has stopped changing and
// the last update moved beta by less than tol.
TEST(PromptWeights, ConvergesInTheDatasetMode) {
  const PromptShape s{300, 6, 5};
  const auto L = random_logits(s, 0.01, 4);
  PromptWeightsParams p;
  p.lambda_zs = 0.5;
  p.lambda_beta = 2.0;
  p.max_iter = 500;
  p.tol = 1e-12;
  const Solved r = solve(L, s, p, 2);
  const auto& J = r.trace.objective;
  ASSERT_LT(J.size(), 501u);
  EXPECT_NEAR(J[J.size() - 1], J[J.size() - 2], 1e-12);
  for (std::size_t t = 1; t < J.size(); ++t) EXPECT_LE(J[t], J[t - 1] + 1e-12) << "update " << t;
}

TEST(PromptWeights, FloatLogitsAgreeWithDouble) {
  const PromptShape s{100, 4, 3};
  const auto L = random_logits(s, 0.05, 5);
  const std::vector<float> Lf(L.begin(), L.end());
  PromptWeightsParams p;
  const Solved d = solve(L, s, p, 2);
  std::vector<double> weights(s.prompts);
  std::vector<std::uint8_t> kept(s.prompts);
  std::vector<float> predictions(s.samples * s.classes);
  prompt_weights(Lf.data(), s, p, weights.data(), kept.data(), predictions.data(), 2);
  for (std::int64_t j = 0; j < s.prompts; ++j) EXPECT_NEAR(weights[j], d.weights[j], 1e-5);
}

TEST(PromptWeights, BadInputThrows) {
  const PromptShape s{4, 3, 3};
  auto L = random_logits(s, 0.05, 6);
  std::vector<double> w(3), pred(12);
  std::vector<std::uint8_t> kept(3);
  auto run = [&](const PromptShape& shape, const PromptWeightsParams& p) {
    prompt_weights(L.data(), shape, p, w.data(), kept.data(), pred.data(), 1);
  };
  PromptWeightsParams good;
  EXPECT_THROW(run({4, 0, 3}, good), InvalidArgument);
  EXPECT_THROW(run({4, 3, 1}, good), InvalidArgument);
  EXPECT_THROW(run({0, 3, 3}, good), InvalidArgument);
  for (auto change : std::vector<void (*)(PromptWeightsParams&)>{
           [](PromptWeightsParams& p) { p.temperature = 0; },
           [](PromptWeightsParams& p) { p.temperature = std::numeric_limits<double>::quiet_NaN(); },
           [](PromptWeightsParams& p) { p.lambda_beta = 0; }, [](PromptWeightsParams& p) { p.lambda_zs = -1; },
           [](PromptWeightsParams& p) { p.damping = 0; }, [](PromptWeightsParams& p) { p.damping = 2; },
           [](PromptWeightsParams& p) { p.max_iter = -1; }, [](PromptWeightsParams& p) { p.prune_fraction = 1; },
           [](PromptWeightsParams& p) { p.anchor_prompt = 3; }, [](PromptWeightsParams& p) { p.anchor_prompt = -2; }}) {
    PromptWeightsParams p;
    change(p);
    EXPECT_THROW(run(s, p), InvalidArgument);
  }
  L[5] = std::numeric_limits<double>::infinity();
  EXPECT_THROW(run(s, good), InvalidArgument);
  L[5] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(run(s, good), InvalidArgument);
}

TEST(PromptLogits, CosineSimilarities) {
  const PromptShape s{300, 2, 3};  // 300 rows: two blocks
  const std::int64_t dim = 7;
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  std::vector<double> audio(s.samples * dim), text(s.prompts * s.classes * dim), out(s.samples * 6);
  for (auto& x : audio) x = normal(rng);
  for (auto& x : text) x = normal(rng);
  prompt_logits(audio.data(), text.data(), s, dim, out.data(), 2);
  for (std::int64_t i = 0; i < s.samples; ++i) {
    for (std::int64_t k = 0; k < 6; ++k) {
      double dot = 0, na = 0, nt = 0;
      for (std::int64_t d = 0; d < dim; ++d) {
        dot += audio[i * dim + d] * text[k * dim + d];
        na += audio[i * dim + d] * audio[i * dim + d];
        nt += text[k * dim + d] * text[k * dim + d];
      }
      EXPECT_NEAR(out[i * 6 + k], dot / std::sqrt(na * nt), 1e-14);
    }
  }
  std::fill(audio.begin(), audio.begin() + dim, 0.0);  // a zero row cannot be normalised
  EXPECT_THROW(prompt_logits(audio.data(), text.data(), s, dim, out.data(), 1), InvalidArgument);
}

}  // namespace
}  // namespace affectkit
