// Rate maps (sic-method 5.1): per unit, the mean activation in each spatial
// bin of a square arena, NaN where no sample fell, and the occupancy (samples
// per bin). The arena [-L/2, L/2]^2 is centred on the origin, as the walk's is
// (sic/walk.h); bin (row i, column j) covers y in [-L/2 + i L/n, ...) and x in
// [-L/2 + j L/n, ...); positions on or beyond a wall go to the edge bin.
//
// Thread-safety: a RateMapAccumulator is not thread-safe; RateMaps is plain data.
#pragma once

#include <cstdint>
#include <vector>

namespace sic {

struct RateMaps {
  int64_t units = 0, bins = 0;
  double arena_size = 0;         // metres
  std::vector<float> rates;      // [units, bins, bins], NaN = unvisited
  std::vector<double> occupancy;  // [bins, bins], samples per bin

  const float* map(int64_t unit) const { return rates.data() + unit * bins * bins; }
};

class RateMapAccumulator {
 public:
  RateMapAccumulator(int64_t units, int64_t bins, double arena_size);

  // One sample: position (x, y) in metres and the activations [units].
  void Add(double x, double y, const float* activations);
  RateMaps Finish() const;

  int64_t BinOf(double coordinate) const;  // row or column index of a coordinate

 private:
  int64_t units_, bins_;
  double arena_size_;
  std::vector<double> sums_;  // [bins * bins, units]: one sample touches one row
  std::vector<double> counts_;
};

}  // namespace sic
