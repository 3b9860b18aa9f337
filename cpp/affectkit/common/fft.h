// Real FFTs of one size, on FFTW. Plans are made once per (size, precision),
// under a lock (FFTW's planner is not thread-safe), cached for the life of the
// process, and executed with FFTW's new-array functions, which are thread-safe.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace affectkit {

// SIMD-aligned storage for FFT inputs and outputs: the new-array execute
// functions need the alignment the plan was made with.
template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::int64_t size);
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  T& operator[](std::int64_t i) { return data_.get()[i]; }
  const T& operator[](std::int64_t i) const { return data_.get()[i]; }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  std::unique_ptr<T, Free> data_;
};

// `count` real transforms of `size` points at once. An even-sized frame goes
// through FFTW as a complex transform of half the size (about 2.5x faster than
// FFTW's real-input path here) and is unpacked exactly as a real FFT; odd sizes
// use the real-input path. Each frame is its own transform, so its result does
// not depend on the frames around it. Transform i reads in + i * real_distance() and
// writes out + i * complex_distance(); both distances keep every transform on a
// 64-byte boundary, the alignment FFTW's SIMD plans were made for.
template <typename T>
class RealFFT {
 public:
  explicit RealFFT(std::int64_t size, std::int64_t count = 1);
  std::int64_t size() const { return size_; }
  std::int64_t count() const { return count_; }
  std::int64_t num_bins() const { return size_ / 2 + 1; }
  std::int64_t real_distance() const;
  std::int64_t complex_distance() const;
  // out[k] = sum_j in[j] exp(-2 pi i jk/n), k < n/2+1. Buffers from AlignedBuffer;
  // in is not modified.
  void forward(T* in, std::complex<T>* out) const;
  // Unnormalised inverse (scale by 1/n yourself); overwrites in.
  void inverse(std::complex<T>* in, T* out) const;

 private:
  std::int64_t size_;
  std::int64_t count_;
  void* forward_plan_;
  void* inverse_plan_;
  void* half_plan_;       // even size: c2c of size / 2 points
  const void* twiddles_;  // even size: cos and sin of -2 pi k / size, k < size / 2
};

// Complex double FFTs of one size, on FFTW (plans cached as RealFFT's): out[k] =
// sum_j in[j] exp(-+2 pi i jk/n), the inverse unnormalised. Buffers from
// AlignedBuffer; in is not modified.
class ComplexFFT {
 public:
  explicit ComplexFFT(std::int64_t size);
  std::int64_t size() const { return size_; }
  void forward(std::complex<double>* in, std::complex<double>* out) const;
  void inverse(std::complex<double>* in, std::complex<double>* out) const;

 private:
  std::int64_t size_;
  void* forward_plan_;
  void* inverse_plan_;
};

// The circular autocorrelations of two real sequences a and b of n = fft.size() points
// (n even), times n, from one complex FFT of a + i b: a real sequence's spectrum is
// Hermitian, so A[k] = (Z[k] + conj Z[n-k]) / 2 and B[k] = (Z[k] - conj Z[n-k]) / 2i,
// and |A|^2 + i |B|^2 goes back through one inverse whose real and imaginary parts are
// the two (real) autocorrelations. One forward and one inverse complex transform of n
// points, where each sequence's own real transforms cost about as much. The rounding of
// each result depends on the other sequence too. Reads the pairs (a[j], b[j]), j < n,
// from work (clobbered: the caller writes its sequences straight into it) and writes
// the interleaved pairs (n r_a[j], n r_b[j]), j < n, to out. Buffers from AlignedBuffer.
void autocorrelate_two(const ComplexFFT& fft, std::complex<double>* work, std::complex<double>* out);

// "FFTW 3.3.10" or similar.
const char* fft_backend();

}  // namespace affectkit
