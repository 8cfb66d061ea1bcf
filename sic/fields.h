// CountFields: the number of firing fields of a rate map, the connected
// regions (4-neighbour) of visited bins at or above min + fraction * (max - min)
// over the visited bins, each at least `min_bins` bins. A single-field blob
// gives 1, a hexagonal grid many; sic-method 5.2 step 8 asks to report it.
// Defaults [INF]: fraction 0.5, min_bins 2.
// Thread-safety: a pure function.
#pragma once

#include <cstdint>

namespace sic {

int64_t CountFields(const float* map, int64_t n, double fraction = 0.5, int64_t min_bins = 2);

}  // namespace sic
