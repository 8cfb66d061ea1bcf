#include "sic/ratemap.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sic {

RateMapAccumulator::RateMapAccumulator(int64_t units, int64_t bins, double arena_size)
    : units_(units), bins_(bins), arena_size_(arena_size), sums_(bins * bins * units, 0.0), counts_(bins * bins, 0.0) {}

int64_t RateMapAccumulator::BinOf(double c) const {
  const double t = (c + arena_size_ / 2) / arena_size_ * static_cast<double>(bins_);
  if (!(t > 0)) return 0;  // also NaN
  return std::min<int64_t>(static_cast<int64_t>(t), bins_ - 1);
}

void RateMapAccumulator::Add(double x, double y, const float* activations) {
  const int64_t b = BinOf(y) * bins_ + BinOf(x);
  double* row = sums_.data() + b * units_;
  for (int64_t u = 0; u < units_; ++u) row[u] += activations[u];
  counts_[b] += 1.0;
}

RateMaps RateMapAccumulator::Finish() const {
  RateMaps out;
  out.units = units_;
  out.bins = bins_;
  out.arena_size = arena_size_;
  out.occupancy = counts_;
  const int64_t area = bins_ * bins_;
  out.rates.assign(units_ * area, std::numeric_limits<float>::quiet_NaN());
  for (int64_t b = 0; b < area; ++b) {
    if (counts_[b] == 0) continue;
    for (int64_t u = 0; u < units_; ++u) {
      out.rates[u * area + b] = static_cast<float>(sums_[b * units_ + u] / counts_[b]);
    }
  }
  return out;
}

}  // namespace sic
