#include "sic/lattice.h"

#include <algorithm>
#include <cmath>

namespace sic {
namespace {

constexpr double kMaxRelativeSpread = 0.15;
constexpr double kMinRingCorrelation = 0.1;  // mean SAC value at the six peaks
constexpr double kMinGapDeg = 40, kMaxGapDeg = 80;

// Vertex offset of the parabola through (-1, a), (0, b), (1, c), clamped to +-0.5.
double ParabolaOffset(double a, double b, double c) {
  const double denom = a - 2 * b + c;
  if (!(denom < 0)) return 0.0;
  return std::clamp(0.5 * (a - c) / denom, -0.5, 0.5);
}

}  // namespace

Lattice FindLattice(const double* sac, int64_t n) {
  Lattice out;
  const int64_t w = 2 * n - 1, centre = n - 1;
  // The central lobe reaches out to where the ring-averaged SAC first drops to
  // zero (or first turns up again); maxima inside it are bumps on its flank.
  std::vector<double> ring_sum(n, 0.0), ring_count(n, 0.0);
  for (int64_t i = 0; i < w; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      const auto r = static_cast<size_t>(std::lround(std::hypot(i - centre, j - centre)));
      if (r < ring_sum.size()) ring_sum[r] += sac[i * w + j], ring_count[r] += 1;
    }
  }
  double lobe = static_cast<double>(n);
  for (size_t r = 1; r < ring_sum.size(); ++r) {
    const double here = ring_sum[r] / ring_count[r];
    const bool rising = r + 1 < ring_sum.size() && ring_sum[r + 1] / ring_count[r + 1] > here;
    if (here <= 0 || rising) {
      lobe = static_cast<double>(r);
      break;
    }
  }
  struct Peak {
    double dy, dx, r, value;
  };
  std::vector<Peak> peaks;
  // Local maxima away from the border (as skimage's peak_local_max, exclude_border=1).
  for (int64_t i = 1; i < w - 1; ++i) {
    for (int64_t j = 1; j < w - 1; ++j) {
      if (i == centre && j == centre) continue;
      const double v = sac[i * w + j];
      if (!(v > 0)) continue;
      bool is_max = true, strict = false;
      for (int64_t di = -1; di <= 1 && is_max; ++di) {
        for (int64_t dj = -1; dj <= 1; ++dj) {
          if (!di && !dj) continue;
          const double u = sac[(i + di) * w + (j + dj)];
          if (u > v) {
            is_max = false;
            break;
          }
          strict = strict || u < v;
        }
      }
      if (!is_max || !strict) continue;
      // A plateau gives several equal maxima; keep the first (row-major) only.
      if (sac[(i - 1) * w + j] == v || sac[i * w + j - 1] == v || sac[(i - 1) * w + j - 1] == v ||
          sac[(i - 1) * w + j + 1] == v) {
        continue;
      }
      const double oy = ParabolaOffset(sac[(i - 1) * w + j], v, sac[(i + 1) * w + j]);
      const double ox = ParabolaOffset(sac[i * w + j - 1], v, sac[i * w + j + 1]);
      const double dy = static_cast<double>(i - centre) + oy, dx = static_cast<double>(j - centre) + ox;
      if (std::hypot(dy, dx) >= lobe) peaks.push_back({dy, dx, std::hypot(dy, dx), v});
    }
  }
  out.n_peaks = static_cast<int>(peaks.size());
  if (peaks.size() < 6) return out;
  std::partial_sort(peaks.begin(), peaks.begin() + 6, peaks.end(),
                    [](const Peak& a, const Peak& b) { return a.r < b.r; });

  double mean = 0, sq = 0, s6 = 0, c6 = 0, height = 0;
  std::vector<double> angles;
  for (int k = 0; k < 6; ++k) {
    const Peak& p = peaks[k];
    out.ring.push_back({p.dy, p.dx});
    mean += p.r / 6;
    height += p.value / 6;
    const double a = std::atan2(p.dy, p.dx);
    angles.push_back(a * 180.0 / M_PI);
    s6 += std::sin(6 * a);
    c6 += std::cos(6 * a);
  }
  for (int k = 0; k < 6; ++k) sq += (peaks[k].r - mean) * (peaks[k].r - mean) / 6;
  out.period = mean;
  out.period_std = std::sqrt(sq);
  double orientation = std::atan2(s6, c6) / 6 * 180.0 / M_PI;  // (-30, 30]
  if (orientation < 0) orientation += 60.0;
  out.orientation_deg = orientation >= 60.0 ? orientation - 60.0 : orientation;

  std::sort(angles.begin(), angles.end());
  bool ring = mean > 0 && out.period_std / mean <= kMaxRelativeSpread && height >= kMinRingCorrelation;
  for (int k = 0; k < 6 && ring; ++k) {
    const double gap = k < 5 ? angles[k + 1] - angles[k] : angles[0] + 360.0 - angles[5];
    ring = gap >= kMinGapDeg && gap <= kMaxGapDeg;
  }
  out.found = ring;
  return out;
}

}  // namespace sic
