#include "sic/plateau.h"

#include <algorithm>

namespace sic {

double PlateauUpdate(const PlateauConfig& config, PlateauState& state, double metric, double lr) {
  if (metric < state.best * (1.0 - config.threshold)) {
    state.best = metric;
    state.bad_intervals = 0;
  } else {
    ++state.bad_intervals;
  }
  if (state.cooldown_left > 0) {
    --state.cooldown_left;
    state.bad_intervals = 0;
  }
  if (state.bad_intervals > config.patience) {
    const double reduced = std::max(lr * config.factor, config.min_lr);
    state.cooldown_left = config.cooldown;
    state.bad_intervals = 0;
    if (lr - reduced > 1e-8) return reduced;  // PyTorch ignores changes below eps
  }
  return lr;
}

}  // namespace sic
