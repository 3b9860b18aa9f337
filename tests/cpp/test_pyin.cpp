#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/prosody/pyin.h"

namespace affectkit {
namespace {

// The beta(2, 18) prior over 100 thresholds in closed form (integer parameters:
// I_x(a, b) = sum_{j=a}^{a+b-1} C(a+b-1, j) x^j (1-x)^(a+b-1-j)); close to scipy's,
// which the Python layer passes.
std::vector<double> beta_prior(int n_thresholds) {
  auto cdf = [](double x) {
    const int m = 19;  // a + b - 1
    double sum = 0, binomial = 1;
    for (int j = 0; j <= m; ++j) {
      if (j >= 2) sum += binomial * std::pow(x, j) * std::pow(1 - x, m - j);
      binomial = binomial * (m - j) / (j + 1);
    }
    return sum;
  };
  std::vector<double> prior(n_thresholds);
  for (int j = 0; j < n_thresholds; ++j) prior[j] = cdf((j + 1.0) / n_thresholds) - cdf(j * 1.0 / n_thresholds);
  return prior;
}

PyinParams default_params(double sr, double fmin, double fmax) {
  PyinParams p;
  p.sample_rate = sr;
  p.fmin = fmin;
  p.fmax = fmax;
  p.threshold_prior = beta_prior(100);
  return p;
}

// librosa.sequence.viterbi written out densely, as its _viterbi: the reference for
// the banded decoder.
std::vector<std::int64_t> dense_viterbi(const std::vector<double>& prob, std::int64_t T, std::int64_t n,
                                        std::int64_t width, double switch_prob) {
  const double tiny = std::numeric_limits<double>::min();
  const std::int64_t S = 2 * n, h = width / 2;
  const std::vector<double> window = pyin_detail::triangle_window(width);
  std::vector<double> local(n * n, 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<double> row(n);
    for (std::int64_t j = 0; j < n; ++j) row[j] = pyin_detail::transition_local_raw(n, width, window, i, j);
    const double sum = pyin_detail::numpy_sum(row.data(), n);
    for (std::int64_t j = 0; j < n; ++j) local[i * n + j] = row[j] / sum;
  }
  const double stay = 1.0 - switch_prob, loop[2][2] = {{stay, 1.0 - stay}, {1.0 - stay, stay}};
  std::vector<double> log_trans(S * S);
  for (std::int64_t k = 0; k < S; ++k) {
    for (std::int64_t l = 0; l < S; ++l) log_trans[k * S + l] = std::log(loop[k / n][l / n] * local[(k % n) * n + l % n] + tiny);
  }
  EXPECT_GE(h, 0);
  std::vector<double> value(S), next(S);
  std::vector<std::int64_t> pointer(T * S), states(T);
  for (std::int64_t k = 0; k < S; ++k) value[k] = std::log(prob[k * T] + tiny) + std::log(1.0 / S + tiny);
  for (std::int64_t t = 1; t < T; ++t) {
    for (std::int64_t j = 0; j < S; ++j) {
      std::int64_t arg = 0;
      for (std::int64_t k = 1; k < S; ++k) {
        if (value[k] + log_trans[k * S + j] > value[arg] + log_trans[arg * S + j]) arg = k;
      }
      pointer[t * S + j] = arg;
      next[j] = std::log(prob[j * T + t] + tiny) + (value[arg] + log_trans[arg * S + j]);
    }
    value.swap(next);
  }
  std::int64_t state = 0;
  for (std::int64_t k = 1; k < S; ++k) {
    if (value[k] > value[state]) state = k;
  }
  states[T - 1] = state;
  for (std::int64_t t = T - 2; t >= 0; --t) states[t] = state = pointer[(t + 1) * S + state];
  return states;
}

TEST(PyinBuildingBlocks, NumpySumIsPairwise) {
  // Eight accumulators: 1 + 15 x 2^-53 is 1 one by one, 1 + 7 x 2^-52 in numpy.
  std::vector<double> x(16, std::ldexp(1.0, -53));
  x[0] = 1.0;
  EXPECT_EQ(pyin_detail::numpy_sum(x.data(), 16), 1.0 + 7 * std::ldexp(1.0, -52));
  EXPECT_EQ(pyin_detail::numpy_sum(x.data(), 7), 1.0);  // below 8: one by one
  EXPECT_EQ(pyin_detail::numpy_sum(x.data(), 0), 0.0);
  std::vector<double> ones(1000, 1.0);
  EXPECT_EQ(pyin_detail::numpy_sum(ones.data(), 1000), 1000.0);
}

TEST(PyinBuildingBlocks, TriangleWindowAndLocalTransitionsAreScipysAndLibrosas) {
  EXPECT_EQ(pyin_detail::triangle_window(1), std::vector<double>({1.0}));
  EXPECT_EQ(pyin_detail::triangle_window(3), std::vector<double>({0.5, 1.0, 0.5}));
  EXPECT_EQ(pyin_detail::triangle_window(4), std::vector<double>({0.25, 0.75, 0.75, 0.25}));
  // librosa's docstring: transition_local(5, 3, window='triangle') has rows
  // [2/3, 1/3, 0, 0, 0], [1/4, 1/2, 1/4, 0, 0], ..., [0, 0, 0, 1/3, 2/3].
  const std::vector<double> w = pyin_detail::triangle_window(3);
  const double expected[5][5] = {{1, 0.5, 0, 0, 0}, {0.5, 1, 0.5, 0, 0}, {0, 0.5, 1, 0.5, 0}, {0, 0, 0.5, 1, 0.5},
                                 {0, 0, 0, 0.5, 1}};
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 5; ++j) EXPECT_EQ(pyin_detail::transition_local_raw(5, 3, w, i, j), expected[i][j]) << i << j;
  }
}

TEST(PyinLayout, DerivesLibrosasQuantities) {
  PyinParams p = default_params(22050, 65.40639132514966, 2093.004522404789);  // C2, C7
  const PyinLayout layout = pyin_layout(p);
  EXPECT_EQ(layout.min_period, 10);
  EXPECT_EQ(layout.max_period, 338);
  EXPECT_EQ(layout.bins_per_semitone, 10);
  EXPECT_EQ(layout.n_pitch_bins, 601);
  EXPECT_EQ(layout.transition_width, 101);  // round(35.92 * 12 * 512 / 22050) = 10 semitones
  EXPECT_GE(layout.fft_size, 2048 + 338);
  EXPECT_EQ(pyin_num_frames(22050, p), 1 + 22050 / 512);
  p.center = false;
  EXPECT_EQ(pyin_num_frames(22050, p), 1 + (22050 - 2048) / 512);
  EXPECT_THROW(pyin_num_frames(2047, p), InvalidArgument);
}

TEST(PyinLayout, RejectsWhatLibrosaRejects) {
  const PyinParams good = default_params(16000, 60, 500);
  auto rejects = [](PyinParams p, const char* argument) {
    try {
      pyin_layout(p);
    } catch (const InvalidArgument& error) {
      EXPECT_NE(std::string(error.what()).find(std::string("'") + argument + "'"), std::string::npos) << error.what();
      return;
    }
    ADD_FAILURE() << "accepted, expected an error naming " << argument;
  };
  PyinParams p = good;
  p.fmax = 9000;  // above Nyquist
  rejects(p, "fmax");
  p = good;
  p.fmin = 600;
  rejects(p, "fmin");
  p = good;
  p.fmin = 0;
  rejects(p, "fmin");
  p = good;
  p.frame_length = 256;  // 16000 / 60 = 267 samples
  rejects(p, "frame_length");
  p = good;
  p.hop_length = 0;
  rejects(p, "hop_length");
  p = good;
  p.threshold_prior.clear();
  rejects(p, "n_thresholds");
  p = good;
  p.resolution = 0;
  rejects(p, "resolution");
  p = good;
  p.switch_prob = 1.5;
  rejects(p, "switch_prob");
  p = good;
  p.hop_length = 4096;  // 110 semitones per hop: a band wider than 60..500 Hz
  rejects(p, "max_transition_rate");
}

TEST(PyinViterbi, BandedDecoderIsTheDenseOne) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (const auto& [n, width, switch_prob] :
       std::vector<std::tuple<std::int64_t, std::int64_t, double>>{{12, 5, 0.01}, {20, 4, 0.1}, {9, 9, 0.3},
                                                                   {16, 1, 0.01}, {30, 7, 0.0}, {25, 11, 0.5}}) {
    for (int trial = 0; trial < 4; ++trial) {
      const std::int64_t T = 40, S = 2 * n;
      std::vector<double> prob(S * T, 0.0);
      for (std::int64_t t = 0; t < T; ++t) {
        // pyin-like: a few voiced bins (often none, sometimes far apart), the rest unvoiced.
        double voiced = 0;
        const int candidates = static_cast<int>(uniform(rng) * 3);
        for (int c = 0; c < candidates; ++c) {
          const auto bin = static_cast<std::int64_t>(uniform(rng) * n);
          const double p = trial == 3 ? 0.25 : 0.4 * uniform(rng);  // trial 3: ties
          voiced += p - prob[bin * T + t];
          prob[bin * T + t] = p;
        }
        for (std::int64_t k = n; k < S; ++k) prob[k * T + t] = std::max(0.0, 1.0 - voiced) / n;
      }
      std::vector<std::int64_t> banded(T);
      pyin_viterbi(prob.data(), T, n, width, switch_prob, banded.data());
      EXPECT_EQ(banded, dense_viterbi(prob, T, n, width, switch_prob)) << n << " " << width << " " << trial;
    }
  }
}

// A pulse train at 200 Hz: voiced at 200 Hz (to the bin) where the frame is full.
TEST(Pyin, PulseTrainGivesItsRateAndThreadsAgree) {
  const double sr = 16000;
  std::vector<double> y(16000, 0.0);
  for (std::size_t i = 0; i < y.size(); i += 80) y[i] = 1.0;
  std::vector<float> y32(y.begin(), y.end());
  PyinParams p = default_params(sr, 60, 500);
  p.frame_length = 1024;
  p.hop_length = 256;
  const std::int64_t frames = pyin_num_frames(16000, p);
  std::vector<double> one(3 * frames), many(3 * frames), single(3 * frames);
  const double* signals[] = {y.data(), y.data()};
  const std::int64_t lengths[] = {16000, 16000};
  double* out1[] = {one.data()};
  double* out2[] = {many.data(), single.data()};
  pyin(SignalBatch<double>{signals, lengths, 1}, p, out1, 1);
  pyin(SignalBatch<double>{signals, lengths, 2}, p, out2, 4);
  EXPECT_EQ(one, many);
  EXPECT_EQ(one, single);
  for (std::int64_t t = 2; t < frames - 2; ++t) {
    EXPECT_EQ(one[frames + t], 1.0) << t;
    EXPECT_NEAR(one[t], 200.0, 200.0 * 0.003) << t;  // half a bin of 0.1 semitone
    EXPECT_GT(one[2 * frames + t], 0.5) << t;
  }
  // float32 signals are read into double: the same result for the same values.
  std::vector<double> from_float(3 * frames);
  const float* signals32[] = {y32.data()};
  double* out3[] = {from_float.data()};
  pyin(SignalBatch<float>{signals32, lengths, 1}, p, out3, 1);
  EXPECT_EQ(one, from_float);
}

TEST(Pyin, SilenceIsUnvoicedAndNanIsRejected) {
  PyinParams p = default_params(16000, 60, 500);
  p.frame_length = 1024;
  std::vector<double> y(8000, 0.0), out(3 * pyin_num_frames(8000, p));
  const double* signals[] = {y.data()};
  const std::int64_t lengths[] = {8000};
  double* outputs[] = {out.data()};
  pyin(SignalBatch<double>{signals, lengths, 1}, p, outputs, 1);
  const std::int64_t frames = pyin_num_frames(8000, p);
  for (std::int64_t t = 0; t < frames; ++t) {
    EXPECT_EQ(out[frames + t], 0.0);
    EXPECT_EQ(out[2 * frames + t], 0.0);
  }
  y[100] = std::nan("");
  EXPECT_THROW(pyin(SignalBatch<double>{signals, lengths, 1}, p, outputs, 1), InvalidArgument);
}

}  // namespace
}  // namespace affectkit
