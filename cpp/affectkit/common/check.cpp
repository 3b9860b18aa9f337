#include "affectkit/common/check.h"

namespace affectkit {

namespace {

struct Scan {
  std::int64_t bad = 0;  // NaN or Inf values
  double peak = 0;       // the largest |value| (of the finite ones, when bad == 0)
};

template <typename T>
Scan scan(const T* data, std::int64_t count) {
  std::int64_t bad = 0;
  T peak = 0;
#pragma omp simd reduction(+ : bad) reduction(max : peak)
  for (std::int64_t i = 0; i < count; ++i) {
    bad += !(data[i] - data[i] == T(0));
    const T magnitude = std::abs(data[i]);
    peak = magnitude > peak ? magnitude : peak;
  }
  return {bad, static_cast<double>(peak)};
}

}  // namespace

template <typename T>
bool all_finite_within(const T* data, std::int64_t count, double limit) {
  const Scan s = scan(data, count);
  return s.bad == 0 && s.peak <= limit;
}

template <typename T>
void check_finite_within(const T* data, std::int64_t count, double limit, const char* argument,
                         const char* consequence) {
  const Scan s = scan(data, count);
  if (s.bad != 0) check_finite(data, count, argument);  // names the first NaN or Inf
  AK_CHECK(s.peak <= limit, argument,
           "has values up to " << s.peak << " in magnitude, above " << limit << ": " << consequence);
}

template bool all_finite_within<float>(const float*, std::int64_t, double);
template bool all_finite_within<double>(const double*, std::int64_t, double);
template void check_finite_within<float>(const float*, std::int64_t, double, const char*, const char*);
template void check_finite_within<double>(const double*, std::int64_t, double, const char*, const char*);

}  // namespace affectkit
