#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <limits>
#include <random>
#include <vector>

#include "affectkit/common/check.h"
#include "affectkit/encoders/selective_scan.h"

namespace affectkit {
namespace {

// Everything a scan reads, in double; converted to T for the kernel.
struct Inputs {
  SelectiveScanShape s;
  std::vector<double> u, delta, A, B, C, D, z, bias;
  std::vector<double> h0;  // initial state (batch, dim, state); empty: zeros
  bool softplus = true;
};

std::vector<double> random_vector(std::int64_t n, unsigned seed, double scale = 1.0, double shift = 0.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(static_cast<std::size_t>(n));
  for (auto& value : v) value = shift + scale * normal(rng);
  return v;
}

std::int64_t parameter_size(const SelectiveScanShape& s, std::int64_t groups) {
  return groups ? s.batch * groups * s.state * s.length : s.dim * s.state;
}

Inputs make_inputs(SelectiveScanShape s, unsigned seed) {
  Inputs in;
  in.s = s;
  const std::int64_t n = s.batch * s.dim * s.length;
  in.u = random_vector(n, seed);
  in.delta = random_vector(n, seed + 1, 0.5, -1.0);
  in.A = random_vector(s.dim * s.state, seed + 2);
  for (auto& a : in.A) a = -std::exp(0.5 * a);  // A < 0, as Mamba's -exp(A_log)
  in.B = random_vector(parameter_size(s, s.B_groups), seed + 3);
  in.C = random_vector(parameter_size(s, s.C_groups), seed + 4);
  in.D = random_vector(s.dim, seed + 5);
  in.z = random_vector(n, seed + 6);
  in.bias = random_vector(s.dim, seed + 7, 0.5);
  in.h0 = random_vector(s.batch * s.dim * s.state, seed + 8);
  return in;
}

// The definition in selective_scan.h as plain loops, in double.
std::vector<double> naive_forward(const Inputs& in, std::vector<double>* last_state = nullptr) {
  const SelectiveScanShape& s = in.s;
  std::vector<double> out(in.u.size());
  if (last_state) last_state->assign(s.batch * s.dim * s.state, 0.0);
  auto param = [&](const std::vector<double>& p, std::int64_t groups, std::int64_t b, std::int64_t d,
                   std::int64_t n, std::int64_t t) {
    if (!groups) return p[d * s.state + n];
    const std::int64_t g = d / (s.dim / groups);
    return p[((b * groups + g) * s.state + n) * s.length + t];
  };
  for (std::int64_t b = 0; b < s.batch; ++b) {
    for (std::int64_t d = 0; d < s.dim; ++d) {
      std::vector<double> h(s.state, 0.0);
      if (!in.h0.empty()) std::copy_n(in.h0.begin() + (b * s.dim + d) * s.state, s.state, h.begin());
      for (std::int64_t t = 0; t < s.length; ++t) {
        const std::int64_t i = (b * s.dim + d) * s.length + t;
        double dt = in.delta[i] + in.bias[d];
        if (in.softplus) dt = dt > 20 ? dt : std::log1p(std::exp(dt));
        double y = 0;
        for (std::int64_t n = 0; n < s.state; ++n) {
          h[n] = std::exp(dt * in.A[d * s.state + n]) * h[n] + dt * param(in.B, s.B_groups, b, d, n, t) * in.u[i];
          y += param(in.C, s.C_groups, b, d, n, t) * h[n];
        }
        out[i] = (y + in.D[d] * in.u[i]) * in.z[i] / (1 + std::exp(-in.z[i]));
      }
      if (last_state) std::copy(h.begin(), h.end(), last_state->begin() + (b * s.dim + d) * s.state);
    }
  }
  return out;
}

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <typename T>
struct Converted {
  std::vector<T> u, delta, A, B, C, D, z, bias, h0;
  SelectiveScanOptions<T> options;
  explicit Converted(const Inputs& in)
      : u(cast<T>(in.u)), delta(cast<T>(in.delta)), A(cast<T>(in.A)), B(cast<T>(in.B)),
        C(cast<T>(in.C)), D(cast<T>(in.D)), z(cast<T>(in.z)), bias(cast<T>(in.bias)), h0(cast<T>(in.h0)) {
    options.D = D.data();
    options.z = z.data();
    options.delta_bias = bias.data();
    options.initial_state = in.h0.empty() ? nullptr : h0.data();
    options.delta_softplus = in.softplus;
  }
};

template <typename T>
class SelectiveScanTest : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SelectiveScanTest, FloatTypes);

const std::vector<SelectiveScanShape> kShapes = {
    {2, 4, 150, 3, 0, 0},  // shared B and C, more than two chunks
    {2, 4, 64, 5, 1, 1},   // (batch, state, length), exactly one chunk
    {1, 6, 70, 2, 3, 2},   // grouped, different groups for B and C
    {3, 2, 1, 16, 1, 0},   // one step
    {2, 3, 0, 4, 1, 1},    // empty sequence
};

TYPED_TEST(SelectiveScanTest, ForwardMatchesDefinition) {
  using T = TypeParam;
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;
  for (const SelectiveScanShape& s : kShapes) {
    for (const bool from_zero : {true, false}) {
      Inputs in = make_inputs(s, 7);
      if (from_zero) in.h0.clear();
      std::vector<double> expected_state;
      const std::vector<double> expected = naive_forward(in, &expected_state);
      Converted<T> c(in);
      std::vector<T> out(in.u.size()), state(s.batch * s.dim * s.state, T(-1));
      selective_scan_forward(c.u.data(), c.delta.data(), c.A.data(), c.B.data(), c.C.data(), c.options,
                             out.data(), state.data(), s, 2);
      for (std::size_t i = 0; i < out.size(); ++i) {
        ASSERT_NEAR(out[i], expected[i], tol * (1 + std::abs(expected[i]))) << "index " << i;
      }
      for (std::size_t i = 0; i < state.size(); ++i) {
        ASSERT_NEAR(state[i], expected_state[i], tol * (1 + std::abs(expected_state[i])));
      }
    }
  }
}

// A sequence split in two, the second part starting from the first's last state
// (in place, as the Mamba stack streams), equals the whole sequence.
TEST(SelectiveScanForward, ContinuesFromInitialState) {
  const SelectiveScanShape whole{2, 3, 100, 4, 0, 0};
  const Inputs in = make_inputs(whole, 3);
  Converted<double> c(in);
  c.options.initial_state = nullptr;
  std::vector<double> expected(in.u.size());
  selective_scan_forward(c.u.data(), c.delta.data(), c.A.data(), c.B.data(), c.C.data(), c.options,
                         expected.data(), static_cast<double*>(nullptr), whole, 1);
  const std::int64_t split = 37;
  std::vector<double> state(whole.batch * whole.dim * whole.state, 0.0), out(in.u.size());
  using Part = std::pair<std::int64_t, std::int64_t>;  // (first step, length)
  for (const auto& [t0, length] : std::vector<Part>{{0, split}, {split, 100 - split}}) {
    SelectiveScanShape part = whole;
    part.length = length;
    // Steps [t0, t0 + length) of every (batch, dim) row.
    auto part_of = [&, t0 = t0, length = length](const std::vector<double>& whole_rows) {
      std::vector<double> rows;
      for (std::int64_t r = 0; r < whole.batch * whole.dim; ++r) {
        rows.insert(rows.end(), whole_rows.begin() + r * 100 + t0, whole_rows.begin() + r * 100 + t0 + length);
      }
      return rows;
    };
    const std::vector<double> u = part_of(c.u), delta = part_of(c.delta), z = part_of(c.z);
    std::vector<double> y(whole.batch * whole.dim * length);
    SelectiveScanOptions<double> options = c.options;
    options.z = z.data();
    options.initial_state = state.data();
    selective_scan_forward(u.data(), delta.data(), c.A.data(), c.B.data(), c.C.data(), options, y.data(),
                           state.data(), part, 2);
    for (std::int64_t r = 0; r < whole.batch * whole.dim; ++r) {
      std::copy_n(y.begin() + r * length, length, out.begin() + r * 100 + t0);
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], expected[i], 1e-12 * (1 + std::abs(expected[i])));
}

// Central differences of the naive double forward for a random weighting of the
// outputs and of the last state: every gradient of the float64 kernel.
TEST(SelectiveScanBackward, MatchesFiniteDifferences) {
  for (const SelectiveScanShape& s : kShapes) {
    Inputs in = make_inputs(s, 11);
    const std::vector<double> w_out = random_vector(in.u.size(), 99);
    const std::vector<double> w_state = random_vector(s.batch * s.dim * s.state, 98);
    auto loss = [&](const Inputs& x) {
      std::vector<double> state;
      const std::vector<double> out = naive_forward(x, &state);
      double total = 0;
      for (std::size_t i = 0; i < out.size(); ++i) total += w_out[i] * out[i];
      for (std::size_t i = 0; i < state.size(); ++i) total += w_state[i] * state[i];
      return total;
    };
    Converted<double> c(in);
    std::vector<double> gu(in.u.size()), gdelta(in.u.size()), gA(in.A.size()), gB(in.B.size()),
        gC(in.C.size()), gD(in.D.size()), gz(in.z.size()), gbias(in.bias.size()), gh0(in.h0.size());
    const SelectiveScanGradients<double> grads{gu.data(), gdelta.data(), gA.data(),    gB.data(),  gC.data(),
                                               gD.data(), gz.data(),     gbias.data(), gh0.data()};
    selective_scan_backward(c.u.data(), c.delta.data(), c.A.data(), c.B.data(), c.C.data(), c.options,
                            w_out.data(), w_state.data(), grads, s, 2);
    const std::vector<std::pair<std::vector<double> Inputs::*, const std::vector<double>*>> checks = {
        {&Inputs::u, &gu}, {&Inputs::delta, &gdelta}, {&Inputs::A, &gA}, {&Inputs::B, &gB},
        {&Inputs::C, &gC}, {&Inputs::D, &gD},         {&Inputs::z, &gz}, {&Inputs::bias, &gbias},
        {&Inputs::h0, &gh0}};
    for (const auto& [member, analytic] : checks) {
      // A few entries of each input (all of them would be slow for long shapes).
      const std::size_t size = (in.*member).size();
      for (std::size_t i = 0; i < size; i += 1 + size / 23) {
        Inputs plus = in, minus = in;
        const double step = 1e-6;
        (plus.*member)[i] += step;
        (minus.*member)[i] -= step;
        const double numeric = (loss(plus) - loss(minus)) / (2 * step);
        ASSERT_NEAR((*analytic)[i], numeric, 1e-6 * (1 + std::abs(numeric))) << "flat index " << i;
      }
    }
  }
}

TEST(SelectiveScanBackward, ResultDoesNotDependOnThreads) {
  const SelectiveScanShape s{3, 8, 200, 4, 2, 1};
  Inputs in = make_inputs(s, 5);
  Converted<float> c(in);
  const std::vector<float> g_out = cast<float>(random_vector(in.u.size(), 3));
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2, 3}) {
    std::vector<float> gu(in.u.size()), gdelta(in.u.size()), gA(in.A.size()), gB(in.B.size()),
        gC(in.C.size()), gD(in.D.size()), gz(in.z.size()), gbias(in.bias.size());
    selective_scan_backward(c.u.data(), c.delta.data(), c.A.data(), c.B.data(), c.C.data(), c.options,
                            g_out.data(), static_cast<const float*>(nullptr),
                            SelectiveScanGradients<float>{gu.data(), gdelta.data(), gA.data(), gB.data(),
                                                          gC.data(), gD.data(), gz.data(), gbias.data()},
                            s, threads);
    std::vector<float> all;
    for (const auto* v : {&gu, &gdelta, &gA, &gB, &gC, &gD, &gz, &gbias}) all.insert(all.end(), v->begin(), v->end());
    runs.push_back(all);
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0], runs[2]);
}

// Complex A (mamba-ssm's complex mode): the state, A, B and C complex, y = 2 Re(C . h).
struct ComplexInputs {
  Inputs real;  // u, delta, D, z, bias, the shape; its A, B, C unused
  std::vector<std::complex<double>> A, B, C;
};

ComplexInputs make_complex_inputs(const SelectiveScanShape& s, unsigned seed) {
  ComplexInputs in{make_inputs(s, seed), {}, {}, {}};
  in.real.h0.clear();
  auto complex_vector = [&](std::int64_t n, unsigned offset) {
    const std::vector<double> re = random_vector(n, seed + offset), im = random_vector(n, seed + offset + 1);
    std::vector<std::complex<double>> v(n);
    for (std::int64_t i = 0; i < n; ++i) v[i] = {re[i], im[i]};
    return v;
  };
  in.A = complex_vector(s.dim * s.state, 20);
  for (std::size_t i = 0; i < in.A.size(); ++i) in.A[i] = {-std::exp(0.5 * in.real.A[i]), 2 * in.A[i].imag()};
  in.B = complex_vector(parameter_size(s, s.B_groups), 30);
  in.C = complex_vector(parameter_size(s, s.C_groups), 40);
  return in;
}

std::vector<double> naive_complex_forward(const ComplexInputs& in, std::vector<std::complex<double>>* last_state) {
  const SelectiveScanShape& s = in.real.s;
  const Inputs& r = in.real;
  std::vector<double> out(r.u.size());
  last_state->assign(s.batch * s.dim * s.state, 0.0);
  auto param = [&](const std::vector<std::complex<double>>& p, std::int64_t groups, std::int64_t b, std::int64_t d,
                   std::int64_t n, std::int64_t t) {
    return groups ? p[((b * groups + d / (s.dim / groups)) * s.state + n) * s.length + t] : p[d * s.state + n];
  };
  for (std::int64_t b = 0; b < s.batch; ++b) {
    for (std::int64_t d = 0; d < s.dim; ++d) {
      std::vector<std::complex<double>> h(s.state);
      for (std::int64_t t = 0; t < s.length; ++t) {
        const std::int64_t i = (b * s.dim + d) * s.length + t;
        double dt = r.delta[i] + r.bias[d];
        dt = dt > 20 ? dt : std::log1p(std::exp(dt));
        std::complex<double> y = 0;
        for (std::int64_t n = 0; n < s.state; ++n) {
          h[n] = std::exp(dt * in.A[d * s.state + n]) * h[n] + dt * param(in.B, s.B_groups, b, d, n, t) * r.u[i];
          y += param(in.C, s.C_groups, b, d, n, t) * h[n];
        }
        out[i] = (2 * y.real() + r.D[d] * r.u[i]) * r.z[i] / (1 + std::exp(-r.z[i]));
      }
      std::copy(h.begin(), h.end(), last_state->begin() + (b * s.dim + d) * s.state);
    }
  }
  return out;
}

TEST(SelectiveScanComplex, ForwardAndGradientsMatchDefinition) {
  using W = std::complex<double>;
  for (const SelectiveScanShape& s : kShapes) {
    ComplexInputs in = make_complex_inputs(s, 13);
    Converted<double> c(in.real);
    SelectiveScanOptions<double, W> options;
    options.D = c.D.data();
    options.z = c.z.data();
    options.delta_bias = c.bias.data();
    options.delta_softplus = true;
    std::vector<W> expected_state, state(s.batch * s.dim * s.state);
    const std::vector<double> expected = naive_complex_forward(in, &expected_state);
    std::vector<double> out(in.real.u.size());
    selective_scan_forward(c.u.data(), c.delta.data(), in.A.data(), in.B.data(), in.C.data(), options, out.data(),
                           state.data(), s, 2);
    for (std::size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], expected[i], 1e-12 * (1 + std::abs(expected[i])));
    for (std::size_t i = 0; i < state.size(); ++i) {
      ASSERT_LT(std::abs(state[i] - expected_state[i]), 1e-12 * (1 + std::abs(expected_state[i])));
    }

    // Gradients of L = sum w_out out + sum Re(conj(w_state) h): complex ones are dL/dRe + i dL/dIm.
    const std::vector<double> w_out = random_vector(out.size(), 97);
    const std::vector<double> w_re = random_vector(state.size(), 96), w_im = random_vector(state.size(), 95);
    std::vector<W> w_state(state.size());
    for (std::size_t i = 0; i < state.size(); ++i) w_state[i] = {w_re[i], w_im[i]};
    auto loss = [&](const ComplexInputs& x) {
      std::vector<W> h;
      const std::vector<double> o = naive_complex_forward(x, &h);
      double total = 0;
      for (std::size_t i = 0; i < o.size(); ++i) total += w_out[i] * o[i];
      for (std::size_t i = 0; i < h.size(); ++i) total += w_re[i] * h[i].real() + w_im[i] * h[i].imag();
      return total;
    };
    std::vector<double> gu(out.size()), gdelta(out.size()), gD(s.dim), gz(out.size()), gbias(s.dim);
    std::vector<W> gA(in.A.size()), gB(in.B.size()), gC(in.C.size());
    const SelectiveScanGradients<double, W> grads{gu.data(), gdelta.data(), gA.data(),    gB.data(), gC.data(),
                                                  gD.data(), gz.data(),     gbias.data(), nullptr};
    selective_scan_backward(c.u.data(), c.delta.data(), in.A.data(), in.B.data(), in.C.data(), options, w_out.data(),
                            w_state.data(), grads, s, 2);
    const double step = 1e-6;
    const std::pair<std::vector<W> ComplexInputs::*, const std::vector<W>*> complex_checks[] = {
        {&ComplexInputs::A, &gA}, {&ComplexInputs::B, &gB}, {&ComplexInputs::C, &gC}};
    for (const auto& [member, analytic] : complex_checks) {
      const std::size_t size = (in.*member).size();
      for (std::size_t i = 0; i < size; i += 1 + size / 11) {
        for (const W direction : {W(1, 0), W(0, 1)}) {  // the real, then the imaginary part
          ComplexInputs plus = in, minus = in;
          (plus.*member)[i] += step * direction;
          (minus.*member)[i] -= step * direction;
          const double numeric = (loss(plus) - loss(minus)) / (2 * step);
          const double got = direction.real() ? (*analytic)[i].real() : (*analytic)[i].imag();
          ASSERT_NEAR(got, numeric, 1e-6 * (1 + std::abs(numeric))) << "flat index " << i;
        }
      }
    }
    for (const auto& [member, analytic] : {std::pair{&Inputs::u, &gu}, std::pair{&Inputs::delta, &gdelta}}) {
      const std::size_t size = (in.real.*member).size();
      for (std::size_t i = 0; i < size; i += 1 + size / 11) {
        ComplexInputs plus = in, minus = in;
        (plus.real.*member)[i] += step;
        (minus.real.*member)[i] -= step;
        const double numeric = (loss(plus) - loss(minus)) / (2 * step);
        ASSERT_NEAR((*analytic)[i], numeric, 1e-6 * (1 + std::abs(numeric))) << "flat index " << i;
      }
    }
  }
}

TEST(SelectiveScanChecks, BadShapesAndValuesNameTheArgument) {
  auto message_of = [](auto&& call) {
    try {
      call();
    } catch (const InvalidArgument& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message_of([] { check_selective_scan_shape({1, 6, 5, 2, 4, 0}); }).find("'B'"), std::string::npos);
  EXPECT_NE(message_of([] { check_selective_scan_shape({1, 6, 5, 2, 0, 5}); }).find("'C'"), std::string::npos);
  EXPECT_NE(message_of([] { check_selective_scan_shape({1, 6, -5, 2, 0, 0}); }).find("'u'"), std::string::npos);
  Inputs in = make_inputs({1, 2, 10, 3, 0, 0}, 1);
  for (auto member : {&Inputs::A, &Inputs::u, &Inputs::delta, &Inputs::z}) {
    Inputs bad = in;
    (bad.*member)[1] = std::numeric_limits<double>::quiet_NaN();
    Converted<float> c(bad);
    std::vector<float> out(in.u.size());
    const std::string message = message_of([&] {
      selective_scan_forward(c.u.data(), c.delta.data(), c.A.data(), c.B.data(), c.C.data(), c.options,
                             out.data(), static_cast<float*>(nullptr), in.s, 1);
    });
    EXPECT_NE(message.find("flat index 1"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace affectkit
