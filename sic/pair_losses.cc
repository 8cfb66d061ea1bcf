#include "sic/pair_losses.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace sic {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// An autograd node that returns `value` and, in backward, hands `input` the
// precomputed `gradient` scaled by the incoming gradient.
struct PrecomputedGradient : torch::autograd::Function<PrecomputedGradient> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& /*input*/, const torch::Tensor& value,
                               const torch::Tensor& gradient) {
    ctx->save_for_backward({gradient});
    return value.clone();
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grad_output) {
    const auto gradient = ctx->get_saved_variables()[0];
    return {gradient * grad_output[0], torch::Tensor(), torch::Tensor()};
  }
};

// Visits the blocks (I, J), J >= I, of the P x P pair matrix: rows [i0, i0+ni),
// columns [j0, j0+nj), and whether the block sits on the diagonal (where it holds
// both orders of each pair; off the diagonal a block stands for itself and its
// mirror image).
template <typename Fn>
void ForEachUpperBlock(int64_t P, int64_t block, Fn&& fn) {
  for (int64_t i0 = 0; i0 < P; i0 += block) {
    const int64_t ni = std::min(block, P - i0);
    for (int64_t j0 = i0; j0 < P; j0 += block) fn(i0, ni, j0, std::min(block, P - j0), j0 == i0);
  }
}

// What a block contributes, before normalisation.
struct Sums {
  torch::Tensor sep, inv;        // float64 0-dim, on the states' device
  torch::Tensor n_far, n_near;   // ordered-pair counts, float64 0-dim
};

// ---------------------------------------------------------------------------
// Tensor-op path (any device).

// ||x_i - x_j||^2 for rows and columns of a block: [I, 2] x [J, 2] -> [I, J].
// Coordinate differences rather than |a|^2 + |b|^2 - 2ab, so the masks at sigma_x
// match a direct computation exactly.
torch::Tensor SquaredDistances(const torch::Tensor& xi, const torch::Tensor& xj) {
  const auto dx = xi.select(1, 0).unsqueeze(1) - xj.select(1, 0).unsqueeze(0);
  const auto dy = xi.select(1, 1).unsqueeze(1) - xj.select(1, 1).unsqueeze(0);
  return dx * dx + dy * dy;
}

struct Masks {
  torch::Tensor far, near;
};
Masks PairMasks(const torch::Tensor& xi, const torch::Tensor& xj, double sx2, bool diagonal) {
  const auto d2 = SquaredDistances(xi, xj);
  Masks m{d2 > sx2, d2 < sx2};
  if (diagonal) m.near.fill_diagonal_(false);  // i == j is never a pair (d2 = 0 is never far)
  return m;
}

// ---------------------------------------------------------------------------
// Fused CPU path: one loop over each block's pairs instead of ~20 tensor passes.

// Counts far and near ordered pairs over the whole upper triangle. Per-row
// int32 counters (a row has < 2^31 pairs) keep the inner loop vectorisable.
template <typename T>
std::pair<double, double> CountPairsCpu(const T* x, const T* y, int64_t P, T sx2) {
  std::vector<double> far(P), near(P);
  at::parallel_for(0, P, 64, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      int32_t f = 0, n = 0;
      const T xi = x[i], yi = y[i];
      for (int64_t j = i + 1; j < P; ++j) {
        const T dx = xi - x[j], dy = yi - y[j], d2 = dx * dx + dy * dy;
        f += d2 > sx2 ? 1 : 0;
        n += d2 < sx2 ? 1 : 0;
      }
      far[i] = 2.0 * f;
      near[i] = 2.0 * n;
    }
  });
  double f = 0, n = 0;
  for (int64_t i = 0; i < P; ++i) f += far[i], n += near[i];
  return {f, n};
}

// For one block: `raw` [ni, nj] holds |g_i|^2 + |g_j|^2 - 2 g_i.g_j and `kernel`
// exp(k * max(raw, 0)). Adds the block's loss sums to sep/inv (per row, in
// double) and, when `F` is given, writes d loss / d dg2 per pair into it and its
// row sums into `F_rows`.
template <typename T>
void FusedBlockCpu(const T* raw, const T* kernel, int64_t ni, int64_t nj, bool diagonal, const T* xi, const T* yi,
                   const T* xj, const T* yj, T sx2, T sep_coef, T inv_coef, double* row_sep, double* row_inv,
                   T* F, T* F_rows) {
  at::parallel_for(0, ni, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* raw_r = raw + r * nj;
      const T* kernel_r = kernel + r * nj;
      T* F_r = F ? F + r * nj : nullptr;
      const T px = xi[r], py = yi[r];
      // Row sums in T (a row is at most one block long), folded into double below.
      T sep = 0, inv = 0, rows = 0;
      for (int64_t c = 0; c < nj; ++c) {
        const T dx = px - xj[c], dy = py - yj[c], d2 = dx * dx + dy * dy;
        const bool far = d2 > sx2;
        const bool near = d2 < sx2 && !(diagonal && c == r);
        const T dg2 = raw_r[c] > 0 ? raw_r[c] : T(0);
        const T k_far = far ? kernel_r[c] : T(0);
        sep += k_far;
        inv += near ? dg2 : T(0);
        if (F_r) {
          // Where the clamp at 0 was active the gradient is 0, as autograd's clamp gives.
          const T f = raw_r[c] >= 0 ? k_far * sep_coef + (near ? inv_coef : T(0)) : T(0);
          F_r[c] = f;
          rows += f;
        }
      }
      row_sep[r] += sep;
      row_inv[r] += inv;
      if (F_rows) F_rows[r] = rows;
    }
  });
}

}  // namespace

PairLossTerms PairLosses(const torch::Tensor& states_in, const torch::Tensor& positions_in, const LossConfig& config,
                         double w_sep, double w_inv, PairKernel kernel) {
  torch::NoGradGuard no_grad;
  const auto g = states_in.detach().contiguous();
  const auto dtype = g.scalar_type();
  const auto x = positions_in.to(dtype).contiguous();
  const int64_t P = g.size(0);
  const double sx2 = config.sigma_x * config.sigma_x;
  const double kernel_scale = -1.0 / (2.0 * config.sigma_g * config.sigma_g);
  const bool mean = config.reduction == "mean";
  const bool need_grad = states_in.requires_grad() && (w_sep != 0 || w_inv != 0);
  const bool fused = kernel == PairKernel::kAuto && g.is_cpu();
  const auto f64 = g.options().dtype(torch::kFloat64);

  // Pass 1, positions only: the pair counts, which the mean reduction divides by
  // and the gradient of pass 2 needs before it starts.
  // The fused CPU loops read the coordinates as two contiguous columns.
  const auto xs = fused ? x.select(1, 0).contiguous() : torch::Tensor();
  const auto ys = fused ? x.select(1, 1).contiguous() : torch::Tensor();
  auto n_far = torch::zeros({}, f64), n_near = torch::zeros({}, f64);
  if (mean && fused) {
    AT_DISPATCH_FLOATING_TYPES(dtype, "CountPairsCpu", [&] {
      const auto [f, n] = CountPairsCpu<scalar_t>(xs.data_ptr<scalar_t>(), ys.data_ptr<scalar_t>(), P,
                                                  static_cast<scalar_t>(sx2));
      n_far.fill_(f);
      n_near.fill_(n);
    });
  } else if (mean) {
    ForEachUpperBlock(P, config.pair_block, [&](int64_t i0, int64_t ni, int64_t j0, int64_t nj, bool diagonal) {
      const Masks m = PairMasks(x.narrow(0, i0, ni), x.narrow(0, j0, nj), sx2, diagonal);
      n_far += m.far.sum() * (diagonal ? 1 : 2);
      n_near += m.near.sum() * (diagonal ? 1 : 2);
    });
  }
  const auto norm_far = mean ? 1.0 / n_far.clamp_min(1) : torch::ones({}, f64);
  const auto norm_near = mean ? 1.0 / n_near.clamp_min(1) : torch::ones({}, f64);
  // d loss / d dg2 per pair: separation w k exp(k dg2) / n_far, invariance w / n_near.
  const auto sep_coef = (norm_far * (w_sep * kernel_scale)).to(dtype);
  const auto inv_coef = (norm_near * w_inv).to(dtype);

  // Pass 2: values and gradient. With F_ij = d loss / d dg2_ij (symmetric) and
  // dg2_ij = |g_i|^2 + |g_j|^2 - 2 g_i.g_j:   d loss / d g_i = 4 sum_j F_ij (g_i - g_j).
  const auto sq_norms = (g * g).sum(1);  // [P]
  auto grad = need_grad ? torch::zeros_like(g) : torch::Tensor();
  auto sep_sum = torch::zeros({}, f64), inv_sum = torch::zeros({}, f64);
  // Fused path: per-row sums in double, folded by mirror weight at the end.
  std::vector<double> row_sep_diag(fused ? P : 0), row_inv_diag(fused ? P : 0);
  std::vector<double> row_sep_off(fused ? P : 0), row_inv_off(fused ? P : 0);
  const double sep_coef_host = fused ? sep_coef.item<double>() : 0, inv_coef_host = fused ? inv_coef.item<double>() : 0;

  ForEachUpperBlock(P, config.pair_block, [&](int64_t i0, int64_t ni, int64_t j0, int64_t nj, bool diagonal) {
    const auto gi = g.narrow(0, i0, ni), gj = g.narrow(0, j0, nj);
    auto raw = torch::addmm(sq_norms.narrow(0, i0, ni).unsqueeze(1) + sq_norms.narrow(0, j0, nj).unsqueeze(0), gi,
                            gj.t(), /*beta=*/1, /*alpha=*/-2);
    torch::Tensor F, F_rows;
    if (fused) {
      const auto kernel_values = torch::exp(raw.clamp_min(0).mul_(kernel_scale));
      if (need_grad) {
        F = torch::empty_like(raw);
        F_rows = torch::empty({ni}, g.options());
      }
      AT_DISPATCH_FLOATING_TYPES(dtype, "FusedBlockCpu", [&] {
        FusedBlockCpu<scalar_t>(raw.data_ptr<scalar_t>(), kernel_values.data_ptr<scalar_t>(), ni, nj, diagonal,
                                xs.data_ptr<scalar_t>() + i0, ys.data_ptr<scalar_t>() + i0,
                                xs.data_ptr<scalar_t>() + j0, ys.data_ptr<scalar_t>() + j0,
                                static_cast<scalar_t>(sx2), static_cast<scalar_t>(sep_coef_host),
                                static_cast<scalar_t>(inv_coef_host),
                                (diagonal ? row_sep_diag : row_sep_off).data() + i0,
                                (diagonal ? row_inv_diag : row_inv_off).data() + i0,
                                need_grad ? F.data_ptr<scalar_t>() : nullptr,
                                need_grad ? F_rows.data_ptr<scalar_t>() : nullptr);
      });
      if (need_grad) F_rows = F_rows.unsqueeze(1);
    } else {
      const Masks m = PairMasks(x.narrow(0, i0, ni), x.narrow(0, j0, nj), sx2, diagonal);
      const auto dg2 = raw.clamp_min(0);
      const auto kernel_far = torch::exp(dg2 * kernel_scale) * m.far;
      const int mult = diagonal ? 1 : 2;
      sep_sum += kernel_far.sum().to(torch::kFloat64) * mult;
      inv_sum += (dg2 * m.near).sum().to(torch::kFloat64) * mult;
      if (need_grad) {
        // Where the clamp at 0 was active the gradient is 0, as autograd's clamp gives.
        F = (kernel_far * sep_coef + m.near * inv_coef) * (raw >= 0);
        F_rows = F.sum(1, /*keepdim=*/true);
      }
    }
    if (!need_grad) return;
    grad.narrow(0, i0, ni).add_(F_rows * gi * 4).addmm_(F, gj, 1, -4);
    if (!diagonal) grad.narrow(0, j0, nj).add_(F.sum(0).unsqueeze(1) * gj * 4).addmm_(F.t(), gi, 1, -4);
  });
  if (fused) {
    double sep = 0, inv = 0;
    for (int64_t i = 0; i < P; ++i) {
      sep += row_sep_diag[i] + 2 * row_sep_off[i];
      inv += row_inv_diag[i] + 2 * row_inv_off[i];
    }
    sep_sum.fill_(sep);
    inv_sum.fill_(inv);
  }

  PairLossTerms out;
  out.sep = (sep_sum * norm_far).to(dtype);
  out.inv = (inv_sum * norm_near).to(dtype);
  const auto weighted = out.sep * w_sep + out.inv * w_inv;
  if (need_grad) {
    torch::AutoGradMode enable(true);
    out.weighted = PrecomputedGradient::apply(states_in, weighted, grad);
  } else {
    out.weighted = weighted;
  }
  return out;
}

}  // namespace sic
