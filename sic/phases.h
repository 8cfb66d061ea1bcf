// ModulePhases: where each unit of a grid module sits on the module's lattice,
// and how evenly the units tile its unit cell. The paper reports that within a
// module the phases tile the unit cell uniformly (sic-method 5.5); a module
// whose units repeat one another (phases clumped) is a weaker code than one
// that spreads them.
//
// A unit's phase along a lattice wavevector k is the argument of its map's
// Fourier coefficient at k: the sum over visited bins of (rate - mean rate)
// times exp(-2 pi i k.x), with x measured in bins from the arena's centre. Two
// independent wavevectors k1, k2 of the module give the unit's place in the
// unit cell as fractions (f1, f2) in [0, 1) of the lattice basis a1, a2 that is
// dual to them (a_i . k_j = 1 if i = j, else 0).
//
// Evenness is the Clark-Evans ratio R on that torus: the units' mean distance
// to their nearest neighbour (minimum image, in bins) over 0.5 sqrt(area / n),
// its expectation for n phases drawn independently and uniformly. R is about 1
// for random phases, 2.15 for a perfect triangular tiling, and below 1 for
// phases that clump. z is (mean - expectation) over its standard error under
// random phases, 0.26136 sqrt(area) / n: above about 2, more even than chance.
// Thread-safety: a pure function.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include "sic/fourier.h"

namespace sic {

// The lattice basis dual to (k1, k2), in bins: a_i . k_j = 1 if i = j, else 0.
// A peak moved by t1 a1 + t2 a2 moves the phases by (-t1, -t2). `ok` is false
// when k1 and k2 are collinear (no unit cell).
struct LatticeBasis {
  double a1x = 0, a1y = 0, a2x = 0, a2y = 0;
  bool ok = false;
  double area() const;  // of the unit cell, bins^2
};
LatticeBasis DualBasis(const Wavevector& k1, const Wavevector& k2);

struct PhaseTiling {
  std::vector<std::array<double, 2>> phases;  // per unit given, (f1, f2) in [0, 1)
  double ratio = std::numeric_limits<double>::quiet_NaN();  // Clark-Evans R
  double z = std::numeric_limits<double>::quiet_NaN();
};

// `maps` is [units, n, n] (row = y, column = x, NaN = unvisited); `members`
// the module's units; k1 and k2 in cycles per bin. The ratio and z are NaN
// with fewer than 3 members, and phases and ratio are NaN when k1 and k2 are
// collinear (no unit cell).
PhaseTiling ModulePhases(const float* maps, int64_t n, const std::vector<int64_t>& members, const Wavevector& k1,
                         const Wavevector& k2);

}  // namespace sic
