// The SIC network (sic-method section 2):
//   W(v) = MLP(v)                      2 -> H -> H -> N*N, ReLU, reshaped row-major
//   g_t  = NormReLU(W(v_t) g_{t-1})    no bias, no leak, no additive input
//   g_0  = NormReLU(theta), shared by every trajectory (theta learnable or fixed)
// Every tensor follows the module's device and dtype (module->to(...)).
#pragma once

#include <torch/torch.h>

#include "sic/config.h"
#include "sic/data.h"

namespace sic {

// ReLU(z) / max(||ReLU(z)||, eps) over the last dimension; a zero ReLU(z) maps to 0.
torch::Tensor NormRelu(const torch::Tensor& z, double eps);

struct SicNetImpl : torch::nn::Module {
  explicit SicNetImpl(const ModelConfig& config);

  // g_0, [N].
  torch::Tensor InitialState() const;
  // W(v) for M velocities: v [M, 2] -> [M, N, N].
  torch::Tensor RecurrentMatrices(const torch::Tensor& v);
  // States g_1..g_T for every trajectory, [B, T, N]. A batch in shared form runs
  // the MLP once per distinct step (T, not B*T, matrices) and indexes the result.
  torch::Tensor forward(const Batch& batch);
  // The same, always through the general path (one MLP call per (b, t)).
  torch::Tensor ForwardGeneral(const torch::Tensor& velocities);

  int64_t n_units;
  double eps;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
  torch::Tensor theta;  // [N]; a parameter when learned, else a buffer
};
TORCH_MODULE(SicNet);

// [B, T+1, N]: g_0 broadcast in front of the states, the layout the losses take.
torch::Tensor WithInitialState(const torch::Tensor& g0, const torch::Tensor& states);

}  // namespace sic
