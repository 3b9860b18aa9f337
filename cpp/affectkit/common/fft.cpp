#include "affectkit/common/fft.h"

#include <fftw3.h>

#include <map>
#include <mutex>
#include <new>
#include <utility>

#include "affectkit/common/check.h"

namespace affectkit {
namespace {

// FFTW_ESTIMATE plans are made in microseconds and are deterministic, so a
// result does not depend on what the planner happened to time on this run.
constexpr unsigned kPlanFlags = FFTW_ESTIMATE;

std::mutex& planner_mutex() {
  static std::mutex mutex;
  return mutex;
}

template <typename T>
struct Fftw;

template <>
struct Fftw<double> {
  using plan = fftw_plan;
  using complex = fftw_complex;
  static void* malloc(std::size_t bytes) { return fftw_malloc(bytes); }
  static plan make_forward(int n, int count, double* in, int in_dist, complex* out, int out_dist) {
    return fftw_plan_many_dft_r2c(1, &n, count, in, nullptr, 1, in_dist, out, nullptr, 1, out_dist,
                                  kPlanFlags);
  }
  static plan make_inverse(int n, int count, complex* in, int in_dist, double* out, int out_dist) {
    return fftw_plan_many_dft_c2r(1, &n, count, in, nullptr, 1, in_dist, out, nullptr, 1, out_dist,
                                  kPlanFlags);
  }
  static void forward(plan p, double* in, std::complex<double>* out) {
    fftw_execute_dft_r2c(p, in, reinterpret_cast<complex*>(out));
  }
  static void inverse(plan p, std::complex<double>* in, double* out) {
    fftw_execute_dft_c2r(p, reinterpret_cast<complex*>(in), out);
  }
};

template <>
struct Fftw<float> {
  using plan = fftwf_plan;
  using complex = fftwf_complex;
  static void* malloc(std::size_t bytes) { return fftwf_malloc(bytes); }
  static plan make_forward(int n, int count, float* in, int in_dist, complex* out, int out_dist) {
    return fftwf_plan_many_dft_r2c(1, &n, count, in, nullptr, 1, in_dist, out, nullptr, 1,
                                   out_dist, kPlanFlags);
  }
  static plan make_inverse(int n, int count, complex* in, int in_dist, float* out, int out_dist) {
    return fftwf_plan_many_dft_c2r(1, &n, count, in, nullptr, 1, in_dist, out, nullptr, 1,
                                   out_dist, kPlanFlags);
  }
  static void forward(plan p, float* in, std::complex<float>* out) {
    fftwf_execute_dft_r2c(p, in, reinterpret_cast<complex*>(out));
  }
  static void inverse(plan p, std::complex<float>* in, float* out) {
    fftwf_execute_dft_c2r(p, reinterpret_cast<complex*>(in), out);
  }
};

// Elements of T that make 64 bytes, the widest SIMD alignment FFTW uses.
template <typename V>
std::int64_t aligned_distance(std::int64_t n) {
  constexpr std::int64_t step = 64 / sizeof(V);
  return (n + step - 1) / step * step;
}

template <typename T>
std::pair<void*, void*> cached_plans(std::int64_t n, std::int64_t count) {
  static std::map<std::pair<std::int64_t, std::int64_t>, std::pair<void*, void*>> cache;
  std::lock_guard<std::mutex> lock(planner_mutex());
  auto found = cache.find({n, count});
  if (found != cache.end()) return found->second;
  // Plan on scratch arrays; FFTW aligns them as it aligns every fftw_malloc.
  const std::int64_t real_dist = aligned_distance<T>(n);
  const std::int64_t complex_dist = aligned_distance<std::complex<T>>(n / 2 + 1);
  AlignedBuffer<T> real(count * real_dist);
  AlignedBuffer<std::complex<T>> spectrum(count * complex_dist);
  auto* cplx = reinterpret_cast<typename Fftw<T>::complex*>(spectrum.data());
  const int size = static_cast<int>(n);
  const int many = static_cast<int>(count);
  auto forward = Fftw<T>::make_forward(size, many, real.data(), static_cast<int>(real_dist), cplx,
                                       static_cast<int>(complex_dist));
  auto inverse = Fftw<T>::make_inverse(size, many, cplx, static_cast<int>(complex_dist),
                                       real.data(), static_cast<int>(real_dist));
  if (forward == nullptr || inverse == nullptr) throw std::bad_alloc();
  auto plans = std::make_pair(static_cast<void*>(forward), static_cast<void*>(inverse));
  cache.emplace(std::make_pair(n, count), plans);
  return plans;
}

}  // namespace

template <typename T>
AlignedBuffer<T>::AlignedBuffer(std::int64_t size)
    : data_(static_cast<T*>(Fftw<double>::malloc(sizeof(T) * static_cast<std::size_t>(size > 0 ? size : 1)))) {
  if (!data_) throw std::bad_alloc();
}

template <typename T>
void AlignedBuffer<T>::Free::operator()(void* p) const {
  fftw_free(p);
}

template <typename T>
RealFFT<T>::RealFFT(std::int64_t size, std::int64_t count) : size_(size), count_(count) {
  AK_CHECK(size >= 1 && size <= (std::int64_t{1} << 30), "n_fft",
           "must be between 1 and 2**30, got " << size);
  AK_CHECK(count >= 1 && count <= 1024, "count", "must be between 1 and 1024, got " << count);
  auto plans = cached_plans<T>(size, count);
  forward_plan_ = plans.first;
  inverse_plan_ = plans.second;
}

template <typename T>
std::int64_t RealFFT<T>::real_distance() const {
  return aligned_distance<T>(size_);
}

template <typename T>
std::int64_t RealFFT<T>::complex_distance() const {
  return aligned_distance<std::complex<T>>(num_bins());
}

template <typename T>
void RealFFT<T>::forward(T* in, std::complex<T>* out) const {
  Fftw<T>::forward(static_cast<typename Fftw<T>::plan>(forward_plan_), in, out);
}

template <typename T>
void RealFFT<T>::inverse(std::complex<T>* in, T* out) const {
  Fftw<T>::inverse(static_cast<typename Fftw<T>::plan>(inverse_plan_), in, out);
}

const char* fft_backend() { return fftw_version; }

template class AlignedBuffer<float>;
template class AlignedBuffer<double>;
template class AlignedBuffer<std::complex<float>>;
template class AlignedBuffer<std::complex<double>>;
template class RealFFT<float>;
template class RealFFT<double>;

}  // namespace affectkit
