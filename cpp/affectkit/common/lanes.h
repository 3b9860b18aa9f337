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

// The sum of the eight lanes, by halving (three adds, no per-lane extracts).
inline double sum_lanes(Lanes v) {
  using Half = double __attribute__((vector_size(32)));
  using Quarter = double __attribute__((vector_size(16)));
  const Half half = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
  const Quarter quarter = __builtin_shufflevector(half, half, 0, 1) + __builtin_shufflevector(half, half, 2, 3);
  return quarter[0] + quarter[1];
}

// A comparison's result: all bits set in the lanes where it holds.
using LaneMask = long long __attribute__((vector_size(64)));

// Whether any lane of a comparison holds (its halves or-ed together).
inline bool any_lane(LaneMask m) {
  using Half = long long __attribute__((vector_size(32)));
  using Quarter = long long __attribute__((vector_size(16)));
  const Half half = __builtin_shufflevector(m, m, 0, 1, 2, 3) | __builtin_shufflevector(m, m, 4, 5, 6, 7);
  const Quarter quarter = __builtin_shufflevector(half, half, 0, 1) | __builtin_shufflevector(half, half, 2, 3);
  return (quarter[0] | quarter[1]) != 0;
}

}  // namespace affectkit
