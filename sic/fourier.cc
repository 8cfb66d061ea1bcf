#include "sic/fourier.h"

#include <algorithm>
#include <cmath>
#include <complex>

namespace sic {
namespace {

constexpr double kPartnerPower = 0.2;
constexpr double kMinNormRatio = 0.8, kMaxNormRatio = 1.25;
constexpr double kAngleTolerance = 12.0;
// An oblique partner: any other direction at least this far from k1's, with a
// norm within this ratio of k1's either way. Below 30 degrees two waves of like
// norm beat into a modulated band more than they tile the plane, and the window
// keeps out k1's collinear harmonic (2x) and a hexagon's sums (sqrt(3)x). [INF]
constexpr double kMinObliqueAngle = 30.0;
constexpr double kMaxObliqueRatio = 1.6;

// Difference of two directions modulo 180 degrees, in [0, 90].
double DirectionDifference(double a, double b) {
  double d = std::fmod(std::abs(a - b), 180.0);
  return d > 90.0 ? 180.0 - d : d;
}

double ParabolaOffset(double a, double b, double c) {
  const double denom = a - 2 * b + c;
  if (!(denom < 0)) return 0.0;
  return std::clamp(0.5 * (a - c) / denom, -0.5, 0.5);
}

}  // namespace

double Wavevector::norm() const { return std::hypot(ky, kx); }
double Wavevector::angle_deg() const {
  double a = std::atan2(ky, kx) * 180.0 / M_PI;
  if (a < 0) a += 180.0;
  return a >= 180.0 ? a - 180.0 : a;
}

FourierAnalyzer::FourierAnalyzer(int64_t n) : n_(n), fft_(Fft2d::NextPowerOfTwo(2 * n)) {}

std::vector<double> FourierAnalyzer::Power(const float* map) const {
  const int64_t n = n_, p = fft_.size();
  double sum = 0;
  int64_t valid = 0;
  for (int64_t i = 0; i < n * n; ++i) {
    if (std::isfinite(map[i])) {
      sum += map[i];
      ++valid;
    }
  }
  const double mean = valid ? sum / static_cast<double>(valid) : 0.0;
  std::vector<std::complex<double>> f(p * p);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const float v = map[i * n + j];
      f[i * p + j] = std::isfinite(v) ? static_cast<double>(v) - mean : 0.0;
    }
  }
  fft_.ForwardPadded(f.data(), n);
  std::vector<double> power(p * p);
  for (int64_t i = 0; i < p * p; ++i) power[i] = std::norm(f[i]);
  return power;
}

FourierPattern FourierAnalyzer::AnalyzePower(const double* power) const {
  const int64_t p = fft_.size();
  FourierPattern out;
  double total = 0;
  for (int64_t i = 0; i < p * p; ++i) total += power[i];
  const double mean = total / static_cast<double>(p * p);
  if (!(mean > 0)) return out;

  auto at = [&](int64_t i, int64_t j) { return power[((i % p + p) % p) * p + ((j % p + p) % p)]; };
  const double min_norm = 1.0 / static_cast<double>(n_);
  // Local maxima over one half plane (the spectrum of a real map is symmetric).
  std::vector<Wavevector> peaks;
  for (int64_t i = 0; i <= p / 2; ++i) {
    for (int64_t j = -p / 2 + 1; j <= p / 2; ++j) {
      if (i == 0 && j <= 0) continue;
      if (i == p / 2 && j < 0) continue;
      const double v = at(i, j);
      bool is_max = v > 0;
      for (int di = -1; di <= 1 && is_max; ++di) {
        for (int dj = -1; dj <= 1 && is_max; ++dj) {
          if (di || dj) is_max = at(i + di, j + dj) <= v;
        }
      }
      if (!is_max) continue;
      Wavevector k;
      k.ky = (static_cast<double>(i) + ParabolaOffset(at(i - 1, j), v, at(i + 1, j))) / static_cast<double>(p);
      k.kx = (static_cast<double>(j) + ParabolaOffset(at(i, j - 1), v, at(i, j + 1))) / static_cast<double>(p);
      k.power = v;
      if (k.norm() >= min_norm) peaks.push_back(k);
    }
  }
  if (peaks.empty()) return out;
  std::sort(peaks.begin(), peaks.end(), [](const Wavevector& a, const Wavevector& b) { return a.power > b.power; });
  const Wavevector& k1 = peaks[0];
  out.peak_to_mean = k1.power / mean;
  double ring_sum = 0, ring_count = 0;
  const double k1_norm = k1.norm() * static_cast<double>(p);  // in frequency bins
  for (int64_t i = -p / 2; i < p / 2; ++i) {
    for (int64_t j = -p / 2; j < p / 2; ++j) {
      const double r = std::hypot(static_cast<double>(i), static_cast<double>(j));
      if (r >= 0.85 * k1_norm && r <= 1.15 * k1_norm) ring_sum += at(i, j), ring_count += 1;
    }
  }
  out.contrast = ring_count > 0 && ring_sum > 0 ? k1.power / (ring_sum / ring_count) : 0.0;
  if (out.peak_to_mean < kMinPeakToMean || out.contrast < kMinContrast) return out;
  out.wavevectors.push_back(k1);

  const Wavevector *at60 = nullptr, *at120 = nullptr, *at90 = nullptr, *oblique = nullptr;
  for (size_t q = 1; q < peaks.size(); ++q) {
    const Wavevector& k = peaks[q];
    if (k.power < kPartnerPower * k1.power) break;
    const double ratio = k.norm() / k1.norm();
    const double apart = DirectionDifference(k.angle_deg(), k1.angle_deg());
    if (ratio >= kMinNormRatio && ratio <= kMaxNormRatio) {
      // Signed direction relative to k1, modulo 180: 60 and 120 are the two partners.
      const double rel = std::fmod(k.angle_deg() - k1.angle_deg() + 360.0, 180.0);
      if (!at60 && std::abs(rel - 60.0) <= kAngleTolerance) {
        at60 = &k;
        continue;
      }
      if (!at120 && std::abs(rel - 120.0) <= kAngleTolerance) {
        at120 = &k;
        continue;
      }
      if (!at90 && apart >= 90.0 - kAngleTolerance) {
        at90 = &k;
        continue;
      }
    }
    if (!oblique && ratio >= 1.0 / kMaxObliqueRatio && ratio <= kMaxObliqueRatio && apart >= kMinObliqueAngle) {
      oblique = &k;
    }
  }
  if (at60) out.wavevectors.push_back(*at60);
  if (at120) out.wavevectors.push_back(*at120);
  if (at60 && at120) {
    out.pattern = "grid";
  } else if (at60 || at120) {
    out.pattern = "partial";
  } else if (at90) {
    out.wavevectors.push_back(*at90);
    out.pattern = "square";
  } else if (oblique) {
    out.wavevectors.push_back(*oblique);
    out.pattern = "oblique";
  } else {
    out.pattern = "band";
  }
  out.n_wavevectors = static_cast<int>(out.wavevectors.size());
  return out;
}

}  // namespace sic
