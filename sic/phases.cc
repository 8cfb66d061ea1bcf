#include "sic/phases.h"

#include <cmath>
#include <complex>

namespace sic {
namespace {

constexpr double kTwoPi = 6.283185307179586;

// The phases of `map` along k1 and k2 (cycles per bin), as fractions of a cycle
// in [0, 1): one pass for the mean and one for both Fourier coefficients.
std::array<double, 2> Phases(const float* map, int64_t n, const Wavevector& k1, const Wavevector& k2) {
  double sum = 0;
  int64_t visited = 0;
  for (int64_t i = 0; i < n * n; ++i) {
    if (std::isfinite(map[i])) sum += map[i], ++visited;
  }
  if (visited == 0) return {std::nan(""), std::nan("")};
  const double mean = sum / static_cast<double>(visited), centre = (static_cast<double>(n) - 1) / 2;
  std::complex<double> c1 = 0, c2 = 0;
  for (int64_t row = 0; row < n; ++row) {
    for (int64_t col = 0; col < n; ++col) {
      const float v = map[row * n + col];
      if (!std::isfinite(v)) continue;
      const double x = static_cast<double>(col) - centre, y = static_cast<double>(row) - centre;
      c1 += (v - mean) * std::polar(1.0, -kTwoPi * (k1.kx * x + k1.ky * y));
      c2 += (v - mean) * std::polar(1.0, -kTwoPi * (k2.kx * x + k2.ky * y));
    }
  }
  auto fraction = [](const std::complex<double>& c) {
    const double f = std::arg(c) / kTwoPi, wrapped = f - std::floor(f);
    return wrapped < 1.0 ? wrapped : 0.0;  // f a hair below 0 rounds to 1
  };
  return {fraction(c1), fraction(c2)};
}

}  // namespace

LatticeBasis DualBasis(const Wavevector& k1, const Wavevector& k2) {
  // The columns of the inverse of K = [k1; k2] (rows (kx, ky)), so that K a_j = e_j.
  LatticeBasis b;
  const double det = k1.kx * k2.ky - k1.ky * k2.kx;
  const double norms = std::hypot(k1.kx, k1.ky) * std::hypot(k2.kx, k2.ky);
  if (!(norms > 0) || !(std::abs(det) > 1e-6 * norms)) return b;
  b.a1x = k2.ky / det, b.a1y = -k2.kx / det;  // k1.a1 = 1, k2.a1 = 0
  b.a2x = -k1.ky / det, b.a2y = k1.kx / det;  // k1.a2 = 0, k2.a2 = 1
  b.ok = true;
  return b;
}

double LatticeBasis::area() const { return std::abs(a1x * a2y - a1y * a2x); }

PhaseTiling ModulePhases(const float* maps, int64_t n, const std::vector<int64_t>& members, const Wavevector& k1,
                         const Wavevector& k2) {
  PhaseTiling out;
  const double nan = std::nan("");
  const LatticeBasis b = DualBasis(k1, k2);
  for (int64_t u : members) {
    const float* map = maps + u * n * n;
    out.phases.push_back(b.ok ? Phases(map, n, k1, k2) : std::array<double, 2>{nan, nan});
  }
  if (!b.ok || members.size() < 3) return out;
  const double area = b.area();

  const size_t count = out.phases.size();
  double nearest_sum = 0;
  for (size_t i = 0; i < count; ++i) {
    double nearest = std::numeric_limits<double>::infinity();
    for (size_t j = 0; j < count; ++j) {
      if (i == j) continue;
      double d1 = out.phases[j][0] - out.phases[i][0], d2 = out.phases[j][1] - out.phases[i][1];
      d1 -= std::round(d1), d2 -= std::round(d2);  // into [-0.5, 0.5]
      // The minimum image: on an oblique cell the nearest copy may be a
      // neighbouring cell's even after the fractions are wrapped.
      for (int m1 = -1; m1 <= 1; ++m1) {
        for (int m2 = -1; m2 <= 1; ++m2) {
          const double x = (d1 + m1) * b.a1x + (d2 + m2) * b.a2x, y = (d1 + m1) * b.a1y + (d2 + m2) * b.a2y;
          nearest = std::min(nearest, std::hypot(x, y));
        }
      }
    }
    if (!std::isfinite(nearest)) return out;  // a silent member: no phase
    nearest_sum += nearest;
  }
  const double n_units = static_cast<double>(count);
  const double mean = nearest_sum / n_units, expected = 0.5 * std::sqrt(area / n_units);
  out.ratio = mean / expected;
  out.z = (mean - expected) / (0.26136 * std::sqrt(area) / n_units);
  return out;
}

}  // namespace sic
