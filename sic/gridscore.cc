#include "sic/gridscore.h"

#include <algorithm>
#include <cmath>

#include "sic/spline.h"

namespace sic {

double GridScorer::MaskOuterFraction(int i) {
  // numpy.linspace(0.4, 1.0, 10), operation for operation, so the annuli hold
  // exactly the reference's pixels.
  if (i == kNumMasks - 1) return 1.0;
  const double step = (1.0 - 0.4) / (kNumMasks - 1);
  return static_cast<double>(i) * step + 0.4;
}

GridScorer::GridScorer(int64_t n, bool nan_as_zero) : autocorrelator_(n), nan_as_zero_(nan_as_zero) {
  const int64_t w = 2 * n - 1, half = n - 1, pc = w + 2 * kSplinePad;
  const double nd = static_cast<double>(n);
  const double r_in = 0.2 * nd;
  for (int64_t i = 0; i < w; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      const double dy = static_cast<double>(i - half), dx = static_cast<double>(j - half);
      const double r = std::sqrt(dx * dx + dy * dy);
      if (r <= r_in) continue;
      for (int m = 0; m < kNumMasks; ++m) {
        if (r <= MaskOuterFraction(m) * nd) {
          ring_pixels_.push_back(static_cast<int32_t>(i * w + j));
          ring_bucket_.push_back(static_cast<int8_t>(m));
          break;
        }
      }
    }
  }
  // Where each ring pixel samples the SAC under each rotation (scipy's
  // affine_transform: input = R @ output + offset, about the array centre).
  const double centre = static_cast<double>(w - 1) / 2.0;
  stencils_.resize(kGridScoreAngles.size() * ring_pixels_.size());
  for (size_t a = 0; a < kGridScoreAngles.size(); ++a) {
    double c, s;
    CosSinDegrees(kGridScoreAngles[a], &c, &s);
    const double off0 = centre - (c * centre + s * centre), off1 = centre - (-s * centre + c * centre);
    for (size_t p = 0; p < ring_pixels_.size(); ++p) {
      const double i = static_cast<double>(ring_pixels_[p] / w), j = static_cast<double>(ring_pixels_[p] % w);
      const double y = c * i + s * j + off0, x = -s * i + c * j + off1;
      Stencil& st = stencils_[a * ring_pixels_.size() + p];
      st.base = 0;
      if (!(y >= 0.0 && y <= static_cast<double>(w - 1) && x >= 0.0 && x <= static_cast<double>(w - 1))) {
        for (int k = 0; k < 4; ++k) st.wy[k] = st.wx[k] = 0.0;
        continue;
      }
      const double fy = std::floor(y), fx = std::floor(x);
      CubicSplineWeights(y - fy, st.wy);
      CubicSplineWeights(x - fx, st.wx);
      st.base = static_cast<int32_t>((static_cast<int64_t>(fy) - 1 + kSplinePad) * pc +
                                     (static_cast<int64_t>(fx) - 1 + kSplinePad));
    }
  }
}

GridScores GridScorer::Score(const float* map, std::vector<double>* sac) const {
  std::vector<double> local;
  std::vector<double>& out = sac ? *sac : local;
  out.resize(sac_size() * sac_size());
  autocorrelator_.Compute(map, nan_as_zero_, out.data());
  return ScoreSac(out.data());
}

GridScores GridScorer::Score(const double* map, std::vector<double>* sac) const {
  std::vector<double> local;
  std::vector<double>& out = sac ? *sac : local;
  out.resize(sac_size() * sac_size());
  autocorrelator_.Compute(map, nan_as_zero_, out.data());
  return ScoreSac(out.data());
}

GridScores GridScorer::ScoreSac(const double* sac) const {
  constexpr int kAngles = static_cast<int>(kGridScoreAngles.size());
  const int64_t w = sac_size(), pc = w + 2 * kSplinePad;
  const std::vector<double> coef = CubicSplineCoefficients(sac, w, w);

  // Sums per annulus bucket; annulus m is the union of buckets 0..m.
  double area[kNumMasks] = {}, sum[kNumMasks] = {}, sum_sq[kNumMasks] = {};
  double rot_sum[kAngles][kNumMasks] = {}, cross[kAngles][kNumMasks] = {};
  const size_t np = ring_pixels_.size();
  for (size_t p = 0; p < np; ++p) {
    const int b = ring_bucket_[p];
    const double v = sac[ring_pixels_[p]];
    area[b] += 1.0;
    sum[b] += v;
    sum_sq[b] += v * v;
  }
  for (int a = 0; a < kAngles; ++a) {
    const Stencil* st = stencils_.data() + a * np;
    for (size_t p = 0; p < np; ++p) {
      const Stencil& s = st[p];
      const double* row = coef.data() + s.base;
      double r = 0.0;
      for (int k = 0; k < 4; ++k, row += pc) {
        r += s.wy[k] * (s.wx[0] * row[0] + s.wx[1] * row[1] + s.wx[2] * row[2] + s.wx[3] * row[3]);
      }
      const int b = ring_bucket_[p];
      rot_sum[a][b] += r;
      cross[a][b] += r * sac[ring_pixels_[p]];
    }
  }

  GridScores out;
  double best60 = -INFINITY, best60m = -INFINITY, best90 = -INFINITY;
  double A = 0, S = 0, Q = 0, R[kAngles] = {}, X[kAngles] = {};
  for (int m = 0; m < kNumMasks; ++m) {
    A += area[m];
    S += sum[m];
    Q += sum_sq[m];
    for (int a = 0; a < kAngles; ++a) {
      R[a] += rot_sum[a][m];
      X[a] += cross[a][m];
    }
    if (A == 0) continue;
    const double mean = S / A;
    const double var = (Q - 2 * mean * S + mean * mean * A) / A + 1e-5;
    double c[kAngles];
    for (int a = 0; a < kAngles; ++a) {
      // sum over the annulus of (sac - mean) * (rot - mean), expanded.
      c[a] = (X[a] - mean * R[a] - mean * S + mean * mean * A) / A / var;
    }
    // Angles: 0:30 1:45 2:60 3:90 4:120 5:135 6:150
    const double s60 = std::min(c[2], c[4]) - std::max(c[0], std::max(c[3], c[6]));
    const double s60m = (c[2] + c[4]) / 2 - (c[0] + c[3] + c[6]) / 3;
    const double s90 = c[3] - (c[1] + c[5]) / 2;
    // Strict '>' keeps the first maximum, as numpy.argmax does.
    if (s60 > best60) best60 = s60, out.mask60 = m;
    if (s60m > best60m) best60m = s60m, out.mask60_mean = m;
    if (s90 > best90) best90 = s90, out.mask90 = m;
  }
  out.score60 = best60;
  out.score60_mean = best60m;
  out.score90 = best90;
  return out;
}

}  // namespace sic
