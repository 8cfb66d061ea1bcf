// ReduceLROnPlateau with PyTorch's semantics (mode "min", relative threshold),
// which LibTorch 1.13 lacks. The trainer feeds it one metric per interval (the
// mean total loss over `interval` optimizer steps) and applies the returned rate.
// Plain data: the trainer stores it in checkpoints.
#pragma once

#include <limits>

#include "sic/config.h"

namespace sic {

struct PlateauState {
  double best = std::numeric_limits<double>::infinity();
  int64_t bad_intervals = 0;
  int64_t cooldown_left = 0;
};

// Records `metric` and returns the learning rate to use from now on.
double PlateauUpdate(const PlateauConfig& config, PlateauState& state, double metric, double lr);

}  // namespace sic
