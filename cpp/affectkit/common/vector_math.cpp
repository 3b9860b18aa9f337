// This file alone is compiled with -ffast-math (see CMakeLists.txt): that is what
// makes glibc declare its vector log10 and GCC use it. Nothing here may depend on
// NaN or infinity semantics; callers pass finite values only.
#include "affectkit/common/vector_math.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace affectkit {

template <typename T>
void power_to_db_inplace(T* x, std::int64_t n, T amin, T offset) {
  for (std::int64_t i = 0; i < n; ++i) {
    const T v = x[i] > amin ? x[i] : amin;
    x[i] = T(10) * std::log10(v) - offset;
  }
}

template <typename T>
void log_inplace(T* x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) x[i] = std::log(x[i]);
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

template void log_inplace<float>(float*, std::int64_t);
template void log_inplace<double>(double*, std::int64_t);
template void softplus_inplace<float>(float*, std::int64_t);
template void softplus_inplace<double>(double*, std::int64_t);
template void sigmoid_inplace<float>(float*, std::int64_t);
template void sigmoid_inplace<double>(double*, std::int64_t);
template void power_to_db_inplace<float>(float*, std::int64_t, float, float);
template void power_to_db_inplace<double>(double*, std::int64_t, double, double);

template <typename T>
T exp_scaled_sum_inplace(T* x, std::int64_t n, T scale, T shift) {
  T sum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(scale * (x[i] - shift));
    sum += x[i];
  }
  return sum;
}

template float exp_scaled_sum_inplace<float>(float*, std::int64_t, float, float);
template double exp_scaled_sum_inplace<double>(double*, std::int64_t, double, double);

void gelu_inplace(float* x, std::int64_t n) {
  constexpr float inv_sqrt2 = 0.70710678118654752440f;
  for (std::int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * inv_sqrt2));
}

namespace {

// Cephes' expf: x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two, applied by
// explicit fmas that -ffast-math cannot merge, so that r is exact), exp(r) by a
// degree-6 minimax polynomial, 2^n built in the exponent bits. Clamped to [-87, 88]
// so that 2^n stays a normal float: exp(-87) = 1.6e-38 is the smallest value
// returned (a log-sum-exp term that small is far below the sum's rounding).
// Branch-free and inline, so that a loop over it vectorises.
inline float exp_cephes(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  const float r = std::fma(n, 2.12194440e-4f, std::fma(n, -0.693359375f, x));
  float p = 1.9875691500e-4f;
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  p = std::fma(p, r * r, r) + 1.0f;
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// The exps of the Sinkhorn kernels and exp_inplace (the selective scan): float uses
// the polynomial above (faster than glibc's vector expf), with 0 below its range so
// that zero weights (log -1e4) still give exactly zero mass; double keeps glibc's.
inline float exp_or_zero(float x) { return x < -87.0f ? 0.0f : exp_cephes(x); }
inline double exp_or_zero(double x) { return std::exp(x); }

// 2^x as in vector_math.h. Coefficients: minimax of 2^r / (1 + r q(r)) on [-1/2, 1/2]
// with the constant term fixed at 1 (so 2^integer is exact), found by a linear
// program on 4001 points. One round (vrndscale), five fmas, the exponent by integer
// arithmetic: half the operations of exp_cephes, which needs the ln2 split.
inline float exp2_minimax(float x) {
  x = std::min(std::max(x, -127.0f), 64.0f);
  const float n = std::nearbyint(x);
  const float r = x - n;
  float p = 1.3202982320e-3f;
  p = std::fma(p, r, 9.6749519302e-3f);
  p = std::fma(p, r, 5.5510473825e-2f);
  p = std::fma(p, r, 2.4022166008e-1f);
  p = std::fma(p, r, 6.9314659592e-1f);
  p = std::fma(p, r, 1.0f);
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// The log-domain exps: float by the polynomial above; double by glibc's vector exp2,
// clamped so that the sum of a row stays finite (see sum_exp2_difference).
inline float ot_exp2(float x) { return exp2_minimax(x); }
inline double ot_exp2(double x) { return std::exp2(std::min(std::max(x, -1000.0), 512.0)); }

}  // namespace

float exp_polynomial(float x) { return exp_cephes(x); }
float exp2_polynomial(float x) { return exp2_minimax(x); }

template <typename T>
void exp_inplace(T* x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) x[i] = exp_or_zero(x[i]);
}

template void exp_inplace<float>(float*, std::int64_t);
template void exp_inplace<double>(double*, std::int64_t);

template <typename T>
T sum_exp2_difference(const T* c, const T* row, T scale, T shift, std::int64_t n) {
  T sum = 0;
  for (std::int64_t j = 0; j < n; ++j) sum += ot_exp2((c[j] - shift) - scale * row[j]);
  return sum;
}

template <typename T>
T max_difference(const T* c, const T* row, T scale, std::int64_t n) {
  T high = c[0] - scale * row[0];
  for (std::int64_t j = 1; j < n; ++j) high = std::max(high, c[j] - scale * row[j]);
  return high;
}

template <typename T>
void exp_difference(T f, const T* g, const T* row, T inv_eps, T* out, std::int64_t n) {
  for (std::int64_t j = 0; j < n; ++j) out[j] = exp_or_zero((f + g[j] - row[j]) * inv_eps);
}

template float sum_exp2_difference<float>(const float*, const float*, float, float, std::int64_t);
template double sum_exp2_difference<double>(const double*, const double*, double, double, std::int64_t);
template float max_difference<float>(const float*, const float*, float, std::int64_t);
template double max_difference<double>(const double*, const double*, double, std::int64_t);
template void exp_difference<float>(float, const float*, const float*, float, float*, std::int64_t);
template void exp_difference<double>(double, const double*, const double*, double, double*,
                                     std::int64_t);

}  // namespace affectkit
