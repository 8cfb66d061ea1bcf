#include "sic/walk.h"

#include <algorithm>
#include <cmath>

namespace sic {
namespace {

constexpr double kTwoPi = 2.0 * M_PI;

// Wraps an angle into [-pi, pi).
double WrapAngle(double a) { return std::fmod(std::fmod(a + M_PI, kTwoPi) + kTwoPi, kTwoPi) - M_PI; }

}  // namespace

WalkPath SmoothWalk(const WalkConfig& config, int64_t n_inputs, Point start, Rng& rng) {
  const double half = config.arena_size / 2;
  WalkPath path;
  path.inputs.reserve(n_inputs);
  path.positions.reserve(n_inputs + 1);
  path.positions.push_back(start);
  Point pos = start;
  double heading = rng.Uniform(0.0, kTwoPi);
  for (int64_t i = 0; i < n_inputs; ++i) {
    Point input;
    for (int64_t k = 0; k < config.steps_per_input; ++k) {
      // Nearest wall: right, top, left, bottom, with its outward normal angle.
      const double dists[4] = {half - pos.x, half - pos.y, half + pos.x, half + pos.y};
      const int wall = static_cast<int>(std::min_element(dists, dists + 4) - dists);
      const double to_wall = WrapAngle(std::fmod(heading, kTwoPi) - wall * M_PI / 2);
      double speed = rng.Rayleigh(config.speed_scale);
      double turn = 0;
      if (dists[wall] < config.border && std::abs(to_wall) < M_PI / 2) {
        turn = (to_wall > 0 ? 1 : -1) * (M_PI / 2 - std::abs(to_wall));
        speed *= 0.25;
      }
      turn += config.dt * rng.Normal(0.0, config.rotation_std);
      const Point step{speed * config.dt * std::cos(heading), speed * config.dt * std::sin(heading)};
      pos.x += step.x;
      pos.y += step.y;
      input.x += step.x;
      input.y += step.y;
      heading += turn;
    }
    path.inputs.push_back(input);
    path.positions.push_back(pos);
  }
  return path;
}

}  // namespace sic
