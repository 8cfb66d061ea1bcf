// The four SIC losses (sic-method section 3), computed from a batch of states and
// the steps that produced them. This is the one implementation: the trainer, the
// `sic losses` command and the tests all call it.
//
// Inputs, any floating dtype and device:
//   g_all      [B, T+1, N]  states, g_all[:, 0] = g_0
//   velocities [B, T, 2]    steps; positions are their cumulative sums from 0
// The pair losses run over the P = B*T states g_1..g_T (not g_0); see
// sic/pair_losses.h for how they are computed.
#pragma once

#include <torch/torch.h>

#include "sic/config.h"
#include "sic/pair_losses.h"

namespace sic {

struct LossTerms {
  // Values of each loss, detached, 0-dim, in the input's dtype.
  torch::Tensor sep, inv, cap, coniso;
  // lambda-weighted sum of the four, differentiable with respect to g_all.
  torch::Tensor total;
};

LossTerms ComputeLosses(const torch::Tensor& g_all, const torch::Tensor& velocities,
                        const LossConfig& config);

torch::Tensor CapacityLoss(const torch::Tensor& states);  // states [..., N]
// Over the steps with 0 < ||v_t|| < max_step (ComputeLosses: loss.coniso_max_step,
// or sigma_x when that is 0).
torch::Tensor ConformalIsometryLoss(const torch::Tensor& g_all, const torch::Tensor& velocities,
                                    double max_step);

}  // namespace sic
