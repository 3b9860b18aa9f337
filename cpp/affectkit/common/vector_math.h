// Elementwise math on contiguous arrays, compiled so that the compiler may call
// glibc's vectorised libm (libmvec, <= 4 ulp): scalar log10 calls were a quarter
// of a log-mel pass.
#pragma once

#include <cstdint>

namespace affectkit {

// x[i] = 10 log10(max(amin, x[i])) - offset, for finite non-negative x.
template <typename T>
void power_to_db_inplace(T* x, std::int64_t n, T amin, T offset);

// x[i] = exp(x[i]), for finite x <= 88 (the selective scan's exp(dt A)): float by
// the polynomial exp_polynomial (vectorised; 0 below -87, as ot kernels), double
// by glibc's exp.
template <typename T>
void exp_inplace(T* x, std::int64_t n);

// x[i] = log(x[i]), for finite positive x (Sinkhorn's log weights and scalings).
template <typename T>
void log_inplace(T* x, std::int64_t n);

// x[i] = softplus(x[i]) = log(1 + exp(x[i])), linear above 20 as torch's
// softplus, for finite x (the selective scan's delta).
template <typename T>
void softplus_inplace(T* x, std::int64_t n);

// x[i] = sigmoid(x[i]) = 1 / (1 + exp(-x[i])), for finite x.
template <typename T>
void sigmoid_inplace(T* x, std::int64_t n);

}  // namespace affectkit

namespace affectkit {

// x[i] = exp(scale (x[i] - shift)); returns the sum of the new values. A softmax
// row with the maximum as shift (so every exponent is <= 0).
template <typename T>
T exp_scaled_sum_inplace(T* x, std::int64_t n, T scale, T shift);

// x[i] = GELU(x[i]) = x[i] (1 + erf(x[i] / sqrt(2))) / 2, the exact form (torch's default).
void gelu_inplace(float* x, std::int64_t n);

// exp(x) by a polynomial (Cephes' expf), for finite x, clamped to [exp(-87), exp(88)]
// (normal floats). Largest relative error against std::exp in double, measured over
// [-87, 88] by tests/cpp/test_vector_math.cpp: 8.2e-8 (about 1.4 ulp).
float exp_polynomial(float x);

// 2^x by a polynomial, for finite x, clamped to [-127, 64]: 2^x = 2^n 2^r with n = round(x),
// |r| <= 1/2, 2^r by a degree-5 minimax polynomial (relative error 6.8e-8 in exact
// arithmetic; in float, measured against std::exp2 in double over [-125, 64] by
// tests/cpp/test_vector_math.cpp: 2.1e-7, 1.8 ulp), 2^n built in the exponent bits.
// Exactly 0 below -126.5 (n = -127 gives the exponent bits 0); subnormal above.
float exp2_polynomial(float x);

// Entropic OT kernels over one row (cpp/affectkit/ot): n >= 1 finite values.
// The log-domain half-iteration in base 2: with c = potentials * scale and scale =
// log2(e) / eps, log2 sum_j 2^(c[j] - scale row[j]) = shift + log2 of the sum below,
// whatever the shift, as long as the sum neither overflows nor underflows.
// sum_j 2^(c[j] - scale row[j] - shift), each exponent clamped to the range of the
// exp2 used (float: exp2_polynomial's [-127, 64]; double: [-1000, 512]), so the sum is
// finite for any shift and n < 2^60; the caller checks it lies in a safe range.
template <typename T>
T sum_exp2_difference(const T* c, const T* row, T scale, T shift, std::int64_t n);

// max_j (c[j] - scale row[j]): the exact shift, when the caller has no estimate.
template <typename T>
T max_difference(const T* c, const T* row, T scale, std::int64_t n);

// out[j] = exp((f + g[j] - row[j]) * inv_eps); values below exp's range become 0
// (float: exponents below -87; exp_polynomial computes the others).
template <typename T>
void exp_difference(T f, const T* g, const T* row, T inv_eps, T* out, std::int64_t n);

}  // namespace affectkit
