// FindLattice: period and orientation of a unit from its autocorrelogram
// (sic-method 5.3, after the Fiete-lab code): the local maxima of the SAC, the
// central one skipped, the six nearest to the centre give
//   period      = their mean distance from the centre (bins)
//   orientation = their common angle modulo 60 degrees (circular mean of 6*angle)
// Peak positions are refined to sub-bin precision with a parabola per axis.
//
// Departures from the reference, for robustness [INF]: the Pearson SAC is used
// instead of the raw correlate2d (whose triangular overlap envelope pulls peaks
// toward the centre), only positive maxima outside the central lobe count (the
// lobe ends where the ring-averaged SAC first reaches 0 or turns up), and the
// six peaks must form a ring: distances within 15% (std / mean), successive
// angles 40..80 degrees apart, mean correlation at the peaks >= 0.1. Without such a ring there is no finite period (a single field, a band,
// a square lattice or noise), which keeps blobs from counting as grid cells
// (sic-method 5.2 step 8).
//
// Angles are measured from the column (x) axis toward increasing rows (y).
// Thread-safety: a pure function.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace sic {

struct Lattice {
  bool found = false;                  // a ring of six peaks
  double period = 0;                   // bins (mean distance of the six peaks)
  double period_std = 0;               // bins
  double orientation_deg = 0;          // in [0, 60)
  int n_peaks = 0;                     // positive local maxima outside the central lobe
  std::vector<std::array<double, 2>> ring;  // (dy, dx) of the six nearest peaks, bins
};

// sac: [2n-1, 2n-1] row-major, centre at (n-1, n-1).
Lattice FindLattice(const double* sac, int64_t n);

}  // namespace sic
