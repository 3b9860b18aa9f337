// Elementwise math on contiguous arrays, compiled so that the compiler may call
// glibc's vectorised libm (libmvec, <= 4 ulp): scalar log10 calls were a quarter
// of a log-mel pass.
#pragma once

#include <cstdint>

namespace affectkit {

// x[i] = 10 log10(max(amin, x[i])) - offset, for finite non-negative x.
template <typename T>
void power_to_db_inplace(T* x, std::int64_t n, T amin, T offset);

}  // namespace affectkit

namespace affectkit {

// x[i] = exp(scale (x[i] - shift)); returns the sum of the new values. A softmax
// row with the maximum as shift (so every exponent is <= 0).
float exp_scaled_sum_inplace(float* x, std::int64_t n, float scale, float shift);

// x[i] = GELU(x[i]) = x[i] (1 + erf(x[i] / sqrt(2))) / 2, the exact form (torch's default).
void gelu_inplace(float* x, std::int64_t n);

}  // namespace affectkit
