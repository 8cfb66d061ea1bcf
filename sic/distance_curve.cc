#include "sic/distance_curve.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sic {

DistanceCurveAccumulator::DistanceCurveAccumulator(double bin_width, double max_distance) : bin_width_(bin_width) {
  const size_t n = static_cast<size_t>(std::ceil(max_distance / bin_width)) + 1;
  sum_.assign(n, 0.0);
  sum_sq_.assign(n, 0.0);
  count_.assign(n, 0);
}

void DistanceCurveAccumulator::Add(double spatial, double neural) {
  if (!std::isfinite(spatial) || !std::isfinite(neural) || spatial < 0) return;
  const size_t b = std::min(static_cast<size_t>(spatial / bin_width_), sum_.size() - 1);
  sum_[b] += neural;
  sum_sq_[b] += neural * neural;
  ++count_[b];
}

DistanceCurve DistanceCurveAccumulator::Finish() const {
  DistanceCurve out;
  out.bin_width = bin_width_;
  out.count = count_;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t b = 0; b < sum_.size(); ++b) {
    const double n = static_cast<double>(count_[b]);
    const double mean = n > 0 ? sum_[b] / n : nan;
    out.mean.push_back(mean);
    out.std.push_back(n > 0 ? std::sqrt(std::max(0.0, sum_sq_[b] / n - mean * mean)) : nan);
  }
  return out;
}

}  // namespace sic
