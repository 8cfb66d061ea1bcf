#include "sic/model.h"

#include <vector>

#include "sic/recurrence.h"

namespace sic {

torch::Tensor NormRelu(const torch::Tensor& z, double eps) {
  const auto r = torch::relu(z);
  return r / r.norm(2, {-1}, /*keepdim=*/true).clamp_min(eps);
}

SicNetImpl::SicNetImpl(const ModelConfig& config)
    : n_units(config.n_units), eps(config.norm_eps) {
  const int64_t N = config.n_units, H = config.mlp_hidden;
  fc1 = register_module("fc1", torch::nn::Linear(2, H));
  fc2 = register_module("fc2", torch::nn::Linear(H, H));
  fc3 = register_module("fc3", torch::nn::Linear(H, N * N));
  // Non-negative start so that g_0 begins away from zero (sic-method 2.3).
  auto init = torch::rand({N});
  theta = config.learn_g0 ? register_parameter("theta", init) : register_buffer("theta", init);
}

torch::Tensor SicNetImpl::InitialState() const { return NormRelu(theta, eps); }

torch::Tensor SicNetImpl::RecurrentMatrices(const torch::Tensor& v) {
  auto h = torch::relu(fc1->forward(v));
  h = torch::relu(fc2->forward(h));
  return fc3->forward(h).view({v.size(0), n_units, n_units});
}

torch::Tensor SicNetImpl::forward(const Batch& batch) {
  if (!batch.distinct.defined()) return ForwardGeneral(batch.velocities);
  return SharedRecurrence(RecurrentMatrices(batch.distinct), InitialState(), batch.order, eps);
}

torch::Tensor SicNetImpl::ForwardGeneral(const torch::Tensor& velocities) {
  const int64_t B = velocities.size(0), T = velocities.size(1);
  const auto W = RecurrentMatrices(velocities.reshape({B * T, 2})).view({B, T, n_units, n_units});
  const auto W_by_time = W.unbind(1);  // T x [B, N, N], split once (see forward)
  auto g = InitialState().expand({B, n_units});
  std::vector<torch::Tensor> states;
  states.reserve(T);
  for (int64_t t = 0; t < T; ++t) {
    g = NormRelu(torch::bmm(W_by_time[t], g.unsqueeze(2)).squeeze(2), eps);
    states.push_back(g);
  }
  return torch::stack(states, 1);
}

torch::Tensor WithInitialState(const torch::Tensor& g0, const torch::Tensor& states) {
  const int64_t B = states.size(0);
  return torch::cat({g0.expand({B, 1, g0.size(-1)}), states}, 1);
}

}  // namespace sic
