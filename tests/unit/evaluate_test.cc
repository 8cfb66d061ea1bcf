// Evaluation of a network (sic/evaluate.h, sic/checkpoint.h): checkpoints load
// back into the same network, rate maps bin the states of the documented walks,
// and a full evaluation writes every file.
#include "sic/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "sic/checkpoint.h"
#include "sic/npy.h"
#include "sic/pictures.h"
#include "sic/rng.h"
#include "sic/trainer.h"
#include "sic/walk.h"

namespace sic {
namespace {
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("sic_eval_test_" + std::to_string(::getpid()) + "_" +
                                                   std::to_string(counter_++))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

Config TinyConfig() {
  Config c;
  c.model.n_units = 8;
  c.model.mlp_hidden = 16;
  c.data.batch_size = 4;
  c.data.seq_len = 6;
  c.optim.lr = 1e-2;
  c.optim.steps = 2;
  c.run.threads = 1;
  c.run.checkpoint_every = 0;
  c.eval.arenas = "1.5";
  c.eval.bins = 10;
  c.eval.trajectories = 7;
  c.eval.steps = 25;
  return c;
}

TEST(Checkpoint, LoadsTheTrainedNetworkBack) {
  TempDir dir;
  const Config config = TinyConfig();
  auto trainer = Trainer::Open(config, dir / "run", false);
  ASSERT_TRUE(trainer.ok()) << trainer.status().message();
  ASSERT_TRUE(trainer.value()->Run().ok());
  auto loaded = LoadModelFromCheckpoint(CheckpointPath(dir / "run"), torch::kCPU);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->step, 2);
  EXPECT_EQ(ConfigToJson(loaded->config), ConfigToJson(config));
  const auto a = trainer.value()->model()->named_parameters(), b = loaded->model->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
}

TEST(Checkpoint, ErrorsNameTheFile) {
  TempDir dir;
  auto missing = LoadModelFromCheckpoint(dir / "nope.pt", torch::kCPU);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.pt"), std::string::npos);
  std::ofstream(dir / "junk.pt") << "not a checkpoint";
  auto junk = LoadModelFromCheckpoint(dir / "junk.pt", torch::kCPU);
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("junk.pt"), std::string::npos);
  EXPECT_EQ(junk.status().message().find('\n'), std::string::npos);
}

TEST(EvalStepsPerInput, MatchesTheTrainingStepScale) {
  Config c;
  // Uniform steps: E|v| = 0.765 * 0.15 = 11.5 cm; the walk moves ~2.05 cm per step.
  EXPECT_EQ(EvalStepsPerInput(c), 6);
  c.data.v_max = 0.05;
  EXPECT_EQ(EvalStepsPerInput(c), 2);
  c.data.velocity = "walk";
  c.data.walk.steps_per_input = 3;
  EXPECT_EQ(EvalStepsPerInput(c), 3);
  c.eval.steps_per_input = 9;
  EXPECT_EQ(EvalStepsPerInput(c), 9);
}

TEST(SimulateArena, BinsTheStatesOfTheDocumentedWalks) {
  torch::manual_seed(3);
  const Config config = TinyConfig();
  SicNet model(config.model);
  const double arena = 1.5;
  auto report = SimulateArena(model, config, arena, torch::kCPU);
  ASSERT_TRUE(report.ok()) << report.status().message();
  const ArenaReport& r = report.value();
  const int64_t n = 10, N = 8, T = 25;
  ASSERT_EQ(r.maps.rates.size(), static_cast<size_t>(N * n * n));
  EXPECT_EQ(r.walk.samples, 7 * T);

  // Rebuild the same walks (seed, kEvalWalkStream, arena in mm << 32 | walk) and
  // run them through the network's general forward path.
  WalkConfig walk = config.data.walk;
  walk.arena_size = arena;
  walk.steps_per_input = EvalStepsPerInput(config);
  std::vector<double> sums(N * n * n, 0.0), counts(n * n, 0.0);
  torch::NoGradGuard no_grad;
  const auto g0 = model->InitialState();
  double neural_sum = 0;
  for (int64_t b = 0; b < 7; ++b) {
    Rng rng(0, kEvalWalkStream, (uint64_t{1500} << 32) | static_cast<uint64_t>(b));
    const WalkPath path = SmoothWalk(walk, T, Point{0, 0}, rng);
    auto v = torch::empty({1, T, 2});
    for (int64_t t = 0; t < T; ++t) v[0][t][0] = path.inputs[t].x, v[0][t][1] = path.inputs[t].y;
    const auto states = model->ForwardGeneral(v)[0];  // [T, N]
    for (int64_t t = 0; t < T; ++t) {
      const Point& p = path.positions[t + 1];
      EXPECT_LE(std::abs(p.x), arena / 2);
      EXPECT_LE(std::abs(p.y), arena / 2);
      const int64_t i = std::min<int64_t>(n - 1, static_cast<int64_t>((p.y + arena / 2) / arena * n));
      const int64_t j = std::min<int64_t>(n - 1, static_cast<int64_t>((p.x + arena / 2) / arena * n));
      counts[i * n + j] += 1;
      for (int64_t u = 0; u < N; ++u) sums[u * n * n + i * n + j] += states[t][u].item<double>();
      neural_sum += (states[t] - g0).norm().item<double>();
    }
  }
  for (int64_t k = 0; k < n * n; ++k) {
    EXPECT_EQ(r.maps.occupancy[k], counts[k]) << "bin " << k;
    for (int64_t u = 0; u < N; ++u) {
      const float got = r.maps.rates[u * n * n + k];
      if (counts[k] == 0) {
        EXPECT_TRUE(std::isnan(got)) << "bin " << k;
      } else {
        EXPECT_NEAR(got, sums[u * n * n + k] / counts[k], 1e-5) << "unit " << u << " bin " << k;
      }
    }
  }
  double curve_sum = 0;
  for (size_t b = 0; b < r.distance.mean.size(); ++b) {
    if (r.distance.count[b]) curve_sum += r.distance.mean[b] * static_cast<double>(r.distance.count[b]);
  }
  EXPECT_NEAR(curve_sum, neural_sum, 1e-4 * neural_sum);

  // The same seed gives the same maps; another seed other walks.
  auto again = SimulateArena(model, config, arena, torch::kCPU);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->maps.occupancy, r.maps.occupancy);
  Config other = config;
  other.eval.seed = 1;
  auto different = SimulateArena(model, other, arena, torch::kCPU);
  ASSERT_TRUE(different.ok());
  EXPECT_NE(different->maps.occupancy, r.maps.occupancy);
}

TEST(RunEvaluation, WritesEveryFileForEveryArena) {
  TempDir dir;
  torch::manual_seed(4);
  Config config = TinyConfig();
  config.eval.arenas = "1.5,2";
  SicNet model(config.model);
  EvalHooks hooks;
  int logged = 0;
  hooks.log = [&](const std::string&) { ++logged; };
  if (PicturesAvailable()) hooks.draw = DrawArenaPictures;
  auto summary = RunEvaluation(model, config, torch::kCPU, dir / "eval", 42, hooks);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary.value()["step"], 42);
  ASSERT_EQ(summary.value()["arenas"].size(), 2u);
  EXPECT_GE(logged, 4);
  for (const char* arena : {"arena_1.5m", "arena_2m"}) {
    const std::string d = dir / "eval" + "/" + arena;
    for (const char* file : {"ratemaps.npy", "occupancy.npy", "scores.json", "summary.json", "distance.json"}) {
      EXPECT_TRUE(fs::exists(d + "/" + file)) << d << "/" << file;
    }
    if (PicturesAvailable()) {
      for (const char* png : {"ratemaps.png", "autocorrelograms.png", "periods.png", "distance.png"}) {
        EXPECT_GT(fs::file_size(d + "/" + png), 1000u) << png;
      }
    }
    auto maps = ReadNpy(d + "/ratemaps.npy");
    ASSERT_TRUE(maps.ok());
    EXPECT_EQ(maps->shape, (std::vector<int64_t>{8, 10, 10}));
    const auto scores = nlohmann::json::parse(std::ifstream(d + "/scores.json"));
    EXPECT_EQ(scores["units"].size(), 8u);
  }
  EXPECT_TRUE(fs::exists(dir / "eval/summary.json"));
}

}  // namespace
}  // namespace sic
