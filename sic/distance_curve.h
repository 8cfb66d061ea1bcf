// The generalisation curve of sic-method 5.5: the neural distance
// ||g(x) - g(0)|| against the spatial distance |x - x0| from the start point,
// averaged in bins of spatial distance. A network that path-integrates gives
// ~0 near the start and a plateau far from it.
//
// Thread-safety: an accumulator is not thread-safe; DistanceCurve is plain data.
#pragma once

#include <cstdint>
#include <vector>

namespace sic {

struct DistanceCurve {
  double bin_width = 0;          // metres; bin i covers [i w, (i + 1) w)
  std::vector<double> mean, std;  // neural distance per bin (NaN where empty)
  std::vector<int64_t> count;
};

class DistanceCurveAccumulator {
 public:
  DistanceCurveAccumulator(double bin_width, double max_distance);
  void Add(double spatial, double neural);
  DistanceCurve Finish() const;

 private:
  double bin_width_;
  std::vector<double> sum_, sum_sq_;
  std::vector<int64_t> count_;
};

}  // namespace sic
