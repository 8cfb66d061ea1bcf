// The smooth, wall-bounded random walk of sic-method 5.1, after Sorscher et al.'s
// trajectory generator: Gaussian turning, Rayleigh speed, and slowing and turning
// away within `border` of a wall. The square arena is centred on the origin.
// Several walk steps can be summed into one network input (steps_per_input), so the
// input step size can match the ~11.5 cm training steps (see sic-method 5.1).
// No LibTorch dependency.
#pragma once

#include <cstdint>
#include <vector>

#include "sic/config.h"
#include "sic/rng.h"

namespace sic {

struct Point {
  double x = 0, y = 0;
};

struct WalkPath {
  std::vector<Point> inputs;     // n_inputs network inputs (summed displacements), metres
  std::vector<Point> positions;  // n_inputs + 1 positions, positions[0] = start
};

// Walks n_inputs inputs from `start` with a heading drawn uniformly.
WalkPath SmoothWalk(const WalkConfig& config, int64_t n_inputs, Point start, Rng& rng);

}  // namespace sic
