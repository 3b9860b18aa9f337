#include "affectkit/prosody/praat_numerics.h"

#include <algorithm>
#include <vector>

#include "affectkit/common/interrupt.h"

#include "affectkit/common/lanes.h"

namespace affectkit {

namespace praat {
namespace {

// One side of Praat's windowed-sinc interpolation: sum over k < count of
// y[Step * k] sinc(distance + k) (1 + cos(pi (distance + k) / span)) / 2. The
// window's cosines advance by rotation (as Praat's PowerPC variant does) in eight
// lanes of a GCC vector, so the loop runs in SIMD; this differs from calling cos()
// per term only in the last bits.

using Quadrants = long long __attribute__((vector_size(64)));

// The lanes in reverse order (a side's terms read leftwards).
Lanes reversed(Lanes v) { return __builtin_shuffle(v, Quadrants{7, 6, 5, 4, 3, 2, 1, 0}); }

// y[last], y[last - 1], ..., y[last - 7].
Lanes load_leftwards(const double* last) { return reversed(load_lanes(last - (kLanes - 1))); }

// sin x and cos x in every lane, for 0 <= x <= pi (all angles here): msun's reduction
// by pi / 2 in three parts and its __kernel_sin / __kernel_cos polynomials; within 1 ulp
// of glibc's sin and cos (equal for ~97% of arguments). An interpolation's six sines and
// cosines in one call: as six libm calls they were 40% of a depth-70 interpolation
// (Brent's pitch refinement makes ~20 of those per candidate).
void sin_cos(Lanes x, Lanes* s, Lanes* c) {
  constexpr double two_over_pi = 6.36619772367581382433e-01, pio2_1 = 1.57079632673412561417e+00,
                   pio2_2 = 6.07710050630396597660e-11, pio2_2t = 2.02226624879595063154e-21;
  const Quadrants q = __builtin_convertvector(x * two_over_pi + 0.5, Quadrants);  // round, x >= 0
  const Lanes j = __builtin_convertvector(q, Lanes);
  // x - j pi / 2 as r + rt (j pio2_1 and j pio2_2 are exact).
  const Lanes high = x - j * pio2_1, second = j * pio2_2, middle = high - second;
  const Lanes tail = j * pio2_2t - ((high - middle) - second);
  const Lanes r = middle - tail, rt = (middle - r) - tail;
  const Lanes z = r * r, v = z * r, w = z * z;
  const Lanes ps = 8.33333333332248946124e-03 +
                   z * (-1.98412698298579493134e-04 +
                        z * (2.75573137070700676789e-06 + z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10)));
  const Lanes sin_r = r - ((z * (0.5 * rt - v * ps) - rt) + v * 1.66666666666666324348e-01);
  const Lanes pc = z * (4.16666666666666019037e-02 + z * (-1.38888888888741095749e-03 + z * 2.48015872894767294178e-05)) +
                   w * w * (-2.75573143513906633035e-07 + z * (2.08757232129817482790e-09 - z * 1.13596475577881948265e-11));
  const Lanes half_z = 0.5 * z, one_minus = 1.0 - half_z;
  const Lanes cos_r = one_minus + (((1.0 - one_minus) - half_z) + (z * pc - r * rt));
  // Quadrant q mod 4: (sin, cos) = (s, c), (c, -s), (-s, -c), (-c, s).
  const Quadrants odd = (q & 1) != 0, negate = (q & 2) != 0;
  const Lanes sign = negate ? Lanes{} - 1.0 : Lanes{} + 1.0;
  *s = sign * (odd ? cos_r : sin_r);
  *c = sign * (odd ? -sin_r : cos_r);
}

// The trigonometry of one side: sin(pi distance), and the cosine and sine of the
// window's first angle distance * daa and of its step daa = pi / span.
struct SideAngles {
  double sin_pi_distance, cos_first, sin_first, cos_d, sin_d;
};

// With Weights, y is not read: each term's weight (its factor of y) is written to
// weights[Step * k] instead, and the sum of the weights is returned.
template <int Step, bool Weights = false>
double windowed_sinc_sum(const double* y, std::int64_t count, double distance, const SideAngles& angles,
                         double* weights = nullptr) {
  const double half_sin = 0.5 * angles.sin_pi_distance;  // times (-1)^k for term k
  const double cos_d = angles.cos_d, sin_d = angles.sin_d;
  Lanes cos_aa, sin_aa, sign, offset;
  cos_aa[0] = angles.cos_first;
  sin_aa[0] = angles.sin_first;
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
    // y[Step * (k + j)] for j = 0..7: one load, reversed for Step -1
    const Lanes a = M_PI * (offset + static_cast<double>(k));
    if (Weights) {
      Lanes weight = sign / a * (1.0 + cos_aa);
      if (Step == -1) weight = reversed(weight);
      store_lanes(Step == 1 ? weights + k : weights - k - (kLanes - 1), weight);
      sums += weight;
    } else {
      const Lanes values = Step == 1 ? load_lanes(y + k) : load_leftwards(y - k);
      sums += values * sign / a * (1.0 + cos_aa);
    }
    const Lanes c = cos_aa * cos_step - sin_aa * sin_step;
    sin_aa = cos_aa * sin_step + sin_aa * cos_step;
    cos_aa = c;
  }
  double total = 0;
  for (int j = 0; k + j < count; ++j) {
    const double a = M_PI * (offset[j] + static_cast<double>(k));
    if (Weights) {
      weights[Step * (k + j)] = sign[j] / a * (1.0 + cos_aa[j]);
      total += weights[Step * (k + j)];
    } else {
      total += y[Step * (k + j)] * sign[j] / a * (1.0 + cos_aa[j]);
    }
  }
  for (int j = 0; j < kLanes; ++j) total += sums[j];
  return total;
}

// The two sides of an interpolation at midleft + distance_left (0 < distance_left < 1)
// with depth samples each side: each side's sine from its own distance, as Praat:
// sin(pi (1 - f)) computed from 1 - f is not sin(pi f) to the last bit, and LPC on
// resampled audio shows that.
struct Sides {
  SideAngles left, right;
};

Sides side_angles(double distance_left, std::int64_t depth) {
  const double distance_right = 1.0 - distance_left;
  const double daa_left = M_PI / (distance_left + static_cast<double>(depth));
  const double daa_right = M_PI / (distance_right + static_cast<double>(depth));
  const Lanes angles = {M_PI * distance_left, distance_left * daa_left,   daa_left,
                        M_PI * distance_right, distance_right * daa_right, daa_right};
  Lanes sines, cosines;
  sin_cos(angles, &sines, &cosines);
  return {{sines[0], cosines[1], sines[1], cosines[2], sines[2]}, {sines[3], cosines[4], sines[4], cosines[5], sines[5]}};
}

// cos and sin of first + j step in lane j: those of first rotated by step, 2 step and
// 4 step in the lanes whose j has that bit (three vector rotations, where rotating lane
// by lane is a serial chain of element inserts).
void rotated_lanes(double cos_first, double sin_first, double cos_step, double sin_step, Lanes* cosines,
                   Lanes* sines) {
  Lanes c = Lanes{} + cos_first, s = Lanes{} + sin_first;
  for (int bit = 1; bit < kLanes; bit *= 2) {
    Lanes has_bit;
    for (int j = 0; j < kLanes; ++j) has_bit[j] = (j & bit) ? 1.0 : 0.0;
    const Lanes rc = 1.0 + has_bit * (cos_step - 1.0), rs = has_bit * sin_step;
    const Lanes rotated = c * rc - s * rs;
    s = c * rs + s * rc;
    c = rotated;
    const double doubled = cos_step * cos_step - sin_step * sin_step;
    sin_step = 2.0 * sin_step * cos_step;
    cos_step = doubled;
  }
  *cosines = c;
  *sines = s;
}

// interpolate_sinc's value and first three derivatives in x on the piece between the
// samples around x (x not a sample; depth >= kLanes): false where that piece is not the
// sinc sum. Each side (distance d, u = d + k for its term k, width c = d + depth) is
// sin(pi d) / (2 pi) A(d) with A = sum (-1)^k y_k (1 + cos theta) / u, theta = pi u / c;
// the window's width depends on d too (theta' = pi (c - u) / c^2, theta'' = -2 theta' / c),
// and A', A'', A''' are summed term by term. Both sides run in one loop (two independent
// rotations of the window's angles, in registers).
struct Derivatives {
  double value, first, second, third;
};

// One side's running state: its terms' distances u and window angles (rotated by
// kLanes terms per step), and the partial sums of A, A', A'', A'''.
struct SideTerms {
  double inv_c, g, cos_step, sin_step;  // c = d + depth; theta' = g (c - u)
  Lanes u, dtheta, cos_aa, sin_aa, a0 = {}, a1 = {}, a2 = {}, a3 = {};  // dtheta: theta' of each term

  // With Full false only A and A' are summed (a verification pass: see maximize_sinc_newton).
  template <bool Full>
  void add(Lanes v) {  // v: the next kLanes terms' (-1)^k y_k
    const Lanes r = 1.0 / u, window = 1.0 + cos_aa, t = sin_aa * dtheta, window_r = window * r;
    const Lanes p = r * (t + window_r);
    a0 += v * window_r;
    a1 -= v * p;
    if (Full) {
      // The window's w' = -t, w'' and w''' (theta'' = -2 theta' / c, theta''' = 6 theta' / c^2);
      // the term's (w / u)' = -p, (w / u)'' = q, (w / u)''' = (w''' - 3 q) / u.
      const Lanes dtheta2 = dtheta * dtheta, cos_term = cos_aa * dtheta2;
      const Lanes w2 = 2.0 * inv_c * t - cos_term, w3 = t * dtheta2 + 6.0 * inv_c * (cos_term - inv_c * t);
      const Lanes q = r * (w2 + 2.0 * p);
      a2 += v * q;
      a3 += v * r * (w3 - 3.0 * q);
    }
    const Lanes rotated = cos_aa * cos_step - sin_aa * sin_step;
    sin_aa = cos_aa * sin_step + sin_aa * cos_step;
    cos_aa = rotated;
    u += kLanes;
    dtheta -= kLanes * g;
  }

  // The side's value and derivatives in its distance d, times 2 pi, from sin and cos of pi d.
  template <bool Full>
  Derivatives finish(double sin_pd, double cos_pd) const {
    const double A = sum_lanes(a0), A1 = sum_lanes(a1);
    Derivatives d{sin_pd * A, M_PI * cos_pd * A + sin_pd * A1, 0.0, 0.0};
    if (Full) {
      const double A2 = sum_lanes(a2), A3 = sum_lanes(a3);
      d.second = -M_PI * M_PI * sin_pd * A + 2 * M_PI * cos_pd * A1 + sin_pd * A2;
      d.third = -M_PI * M_PI * M_PI * cos_pd * A - 3 * M_PI * M_PI * sin_pd * A1 + 3 * M_PI * cos_pd * A2 + sin_pd * A3;
    }
    return d;
  }
};

// With Full false, only the value and the first derivative (second and third are 0).
template <bool Full>
bool sinc_derivatives(const double* y, std::int64_t size, std::int64_t max_depth, double x, Derivatives* out) {
  const std::int64_t midleft = static_cast<std::int64_t>(std::floor(x)), midright = midleft + 1;
  const std::int64_t depth = std::min({max_depth, midright, size - 1 - midleft});
  if (x == static_cast<double>(midleft) || depth < kLanes) return false;
  const double distance_left = x - static_cast<double>(midleft), distance_right = static_cast<double>(midright) - x;
  Lanes offset, sign;
  for (int j = 0; j < kLanes; ++j) {
    offset[j] = j;
    sign[j] = (j & 1) ? -1.0 : 1.0;
  }
  const double c_left = distance_left + static_cast<double>(depth), c_right = distance_right + static_cast<double>(depth);
  // All the pass's trigonometry in one call (three calls were a third of a pass): for
  // both sides, pi d, the window's first angle pi d / c, its step pi / c between terms
  // (the first kLanes angles follow by rotation) and the step kLanes pi / c of the loop.
  // (One vector division for the six.)
  const Lanes angles = Lanes{M_PI * distance_left, M_PI * distance_right, M_PI * distance_left, M_PI * distance_right,
                             M_PI, M_PI, kLanes * M_PI, kLanes * M_PI} /
                       Lanes{1.0, 1.0, c_left, c_right, c_left, c_right, c_left, c_right};
  Lanes sines, cosines;
  sin_cos(angles, &sines, &cosines);
  auto side = [&](double distance, double c, int lane) {  // lane: 0 left, 1 right
    SideTerms terms;
    terms.inv_c = 1.0 / c;
    terms.g = angles[4 + lane] / c;  // pi / c^2
    terms.u = offset + distance;
    terms.dtheta = terms.g * (c - terms.u);
    rotated_lanes(cosines[2 + lane], sines[2 + lane], cosines[4 + lane], sines[4 + lane], &terms.cos_aa,
                  &terms.sin_aa);
    terms.cos_step = cosines[6 + lane];
    terms.sin_step = sines[6 + lane];
    return terms;
  };
  SideTerms left = side(distance_left, c_left, 0), right = side(distance_right, c_right, 1);
  std::int64_t k = 0;
  for (; k + kLanes <= depth; k += kLanes) {  // left: y[midleft - k - j], reversed
    left.add<Full>(sign * load_leftwards(y + midleft - k));
    right.add<Full>(sign * load_lanes(y + midright + k));
  }
  if (k < depth) {  // the last terms, zeros after them
    Lanes v_left = {}, v_right = {};
    if (midleft - k - (kLanes - 1) >= 0 && midright + k + kLanes <= size) {  // whole loads, then selected
      const LaneMask wanted = offset < static_cast<double>(depth - k);
      v_left = wanted ? load_leftwards(y + midleft - k) : v_left;
      v_right = wanted ? load_lanes(y + midright + k) : v_right;
    } else {
      for (int j = 0; k + j < depth; ++j) {
        v_left[j] = y[midleft - k - j];
        v_right[j] = y[midright + k + j];
      }
    }
    left.add<Full>(sign * v_left);
    right.add<Full>(sign * v_right);
  }
  const Derivatives l = left.finish<Full>(sines[0], cosines[0]), r = right.finish<Full>(sines[1], cosines[1]);
  // d/dx of the right side's distance is -1.
  constexpr double scale = 0.5 / M_PI;
  *out = {scale * (l.value + r.value), scale * (l.first - r.first), scale * (l.second + r.second),
          scale * (l.third - r.third)};
  return true;
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
  const double distance_left = x - static_cast<double>(midleft), distance_right = static_cast<double>(midright) - x;
  const Sides sides = side_angles(distance_left, max_depth);
  return windowed_sinc_sum<-1>(y + midleft, max_depth, distance_left, sides.left) +
         windowed_sinc_sum<1>(y + midright, max_depth, distance_right, sides.right);
}

double sinc_peak_start(const double* y, std::int64_t size, std::int64_t i) {
  // Stirling's central differences: p(t) = y0 + t d1 + t^2 d2 / 2 + (t^3 - t) d3 / 6 + (t^4 - t^2) d4 / 24.
  const double d1 = 0.5 * (y[i + 1] - y[i - 1]), d2 = y[i + 1] - 2.0 * y[i] + y[i - 1];
  const double parabola = -d1 / d2;
  if (i < 2 || i + 2 >= size) return static_cast<double>(i) + parabola;
  const double d3 = 0.5 * (y[i + 2] - 2.0 * y[i + 1] + 2.0 * y[i - 1] - y[i - 2]);
  const double d4 = y[i + 2] - 4.0 * (y[i + 1] + y[i - 1]) + 6.0 * y[i] + y[i - 2];
  const double t = parabola;
  const double slope = d1 - d3 / 6.0 + t * (d2 - d4 / 12.0) + t * t * (0.5 * d3 + t * d4 / 6.0);
  const double curvature = d2 - d4 / 12.0 + t * (d3 + 0.5 * t * d4);
  const double quartic = t - slope / curvature;
  // On the parabola's side of the sample: where the peak has a maximum on each piece,
  // Newton is to find the one it finds from the parabola's vertex.
  const bool same_side = (quartic < 0) == (parabola < 0) && quartic != 0;
  return curvature < 0 && same_side && std::fabs(quartic) < 1.0 ? static_cast<double>(i) + quartic
                                                                : static_cast<double>(i) + parabola;
}

// sinc(n) = 0 at the samples, so only sinc'(n) = (-1)^n / n remains in each term, times
// its window (1 + cos(pi n / c)) / 2, c the depth of that side on that piece (one
// more on the far side, whose distance is 1 there): windowed_sinc_sum's weights from
// distance 1 with -pi for sin(pi d). They depend on c only: each thread keeps the
// tables of the last two widths (a refinement asks for depth and depth + 1, which
// differ in parity), and a slope is two dot products.
namespace {

const double* slope_weights(std::int64_t c) {
  thread_local std::vector<double> tables[2];
  thread_local std::int64_t widths[2] = {0, 0};
  const int slot = static_cast<int>(c & 1);
  if (widths[slot] != c) {
    Lanes sines, cosines;
    sin_cos(Lanes{} + M_PI / static_cast<double>(c), &sines, &cosines);
    tables[slot].resize(static_cast<std::size_t>(c - 1));
    windowed_sinc_sum<1, true>(nullptr, c - 1, 1.0, SideAngles{-M_PI, cosines[0], sines[0], cosines[0], sines[0]},
                               tables[slot].data());
    widths[slot] = c;
  }
  return tables[slot].data();
}

}  // namespace

bool sinc_slope_at_sample(const double* y, std::int64_t size, std::int64_t max_depth, std::int64_t centre, int side,
                          double* slope) {
  const std::int64_t midleft = side > 0 ? centre : centre - 1;
  const std::int64_t depth = std::min({max_depth, midleft + 1, size - 1 - midleft});
  if (depth < kLanes) return false;
  const std::int64_t c_left = side > 0 ? depth : depth + 1, c_right = side > 0 ? depth + 1 : depth;
  const double *left = slope_weights(c_left), *right = slope_weights(c_right);
  // Moving right, the left side's distances grow and the right side's shrink: the left
  // side's terms y[centre - 1 - k], the right side's y[centre + 1 + k].
  const std::int64_t left_count = c_left - 1, right_count = c_right - 1;
  Lanes sums = {};
  std::int64_t k = 0;
  for (; k + kLanes <= std::min(left_count, right_count); k += kLanes) {
    sums += load_leftwards(y + centre - 1 - k) * load_lanes(left + k) -
            load_lanes(y + centre + 1 + k) * load_lanes(right + k);
  }
  double total = 0;
  for (std::int64_t j = k; j < left_count; ++j) total += y[centre - 1 - j] * left[j];
  for (std::int64_t j = k; j < right_count; ++j) total -= y[centre + 1 + j] * right[j];
  *slope = total + sum_lanes(sums);
  return true;
}

bool maximize_sinc_newton(const double* y, std::int64_t size, std::int64_t max_depth, std::int64_t centre, double* x,
                          double* maximum) {
  // The pieces meet at the centre with a small kink (the two sides' windows differ):
  // the maximum may sit on the kink (Newton jumps across it: give up) or there may be one
  // on each piece (Brent finds either: give up when the other piece rises from the kink).
  // Halley's step (cubic convergence: most peaks take two passes instead of three) where its
  // correction to Newton's is small.
  //
  // A pass after a step below kCarryStep within the piece mostly confirms (its step is
  // typically ~1e-8): it sums only f and f' (60% of a full pass) and carries f'' and f'''
  // over from the full pass before by Taylor, with f'''' from what that predicted wrong
  // of f'. The carried f'' is mostly off by a small part of the f'''' term it added: a
  // confirming step is final where that term moves it by less than kConfirmError samples
  // (on the benchmark's voices, the accepted steps were within 1.5e-10 samples of a full
  // pass's step); else a full pass follows.
  constexpr double kStepTolerance = 3e-5;  // the next step would be ~K 3e-14
  constexpr double kCarryStep = 0.1, kConfirmError = 1e-11;
  const double middle = static_cast<double>(centre), lo = middle - 1.0, hi = middle + 1.0;
  double at = *x, moved = 0, inverse_moved2 = 0;
  Derivatives last{};  // the last full pass's, `moved` before `at`
  bool full = true;
  for (int iteration = 0; iteration < 8; ++iteration) {
    Derivatives f;
    if (!(at > lo && at < hi)) return false;
    if (full ? !sinc_derivatives<true>(y, size, max_depth, at, &f) : !sinc_derivatives<false>(y, size, max_depth, at, &f)) {
      return false;
    }
    double carried = 0;  // the f'''' term a carried f'' has (its error is mostly a small part of it)
    if (full) {
      last = f;
    } else {  // f' against its prediction to O(s^3) gives f'''' s (rounding: ~eps |f''| / s)
      const double s = moved, predicted = last.first + s * (last.second + 0.5 * s * last.third);
      const double fourth_s = 6.0 * (f.first - predicted) * inverse_moved2;
      carried = 0.5 * s * fourth_s;
      f.second = last.second + s * last.third + carried;
      f.third = last.third + fourth_s;
    }
    if (!(f.second < 0)) return false;
    // Halley's step -f' f'' / (f''^2 - f' f''' / 2) where that is 0.5 to 2 times Newton's
    // (one division: the passes wait on it).
    const double curvature2 = f.second * f.second, denominator = curvature2 - 0.5 * f.first * f.third;
    const bool cubic = denominator > 0.5 * curvature2 && denominator < 2.0 * curvature2;
    const double step = cubic ? -f.first * f.second / denominator : -f.first / f.second;
    if (!cubic || std::fabs(step) > kStepTolerance || std::fabs(step * carried) > kConfirmError * -f.second) {
      // (a confirming pass only follows a step above kStepTolerance: moved is not 0 there)
      full = !(full && cubic && std::fabs(step) < kCarryStep && std::floor(at) == std::floor(at + step));
      moved = step;
      inverse_moved2 = 1.0 / (step * step);
      at += step;
      continue;
    }
    const double found = at + step;
    if ((found < middle) != (at < middle) || found == middle || !(found > lo && found < hi)) return false;
    // The other piece must fall away from the kink.
    const int away = found < middle ? 1 : -1;
    double other_slope;
    if (!sinc_slope_at_sample(y, size, max_depth, centre, away, &other_slope) || away * other_slope >= 0) return false;
    *x = found;
    // f(x + step) to O(step^4).
    *maximum = f.value + step * (f.first + step * (0.5 * f.second + step * f.third / 6.0));
    return true;
  }
  return false;
}

void resample_sinc(const double* y, std::int64_t size, double x1, double dx, double out_x1, double out_dx,
                   std::int64_t count, std::int64_t depth, double* out) {
  // The outputs' indices advance by step = out_dx / dx, so when period * step is a
  // whole number their fractional parts repeat every `period` outputs (16 to 11 kHz:
  // step 16 / 11, period 11). A windowed-sinc interpolation's weights depend only on
  // that fraction (away from the ends): one table of 2 depth weights per phase makes
  // each output a dot product.
  const double step = out_dx / dx;
  std::int64_t period = 0;
  for (std::int64_t p = 1; p <= kMaxResamplePeriod && period == 0; ++p) {
    if (std::fabs(static_cast<double>(p) * step - std::nearbyint(static_cast<double>(p) * step)) <= 1e-9) period = p;
  }
  const std::int64_t taps = 2 * depth, padded = (taps + kLanes - 1) / kLanes * kLanes;  // zero weights past taps
  std::vector<double> table(static_cast<std::size_t>(period * padded), 0.0);
  std::vector<double> fraction(static_cast<std::size_t>(period), -1.0);  // -1: not made yet
  for (std::int64_t i = 0; i < count; ++i) {
    if (i % 4096 == 0) interruption_point();  // seconds for an hour of sound
    const double x = (out_x1 + static_cast<double>(i) * out_dx - x1) / dx;
    const double floor_x = std::floor(x), distance = x - floor_x;
    const auto first = static_cast<std::int64_t>(floor_x) - depth + 1;  // the leftmost tap
    const bool interior = period > 0 && depth >= 3 && distance > 0 && first >= 0 && first + padded <= size;
    if (!interior) {
      out[i] = interpolate_sinc(y, size, x, depth);
      continue;
    }
    double* weights = table.data() + (i % period) * padded;
    double& made = fraction[static_cast<std::size_t>(i % period)];
    if (made < 0) {
      const Sides sides = side_angles(distance, depth);
      windowed_sinc_sum<-1, true>(nullptr, depth, distance, sides.left, weights + depth - 1);
      windowed_sinc_sum<1, true>(nullptr, depth, 1.0 - distance, sides.right, weights + depth);
      made = distance;
    }
    // Positions carry rounding of a few ulps of x (as Praat's own); a phase whose
    // fraction drifts further than that (step not exactly periodic) is computed directly.
    if (std::fabs(distance - made) > 8 * std::numeric_limits<double>::epsilon() * std::fabs(x)) {
      out[i] = interpolate_sinc(y, size, x, depth);
      continue;
    }
    Lanes sums = {};
    for (std::int64_t k = 0; k < padded; k += kLanes) sums += load_lanes(y + first + k) * load_lanes(weights + k);
    double total = 0;
    for (int j = 0; j < kLanes; ++j) total += sums[j];
    out[i] = total;
  }
}

}  // namespace praat

}  // namespace affectkit
