// Fourier periodicity check (sic-method 5.4 step 6 and section 9): tells a grid
// (three wavevectors 60 degrees apart) from a band cell (one wavevector), a
// square lattice (two at 90 degrees), an oblique lattice (two at another angle)
// and maps with no clear periodicity.
//
// The map (NaN bins set to its mean, then the mean removed) is zero-padded to
// a power of two >= 2n and transformed; its power |F(k)|^2 is searched for local
// maxima. k1 is the strongest maximum with |k| >= 1/n (at most one cycle across
// the map is not a period). It counts only if its power is at least
// kMinPeakToMean times the mean power (noise gives ~10x) and kMinContrast times
// the mean power on its own ring |k| = |k1| +- 15% (a lattice concentrates the
// ring's power in a few peaks; a blob or an isotropic texture spreads it). Partners are maxima
// with >= 20% of k1's power and |k| within 0.8..1.25 |k1|, at 60 or 120 degrees
// (+-12) from k1 for a hexagonal lattice, 90 for a square one. Any other 2-D
// lattice (a sheared hexagon, a rhombus) is "oblique": a partner with >= 20% of
// k1's power, |k| within 1/1.6..1.6 |k1|, at least 30 degrees from k1. [INF]
//
// Wavevectors are in cycles per bin, (ky, kx) with ky along rows; a hexagonal
// lattice with |k| has period 2 / (sqrt(3) |k|) (sic-method 5.4).
// Thread-safety: const methods may run concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sic/fft.h"

namespace sic {

struct Wavevector {
  double ky = 0, kx = 0;  // cycles per bin
  double power = 0;
  double norm() const;
  double angle_deg() const;  // direction modulo 180, in [0, 180)
};

struct FourierPattern {
  // k1 first, then its partners: up to three lattice wavevectors.
  std::vector<Wavevector> wavevectors;
  int n_wavevectors = 0;       // 0 (nothing clear), 1 (band), 2, 3 (hexagonal)
  // "grid", "partial", "square", "oblique", "band" or "none"
  std::string pattern = "none";
  double peak_to_mean = 0;     // k1's power over the mean power
  double contrast = 0;         // k1's power over the mean power on its ring
};

class FourierAnalyzer {
 public:
  explicit FourierAnalyzer(int64_t n);
  int64_t bins() const { return n_; }
  int64_t size() const { return fft_.size(); }  // side of the power spectrum

  // |F(k)|^2 of one map [n, n], [size, size] with k = (0, 0) at index 0.
  std::vector<double> Power(const float* map) const;
  FourierPattern Analyze(const float* map) const { return AnalyzePower(Power(map).data()); }
  // The same on a power spectrum (e.g. the mean over a module's units).
  FourierPattern AnalyzePower(const double* power) const;

  static constexpr double kMinPeakToMean = 25.0;
  static constexpr double kMinContrast = 2.0;

 private:
  int64_t n_;
  Fft2d fft_;
};

}  // namespace sic
