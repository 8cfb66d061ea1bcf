// GridScorer: the grid score of sic-method 5.2, as google-deepmind/grid-cells
// scores.py computes it: the autocorrelogram (sic/autocorr.h), rotated by 30, 45,
// 60, 90, 120, 135 and 150 degrees with cubic splines about its centre (zero
// fill, as scipy.ndimage.rotate), compared with itself inside ten annuli
// (r_in = 0.2 n, r_out = linspace(0.4, 1.0, 10) n, radii in bins), and
//   S60 (min-max) = min(c60, c120) - max(c30, c90, c150)
//   S60 (mean)    = (c60 + c120) / 2 - (c30 + c90 + c150) / 3
//   S90           = c90 - (c45 + c135) / 2
// each the maximum over the ten annuli (the arg-max annulus is kept). As in the
// reference, each c_theta centres the rotated autocorrelogram with the mean of
// the unrotated one and divides by the unrotated variance (+ 1e-5).
//
// Thread-safety: Score is const and may run concurrently from many threads.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "sic/autocorr.h"

namespace sic {

constexpr int kNumMasks = 10;
constexpr std::array<double, 7> kGridScoreAngles = {30, 45, 60, 90, 120, 135, 150};

struct GridScores {
  double score60 = 0;       // min-max form (the default grid score)
  double score60_mean = 0;  // mean form (DeepMind's default)
  double score90 = 0;
  int mask60 = 0, mask60_mean = 0, mask90 = 0;  // arg-max annulus, 0..9
};

class GridScorer {
 public:
  // For n x n maps. nan_as_zero: the reference quirk (see sic/autocorr.h).
  GridScorer(int64_t n, bool nan_as_zero);

  int64_t bins() const { return autocorrelator_.bins(); }
  int64_t sac_size() const { return autocorrelator_.sac_size(); }
  bool nan_as_zero() const { return nan_as_zero_; }

  // Scores one map [n, n] (NaN = unvisited); fills `sac` ([2n-1, 2n-1]) if given.
  GridScores Score(const float* map, std::vector<double>* sac = nullptr) const;
  GridScores Score(const double* map, std::vector<double>* sac = nullptr) const;
  // Scores an autocorrelogram [2n-1, 2n-1] directly.
  GridScores ScoreSac(const double* sac) const;

  // Outer radius of annulus i as a fraction of n (the inner one is 0.2).
  static double MaskOuterFraction(int i);

 private:
  // A ring pixel's spline stencil for one rotation: the first padded
  // coefficient it reads and the separable weights; weight 0 if it falls outside.
  struct Stencil {
    int32_t base;
    double wy[4], wx[4];
  };

  Autocorrelator autocorrelator_;
  bool nan_as_zero_;
  std::vector<int32_t> ring_pixels_;  // flat SAC index of every pixel in the widest annulus
  std::vector<int8_t> ring_bucket_;   // the smallest annulus that holds it
  std::vector<Stencil> stencils_;     // [angle][ring pixel]
};

}  // namespace sic
