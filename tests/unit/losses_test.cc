// The SIC losses against the brute-force implementation, and the blocked pair
// gradient against autograd through a naive full-matrix version.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "sic/data.h"
#include "sic/losses.h"
#include "tests/unit/brute_force_losses.h"

namespace sic {
namespace {

std::vector<double> ToVector(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

struct Case {
  torch::Tensor g_all;       // [B, T+1, N], non-negative unit rows
  torch::Tensor velocities;  // [B, T, 2]
};

// Small steps so that both near (< sigma_x) and far pairs occur, and a few
// steps below sigma_x for the conformal-isometry term.
Case RandomCase(int B, int T, int N, uint64_t seed) {
  torch::manual_seed(seed);
  auto g = torch::rand({B, T + 1, N}, torch::kFloat64);
  g = g / g.norm(2, {-1}, true);
  auto v = (torch::rand({B, T, 2}, torch::kFloat64) - 0.5) * 0.12;
  return {g, v};
}

class LossesVsBruteForce : public ::testing::TestWithParam<std::tuple<int64_t, std::string>> {};

TEST_P(LossesVsBruteForce, AllFourLossesMatch) {
  const auto [block, reduction] = GetParam();
  const int B = 5, T = 7, N = 6;
  for (uint64_t seed : {1, 2, 3}) {
    const Case c = RandomCase(B, T, N, seed);
    LossConfig config;
    config.sigma_x = 0.05;
    config.sigma_g = 0.4;
    config.pair_block = block;
    config.reduction = reduction;
    const LossTerms got = ComputeLosses(c.g_all, c.velocities, config);
    const auto want = testing::BruteForceLosses(ToVector(c.g_all), ToVector(c.velocities), B, T, N,
                                                config.sigma_x, config.sigma_g, reduction == "mean");
    const double tol = reduction == "mean" ? 1e-10 : 1e-8;
    EXPECT_NEAR(got.sep.item<double>(), want.sep, tol * std::max(1.0, std::abs(want.sep))) << "seed " << seed;
    EXPECT_NEAR(got.inv.item<double>(), want.inv, tol * std::max(1.0, std::abs(want.inv))) << "seed " << seed;
    EXPECT_NEAR(got.cap.item<double>(), want.cap, 1e-12) << "seed " << seed;
    EXPECT_NEAR(got.coniso.item<double>(), want.coniso, 1e-9 * std::max(1.0, want.coniso)) << "seed " << seed;
    EXPECT_GT(want.inv, 0) << "the case should contain near pairs";
    EXPECT_GT(want.coniso, 0) << "the case should contain small steps";
  }
}

// Block sizes: smaller than P = 35 with a ragged last block, and larger than P.
INSTANTIATE_TEST_SUITE_P(Blocks, LossesVsBruteForce,
                         ::testing::Combine(::testing::Values(16, 20, 1024), ::testing::Values("mean", "sum")));

// The straightforward full-matrix pair losses, differentiated by autograd.
torch::Tensor NaivePairLoss(const torch::Tensor& g, const torch::Tensor& x, const LossConfig& c, double w_sep,
                            double w_inv) {
  const auto dg2 = (g.unsqueeze(1) - g.unsqueeze(0)).square().sum(-1);
  const auto dx2 = (x.unsqueeze(1) - x.unsqueeze(0)).square().sum(-1);
  const auto off_diagonal = 1 - torch::eye(g.size(0), g.options());
  const auto far = (dx2 > c.sigma_x * c.sigma_x).to(g.scalar_type()) * off_diagonal;
  const auto near = (dx2 < c.sigma_x * c.sigma_x).to(g.scalar_type()) * off_diagonal;
  auto sep = (torch::exp(-dg2 / (2 * c.sigma_g * c.sigma_g)) * far).sum();
  auto inv = (dg2 * near).sum();
  if (c.reduction == "mean") {
    sep = sep / far.sum().clamp_min(1);
    inv = inv / near.sum().clamp_min(1);
  }
  return sep * w_sep + inv * w_inv;
}

TEST(PairLosses, GradientMatchesAutogradOfFullMatrix) {
  const Case c = RandomCase(4, 9, 5, 7);
  const auto positions = PositionsFromVelocities(c.velocities).reshape({-1, 2});
  const auto base = c.g_all.slice(1, 1).reshape({-1, 5}).contiguous();
  for (const std::string reduction : {"mean", "sum"}) {
    for (auto [w_sep, w_inv] : {std::pair{1.0, 0.0}, {0.0, 1.0}, {0.7, 0.3}}) {
      LossConfig config;
      config.reduction = reduction;
      config.pair_block = 16;  // P = 36: three blocks, the last ragged
      auto g1 = base.clone().requires_grad_(true);
      auto g2 = base.clone().requires_grad_(true);
      const auto got = PairLosses(g1, positions, config, w_sep, w_inv).weighted;
      const auto want = NaivePairLoss(g2, positions, config, w_sep, w_inv);
      (got * 3.0).backward();  // a non-unit upstream gradient must scale through
      (want * 3.0).backward();
      EXPECT_NEAR(got.item<double>(), want.item<double>(), 1e-10);
      EXPECT_TRUE(torch::allclose(g1.grad(), g2.grad(), 1e-8, 1e-10))
          << reduction << " w_sep " << w_sep << " max diff " << (g1.grad() - g2.grad()).abs().max().item<double>();
    }
  }
}

TEST(PairLosses, BlockSizeDoesNotChangeResult) {
  const Case c = RandomCase(20, 30, 8, 11);  // P = 600
  const auto positions = PositionsFromVelocities(c.velocities).reshape({-1, 2});
  const auto states = c.g_all.slice(1, 1).reshape({-1, 8}).contiguous();
  LossConfig small, large;
  small.pair_block = 64;
  large.pair_block = 4096;
  auto g1 = states.clone().requires_grad_(true), g2 = states.clone().requires_grad_(true);
  const auto a = PairLosses(g1, positions, small, 1.0, 0.1);
  const auto b = PairLosses(g2, positions, large, 1.0, 0.1);
  a.weighted.backward();
  b.weighted.backward();
  EXPECT_NEAR(a.sep.item<double>(), b.sep.item<double>(), 1e-12);
  EXPECT_NEAR(a.inv.item<double>(), b.inv.item<double>(), 1e-12);
  EXPECT_TRUE(torch::allclose(g1.grad(), g2.grad(), 1e-9, 1e-12));
}

// The fused CPU loop against the tensor-op path that other devices run.
TEST(PairLosses, FusedCpuKernelMatchesTensorOps) {
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    for (const std::string reduction : {"mean", "sum"}) {
      const Case c = RandomCase(10, 25, 7, 13);  // P = 250
      const auto positions = PositionsFromVelocities(c.velocities).reshape({-1, 2}).to(dtype);
      const auto states = c.g_all.slice(1, 1).reshape({-1, 7}).to(dtype).contiguous();
      LossConfig config;
      config.reduction = reduction;
      config.pair_block = 96;
      auto g1 = states.clone().requires_grad_(true), g2 = states.clone().requires_grad_(true);
      const auto fused = PairLosses(g1, positions, config, 0.8, 0.3, PairKernel::kAuto);
      const auto ops = PairLosses(g2, positions, config, 0.8, 0.3, PairKernel::kTensorOps);
      fused.weighted.backward();
      ops.weighted.backward();
      const double tol = dtype == torch::kFloat64 ? 1e-12 : 1e-5;
      EXPECT_NEAR(fused.sep.item<double>(), ops.sep.item<double>(), tol * std::abs(ops.sep.item<double>()));
      EXPECT_NEAR(fused.inv.item<double>(), ops.inv.item<double>(), tol * std::abs(ops.inv.item<double>()));
      EXPECT_GT(ops.inv.item<double>(), 0);
      const double scale = g2.grad().abs().max().item<double>();
      EXPECT_LE((g1.grad() - g2.grad()).abs().max().item<double>(), tol * scale) << reduction << " " << dtype;
    }
  }
}

TEST(ConformalIsometry, ZeroWhenNoStepIsSmall) {
  auto g = torch::rand({2, 4, 3}, torch::kFloat64);
  auto v = torch::full({2, 3, 2}, 0.1, torch::kFloat64);  // every step longer than sigma_x
  EXPECT_EQ(ConformalIsometryLoss(g, v, 0.05).item<double>(), 0.0);
}

// loss.coniso_max_step widens the steps the term pools: with every step 0.1 m
// long, the default (sigma_x, 0.05) pools none, 0.2 pools them all.
TEST(ConformalIsometry, MaxStepChoosesTheStepsItPools) {
  torch::manual_seed(3);
  auto g = torch::rand({2, 4, 3}, torch::kFloat64);
  auto v = torch::full({2, 3, 2}, 0.1 / std::sqrt(2.0), torch::kFloat64);
  LossConfig config;
  EXPECT_EQ(ComputeLosses(g, v, config).coniso.item<double>(), 0.0);
  config.coniso_max_step = 0.2;
  const double wide = ComputeLosses(g, v, config).coniso.item<double>();
  EXPECT_GT(wide, 0.0);
  EXPECT_DOUBLE_EQ(wide, ConformalIsometryLoss(g, v, 0.2).item<double>());
}

TEST(ConformalIsometry, ZeroWhenRatiosAreEqual) {
  // Each neural step twice as long as the spatial one: the ratios have no variance.
  auto g = torch::zeros({1, 3, 2}, torch::kFloat64);
  auto v = torch::zeros({1, 2, 2}, torch::kFloat64);
  v[0][0][0] = 0.01;
  v[0][1][1] = 0.03;
  g[0][1][0] = 0.02;
  g[0][2][0] = 0.02;
  g[0][2][1] = 0.06;
  EXPECT_NEAR(ConformalIsometryLoss(g, v, 0.05).item<double>(), 0.0, 1e-15);
}

TEST(Capacity, IsMinusSquaredNormOfMeanState) {
  auto s = torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kFloat64);
  EXPECT_DOUBLE_EQ(CapacityLoss(s).item<double>(), -0.5);  // mean (0.5, 0.5)
}

TEST(Losses, RejectMismatchedShapes) {
  auto g = torch::rand({2, 4, 3});
  auto v = torch::rand({2, 4, 2});  // needs T = 3
  EXPECT_THROW(ComputeLosses(g, v, LossConfig{}), c10::Error);
}

}  // namespace
}  // namespace sic
