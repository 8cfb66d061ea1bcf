// Separation and invariance (sic-method 3.1, 3.2): the two losses over pairs of
// states, and most of a training step's arithmetic at the paper size (P = 7800
// states, ~6e7 ordered pairs).
//
// The P x P pair matrix is never formed. Blocks (I, J), J >= I, of its upper
// triangle are visited once; each yields the loss sums and, in the same pass,
// the gradient with respect to the states, so autograd saves no pair-sized
// intermediate and memory stays O(block^2). On the CPU the per-pair work of a
// block is one fused loop; on other devices it is a sequence of tensor ops.
#pragma once

#include <torch/torch.h>

#include "sic/config.h"

namespace sic {

struct PairLossTerms {
  torch::Tensor sep, inv;  // values, detached, 0-dim, in the states' dtype
  torch::Tensor weighted;  // w_sep * sep + w_inv * inv, differentiable w.r.t. states
};

enum class PairKernel {
  kAuto,      // fused loop on CPU, tensor ops elsewhere
  kTensorOps  // tensor ops everywhere (the reference for the fused loop)
};

// states [P, N]; positions [P, 2]. Pairs are ordered, i != j; "far" means
// ||x_i - x_j|| > sigma_x, "near" means < sigma_x (pairs at exactly sigma_x are in
// neither). config.reduction "mean" divides each sum by its pair count.
PairLossTerms PairLosses(const torch::Tensor& states, const torch::Tensor& positions, const LossConfig& config,
                         double w_sep, double w_inv, PairKernel kernel = PairKernel::kAuto);

}  // namespace sic
