// The core's one argument check. Always on (release builds included): bad input
// must become a clear exception, never a crash or a silent wrong answer.
#pragma once

#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace affectkit {

// Raised for invalid arguments; the bindings turn it into ValueError. The
// message names the argument, the value and what was expected.
class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {
[[noreturn]] inline void fail_check(const char* argument, const std::string& what) {
  throw InvalidArgument("invalid argument '" + std::string(argument) + "': " + what);
}
}  // namespace detail

// AK_CHECK(n_fft > 0, "n_fft", "must be positive, got " << n_fft);
#define AK_CHECK(condition, argument, message)                        \
  do {                                                                \
    if (!(condition)) {                                               \
      std::ostringstream ak_check_stream_;                            \
      ak_check_stream_ << message;                                    \
      ::affectkit::detail::fail_check(argument, ak_check_stream_.str()); \
    }                                                                 \
  } while (false)

// Whether all count values are finite. x - x is 0 for finite x and NaN otherwise;
// counting that is branch-free and vectorises, so the common case is one fast pass.
template <typename T>
bool all_finite(const T* data, std::int64_t count) {
  std::int64_t bad = 0;
  for (std::int64_t i = 0; i < count; ++i) bad += !(data[i] - data[i] == T(0));
  return bad == 0;
}

// Throws unless every value is finite; names the argument and the first bad index.
template <typename T>
void check_finite(const T* data, std::int64_t count, const char* argument) {
  if (all_finite(data, count)) return;
  for (std::int64_t i = 0; i < count; ++i) {
    AK_CHECK(std::isfinite(data[i]), argument,
             "must be finite, found " << data[i] << " at flat index " << i);
  }
}

// The same for complex values; the index counts complex elements.
template <typename T>
void check_finite(const std::complex<T>* data, std::int64_t count, const char* argument) {
  if (all_finite(reinterpret_cast<const T*>(data), 2 * count)) return;
  for (std::int64_t i = 0; i < count; ++i) {
    AK_CHECK(std::isfinite(data[i].real()) && std::isfinite(data[i].imag()), argument,
             "must be finite, found " << data[i] << " at flat index " << i);
  }
}

// The largest |y| for which a `power`-th power spectrum of n_fft-point frames,
// summed over up to n_fft bins, stays finite in T: |X| <= n_fft * max|y| (and a
// factor 2 for pre-emphasis or DC removal). Far beyond audio in float32
// (5e15 for n_fft 256, power 2); it only refuses data that would give Inf.
template <typename T>
double spectrum_input_limit(std::int64_t n_fft, double power) {
  const double n = static_cast<double>(n_fft);
  return std::pow(static_cast<double>(std::numeric_limits<T>::max()) / n, 1.0 / power) / (2.0 * n);
}

// Whether every value is finite with |value| <= limit; one vectorised pass. For
// float and double (check.cpp).
template <typename T>
bool all_finite_within(const T* data, std::int64_t count, double limit);

// Throws unless every value is finite and |value| <= limit; one vectorised pass.
// `consequence` says what a larger value would do, e.g. "its power spectrum
// overflows float32". For float and double (check.cpp).
template <typename T>
void check_finite_within(const T* data, std::int64_t count, double limit, const char* argument,
                         const char* consequence);

}  // namespace affectkit
