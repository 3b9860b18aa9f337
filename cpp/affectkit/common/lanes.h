// Eight doubles in one GCC vector (the AVX-512 width; the compiler splits it on
// narrower CPUs): SIMD loops in plain C++, without intrinsics.
#pragma once

#include <cstring>

namespace affectkit {

using Lanes = double __attribute__((vector_size(64)));
constexpr int kLanes = 8;

// Unaligned loads and stores of eight consecutive doubles.
inline Lanes load_lanes(const double* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline void store_lanes(double* p, Lanes v) { std::memcpy(p, &v, sizeof(v)); }

}  // namespace affectkit
