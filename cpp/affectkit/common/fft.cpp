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
  static plan make_forward(int n, double* in, complex* out) {
    return fftw_plan_dft_r2c_1d(n, in, out, kPlanFlags);
  }
  static plan make_inverse(int n, complex* in, double* out) {
    return fftw_plan_dft_c2r_1d(n, in, out, kPlanFlags);
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
  static plan make_forward(int n, float* in, complex* out) {
    return fftwf_plan_dft_r2c_1d(n, in, out, kPlanFlags);
  }
  static plan make_inverse(int n, complex* in, float* out) {
    return fftwf_plan_dft_c2r_1d(n, in, out, kPlanFlags);
  }
  static void forward(plan p, float* in, std::complex<float>* out) {
    fftwf_execute_dft_r2c(p, in, reinterpret_cast<complex*>(out));
  }
  static void inverse(plan p, std::complex<float>* in, float* out) {
    fftwf_execute_dft_c2r(p, reinterpret_cast<complex*>(in), out);
  }
};

template <typename T>
std::pair<void*, void*> cached_plans(std::int64_t n) {
  static std::map<std::int64_t, std::pair<void*, void*>> cache;
  std::lock_guard<std::mutex> lock(planner_mutex());
  auto found = cache.find(n);
  if (found != cache.end()) return found->second;
  // Plan on scratch arrays; FFTW aligns them as it aligns every fftw_malloc.
  AlignedBuffer<T> real(n);
  AlignedBuffer<std::complex<T>> spectrum(n / 2 + 1);
  auto* cplx = reinterpret_cast<typename Fftw<T>::complex*>(spectrum.data());
  const int size = static_cast<int>(n);
  auto forward = Fftw<T>::make_forward(size, real.data(), cplx);
  auto inverse = Fftw<T>::make_inverse(size, cplx, real.data());
  if (forward == nullptr || inverse == nullptr) throw std::bad_alloc();
  auto plans = std::make_pair(static_cast<void*>(forward), static_cast<void*>(inverse));
  cache.emplace(n, plans);
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
RealFFT<T>::RealFFT(std::int64_t size) : size_(size) {
  AK_CHECK(size >= 1 && size <= (std::int64_t{1} << 30), "n_fft",
           "must be between 1 and 2**30, got " << size);
  auto plans = cached_plans<T>(size);
  forward_plan_ = plans.first;
  inverse_plan_ = plans.second;
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
