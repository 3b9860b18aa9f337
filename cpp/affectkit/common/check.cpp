#include "affectkit/common/check.h"

namespace affectkit {

template <typename T>
void check_finite_within(const T* data, std::int64_t count, double limit, const char* argument,
                         const char* consequence) {
  std::int64_t bad = 0;
  T peak = 0;
#pragma omp simd reduction(+ : bad) reduction(max : peak)
  for (std::int64_t i = 0; i < count; ++i) {
    bad += !(data[i] - data[i] == T(0));
    const T magnitude = std::abs(data[i]);
    peak = magnitude > peak ? magnitude : peak;
  }
  if (bad != 0) check_finite(data, count, argument);  // names the first NaN or Inf
  AK_CHECK(static_cast<double>(peak) <= limit, argument,
           "has values up to " << peak << " in magnitude, above " << limit << ": " << consequence);
}

template void check_finite_within<float>(const float*, std::int64_t, double, const char*, const char*);
template void check_finite_within<double>(const double*, std::int64_t, double, const char*, const char*);

}  // namespace affectkit
