// Eight doubles in one GCC vector (the AVX-512 width; the compiler splits it on
// narrower CPUs): SIMD loops in plain C++, without intrinsics.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
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

// The sum of x[0..n) (0 for n <= 0), in eight lanes.
inline double lane_sum(const double* x, std::int64_t n) {
  Lanes sums = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) sums += load_lanes(x + i);
  double total = sum_lanes(sums);
  for (; i < n; ++i) total += x[i];
  return total;
}

// The largest magnitude in x[0..n) (0 for n <= 0), in eight lanes.
inline double lane_max_abs(const double* x, std::int64_t n) {
  Lanes peaks = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const Lanes v = load_lanes(x + i), magnitude = v < 0 ? -v : v;
    peaks = magnitude > peaks ? magnitude : peaks;
  }
  double peak = 0;
  for (int j = 0; j < kLanes; ++j) peak = std::max(peak, peaks[j]);
  for (; i < n; ++i) peak = std::max(peak, std::fabs(x[i]));
  return peak;
}

// The smallest and largest of x[0..n) (n >= 1), in eight lanes.
inline void lane_min_max(const double* x, std::int64_t n, double* low, double* high) {
  Lanes lows = Lanes{} + x[0], highs = lows;
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const Lanes v = load_lanes(x + i);
    lows = v < lows ? v : lows;
    highs = v > highs ? v : highs;
  }
  *low = x[0];
  *high = x[0];
  for (int j = 0; j < kLanes; ++j) {
    *low = std::min(*low, lows[j]);
    *high = std::max(*high, highs[j]);
  }
  for (; i < n; ++i) {
    *low = std::min(*low, x[i]);
    *high = std::max(*high, x[i]);
  }
}

}  // namespace affectkit
