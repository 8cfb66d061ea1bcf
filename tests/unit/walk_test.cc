// The smooth evaluation walk: reproducible, bounded by the arena, and summing
// walk steps into inputs as configured.
#include <gtest/gtest.h>

#include <cmath>

#include "sic/walk.h"

namespace sic {
namespace {

TEST(SmoothWalk, IsReproducibleFromItsSeed) {
  WalkConfig c;
  Rng a(1, kEvalWalkStream, 0), b(1, kEvalWalkStream, 0), other(2, kEvalWalkStream, 0);
  const auto pa = SmoothWalk(c, 100, {0, 0}, a), pb = SmoothWalk(c, 100, {0, 0}, b);
  const auto po = SmoothWalk(c, 100, {0, 0}, other);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(pa.inputs[i].x, pb.inputs[i].x);
    EXPECT_EQ(pa.inputs[i].y, pb.inputs[i].y);
  }
  EXPECT_NE(pa.inputs[5].x, po.inputs[5].x);
}

TEST(SmoothWalk, StaysNearlyInsideTheArenaAndCoversIt) {
  WalkConfig c;
  c.arena_size = 1.0;
  c.steps_per_input = 1;
  Rng rng(3, kEvalWalkStream, 0);
  const auto path = SmoothWalk(c, 20000, {0, 0}, rng);
  double max_abs = 0, min_x = 1, max_x = -1;
  for (const auto& p : path.positions) {
    max_abs = std::max({max_abs, std::abs(p.x), std::abs(p.y)});
    min_x = std::min(min_x, p.x);
    max_x = std::max(max_x, p.x);
  }
  // Walls repel within 3 cm; a fast step may overshoot by a few centimetres.
  EXPECT_LT(max_abs, 0.5 + 0.1);
  EXPECT_LT(min_x, -0.4);
  EXPECT_GT(max_x, 0.4);
}

TEST(SmoothWalk, InputsSumWalkStepsAndMatchPositions) {
  WalkConfig c;
  c.steps_per_input = 5;
  Rng rng(4, kEvalWalkStream, 0);
  const auto path = SmoothWalk(c, 200, {0.1, -0.2}, rng);
  ASSERT_EQ(path.inputs.size(), 200u);
  ASSERT_EQ(path.positions.size(), 201u);
  EXPECT_EQ(path.positions[0].x, 0.1);
  double mean_len = 0;
  for (size_t i = 0; i < path.inputs.size(); ++i) {
    EXPECT_NEAR(path.positions[i + 1].x - path.positions[i].x, path.inputs[i].x, 1e-12);
    EXPECT_NEAR(path.positions[i + 1].y - path.positions[i].y, path.inputs[i].y, 1e-12);
    mean_len += std::hypot(path.inputs[i].x, path.inputs[i].y) / path.inputs.size();
  }
  // ~2 cm per walk step (Rayleigh mean 1.02 m/s * 20 ms), five per input, minus turning.
  EXPECT_GT(mean_len, 0.05);
  EXPECT_LT(mean_len, 0.11);
}

}  // namespace
}  // namespace sic
