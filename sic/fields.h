// CountFields: the number of firing fields of a rate map, the connected
// regions (4-neighbour) of visited bins at or above min + fraction * (max - min)
// of the map smoothed with a Gaussian of one bin (over visited bins only), each
// at least `min_bins` bins and at least a tenth of the largest region. A
// single-field blob or a ramp gives 1, a hexagonal grid many; sic-method 5.2
// step 8 asks to report it.
// The smoothing and the relative size keep the noise of a probe's map (a few
// tens of samples a bin) from cutting islands off a ramp's contour: a noisy
// ramp was counted as 8 to 26 fields. A lattice's fields are alike in size, and
// the walls cut only slivers below a tenth.
// Defaults [INF]: fraction 0.5, min_bins 2.
// Thread-safety: a pure function.
#pragma once

#include <cstdint>

namespace sic {

int64_t CountFields(const float* map, int64_t n, double fraction = 0.5, int64_t min_bins = 2);

}  // namespace sic
