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

}  // namespace sic
