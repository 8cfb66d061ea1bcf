#include "sic/losses.h"

#include "sic/data.h"

namespace sic {

torch::Tensor CapacityLoss(const torch::Tensor& states) {
  const auto flat = states.reshape({-1, states.size(-1)});
  return -flat.mean(0).square().sum();
}

torch::Tensor ConformalIsometryLoss(const torch::Tensor& g_all, const torch::Tensor& velocities,
                                    double max_step) {
  // Ratio ||g_t - g_{t-1}|| / ||v_t|| over the steps with 0 < ||v_t|| < max_step, pooled
  // over the batch; the loss is the population variance of those ratios (0 if none).
  // Masked sums instead of boolean indexing keep it free of host synchronisation.
  const auto neural = (g_all.slice(1, 1) - g_all.slice(1, 0, -1)).norm(2, {-1});  // [B, T]
  const auto spatial = velocities.norm(2, {-1});                                   // [B, T]
  const auto keep = ((spatial > 0) & (spatial < max_step)).to(g_all.scalar_type());
  const auto ratio = neural / torch::where(keep > 0, spatial, torch::ones_like(spatial));
  const auto n = keep.sum().clamp_min(1);
  const auto mean = (ratio * keep).sum() / n;
  return ((ratio - mean).square() * keep).sum() / n;
}

LossTerms ComputeLosses(const torch::Tensor& g_all, const torch::Tensor& velocities,
                        const LossConfig& config) {
  TORCH_CHECK(g_all.dim() == 3 && velocities.dim() == 3 && velocities.size(2) == 2 &&
                  g_all.size(0) == velocities.size(0) && g_all.size(1) == velocities.size(1) + 1,
              "losses need g_all [B, T+1, N] and velocities [B, T, 2]");
  const int64_t N = g_all.size(2);
  const auto states = g_all.slice(1, 1).reshape({-1, N});                   // [P, N]
  const auto positions = PositionsFromVelocities(velocities).reshape({-1, 2});  // [P, 2]
  const auto pair = PairLosses(states, positions, config, config.lambda_sep, config.lambda_inv);
  const auto cap = CapacityLoss(states);
  const double coniso_max_step = config.coniso_max_step > 0 ? config.coniso_max_step : config.sigma_x;
  const auto coniso = ConformalIsometryLoss(g_all, velocities, coniso_max_step);

  LossTerms out;
  out.sep = pair.sep;
  out.inv = pair.inv;
  out.cap = cap.detach();
  out.coniso = coniso.detach();
  out.total = pair.weighted + cap * config.lambda_cap + coniso * config.lambda_coniso;
  return out;
}

}  // namespace sic
