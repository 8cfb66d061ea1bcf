// Training batches (sic-method section 1): per micro-batch one base sequence of T
// steps and B trajectories built from it. Batch k of a run is a pure function of
// (seed, k), so a resumed or reclaimed run sees exactly the data it would have seen.
// Generation happens on the CPU in double precision; tensors are then moved to
// the configured device and dtype, so CPU and GPU runs train on identical data.
#pragma once

#include <torch/torch.h>

#include "sic/config.h"

namespace sic {

struct Batch {
  torch::Tensor velocities;  // [B, T, 2] step of trajectory b at time t (metres)
  // When every trajectory reorders one shared set of steps (the paper's batch),
  // the U distinct steps and, per trajectory and time, which one is taken:
  // velocities[b, t] == distinct[order[b, t]]. Undefined otherwise.
  torch::Tensor distinct;  // [U, 2]
  torch::Tensor order;     // [B, T] int64
};

// Positions x_1..x_T of each trajectory from the origin, [B, T, 2], summed in
// double precision so that the pair masks do not depend on float32 rounding order.
torch::Tensor PositionsFromVelocities(const torch::Tensor& velocities);

class BatchSampler {
 public:
  BatchSampler(const DataConfig& config, uint64_t seed, torch::Device device, torch::Dtype dtype);
  // Micro-batch number `index` (0, 1, 2, ...) of the run.
  Batch Sample(int64_t index) const;

 private:
  DataConfig config_;
  uint64_t seed_;
  torch::Device device_;
  torch::Dtype dtype_;
};

}  // namespace sic
