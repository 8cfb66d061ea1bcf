#include "sic/data.h"

#include <vector>

#include "sic/rng.h"
#include "sic/walk.h"

namespace sic {
namespace {

// One base sequence of `n` steps, as [n, 2] doubles.
std::vector<double> BaseSequence(const DataConfig& config, Rng& rng, int64_t n) {
  std::vector<double> steps(2 * n);
  if (config.velocity == "walk") {
    const WalkPath path = SmoothWalk(config.walk, n, Point{0, 0}, rng);
    for (int64_t t = 0; t < n; ++t) {
      steps[2 * t] = path.inputs[t].x;
      steps[2 * t + 1] = path.inputs[t].y;
    }
  } else {
    for (auto& s : steps) s = rng.Uniform(-config.v_max, config.v_max);
  }
  return steps;
}

}  // namespace

torch::Tensor PositionsFromVelocities(const torch::Tensor& velocities) {
  return velocities.to(torch::kFloat64).cumsum(1).to(velocities.scalar_type());
}

BatchSampler::BatchSampler(const DataConfig& config, uint64_t seed, torch::Device device,
                           torch::Dtype dtype)
    : config_(config), seed_(seed), device_(device), dtype_(dtype) {}

Batch BatchSampler::Sample(int64_t index) const {
  const int64_t B = config_.batch_size, T = config_.seq_len;
  Rng velocity_rng(seed_, kVelocityStream, static_cast<uint64_t>(index));
  const auto to_device = torch::TensorOptions().dtype(dtype_).device(device_);

  if (config_.trajectories == "independent") {
    std::vector<double> all;
    all.reserve(2 * B * T);
    for (int64_t b = 0; b < B; ++b) {
      const auto seq = BaseSequence(config_, velocity_rng, T);
      all.insert(all.end(), seq.begin(), seq.end());
    }
    auto v = torch::from_blob(all.data(), {B, T, 2}, torch::kFloat64).to(to_device, false, /*copy=*/true);
    Batch batch;
    batch.velocities = v;
    return batch;
  }

  std::vector<double> base = BaseSequence(config_, velocity_rng, T);
  auto order = torch::empty({B, T}, torch::kInt64);
  auto order_a = order.accessor<int64_t, 2>();
  Rng permutation_rng(seed_, kPermutationStream, static_cast<uint64_t>(index));
  for (int64_t b = 0; b < B; ++b) {
    if (config_.trajectories == "permuted") {
      const auto perm = permutation_rng.Permutation(T);
      for (int64_t t = 0; t < T; ++t) order_a[b][t] = perm[t];
    } else {  // "identical": the no-permutation ablation
      for (int64_t t = 0; t < T; ++t) order_a[b][t] = t;
    }
  }
  Batch batch;
  batch.distinct = torch::from_blob(base.data(), {T, 2}, torch::kFloat64).to(to_device, false, /*copy=*/true);
  batch.order = order.to(device_);
  batch.velocities = batch.distinct.index({batch.order});  // [B, T, 2]
  return batch;
}

}  // namespace sic
