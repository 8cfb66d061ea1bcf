// ClusterModules: groups grid units into modules by period, then orientation
// (sic-method 5.4 steps 3-4) [INF]:
//  1. A Gaussian KDE of log(period) (bandwidth in log units, default 0.05) is
//     split at its local minima; neighbouring clusters are merged back while
//     the valley between them is above half the lower of their two peaks, so a
//     ripple does not split a module.
//  2. Inside each cluster, orientations (modulo 60 degrees) are split at every
//     circular gap wider than `orientation_gap_deg`, if every part keeps at
//     least `min_units` units.
//  3. Clusters with fewer than `min_units` units are not modules; their units
//     get label -1.
// Labels are 0..K-1 in order of increasing median period.
// Thread-safety: a pure function.
#pragma once

#include <cstdint>
#include <vector>

namespace sic {

struct ModuleOptions {
  double bandwidth = 0.05;            // KDE bandwidth, log(period) units
  int64_t min_units = 3;              // sic-method 5.4 step 3
  double orientation_gap_deg = 10.0;  // [INF]
};

// periods (any unit, > 0) and orientations (degrees, modulo 60), one per unit.
std::vector<int> ClusterModules(const std::vector<double>& periods, const std::vector<double>& orientations_deg,
                                const ModuleOptions& options = {});

// Circular mean of angles modulo 60 degrees, in [0, 60).
double MeanOrientation60(const std::vector<double>& orientations_deg);

// HarmonicOf: which modules may only echo a longer module's lattice. A
// triangular lattice of period P has Fourier peaks on shells at P/sqrt(3),
// turned 30 degrees, and at P/2, along it: the triangle centres between its
// fields, or every other field row. Units whose strongest lattice sits on one
// of those shells read as a module at ratio 1.73 (inside the paper's 1.4-1.8)
// or 2 (seen on CPU runs: 3 units at 1.71-1.73, 30 degrees off, beside a
// 23-unit module; docs/science-cpu.md). For module m, the index of the longer
// module j with P_j / P_m within `ratio_tolerance` (relative) of a shell's
// ratio and their orientations (modulo 60) within `angle_tolerance_deg` of
// the shell's turn, the closest in ratio when several; else -1. A real module
// that happens to sit at sqrt(3) and 30 degrees is flagged too: the flag says
// "may be", and the caller keeps the module.
struct HarmonicOptions {
  double ratio_tolerance = 0.06;
  double angle_tolerance_deg = 7.5;
};
// periods (any unit, > 0) and orientations (degrees, modulo 60), one per module.
std::vector<int> HarmonicOf(const std::vector<double>& periods, const std::vector<double>& orientations_deg,
                            const HarmonicOptions& options = {});

}  // namespace sic
