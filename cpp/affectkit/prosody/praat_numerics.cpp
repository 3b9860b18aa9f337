#include "affectkit/prosody/praat_numerics.h"

#include <algorithm>

namespace affectkit {

namespace praat {
namespace {

// One side of Praat's windowed-sinc interpolation: sum over k < count of
// y[Step * k] sinc(distance + k) (1 + cos(pi (distance + k) / span)) / 2. The
// window's cosines advance by rotation (as Praat's PowerPC variant does) in eight
// lanes of a GCC vector, so the loop runs in SIMD; this differs from calling cos()
// per term only in the last bits.
using Lanes = double __attribute__((vector_size(64)));
constexpr int kLanes = 8;

template <int Step>
double windowed_sinc_sum(const double* y, std::int64_t count, double distance, double span) {
  // Each side's sine from its own distance, as Praat: sin(pi (1 - f)) computed from
  // 1 - f is not sin(pi f) to the last bit, and LPC on resampled audio shows that.
  const double half_sin = 0.5 * std::sin(M_PI * distance);  // times (-1)^k for term k
  const double daa = M_PI / span;
  const double cos_d = std::cos(daa), sin_d = std::sin(daa);
  Lanes cos_aa, sin_aa, sign, offset;
  cos_aa[0] = std::cos(distance * daa);
  sin_aa[0] = std::sin(distance * daa);
  for (int j = 0; j < kLanes; ++j) {
    if (j > 0) {
      cos_aa[j] = cos_aa[j - 1] * cos_d - sin_aa[j - 1] * sin_d;
      sin_aa[j] = cos_aa[j - 1] * sin_d + sin_aa[j - 1] * cos_d;
    }
    sign[j] = (j & 1) ? -half_sin : half_sin;
    offset[j] = distance + j;
  }
  double cos_step = cos_d, sin_step = sin_d;  // rotation by kLanes * daa, by doubling
  for (int doubling = 1; doubling < kLanes; doubling *= 2) {
    const double c = cos_step * cos_step - sin_step * sin_step;
    sin_step = 2 * sin_step * cos_step;
    cos_step = c;
  }
  Lanes sums = {};
  std::int64_t k = 0;
  for (; k + kLanes <= count; k += kLanes) {
    Lanes values;
    for (int j = 0; j < kLanes; ++j) values[j] = y[Step * (k + j)];
    const Lanes a = M_PI * (offset + static_cast<double>(k));
    sums += values * sign / a * (1.0 + cos_aa);
    const Lanes c = cos_aa * cos_step - sin_aa * sin_step;
    sin_aa = cos_aa * sin_step + sin_aa * cos_step;
    cos_aa = c;
  }
  double total = 0;
  for (int j = 0; k + j < count; ++j) {
    total += y[Step * (k + j)] * sign[j] / (M_PI * (offset[j] + static_cast<double>(k))) * (1.0 + cos_aa[j]);
  }
  for (int j = 0; j < kLanes; ++j) total += sums[j];
  return total;
}

}  // namespace

double interpolate_sinc(const double* y, std::int64_t size, double x, std::int64_t max_depth) {
  // Praat's NUM_interpolate_sinc, in 0-based indices.
  if (size < 1) return std::numeric_limits<double>::quiet_NaN();
  if (x > static_cast<double>(size - 1)) return y[size - 1];
  if (x < 0) return y[0];
  const std::int64_t midleft = static_cast<std::int64_t>(std::floor(x)), midright = midleft + 1;
  if (x == static_cast<double>(midleft)) return y[midleft];
  max_depth = std::min({max_depth, midright, size - 1 - midleft});
  if (max_depth <= 0) return y[static_cast<std::int64_t>(std::floor(x + 0.5))];
  if (max_depth == 1) return y[midleft] + (x - static_cast<double>(midleft)) * (y[midright] - y[midleft]);
  if (max_depth == 2) {  // cubic
    const double yl = y[midleft], yr = y[midright];
    const double dyl = 0.5 * (yr - y[midleft - 1]), dyr = 0.5 * (y[midright + 1] - yl);
    const double fil = x - static_cast<double>(midleft), fir = static_cast<double>(midright) - x;
    return yl * fir + yr * fil - fil * fir * (0.5 * (dyr - dyl) + (fil - 0.5) * (dyl + dyr - 2 * (yr - yl)));
  }
  const std::int64_t left = midright - max_depth, right = midleft + max_depth;
  const double result =
      windowed_sinc_sum<-1>(y + midleft, midleft - left + 1, x - static_cast<double>(midleft),
                            x - static_cast<double>(left) + 1.0) +
      windowed_sinc_sum<1>(y + midright, right - midright + 1, static_cast<double>(midright) - x,
                           static_cast<double>(right) - x + 1.0);
  return result;
}

}  // namespace praat

}  // namespace affectkit
