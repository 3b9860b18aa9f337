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
  static plan make_complex(int n, int count, complex* in, int in_dist, complex* out, int out_dist) {
    return fftw_plan_many_dft(1, &n, count, in, nullptr, 1, in_dist, out, nullptr, 1, out_dist, FFTW_FORWARD,
                              kPlanFlags);
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
  static plan make_complex(int n, int count, complex* in, int in_dist, complex* out, int out_dist) {
    return fftwf_plan_many_dft(1, &n, count, in, nullptr, 1, in_dist, out, nullptr, 1, out_dist, FFTW_FORWARD,
                               kPlanFlags);
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
  void* forward = nullptr;  // r2c, count transforms (odd sizes)
  void* inverse = nullptr;  // c2r, count transforms
  void* half = nullptr;     // c2c of n/2 points, count transforms (even sizes)
  const void* twiddles = nullptr;  // cos then sin of -2 pi k / n, k < n/2, as T
};

// The plans for (n, count), made on first use and never destroyed: they are
// shared by every thread for the life of the process. The map itself is never
// destroyed either, so at exit the plans are still reachable (not leaks) and no
// thread can find a destroyed map.
template <typename T>
Plans cached_plans(std::int64_t n, std::int64_t count) {
  static auto& cache = *new std::map<std::pair<std::int64_t, std::int64_t>, Plans>;
  std::lock_guard<std::mutex> lock(planner_mutex());
  auto found = cache.find({n, count});
  if (found != cache.end()) return found->second;
  // Plan on scratch arrays; FFTW aligns them as it aligns every fftw_malloc.
  const std::int64_t real_dist = aligned_distance<T>(n);
  const std::int64_t complex_dist = aligned_distance<std::complex<T>>(n / 2 + 1);
  AlignedBuffer<T> real(count * real_dist);
  AlignedBuffer<std::complex<T>> spectrum(count * complex_dist);
  using C = typename Fftw<T>::complex;
  auto* cplx = reinterpret_cast<C*>(spectrum.data());
  const int size = static_cast<int>(n);
  const int many = static_cast<int>(count);
  Plans plans;
  plans.inverse = Fftw<T>::make_inverse(size, many, cplx, static_cast<int>(complex_dist), real.data(),
                                        static_cast<int>(real_dist));
  if (n % 2 == 0) {
    // Frame j read as n/2 complex values z[m] = x[2m] + i x[2m+1], in place.
    plans.half = Fftw<T>::make_complex(size / 2, many, reinterpret_cast<C*>(real.data()),
                                       static_cast<int>(real_dist / 2), cplx, static_cast<int>(complex_dist));
    auto* twiddles = new T[n];
    for (std::int64_t k = 0; k < n / 2; ++k) {
      const double angle = -2.0 * M_PI * static_cast<double>(k) / static_cast<double>(n);
      twiddles[k] = static_cast<T>(std::cos(angle));
      twiddles[n / 2 + k] = static_cast<T>(std::sin(angle));
    }
    plans.twiddles = twiddles;
    if (plans.half == nullptr) throw std::bad_alloc();
  } else {
    plans.forward = Fftw<T>::make_forward(size, many, real.data(), static_cast<int>(real_dist), cplx,
                                          static_cast<int>(complex_dist));
    if (plans.forward == nullptr) throw std::bad_alloc();
  }
  if (plans.inverse == nullptr) throw std::bad_alloc();
  cache[std::make_pair(n, count)] = plans;
  return plans;
}

// Per-thread scratch for the half-size transforms' output (grown, never shrunk).
template <typename T>
std::complex<T>* scratch(std::int64_t size) {
  thread_local AlignedBuffer<std::complex<T>> buffer;
  thread_local std::int64_t allocated = 0;
  if (allocated < size) {
    buffer = AlignedBuffer<std::complex<T>>(size);
    allocated = size;
  }
  return buffer.data();
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
  const Plans plans = cached_plans<T>(size, count);
  forward_plan_ = plans.forward;
  inverse_plan_ = plans.inverse;
  half_plan_ = plans.half;
  twiddles_ = plans.twiddles;
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
  if (half_plan_ == nullptr) {
    Fftw<T>::forward(static_cast<typename Fftw<T>::plan>(forward_plan_), in, out);
    return;
  }
  // An even real frame x is n/2 complex points z[m] = x[2m] + i x[2m+1] (FFTW's
  // complex codelets are much faster than its real-input path). Z = FFT(z) holds
  // the spectra of the even and odd samples, E[k] = (Z[k] + conj Z[h-k]) / 2 and
  // O[k] = (Z[k] - conj Z[h-k]) / 2i (h = n/2, Z[h] = Z[0]), and X[k] = E[k] + w^k O[k].
  // Each frame is its own transform, so its rounding is relative to its own size.
  const std::int64_t h = size_ / 2, cd = complex_distance();
  std::complex<T>* spectra = scratch<T>((count_ + 1) * cd);
  Fftw<T>::forward_complex(static_cast<typename Fftw<T>::plan>(half_plan_),
                           reinterpret_cast<std::complex<T>*>(in), spectra);
  T* __restrict mirrored = reinterpret_cast<T*>(spectra + count_ * cd);  // Z[h-k] at k
  const T* cosine = static_cast<const T*>(twiddles_);
  const T* sine = cosine + h;
  const T half = T(0.5);
  for (std::int64_t j = 0; j < count_; ++j) {
    const T* __restrict z = reinterpret_cast<const T*>(spectra + j * cd);
    T* __restrict x = reinterpret_cast<T*>(out + j * cd);
    // Two passes: GCC does not vectorise one loop reading Z forwards and backwards.
    for (std::int64_t k = 1; k < h; ++k) {
      mirrored[2 * k] = z[2 * (h - k)];
      mirrored[2 * k + 1] = z[2 * (h - k) + 1];
    }
    for (std::int64_t k = 1; k < h; ++k) {
      const T ar = z[2 * k], ai = z[2 * k + 1], br = mirrored[2 * k], bi = mirrored[2 * k + 1];
      const T er = half * (ar + br), ei = half * (ai - bi);
      const T odd_r = half * (ai + bi), odd_i = half * (br - ar);
      x[2 * k] = er + (cosine[k] * odd_r - sine[k] * odd_i);
      x[2 * k + 1] = ei + (cosine[k] * odd_i + sine[k] * odd_r);
    }
    const T re = z[0], im = z[1];
    x[0] = re + im;
    x[1] = T(0);
    x[2 * h] = re - im;
    x[2 * h + 1] = T(0);
  }
}

template <typename T>
void RealFFT<T>::inverse(std::complex<T>* in, T* out) const {
  Fftw<T>::inverse(static_cast<typename Fftw<T>::plan>(inverse_plan_), in, out);
}

ComplexFFT::ComplexFFT(std::int64_t size) : size_(size) {
  AK_CHECK(size >= 1 && size <= (std::int64_t{1} << 30), "n_fft", "must be between 1 and 2**30, got " << size);
  // Made once per size and kept, as cached_plans does.
  static auto& cache = *new std::map<std::int64_t, std::pair<fftw_plan, fftw_plan>>;
  std::lock_guard<std::mutex> lock(planner_mutex());
  auto found = cache.find(size);
  if (found == cache.end()) {
    AlignedBuffer<std::complex<double>> in(size), out(size);
    auto* i = reinterpret_cast<fftw_complex*>(in.data());
    auto* o = reinterpret_cast<fftw_complex*>(out.data());
    const int n = static_cast<int>(size);
    const std::pair<fftw_plan, fftw_plan> plans{fftw_plan_dft_1d(n, i, o, FFTW_FORWARD, kPlanFlags),
                                                fftw_plan_dft_1d(n, i, o, FFTW_BACKWARD, kPlanFlags)};
    if (plans.first == nullptr || plans.second == nullptr) throw std::bad_alloc();
    found = cache.emplace(size, plans).first;
  }
  forward_plan_ = found->second.first;
  inverse_plan_ = found->second.second;
}

void ComplexFFT::forward(std::complex<double>* in, std::complex<double>* out) const {
  fftw_execute_dft(static_cast<fftw_plan>(forward_plan_), reinterpret_cast<fftw_complex*>(in),
                   reinterpret_cast<fftw_complex*>(out));
}

void ComplexFFT::inverse(std::complex<double>* in, std::complex<double>* out) const {
  fftw_execute_dft(static_cast<fftw_plan>(inverse_plan_), reinterpret_cast<fftw_complex*>(in),
                   reinterpret_cast<fftw_complex*>(out));
}

void autocorrelate_two(const ComplexFFT& fft, std::complex<double>* work, std::complex<double>* out) {
  const std::int64_t n = fft.size();
  fft.forward(work, out);
  const double* z = reinterpret_cast<const double*>(out);
  double* powers = reinterpret_cast<double*>(work);
  // Z[k] = (ar, ai), Z[n - k] = (br, bi): |A|^2 + i |B|^2 at k and n - k (no modulo in
  // the loop: an integer division per bin cost more than the arithmetic).
  auto pack = [&](std::int64_t k, std::int64_t mirror) {
    const double ar = z[2 * k], ai = z[2 * k + 1], br = z[2 * mirror], bi = z[2 * mirror + 1];
    const double power_a = 0.25 * ((ar + br) * (ar + br) + (ai - bi) * (ai - bi));
    const double power_b = 0.25 * ((ar - br) * (ar - br) + (ai + bi) * (ai + bi));
    powers[2 * k] = powers[2 * mirror] = power_a;
    powers[2 * k + 1] = powers[2 * mirror + 1] = power_b;
  };
  pack(0, 0);
  pack(n / 2, n / 2);
  for (std::int64_t k = 1; k < n / 2; ++k) pack(k, n - k);
  fft.inverse(work, out);
}

const char* fft_backend() { return fftw_version; }

template class AlignedBuffer<float>;
template class AlignedBuffer<double>;
template class AlignedBuffer<std::complex<float>>;
template class AlignedBuffer<std::complex<double>>;
template class RealFFT<float>;
template class RealFFT<double>;

}  // namespace affectkit
