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
  static plan make_complex(int n, int count, complex* in, complex* out, int dist) {
    return fftw_plan_many_dft(1, &n, count, in, nullptr, 1, dist, out, nullptr, 1, dist, FFTW_FORWARD, kPlanFlags);
  }
  static void forward(plan p, double* in, std::complex<double>* out) {
    fftw_execute_dft_r2c(p, in, reinterpret_cast<complex*>(out));
  }
  static void forward_complex(plan p, std::complex<double>* in, std::complex<double>* out) {
    fftw_execute_dft(p, reinterpret_cast<complex*>(in), reinterpret_cast<complex*>(out));
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
  static plan make_complex(int n, int count, complex* in, complex* out, int dist) {
    return fftwf_plan_many_dft(1, &n, count, in, nullptr, 1, dist, out, nullptr, 1, dist, FFTW_FORWARD, kPlanFlags);
  }
  static void forward(plan p, float* in, std::complex<float>* out) {
    fftwf_execute_dft_r2c(p, in, reinterpret_cast<complex*>(out));
  }
  static void forward_complex(plan p, std::complex<float>* in, std::complex<float>* out) {
    fftwf_execute_dft(p, reinterpret_cast<complex*>(in), reinterpret_cast<complex*>(out));
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

struct Plans {
  void* forward = nullptr;  // r2c, count transforms
  void* inverse = nullptr;  // c2r, count transforms
  void* paired = nullptr;   // c2c, count / 2 transforms (even count only)
};

template <typename T>
Plans cached_plans(std::int64_t n, std::int64_t count, bool paired) {
  static std::map<std::pair<std::int64_t, std::int64_t>, Plans> cache;
  std::lock_guard<std::mutex> lock(planner_mutex());
  auto found = cache.find({n, count});
  if (found != cache.end() && (!paired || found->second.paired)) return found->second;
  // Plan on scratch arrays; FFTW aligns them as it aligns every fftw_malloc.
  const std::int64_t real_dist = aligned_distance<T>(n);
  const std::int64_t complex_dist = aligned_distance<std::complex<T>>(n / 2 + 1);
  const std::int64_t paired_dist = aligned_distance<std::complex<T>>(n);
  AlignedBuffer<T> real(count * real_dist);
  AlignedBuffer<std::complex<T>> spectrum(count * std::max(complex_dist, paired_dist));
  AlignedBuffer<std::complex<T>> packed(count * paired_dist);
  using C = typename Fftw<T>::complex;
  auto* cplx = reinterpret_cast<C*>(spectrum.data());
  const int size = static_cast<int>(n);
  const int many = static_cast<int>(count);
  Plans plans;
  if (found == cache.end()) {
    plans.forward = Fftw<T>::make_forward(size, many, real.data(), static_cast<int>(real_dist), cplx,
                                          static_cast<int>(complex_dist));
    plans.inverse = Fftw<T>::make_inverse(size, many, cplx, static_cast<int>(complex_dist), real.data(),
                                          static_cast<int>(real_dist));
  }
  if (found != cache.end()) plans = found->second;  // only the paired plan is missing
  if (paired) {
    plans.paired = Fftw<T>::make_complex(size, many / 2, reinterpret_cast<C*>(packed.data()), cplx,
                                         static_cast<int>(paired_dist));
    if (plans.paired == nullptr) throw std::bad_alloc();
  }
  if (plans.forward == nullptr || plans.inverse == nullptr) throw std::bad_alloc();
  cache[std::make_pair(n, count)] = plans;
  return plans;
}

// Per-thread scratch for the paired transform (grown, never shrunk).
template <typename T>
std::complex<T>* scratch(int which, std::int64_t size) {
  thread_local AlignedBuffer<std::complex<T>> buffers[2];
  thread_local std::int64_t sizes[2] = {0, 0};
  if (sizes[which] < size) {
    buffers[which] = AlignedBuffer<std::complex<T>>(size);
    sizes[which] = size;
  }
  return buffers[which].data();
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
RealFFT<T>::RealFFT(std::int64_t size, std::int64_t count, bool pair_frames) : size_(size), count_(count) {
  AK_CHECK(size >= 1 && size <= (std::int64_t{1} << 30), "n_fft",
           "must be between 1 and 2**30, got " << size);
  AK_CHECK(count >= 1 && count <= 1024, "count", "must be between 1 and 1024, got " << count);
  const bool paired = pair_frames && count % 2 == 0;
  const Plans plans = cached_plans<T>(size, count, paired);
  forward_plan_ = plans.forward;
  inverse_plan_ = plans.inverse;
  paired_plan_ = paired ? plans.paired : nullptr;
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
  if (paired_plan_ == nullptr) {
    Fftw<T>::forward(static_cast<typename Fftw<T>::plan>(forward_plan_), in, out);
    return;
  }
  // Two real frames a, b in one complex transform of z = a + i b (FFTW's complex
  // codelets are much faster than its real-input path), then separated by the
  // symmetry of real spectra: A[k] = (Z[k] + conj Z[n-k]) / 2, B[k] = (Z[k] - conj Z[n-k]) / 2i.
  const std::int64_t n = size_, pairs = count_ / 2;
  const std::int64_t rd = real_distance(), cd = complex_distance(), pd = aligned_distance<std::complex<T>>(n);
  std::complex<T>* z = scratch<T>(0, pairs * pd);
  std::complex<T>* Z = scratch<T>(1, pairs * pd);
  for (std::int64_t p = 0; p < pairs; ++p) {
    const T* a = in + 2 * p * rd;
    const T* b = a + rd;
    std::complex<T>* zp = z + p * pd;
    for (std::int64_t t = 0; t < n; ++t) zp[t] = std::complex<T>(a[t], b[t]);
  }
  Fftw<T>::forward_complex(static_cast<typename Fftw<T>::plan>(paired_plan_), z, Z);
  const T half = T(0.5);
  for (std::int64_t p = 0; p < pairs; ++p) {
    const std::complex<T>* Zp = Z + p * pd;
    std::complex<T>* A = out + 2 * p * cd;
    std::complex<T>* B = A + cd;
    for (std::int64_t k = 0; k <= n / 2; ++k) {
      const std::complex<T> x = Zp[k], y = std::conj(Zp[k == 0 ? 0 : n - k]);
      const std::complex<T> sum = x + y, difference = x - y;
      A[k] = std::complex<T>(half * sum.real(), half * sum.imag());
      B[k] = std::complex<T>(half * difference.imag(), -half * difference.real());
    }
  }
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
