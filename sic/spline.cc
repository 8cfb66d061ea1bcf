#include "sic/spline.h"

#include <cmath>

namespace sic {
namespace {

// In-place cubic B-spline prefilter of one line (Unser's recursive filter with
// the single pole z = sqrt(3) - 2 and mirror boundaries, as SciPy does).
void PrefilterLine(double* c, int64_t n, int64_t stride) {
  if (n < 2) return;
  const double z = std::sqrt(3.0) - 2.0;
  auto at = [&](int64_t i) -> double& { return c[i * stride]; };
  for (int64_t i = 0; i < n; ++i) at(i) *= 6.0;  // gain (1 - z)(1 - 1/z)
  // Causal initialisation for a mirror-symmetric extension.
  const double zn1 = std::pow(z, static_cast<double>(n - 1));
  double c0 = at(0) + zn1 * at(n - 1);
  double zi = z;
  for (int64_t i = 1; i < n - 1; ++i) {
    c0 += zi * (at(i) + zn1 * at(n - 1 - i));
    zi *= z;
  }
  at(0) = c0 / (1.0 - zn1 * zn1);
  for (int64_t i = 1; i < n; ++i) at(i) += z * at(i - 1);
  at(n - 1) = (z * at(n - 2) + at(n - 1)) * z / (z * z - 1.0);
  for (int64_t i = n - 2; i >= 0; --i) at(i) = z * (at(i + 1) - at(i));
}

// Mirror index into [0, n) (n >= 2): -1 -> 1, n -> n - 2.
int64_t Mirror(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * n - 2;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

}  // namespace

void CubicSplineWeights(double t, double w[4]) {
  const double u = 1.0 - t;
  w[0] = u * u * u / 6.0;
  w[1] = (3.0 * t * t * t - 6.0 * t * t + 4.0) / 6.0;
  w[2] = (3.0 * u * u * u - 6.0 * u * u + 4.0) / 6.0;
  w[3] = t * t * t / 6.0;
}

std::vector<double> CubicSplineCoefficients(const double* image, int64_t rows, int64_t cols) {
  std::vector<double> c(image, image + rows * cols);
  for (int64_t i = 0; i < rows; ++i) PrefilterLine(c.data() + i * cols, cols, 1);
  for (int64_t j = 0; j < cols; ++j) PrefilterLine(c.data() + j, rows, cols);
  const int64_t pr = rows + 2 * kSplinePad, pc = cols + 2 * kSplinePad;
  std::vector<double> padded(pr * pc);
  for (int64_t i = 0; i < pr; ++i) {
    const int64_t si = Mirror(i - kSplinePad, rows);
    for (int64_t j = 0; j < pc; ++j) padded[i * pc + j] = c[si * cols + Mirror(j - kSplinePad, cols)];
  }
  return padded;
}

double SampleCubicSpline(const std::vector<double>& coefficients, int64_t rows, int64_t cols, double y,
                         double x) {
  if (!(y >= 0.0 && y <= static_cast<double>(rows - 1) && x >= 0.0 && x <= static_cast<double>(cols - 1))) {
    return 0.0;
  }
  const double fy = std::floor(y), fx = std::floor(x);
  double wy[4], wx[4];
  CubicSplineWeights(y - fy, wy);
  CubicSplineWeights(x - fx, wx);
  const int64_t pc = cols + 2 * kSplinePad;
  // Knots fy-1 .. fy+2 sit at padded rows fy-1+pad .. fy+2+pad.
  const double* base = coefficients.data() + (static_cast<int64_t>(fy) - 1 + kSplinePad) * pc +
                       (static_cast<int64_t>(fx) - 1 + kSplinePad);
  double v = 0.0;
  for (int a = 0; a < 4; ++a) {
    const double* row = base + a * pc;
    v += wy[a] * (wx[0] * row[0] + wx[1] * row[1] + wx[2] * row[2] + wx[3] * row[3]);
  }
  return v;
}

void CosSinDegrees(double degrees, double* c, double* s) {
  // SciPy's cosdg/sindg results for the angles the grid score uses, so that
  // sample positions match scipy.ndimage.rotate to the last bit.
  struct Exact {
    double deg, c, s;
  };
  static const Exact kExact[] = {
      {0, 1.0, 0.0},
      {30, 0.8660254037844387, 0.49999999999999994},
      {45, 0.7071067811865475, 0.7071067811865476},
      {60, 0.49999999999999994, 0.8660254037844387},
      {90, -0.0, 1.0},
      {120, -0.49999999999999994, 0.8660254037844387},
      {135, -0.7071067811865476, 0.7071067811865475},
      {150, -0.8660254037844387, 0.49999999999999994},
      {180, -1.0, 0.0},
  };
  for (const auto& e : kExact) {
    if (degrees == e.deg) {
      *c = e.c;
      *s = e.s;
      return;
    }
  }
  *c = std::cos(degrees * M_PI / 180.0);
  *s = std::sin(degrees * M_PI / 180.0);
}

std::vector<double> RotateLikeScipy(const double* image, int64_t size, double degrees) {
  const auto coef = CubicSplineCoefficients(image, size, size);
  double c, s;
  CosSinDegrees(degrees, &c, &s);
  // scipy: input = R @ output + offset, R = [[c, s], [-s, c]], offset = centre - R @ centre.
  const double centre = static_cast<double>(size - 1) / 2.0;
  const double off0 = centre - (c * centre + s * centre), off1 = centre - (-s * centre + c * centre);
  std::vector<double> out(size * size);
  for (int64_t i = 0; i < size; ++i) {
    for (int64_t j = 0; j < size; ++j) {
      const double y = c * static_cast<double>(i) + s * static_cast<double>(j) + off0;
      const double x = -s * static_cast<double>(i) + c * static_cast<double>(j) + off1;
      out[i * size + j] = SampleCubicSpline(coef, size, size, y, x);
    }
  }
  return out;
}

}  // namespace sic
