#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <random>
#include <thread>
#include <vector>

#include "affectkit/common/fft.h"

namespace affectkit {
namespace {

template <typename T>
class RealFFTTest : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(RealFFTTest, FloatTypes);

// The forward transform matches the DFT sum, and inverse(forward(x)) / n == x.
TYPED_TEST(RealFFTTest, MatchesNaiveDftAndInverts) {
  using T = TypeParam;
  for (std::int64_t n : {1, 2, 3, 4, 6, 8, 15, 400, 512, 1000}) {
    RealFFT<T> fft(n);
    AlignedBuffer<T> x(n);
    AlignedBuffer<std::complex<T>> X(fft.num_bins());
    std::vector<T> original(n);
    for (std::int64_t i = 0; i < n; ++i) original[i] = x[i] = std::sin(T(0.37) * i) + T(0.1) * i;
    fft.forward(x.data(), X.data());
    const double tolerance = (std::is_same_v<T, float> ? 1e-4 : 1e-10) * n;
    for (std::int64_t k = 0; k < fft.num_bins(); ++k) {
      std::complex<double> sum = 0;
      for (std::int64_t j = 0; j < n; ++j) {
        sum += double(original[j]) * std::polar(1.0, -2 * M_PI * double(j * k % n) / n);
      }
      EXPECT_NEAR(X[k].real(), sum.real(), tolerance) << "n=" << n << " k=" << k;
      EXPECT_NEAR(X[k].imag(), sum.imag(), tolerance) << "n=" << n << " k=" << k;
    }
    fft.inverse(X.data(), x.data());
    for (std::int64_t i = 0; i < n; ++i) EXPECT_NEAR(x[i] / n, original[i], tolerance);
  }
}

// Batched transforms equal one-frame transforms bit for bit: each frame is its own
// transform, so a quiet frame next to a loud one keeps its own precision.
TYPED_TEST(RealFFTTest, BatchedEqualsSingle) {
  using T = TypeParam;
  for (std::int64_t n : {1, 2, 7, 400, 512}) {
    for (std::int64_t count : {2, 3, 16}) {
      RealFFT<T> batched(n, count), single(n);
      AlignedBuffer<T> frames(count * batched.real_distance()), one(n);
      AlignedBuffer<std::complex<T>> spectra(count * batched.complex_distance()), reference(single.num_bins());
      for (std::int64_t j = 0; j < count; ++j) {
        const T scale = j % 2 ? T(1e-3) : T(10);
        for (std::int64_t i = 0; i < n; ++i) frames[j * batched.real_distance() + i] = scale * std::cos(T(0.1) * i * (j + 1));
      }
      batched.forward(frames.data(), spectra.data());
      for (std::int64_t j = 0; j < count; ++j) {
        for (std::int64_t i = 0; i < n; ++i) one[i] = frames[j * batched.real_distance() + i];
        single.forward(one.data(), reference.data());
        for (std::int64_t k = 0; k < single.num_bins(); ++k) {
          const auto got = spectra[j * batched.complex_distance() + k];
          EXPECT_EQ(got, reference[k]) << "n=" << n << " count=" << count << " j=" << j << " k=" << k;
        }
      }
    }
  }
}

TEST(RealFFT, RejectsNonPositiveSize) { EXPECT_THROW(RealFFT<double>(0), std::invalid_argument); }

// FFTW's planner is not thread-safe; plans are made under one lock. Threads
// that create transforms of new sizes at the same time (a DataLoader's workers
// meeting new n_fft values) must each get a working plan: results equal the
// ones computed afterwards on one thread. Run under ASan this also catches a
// race that corrupts the plan cache.
TEST(RealFFT, ConcurrentPlanningGivesTheSameResults) {
  const std::vector<std::int64_t> sizes = {97, 160, 211, 330, 401, 600, 777, 1000};
  auto transform = [](std::int64_t n, std::int64_t count) {
    RealFFT<float> fft(n, count);
    AlignedBuffer<float> x(count * fft.real_distance());
    AlignedBuffer<std::complex<float>> X(count * fft.complex_distance());
    for (std::int64_t j = 0; j < count; ++j) {
      for (std::int64_t i = 0; i < n; ++i) x[j * fft.real_distance() + i] = std::sin(0.01f * i * (j + 1));
    }
    fft.forward(x.data(), X.data());
    std::vector<std::complex<float>> spectra;
    for (std::int64_t j = 0; j < count; ++j) {
      for (std::int64_t k = 0; k < fft.num_bins(); ++k) spectra.push_back(X[j * fft.complex_distance() + k]);
    }
    return spectra;
  };
  std::vector<std::vector<std::complex<float>>> concurrent(sizes.size());
  std::vector<std::thread> threads;
  for (std::size_t s = 0; s < sizes.size(); ++s) {
    threads.emplace_back([&, s] { concurrent[s] = transform(sizes[s], 1 + static_cast<std::int64_t>(s % 3)); });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t s = 0; s < sizes.size(); ++s) {
    EXPECT_EQ(concurrent[s], transform(sizes[s], 1 + static_cast<std::int64_t>(s % 3))) << "n=" << sizes[s];
  }
}

// Two real autocorrelations from one complex FFT against each sequence's own real
// transforms (the path ak.pitch took frame by frame), and the complex FFT against the
// naive DFT. Zero-padded windowed frames as ak.pitch makes them, and a lone frame
// against zeros (a signal's last frame).
TEST(ComplexFFT, TwoAutocorrelationsEqualEachOnItsOwn) {
  const std::int64_t n = 1024, used = 638;
  std::mt19937 random(11);
  std::normal_distribution<double> normal;
  ComplexFFT fft(n);
  RealFFT<double> real(n);
  AlignedBuffer<double> a(n), b(n), own(n);
  AlignedBuffer<std::complex<double>> work(n), out(n), spectrum(real.num_bins());
  for (int trial = 0; trial < 3; ++trial) {
    for (std::int64_t j = 0; j < n; ++j) {
      const double window = j < used ? 0.5 - 0.5 * std::cos(2 * M_PI * static_cast<double>(j + 1) / (used + 1)) : 0.0;
      a[j] = window * (std::sin(0.07 * static_cast<double>(j)) + 0.3 * normal(random));
      b[j] = trial == 2 ? 0.0 : window * (3.0 * std::cos(0.021 * static_cast<double>(j)) + normal(random));
    }
    for (std::int64_t j = 0; j < n; ++j) work[j] = {a[j], b[j]};
    autocorrelate_two(fft, work.data(), out.data());
    for (int part = 0; part < 2; ++part) {
      const double* x = part == 0 ? a.data() : b.data();
      std::copy(x, x + n, own.data());
      real.forward(own.data(), spectrum.data());
      for (std::int64_t k = 0; k < real.num_bins(); ++k) spectrum[k] = std::norm(spectrum[k]);
      real.inverse(spectrum.data(), own.data());
      // Rounding relative to both sequences' energies (a lone frame's partner is zeros).
      const double scale = out[0].real() + out[0].imag();
      for (std::int64_t j = 0; j < n; ++j) {
        const double pair = part == 0 ? out[j].real() : out[j].imag();
        ASSERT_NEAR(pair, own[j], 1e-14 * scale) << "trial " << trial << " part " << part << " lag " << j;
      }
    }
  }
  // The complex transform itself, against the DFT's sum.
  for (std::int64_t j = 0; j < n; ++j) work[j] = {a[j], normal(random)};
  std::vector<std::complex<double>> input(work.data(), work.data() + n);
  fft.forward(work.data(), out.data());
  for (std::int64_t k : {0, 1, 17, 511, 512, 1000}) {
    std::complex<double> sum = 0;
    for (std::int64_t j = 0; j < n; ++j) sum += input[j] * std::polar(1.0, -2 * M_PI * static_cast<double>(j * k % n) / n);
    ASSERT_NEAR(std::abs(out[k] - sum), 0.0, 1e-10) << k;
  }
  fft.inverse(out.data(), work.data());
  for (std::int64_t j = 0; j < n; ++j) ASSERT_NEAR(std::abs(work[j] / static_cast<double>(n) - input[j]), 0.0, 1e-13) << j;
}

}  // namespace
}  // namespace affectkit
