// The worker's trial (worker/trial_runner.h) on the real science core: a rung
// pauses with the quick evaluation's metrics, a redelivered pause job reports
// the same rung again, a stale one is recognised, and the promotion ends
// exactly as a trial that never paused (metrics, curve); periodic probes are
// reported with the final evaluation's metric names; a torn checkpoint is set
// aside and the trial trains again.
#include "worker/trial_runner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <iterator>
#include <set>

#include "sic/pictures.h"
#include "sic/trainer.h"

namespace sic {
namespace {
namespace fs = std::filesystem;

Config Tiny() {
  Config c;
  c.model.n_units = 8;
  c.model.mlp_hidden = 16;
  c.data.batch_size = 6;
  c.data.seq_len = 8;
  c.optim.lr = 1e-2;
  c.optim.steps = 8;
  c.run.threads = 1;
  c.run.checkpoint_every = 3;
  c.run.log_every = 2;
  c.run.seed = 5;
  c.eval.arenas = "2";
  c.eval.trajectories = 4;
  c.eval.steps = 10;
  c.probe.every = 3;
  c.probe.trajectories = 3;
  c.probe.steps = 8;
  return c;
}

// The metrics without those that differ between identical runs: timings, and
// where the attempt picked up.
std::map<std::string, double> Comparable(std::map<std::string, double> m) {
  for (auto it = m.begin(); it != m.end();) {
    const bool varies = it->first.find(".seconds.") != std::string::npos || it->first == "resumed_from_step";
    it = varies ? m.erase(it) : std::next(it);
  }
  return m;
}

// NaN-aware equality of two metric maps, timings left out.
void ExpectSameMetrics(const std::map<std::string, double>& all_a, const std::map<std::string, double>& all_b) {
  const auto a = Comparable(all_a), b = Comparable(all_b);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, value] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(b.at(name))) << name;
    } else {
      EXPECT_EQ(value, b.at(name)) << name;
    }
  }
}

class TrialRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("sic_trial_runner_test_" + std::to_string(::getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string Dir(const char* name) const { return (root_ / name).string(); }
  fs::path root_;
};

TEST_F(TrialRunnerTest, RungThenPromotionEndsAsAnUninterruptedTrial) {
  std::vector<int64_t> evaluated, lines;
  TrialHooks hooks;
  hooks.on_evaluation = [&](int64_t step, const std::map<std::string, double>& m, const std::vector<Artifact>& p) {
    evaluated.push_back(step);
    EXPECT_TRUE(m.count("eval.2m.fraction_grid.0.3")) << "named as the final evaluation's metrics";
    EXPECT_TRUE(m.count("eval.2m.max_score60"));
    if (PicturesAvailable()) {
      std::set<std::string> names;
      for (const Artifact& a : p) names.insert(a.name);
      EXPECT_TRUE(names.count("arena_2m/ratemaps.png") && names.count("arena_2m/autocorrelograms.png"))
          << "the probe's pictures, named as the final evaluation's";
    }
  };
  hooks.on_curve = [&](const CurvePoint& p) { lines.push_back(p.step); };
  auto straight = RunTrial(Tiny(), Dir("straight"), hooks);
  ASSERT_TRUE(straight.ok()) << straight.status().message();
  EXPECT_FALSE(straight->paused || straight->stopped || straight->stale);
  EXPECT_EQ(evaluated, (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(lines, (std::vector<int64_t>{2, 4, 6, 8}));

  evaluated.clear();
  lines.clear();
  hooks.stop_at_step = 5;
  auto rung = RunTrial(Tiny(), Dir("rung"), hooks);
  ASSERT_TRUE(rung.ok()) << rung.status().message();
  EXPECT_TRUE(rung->paused);
  EXPECT_EQ(rung->step, 5);
  EXPECT_EQ(rung->metrics.at("steps"), 5);
  EXPECT_TRUE(rung->metrics.count("loss.total"));
  EXPECT_TRUE(rung->metrics.count("eval.2m.fraction_grid.0.3")) << "the rung's probe is in its metrics";
  EXPECT_EQ(evaluated, (std::vector<int64_t>{3})) << "the probe at the rung is not a separate evaluation";
  EXPECT_TRUE(fs::exists(CheckpointPath(Dir("rung"))));

  auto again = RunTrial(Tiny(), Dir("rung"), hooks);  // the pause job delivered again
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->paused);
  ExpectSameMetrics(rung->metrics, again->metrics);

  hooks.stop_at_step = 4;  // behind the checkpoint
  auto stale = RunTrial(Tiny(), Dir("rung"), hooks);
  ASSERT_TRUE(stale.ok()) << stale.status().message();
  EXPECT_TRUE(stale->stale);

  hooks.stop_at_step = 0;  // the promotion, to the end
  auto promoted = RunTrial(Tiny(), Dir("rung"), hooks);
  ASSERT_TRUE(promoted.ok()) << promoted.status().message();
  EXPECT_FALSE(promoted->paused);
  EXPECT_EQ(promoted->metrics.at("resumed_from_step"), 5);
  EXPECT_EQ(evaluated, (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(lines, (std::vector<int64_t>{2, 4, 6, 8}));
  ExpectSameMetrics(straight->metrics, promoted->metrics);
  ASSERT_EQ(straight->curve.size(), promoted->curve.size());
  for (size_t i = 0; i < straight->curve.size(); ++i) {
    EXPECT_EQ(straight->curve[i].step, promoted->curve[i].step);
    EXPECT_EQ(straight->curve[i].total, promoted->curve[i].total) << "step " << straight->curve[i].step;
  }
}

// A checkpoint torn on the disk would fail every delivery of its trial; the
// worker's trial sets it aside and trains again from step 0, which retraces
// the same run: the same metrics and curve as a trial that was never torn.
TEST_F(TrialRunnerTest, ATornCheckpointIsSetAsideAndTheTrialTrainsAgainToTheSameResult) {
  auto straight = RunTrial(Tiny(), Dir("straight"), TrialHooks{});
  ASSERT_TRUE(straight.ok()) << straight.status().message();

  TrialHooks hooks;
  hooks.stop_at_step = 5;
  ASSERT_TRUE(RunTrial(Tiny(), Dir("torn"), hooks).ok());
  const std::string ckpt = CheckpointPath(Dir("torn"));
  fs::resize_file(ckpt, fs::file_size(ckpt) / 2);  // what a machine that lost power may leave

  std::vector<std::string> notices;
  hooks.stop_at_step = 0;
  hooks.on_notice = [&](const std::string& m) { notices.push_back(m); };
  auto healed = RunTrial(Tiny(), Dir("torn"), hooks);
  ASSERT_TRUE(healed.ok()) << healed.status().message();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].rfind(ckpt + ": cannot read checkpoint: ", 0), 0u) << notices[0];
  EXPECT_NE(notices[0].find("set aside as checkpoint.pt.unreadable, training again from step 0"), std::string::npos)
      << notices[0];
  EXPECT_TRUE(fs::exists(ckpt + ".unreadable"));
  EXPECT_EQ(healed->metrics.at("resumed_from_step"), 0);
  ExpectSameMetrics(straight->metrics, healed->metrics);
  ASSERT_EQ(straight->curve.size(), healed->curve.size()) << "the torn run's curve lines are not kept twice";
  for (size_t i = 0; i < straight->curve.size(); ++i) {
    EXPECT_EQ(straight->curve[i].step, healed->curve[i].step);
    EXPECT_EQ(straight->curve[i].total, healed->curve[i].total) << "step " << straight->curve[i].step;
  }
}

}  // namespace
}  // namespace sic
