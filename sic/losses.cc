#include "sic/losses.h"

#include <algorithm>

#include "sic/data.h"

namespace sic {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// An autograd node that returns `value` and, in backward, hands `input` the
// precomputed `gradient` scaled by the incoming gradient. Lets the pair losses
// produce value and gradient in one blocked pass without saving P x P tensors.
struct PrecomputedGradient : torch::autograd::Function<PrecomputedGradient> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& /*input*/,
                               const torch::Tensor& value, const torch::Tensor& gradient) {
    ctx->save_for_backward({gradient});
    return value.clone();
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grad_output) {
    const auto gradient = ctx->get_saved_variables()[0];
    return {gradient * grad_output[0], torch::Tensor(), torch::Tensor()};
  }
};

// ||x_i - x_j||^2 for a block of rows and columns: [I, 2] x [J, 2] -> [I, J].
// Coordinate differences, not the |a|^2 + |b|^2 - 2ab expansion, so the masks at
// sigma_x match a direct computation exactly.
torch::Tensor SquaredDistances(const torch::Tensor& xi, const torch::Tensor& xj) {
  const auto dx = xi.select(1, 0).unsqueeze(1) - xj.select(1, 0).unsqueeze(0);
  const auto dy = xi.select(1, 1).unsqueeze(1) - xj.select(1, 1).unsqueeze(0);
  return dx * dx + dy * dy;
}

// Visits the blocks (I, J), J >= I, of the P x P pair matrix. `fn` receives the
// row range [i0, i0+ni), the column range [j0, j0+nj), and how many ordered pairs
// each unordered block stands for (2 off the diagonal, 1 on it).
template <typename Fn>
void ForEachUpperBlock(int64_t P, int64_t block, Fn&& fn) {
  for (int64_t i0 = 0; i0 < P; i0 += block) {
    const int64_t ni = std::min(block, P - i0);
    for (int64_t j0 = i0; j0 < P; j0 += block) {
      fn(i0, ni, j0, std::min(block, P - j0), j0 == i0 ? 1 : 2);
    }
  }
}

}  // namespace

PairLossTerms PairLosses(const torch::Tensor& states_in, const torch::Tensor& positions_in,
                         const LossConfig& config, double w_sep, double w_inv) {
  torch::NoGradGuard no_grad;
  const auto g = states_in.detach();
  const auto x = positions_in.to(g.scalar_type());
  const int64_t P = g.size(0);
  const double sx2 = config.sigma_x * config.sigma_x;
  const double kernel_scale = -1.0 / (2.0 * config.sigma_g * config.sigma_g);
  const bool need_grad = states_in.requires_grad() && (w_sep != 0 || w_inv != 0);
  const auto acc_options = g.options().dtype(torch::kFloat64);

  // Pass 1, positions only: how many ordered pairs are far (> sigma_x) and near
  // (< sigma_x, i != j). The mean reduction divides by these counts, and the
  // gradient of pass 2 needs them before it starts.
  auto n_far = torch::zeros({}, acc_options), n_near = torch::zeros({}, acc_options);
  if (config.reduction == "mean") {
    ForEachUpperBlock(P, config.pair_block, [&](int64_t i0, int64_t ni, int64_t j0, int64_t nj, int mult) {
      const auto d2 = SquaredDistances(x.narrow(0, i0, ni), x.narrow(0, j0, nj));
      n_far += (d2 > sx2).sum() * mult;
      auto near = d2 < sx2;
      if (mult == 1) near.fill_diagonal_(false);
      n_near += near.sum() * mult;
    });
  }
  // Per-pair weights: the loss is a sum over pairs of w * f(||g_i - g_j||^2) / n.
  const auto norm_far = config.reduction == "mean" ? 1.0 / n_far.clamp_min(1) : torch::ones({}, acc_options);
  const auto norm_near = config.reduction == "mean" ? 1.0 / n_near.clamp_min(1) : torch::ones({}, acc_options);
  // d/d(dg2) of each term, per pair: sep: w exp(k dg2) k / n; inv: w / n.
  const auto sep_coef = (norm_far * (w_sep * kernel_scale)).to(g.scalar_type());
  const auto inv_coef = (norm_near * w_inv).to(g.scalar_type());

  // Pass 2: values, and the gradient in the same sweep. With F_ij = d loss / d dg2_ij
  // (symmetric) and dg2_ij = |g_i|^2 + |g_j|^2 - 2 g_i.g_j,
  //   d loss / d g_i = 4 sum_j F_ij (g_i - g_j).
  const auto sq_norms = (g * g).sum(1);  // [P]
  auto sep_sum = torch::zeros({}, acc_options), inv_sum = torch::zeros({}, acc_options);
  auto grad = need_grad ? torch::zeros_like(g) : torch::Tensor();
  ForEachUpperBlock(P, config.pair_block, [&](int64_t i0, int64_t ni, int64_t j0, int64_t nj, int mult) {
    const auto gi = g.narrow(0, i0, ni), gj = g.narrow(0, j0, nj);
    // ||g_i - g_j||^2 = |g_i|^2 + |g_j|^2 - 2 g_i.g_j, clamped at 0 against rounding.
    const auto raw = torch::addmm(sq_norms.narrow(0, i0, ni).unsqueeze(1) + sq_norms.narrow(0, j0, nj).unsqueeze(0),
                                  gi, gj.t(), /*beta=*/1, /*alpha=*/-2);
    const auto dg2 = raw.clamp_min(0);
    const auto d2 = SquaredDistances(x.narrow(0, i0, ni), x.narrow(0, j0, nj));
    const auto far = d2 > sx2;
    auto near = d2 < sx2;
    if (mult == 1) near.fill_diagonal_(false);

    const auto kernel_far = torch::exp(dg2 * kernel_scale) * far;
    const auto dg2_near = dg2 * near;
    sep_sum += kernel_far.sum().to(torch::kFloat64) * mult;
    inv_sum += dg2_near.sum().to(torch::kFloat64) * mult;
    if (!need_grad) return;

    // Where the clamp was active the gradient is 0, as autograd's clamp would give.
    const auto F = (kernel_far * sep_coef + near * inv_coef) * (raw >= 0);
    grad.narrow(0, i0, ni).add_(F.sum(1, /*keepdim=*/true) * gi * 4).addmm_(F, gj, 1, -4);
    if (mult == 2) {
      grad.narrow(0, j0, nj).add_(F.sum(0).unsqueeze(1) * gj * 4).addmm_(F.t(), gi, 1, -4);
    }
  });

  PairLossTerms out;
  out.sep = (sep_sum * norm_far).to(g.scalar_type());
  out.inv = (inv_sum * norm_near).to(g.scalar_type());
  const auto weighted = out.sep * w_sep + out.inv * w_inv;
  if (need_grad) {
    torch::AutoGradMode enable(true);
    out.weighted = PrecomputedGradient::apply(states_in, weighted, grad);
  } else {
    out.weighted = weighted;
  }
  return out;
}

torch::Tensor CapacityLoss(const torch::Tensor& states) {
  const auto flat = states.reshape({-1, states.size(-1)});
  return -flat.mean(0).square().sum();
}

torch::Tensor ConformalIsometryLoss(const torch::Tensor& g_all, const torch::Tensor& velocities,
                                    double sigma_x) {
  // Ratio ||g_t - g_{t-1}|| / ||v_t|| over the steps with 0 < ||v_t|| < sigma_x, pooled
  // over the batch; the loss is the population variance of those ratios (0 if none).
  // Masked sums instead of boolean indexing keep it free of host synchronisation.
  const auto neural = (g_all.slice(1, 1) - g_all.slice(1, 0, -1)).norm(2, {-1});  // [B, T]
  const auto spatial = velocities.norm(2, {-1});                                   // [B, T]
  const auto keep = ((spatial > 0) & (spatial < sigma_x)).to(g_all.scalar_type());
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
  const auto coniso = ConformalIsometryLoss(g_all, velocities, config.sigma_x);

  LossTerms out;
  out.sep = pair.sep;
  out.inv = pair.inv;
  out.cap = cap.detach();
  out.coniso = coniso.detach();
  out.total = pair.weighted + cap * config.lambda_cap + coniso * config.lambda_coniso;
  return out;
}

}  // namespace sic
