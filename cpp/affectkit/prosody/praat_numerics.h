// Praat's numerical building blocks, shared by the prosody analyses: its
// windowed-sinc interpolation and Brent's minimiser.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace affectkit {

namespace praat {
// Praat's NUM_interpolate_sinc: y[0..size) at fractional index x, Hann-windowed
// sinc over max_depth samples each side (clipped at the ends).
double interpolate_sinc(const double* y, std::int64_t size, double x, std::int64_t max_depth);

// A start for maximize_sinc_newton at the sample peak y[i]: the vertex of the quartic
// through y[i-2..i+2] (one Newton step from the parabola's through y[i-1..i+1]), which
// on a smooth autocorrelation is close enough for Newton to stop a pass earlier; the
// parabola's vertex where the five samples are not there or the quartic is no help
// (convex there, or across the sample from the parabola's vertex).
double sinc_peak_start(const double* y, std::int64_t size, std::int64_t i);

// The maximum of interpolate_sinc(y, size, ., max_depth) on (centre - 1, centre + 1),
// the bracket of Praat's peak refinement, by Newton's method (Halley's, with the third
// derivative, where its correction is small) on the exact derivatives (the window's
// width depends on x too, and is differentiated) from *x; passes after a small step
// sum only f and f' (see the definition). On success writes the maximum's position
// (to ~1e-14, where Brent stops at ~1e-8 |x|) to *x and its value to *maximum. Returns false (*x untouched) where the
// answer may differ from Brent's or Newton does not converge: iterates leaving the
// bracket or meeting a convex stretch, a maximum on the kink at the centre sample or
// a second one across it. The caller then falls back to Brent.
bool maximize_sinc_newton(const double* y, std::int64_t size, std::int64_t max_depth, std::int64_t centre, double* x,
                          double* maximum);

// The slope at the sample y[centre] of the piece of interpolate_sinc on its right
// (side +1: (centre, centre + 1)) or left (side -1), the limit of its derivative there
// (the pieces meet at the sample with a small kink). One sum over the terms, where the
// derivatives beside the sample take three. False where the piece's depth is below 8.
bool sinc_slope_at_sample(const double* y, std::int64_t size, std::int64_t max_depth, std::int64_t centre, int side,
                          double* slope);

// Praat's Sound_resample loop: y sampled at times x1 + j dx, out[i] at out_x1 + i out_dx
// for i < count, each the interpolate_sinc of y at its index (time - x1) / dx. When
// out_dx / dx is a ratio p / q with p <= kMaxResamplePeriod (16 to 11 kHz: 11 / 16),
// interior outputs reuse one table of weights per phase: equal to the direct
// computation to a few ulps of the index, the size of Praat's own rounding of it.
constexpr std::int64_t kMaxResamplePeriod = 1000;
void resample_sinc(const double* y, std::int64_t size, double x1, double dx, double out_x1, double out_dx,
                   std::int64_t count, std::int64_t depth, double* out);

// Brent's minimiser of f on [a, b] (golden section with parabolic steps; Brent
// 1973, as in netlib's fmin and Praat's NUMminimize_brent): returns the abscissa
// to within 3 sqrt(eps) |x| + tol and writes the minimum to *fx.
template <typename F>
double minimize_brent(F f, double a, double b, double tol, double* fx) {
  const double golden = (3.0 - std::sqrt(5.0)) / 2.0;
  const double sqrt_epsilon = std::sqrt(0.5 * std::numeric_limits<double>::epsilon());  // LAPACK dlamch eps
  double x = a + golden * (b - a), w = x, v = x;
  double fw = f(x), fv = fw;
  *fx = fw;
  for (int iteration = 0; iteration < 60; ++iteration) {
    const double middle = 0.5 * (a + b), tol_act = sqrt_epsilon * std::fabs(x) + tol / 3.0;
    if (std::fabs(x - middle) + 0.5 * (b - a) <= 2.0 * tol_act) break;
    double step = golden * (x < middle ? b - x : a - x);
    if (std::fabs(x - w) >= tol_act) {  // try a parabola through x, w, v
      double t = (x - w) * (*fx - fv), q = (x - v) * (*fx - fw);
      double p = (x - v) * q - (x - w) * t;
      q = 2.0 * (q - t);
      if (q > 0) p = -p; else q = -q;
      if (std::fabs(p) < std::fabs(step * q) && p > q * (a - x + 2 * tol_act) && p < q * (b - x - 2 * tol_act)) {
        step = p / q;
      }
    }
    if (std::fabs(step) < tol_act) step = step > 0 ? tol_act : -tol_act;
    const double t = x + step, ft = f(t);
    if (ft <= *fx) {
      (t < x ? b : a) = x;
      v = w; w = x; x = t;
      fv = fw; fw = *fx; *fx = ft;
    } else {
      (t < x ? a : b) = t;
      if (ft <= fw || w == x) {
        v = w; w = t;
        fv = fw; fw = ft;
      } else if (ft <= fv || v == x || v == w) {
        v = t;
        fv = ft;
      }
    }
  }
  return x;
}
}  // namespace praat

}  // namespace affectkit
