// This file alone is compiled with -ffast-math (see CMakeLists.txt): that is what
// makes glibc declare its vector log10 and GCC use it. Nothing here may depend on
// NaN or infinity semantics; callers pass finite values only.
#include "affectkit/common/vector_math.h"

#include <cmath>

namespace affectkit {

template <typename T>
void power_to_db_inplace(T* x, std::int64_t n, T amin, T offset) {
  for (std::int64_t i = 0; i < n; ++i) {
    const T v = x[i] > amin ? x[i] : amin;
    x[i] = T(10) * std::log10(v) - offset;
  }
}

template <typename T>
void exp_inplace(T* x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}

template void exp_inplace<float>(float*, std::int64_t);
template void exp_inplace<double>(double*, std::int64_t);
template void power_to_db_inplace<float>(float*, std::int64_t, float, float);
template void power_to_db_inplace<double>(double*, std::int64_t, double, double);

}  // namespace affectkit
