#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>
#include <vector>

#include "affectkit/prosody/formant.h"

namespace affectkit {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A vowel-like test signal: a 100 Hz impulse train through two-pole resonators
// at the given formants (Hz) with 80 Hz bandwidths, plus a little noise.
std::vector<double> vowel(double sr, double seconds, const std::vector<double>& formants) {
  std::vector<double> x(static_cast<std::size_t>(sr * seconds), 0.0);
  for (std::size_t i = 0; i < x.size(); i += static_cast<std::size_t>(sr / 100)) x[i] = 1;
  for (double f : formants) {
    const double r = std::exp(-kPi * 80 / sr), c1 = 2 * r * std::cos(2 * kPi * f / sr), c2 = -r * r;
    double y1 = 0, y2 = 0;
    for (double& v : x) {
      const double y = v + c1 * y1 + c2 * y2;
      y2 = y1;
      y1 = y;
      v = y;
    }
  }
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0, 1e-3);
  for (double& v : x) v += noise(rng);
  return x;
}

struct Tracks {
  FormantFrames frames;
  std::int64_t slots;
  std::vector<double> f, b;
};

template <typename T>
Tracks track(const std::vector<T>& x, const FormantParams& p, int threads = 1) {
  Tracks t{formant_frames(static_cast<std::int64_t>(x.size()), p), formant_slots(p), {}, {}};
  t.f.resize(static_cast<std::size_t>(t.frames.count * t.slots));
  t.b.resize(t.f.size());
  const T* signal = x.data();
  const auto length = static_cast<std::int64_t>(x.size());
  double* f = t.f.data();
  double* b = t.b.data();
  formants_burg(SignalBatch<T>{&signal, &length, 1}, p, &f, &b, threads);
  return t;
}

// Burg recovers the coefficients of a long stationary AR(2) process.
TEST(Formant, BurgRecoversAnAutoregressiveProcess) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise;
  std::vector<double> x(20000, 0.0);
  for (std::size_t i = 2; i < x.size(); ++i) x[i] = 1.6 * x[i - 1] - 0.8 * x[i - 2] + noise(rng);
  double a[2];
  const double residual = lpc_burg(x.data(), static_cast<std::int64_t>(x.size()), a, 2);
  EXPECT_NEAR(a[0], 1.6, 0.02);
  EXPECT_NEAR(a[1], -0.8, 0.02);
  EXPECT_NEAR(residual, 1.0, 0.05);  // the innovation variance
  EXPECT_EQ(lpc_burg(std::vector<double>(50, 0.0).data(), 50, a, 2), 0.0);  // silence
  EXPECT_EQ(a[0], 0.0);
}

// Known roots (a real one and a conjugate pair) come back to rounding accuracy.
TEST(Formant, PolynomialRootsAreAccurate) {
  // (z - 0.5)(z^2 - 2 r cos(w) z + r^2), r = 0.9, w = 1: ascending coefficients.
  const double r = 0.9, w = 1.0, p = -2 * r * std::cos(w), q = r * r;
  const double c[] = {-0.5 * q, q - 0.5 * p, p - 0.5, 1.0};
  std::complex<double> roots[3];
  ASSERT_TRUE(polynomial_roots(c, 3, roots));
  int real = 0, upper = 0;
  for (auto z : roots) {
    if (std::abs(z.imag()) < 1e-12) {
      EXPECT_NEAR(z.real(), 0.5, 1e-14);
      ++real;
    } else if (z.imag() > 0) {
      EXPECT_NEAR(std::abs(z - std::polar(r, w)), 0.0, 1e-14);
      ++upper;
    }
  }
  EXPECT_EQ(real, 1);
  EXPECT_EQ(upper, 1);
  EXPECT_THROW(polynomial_roots(c, 0, roots), std::invalid_argument);
}

// A double root at 0 (found by the fuzz test): the QR leaves it in a 2 x 2 block
// whose determinant is rounding, and the second root once came out as -1.
TEST(Formant, DoubleRootAtZero) {
  const double c[] = {0.0,     0.0, -961.47667373867, 0.0, 0.0, 0.0, 0.0, -279.4149895053703, 213.38146842791107,
                      -790.9552100066876, -855.9985285031717, 0.0, 1.0 / 3.0};
  std::complex<double> roots[12];
  ASSERT_TRUE(polynomial_roots(c, 12, roots));
  int zeros = 0;
  for (auto z : roots) {
    std::complex<double> value = 0;
    for (int i = 12; i >= 0; --i) value = value * z + c[i];
    double scale = 0;
    for (int i = 0; i <= 12; ++i) scale += std::fabs(c[i]) * std::pow(std::max(1.0, std::abs(z)), i);
    EXPECT_LE(std::abs(value), 1e-9 * scale) << z;
    zeros += std::abs(z) < 1e-8;
  }
  EXPECT_EQ(zeros, 2);
}

// The frames are centred in the clip, every window_length / 4 by default, and the
// first two formants of a synthetic vowel come out within a few percent.
TEST(Formant, TracksTheFormantsOfASyntheticVowel) {
  for (double sr : {16000.0, 11000.0, 22050.0}) {
    FormantParams p;
    p.sample_rate = sr;
    const auto x = vowel(sr, 0.5, {700, 1200, 2600});
    const Tracks t = track(x, p);
    EXPECT_EQ(t.slots, 5);
    EXPECT_DOUBLE_EQ(t.frames.dt, 0.025 / 4);
    EXPECT_NEAR(t.frames.t1 + 0.5 * static_cast<double>(t.frames.count - 1) * t.frames.dt, 0.25, 1e-12);
    // 1 + floor((0.5 - 0.05) / 0.00625): the quotient rounds to just below 72, in Praat too.
    EXPECT_EQ(t.frames.count, 72);
    EXPECT_GE(t.frames.t1 - 0.025, 0.0);  // every 2 * window_length window inside the clip
    EXPECT_LE(t.frames.t1 + static_cast<double>(t.frames.count - 1) * t.frames.dt + 0.025, 0.5);
    for (std::int64_t i = 0; i < t.frames.count; ++i) {
      const double* f = t.f.data() + i * t.slots;
      EXPECT_NEAR(f[0], 700, 35) << sr << " frame " << i;
      EXPECT_NEAR(f[1], 1200, 60) << sr << " frame " << i;
      for (std::int64_t k = 1; k < t.slots && !std::isnan(f[k]); ++k) EXPECT_GT(f[k], f[k - 1]);
      EXPECT_GT(t.b[i * t.slots], 0);
    }
  }
}

// Threads do not change the result; float input agrees with double input.
TEST(Formant, ThreadsAndPrecision) {
  FormantParams p;
  const auto x = vowel(16000, 0.3, {500, 1500, 2500});
  const Tracks one = track(x, p, 1);
  const Tracks four = track(x, p, 4);
  EXPECT_EQ(one.f.size(), four.f.size());
  for (std::size_t i = 0; i < one.f.size(); ++i) {
    EXPECT_TRUE(one.f[i] == four.f[i] || (std::isnan(one.f[i]) && std::isnan(four.f[i])));
  }
  const Tracks single = track(std::vector<float>(x.begin(), x.end()), p);
  for (std::int64_t i = 0; i < one.frames.count; ++i) EXPECT_NEAR(single.f[i * 5], one.f[i * 5], 1.0);
}

// Frames find their roots two at a time, their QR iterations interleaved: a frame's
// formants do not depend on its partner. The clip with one hop of zeros at each end has
// the same frames one later, so each one is paired with other neighbours.
TEST(Formant, AFramesFormantsDoNotDependOnTheFramesAroundIt) {
  FormantParams p;
  p.sample_rate = 11000;  // the analysis rate: no resampling
  p.time_step = 0.01;     // 110 samples
  const auto x = vowel(p.sample_rate, 0.415, {600, 1700, 2400});
  std::vector<double> padded(110, 0.0);
  padded.insert(padded.end(), x.begin(), x.end());
  padded.insert(padded.end(), 110, 0.0);
  const Tracks alone = track(x, p), shifted = track(padded, p);
  ASSERT_EQ(shifted.frames.count, alone.frames.count + 2);
  ASSERT_EQ(alone.frames.count % 2, 1);  // an odd count: the last frame goes through alone
  for (std::size_t i = 0; i < alone.f.size(); ++i) {
    const double f = shifted.f[i + 5], b = shifted.b[i + 5];
    EXPECT_TRUE(alone.f[i] == f || (std::isnan(alone.f[i]) && std::isnan(f))) << i;
    EXPECT_TRUE(alone.b[i] == b || (std::isnan(alone.b[i]) && std::isnan(b))) << i;
  }
}

// A thread low-passes its clips one after another in the same buffers: a clip's
// formants do not depend on the clips before it, longer (a larger FFT) or shorter.
TEST(Formant, AClipsFormantsDoNotDependOnTheClipsBeforeIt) {
  FormantParams p;  // 16 kHz down to 11 kHz: low-pass, then sinc resampling
  const std::vector<std::vector<double>> clips = {vowel(16000, 0.5, {600, 1700, 2400}),
                                                  vowel(16000, 0.1, {700, 1200, 2600}),
                                                  vowel(16000, 0.3, {500, 1500, 2500})};
  std::vector<const double*> signals;
  std::vector<std::int64_t> lengths;
  std::vector<Tracks> together;
  std::vector<double*> f, b;
  for (const auto& x : clips) {
    signals.push_back(x.data());
    lengths.push_back(static_cast<std::int64_t>(x.size()));
    together.push_back(Tracks{formant_frames(lengths.back(), p), formant_slots(p), {}, {}});
    together.back().f.resize(static_cast<std::size_t>(together.back().frames.count * together.back().slots));
    together.back().b.resize(together.back().f.size());
  }
  for (Tracks& t : together) {
    f.push_back(t.f.data());
    b.push_back(t.b.data());
  }
  formants_burg(SignalBatch<double>{signals.data(), lengths.data(), 3}, p, f.data(), b.data(), 1);
  for (std::size_t c = 0; c < clips.size(); ++c) {
    const Tracks alone = track(clips[c], p);
    ASSERT_EQ(alone.f.size(), together[c].f.size());
    for (std::size_t i = 0; i < alone.f.size(); ++i) {
      const double f = together[c].f[i], b = together[c].b[i];
      EXPECT_TRUE(alone.f[i] == f || (std::isnan(alone.f[i]) && std::isnan(f))) << c << " " << i;
      EXPECT_TRUE(alone.b[i] == b || (std::isnan(alone.b[i]) && std::isnan(b))) << c << " " << i;
    }
  }
}

// Silence has no formants; a clip shorter than the window gives one frame over all of it.
TEST(Formant, SilenceAndShortClips) {
  FormantParams p;
  const Tracks silent = track(std::vector<double>(8000, 0.0), p);
  for (double v : silent.f) EXPECT_TRUE(std::isnan(v));
  const auto x = vowel(16000, 0.03, {700, 1200, 2600});
  const Tracks t = track(x, p);
  EXPECT_EQ(t.frames.count, 1);
  EXPECT_FALSE(std::isnan(t.f[0]));
  // Fewer samples than order + 1 at 11 kHz: Burg is under-determined, no formants.
  for (std::size_t n : {1, 2, 12}) {
    const Tracks tiny = track(std::vector<double>(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(n)), p);
    EXPECT_EQ(tiny.frames.count, 1);
    for (double v : tiny.f) EXPECT_TRUE(std::isnan(v)) << n;
  }
  // Half-integer numbers of formants: order 11, six slots, at most five formants.
  p.max_number_of_formants = 5.5;
  const Tracks odd = track(vowel(16000, 0.2, {700, 1200, 2600}), p);
  EXPECT_EQ(odd.slots, 6);
  for (std::int64_t i = 0; i < odd.frames.count; ++i) EXPECT_TRUE(std::isnan(odd.f[i * 6 + 5]));
}

TEST(Formant, RejectsBadParameters) {
  const auto bad = [](auto set) {
    FormantParams p;
    set(p);
    return p;
  };
  EXPECT_THROW(formant_frames(0, FormantParams{}), std::invalid_argument);
  EXPECT_THROW(formant_frames(1000, bad([](FormantParams& p) { p.sample_rate = 0; })), std::invalid_argument);
  EXPECT_THROW(formant_frames(1000, bad([](FormantParams& p) { p.time_step = -0.01; })), std::invalid_argument);
  EXPECT_THROW(formant_frames(1000, bad([](FormantParams& p) { p.max_number_of_formants = 0; })),
               std::invalid_argument);
  EXPECT_THROW(formant_frames(1000, bad([](FormantParams& p) { p.maximum_formant = NAN; })),
               std::invalid_argument);
  EXPECT_THROW(formant_frames(1000, bad([](FormantParams& p) { p.window_length = 1e-4; })),
               std::invalid_argument);  // 2 samples at 11 kHz, fewer than order + 1
  EXPECT_THROW(formant_frames(1000, bad([](FormantParams& p) { p.pre_emphasis_from = -50; })),
               std::invalid_argument);
  EXPECT_THROW(formant_frames(1000, bad([](FormantParams& p) { p.time_step = 1e-12; })),
               std::invalid_argument);  // 1e9 frames
}

}  // namespace
}  // namespace affectkit
