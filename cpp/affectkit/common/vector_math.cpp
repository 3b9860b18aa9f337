// This file alone is compiled with -ffast-math (see CMakeLists.txt): that is what
// makes glibc declare its vector log10 and GCC use it. Nothing here may depend on
// NaN or infinity semantics; callers pass finite values only.
#include "affectkit/common/vector_math.h"

#include <algorithm>
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

template <typename T>
void softplus_inplace(T* x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const T linear = x[i];
    const T smooth = std::log1p(std::exp(std::min(linear, T(20))));  // no overflow in the unused branch
    x[i] = linear > T(20) ? linear : smooth;
  }
}

template <typename T>
void sigmoid_inplace(T* x, std::int64_t n) {
  // exp(-x) stays finite (no infinity arithmetic under -ffast-math); below the
  // clamp the sigmoid is under 1e-34, and rounds as if it were not there.
  constexpr T limit = sizeof(T) == 4 ? T(80) : T(700);
  for (std::int64_t i = 0; i < n; ++i) x[i] = T(1) / (T(1) + std::exp(std::min(-x[i], limit)));
}

template void exp_inplace<float>(float*, std::int64_t);
template void exp_inplace<double>(double*, std::int64_t);
template void softplus_inplace<float>(float*, std::int64_t);
template void softplus_inplace<double>(double*, std::int64_t);
template void sigmoid_inplace<float>(float*, std::int64_t);
template void sigmoid_inplace<double>(double*, std::int64_t);
template void power_to_db_inplace<float>(float*, std::int64_t, float, float);
template void power_to_db_inplace<double>(double*, std::int64_t, double, double);

}  // namespace affectkit

namespace affectkit {

float exp_scaled_sum_inplace(float* x, std::int64_t n, float scale, float shift) {
  float sum = 0.0f;
  for (std::int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(scale * (x[i] - shift));
    sum += x[i];
  }
  return sum;
}

void gelu_inplace(float* x, std::int64_t n) {
  constexpr float inv_sqrt2 = 0.70710678118654752440f;
  for (std::int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * inv_sqrt2));
}

template <typename T>
T log_sum_exp_difference(const T* g, const T* row, T inv_eps, std::int64_t n) {
  T shift = g[0] - row[0];
  for (std::int64_t j = 1; j < n; ++j) shift = std::max(shift, g[j] - row[j]);
  T sum = 0;
  for (std::int64_t j = 0; j < n; ++j) sum += std::exp((g[j] - row[j] - shift) * inv_eps);
  return shift * inv_eps + std::log(sum);  // sum >= 1: the maximum contributes exp(0)
}

template <typename T>
void exp_difference(T f, const T* g, const T* row, T inv_eps, T* out, std::int64_t n) {
  for (std::int64_t j = 0; j < n; ++j) out[j] = std::exp((f + g[j] - row[j]) * inv_eps);
}

template float log_sum_exp_difference<float>(const float*, const float*, float, std::int64_t);
template double log_sum_exp_difference<double>(const double*, const double*, double, std::int64_t);
template void exp_difference<float>(float, const float*, const float*, float, float*, std::int64_t);
template void exp_difference<double>(double, const double*, const double*, double, double*,
                                     std::int64_t);

}  // namespace affectkit
