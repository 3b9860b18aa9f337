// Elementwise math on contiguous arrays, compiled so that the compiler may call
// glibc's vectorised libm (libmvec, <= 4 ulp): scalar log10 calls were a quarter
// of a log-mel pass.
#pragma once

#include <cstdint>

namespace affectkit {

// x[i] = 10 log10(max(amin, x[i])) - offset, for finite non-negative x.
template <typename T>
void power_to_db_inplace(T* x, std::int64_t n, T amin, T offset);

// x[i] = exp(x[i]), for finite x (the selective scan's exp(dt A)).
template <typename T>
void exp_inplace(T* x, std::int64_t n);

}  // namespace affectkit
