// Autocorrelator: the spatial autocorrelogram (SAC) of square rate maps, as the
// grid score defines it (sic-method 5.2 step 2): for every 2-D lag d, the Pearson
// correlation between the map and its copy shifted by d, over the bins where the
// two overlap, i.e.
//   corr(d) = (Sxy/N - Sx*Sy/N^2) / (sd_x * sd_y)
// with sums over the overlap. The sums are correlations of the map, its square
// and its validity mask, computed with one padded FFT instead of the reference's
// six direct convolutions (same values up to rounding).
//
// NaN bins (unvisited) are left out of every sum by default. With nan_as_zero
// they count as valid zeros, the reference code's quirk (it runs nan_to_num
// before it builds the validity mask). Lags with zero variance (a constant
// overlap, or no overlap) give 0, as the reference's nan_to_num does; where the
// variance is only rounding noise (below 1e-12 of the mean square) we also give
// 0, while the reference divides noise by noise.
//
// Thread-safety: Compute is const and may run concurrently.
#pragma once

#include <cstdint>

#include "sic/fft.h"

namespace sic {

class Autocorrelator {
 public:
  // For n x n maps (n >= 2).
  explicit Autocorrelator(int64_t n);

  int64_t bins() const { return n_; }
  int64_t sac_size() const { return 2 * n_ - 1; }

  // map: [n, n] row-major (row = y, column = x), NaN = unvisited.
  // sac: [2n-1, 2n-1] row-major; lag (dy, dx) at (n-1+dy, n-1+dx).
  void Compute(const float* map, bool nan_as_zero, double* sac) const;
  void Compute(const double* map, bool nan_as_zero, double* sac) const;

 private:
  template <typename T>
  void ComputeImpl(const T* map, bool nan_as_zero, double* sac) const;

  int64_t n_;
  Fft2d fft_;
};

}  // namespace sic
