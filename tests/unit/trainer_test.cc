// The trainer: exact resume, refusal to overwrite, config checks on resume,
// torn checkpoints, non-finite losses, the hooks, the plateau scheduler, and
// files that cannot be written (a full disk fails the run; it is never reported as trained).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sic/evaluate.h"
#include "sic/plateau.h"
#include "sic/trainer.h"

namespace sic {
namespace {
namespace fs = std::filesystem;

Config TinyConfig(int64_t steps) {
  Config c;
  c.model.n_units = 8;
  c.model.mlp_hidden = 16;
  c.data.batch_size = 6;
  c.data.seq_len = 8;
  c.optim.lr = 1e-2;
  c.optim.steps = steps;
  c.optim.plateau.interval = 2;  // let the scheduler act within the run
  c.optim.plateau.patience = 0;
  c.optim.plateau.threshold = 0.5;  // demand 50% better per interval, so it reduces
  c.run.threads = 1;
  c.run.checkpoint_every = 3;
  c.run.log_every = 2;
  c.run.seed = 17;
  return c;
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sic_trainer_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Dir(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<Trainer> MustOpen(const Config& c, const std::string& dir, bool resume) {
  auto t = Trainer::Open(c, dir, resume);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::move(t.value()) : nullptr;
}

void ExpectSameParameters(Trainer& a, Trainer& b) {
  const auto pa = a.model()->parameters(), pb = b.model()->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
}

TEST_F(TrainerTest, StoppedAndResumedRunIsBitIdenticalToUninterrupted) {
  auto straight = MustOpen(TinyConfig(8), Dir("straight"), false);
  ASSERT_TRUE(straight->Run().ok());

  // Stop through the cancel hook after 5 steps (between checkpoints, mid curve line) ...
  {
    auto first = MustOpen(TinyConfig(8), Dir("resumed"), false);
    TrainHooks hooks;
    int64_t seen = 0;
    hooks.on_progress = [&](const Progress& p) { seen = p.step; };
    hooks.should_stop = [&] { return seen >= 5; };
    auto outcome = first->Run(hooks);
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome.value(), TrainOutcome::kStopped);
    EXPECT_EQ(first->step(), 5);
  }
  // ... as if the process had died after writing curve lines past the checkpoint.
  std::ofstream(Dir("resumed") + "/curve.jsonl", std::ios::app) << "{\"step\": 99, \"sep\": 1}\n{\"ste";
  auto resumed = MustOpen(TinyConfig(8), Dir("resumed"), true);
  EXPECT_EQ(resumed->step(), 5);
  ASSERT_TRUE(resumed->Run().ok());

  EXPECT_EQ(resumed->step(), 8);
  EXPECT_EQ(resumed->lr(), straight->lr());
  ExpectSameParameters(*straight, *resumed);
  EXPECT_EQ(ReadFile(Dir("straight") + "/curve.jsonl"), ReadFile(Dir("resumed") + "/curve.jsonl"));
  EXPECT_LT(straight->lr(), 1e-2) << "the plateau scheduler should have acted in this run";
}

// A rung of an adaptive sweep (issue 11): pause at a step, resume later to
// the end, bit-identical to a run that never paused. The uninterrupted run's
// probes are real quick evaluations, so this also shows they leave training
// alone.
TEST_F(TrainerTest, PausedAtAStepAndResumedIsBitIdenticalToUninterrupted) {
  Config c = TinyConfig(8);
  c.probe.every = 3;
  c.probe.trajectories = 4;
  c.probe.steps = 10;
  std::vector<int64_t> straight_probes;
  TrainHooks evaluate;
  evaluate.on_probe = [&](int64_t step, SicNet& model) -> Status {
    straight_probes.push_back(step);
    auto summary = RunEvaluation(model, ProbeEvalConfig(c), torch::kCPU, Dir("probe"), step);
    return summary.ok() ? Status::OK() : summary.status();
  };
  auto straight = MustOpen(c, Dir("straight"), false);
  ASSERT_TRUE(straight->Run(evaluate).ok());
  EXPECT_EQ(straight_probes, (std::vector<int64_t>{3, 6})) << "none at the end: the final evaluation is there";
  EXPECT_TRUE(fs::exists(Dir("probe") + "/arena_2m/summary.json"));

  std::vector<int64_t> probes, lines;
  TrainHooks rung;
  rung.stop_at_step = 5;
  rung.on_probe = [&](int64_t step, SicNet&) {
    probes.push_back(step);
    return Status::OK();
  };
  rung.on_curve = [&](const CurveLine& l) { lines.push_back(l.step); };
  {
    auto first = MustOpen(c, Dir("paused"), false);
    auto outcome = first->Run(rung);
    ASSERT_TRUE(outcome.ok()) << outcome.status().message();
    EXPECT_EQ(outcome.value(), TrainOutcome::kPaused);
    EXPECT_EQ(first->step(), 5);
  }
  EXPECT_EQ(probes, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(lines, (std::vector<int64_t>{2, 4}));  // log_every 2; step 5 is mid-line
  // The same job delivered again: nothing trained or written, probed again.
  const std::string checkpoint = ReadFile(CheckpointPath(Dir("paused")));
  {
    auto again = MustOpen(c, Dir("paused"), true);
    auto outcome = again->Run(rung);
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome.value(), TrainOutcome::kPaused);
  }
  EXPECT_EQ(probes, (std::vector<int64_t>{3, 5, 5}));
  EXPECT_EQ(ReadFile(CheckpointPath(Dir("paused"))), checkpoint);
  {  // a stop step the checkpoint is already past: refused, nothing written
    TrainHooks behind;
    behind.stop_at_step = 4;
    auto outcome = MustOpen(c, Dir("paused"), true)->Run(behind);
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.status().code(), Status::Code::kFailedPrecondition);
  }
  // The promotion: to the end, from the rung's checkpoint.
  auto resumed = MustOpen(c, Dir("paused"), true);
  TrainHooks to_end;
  to_end.on_probe = rung.on_probe;
  to_end.on_curve = rung.on_curve;
  ASSERT_TRUE(resumed->Run(to_end).ok());
  EXPECT_EQ(resumed->step(), 8);
  EXPECT_EQ(probes, (std::vector<int64_t>{3, 5, 5, 6}));
  EXPECT_EQ(lines, (std::vector<int64_t>{2, 4, 6, 8}));
  EXPECT_EQ(resumed->lr(), straight->lr());
  ExpectSameParameters(*straight, *resumed);
  EXPECT_EQ(ReadFile(Dir("straight") + "/curve.jsonl"), ReadFile(Dir("paused") + "/curve.jsonl"));
}

// A worker killed during a probe: the run resumes from a checkpoint before
// the probe's step and probes that step again, so no evaluation is lost.
TEST_F(TrainerTest, AProbeInterruptedAtItsStepIsRunAgainByTheResumedRun) {
  Config c = TinyConfig(8);
  c.probe.every = 3;  // the same steps as the checkpoints (checkpoint_every 3)
  std::vector<int64_t> probes;
  TrainHooks killed;
  killed.on_probe = [&](int64_t step, SicNet&) -> Status {
    probes.push_back(step);
    return step == 6 ? Status::Unavailable("killed during the probe") : Status::OK();
  };
  {
    auto first = MustOpen(c, Dir("run"), false);
    EXPECT_FALSE(first->Run(killed).ok());
  }
  auto resumed = MustOpen(c, Dir("run"), true);
  EXPECT_LT(resumed->step(), 6) << "the checkpoint of step 6 was written before its probe";
  TrainHooks rest;
  rest.on_probe = [&](int64_t step, SicNet&) {
    probes.push_back(step);
    return Status::OK();
  };
  ASSERT_TRUE(resumed->Run(rest).ok());
  EXPECT_EQ(probes, (std::vector<int64_t>{3, 6, 6}));
}

TEST_F(TrainerTest, ResumeCanExtendTheStepCount) {
  ASSERT_TRUE(MustOpen(TinyConfig(3), Dir("run"), false)->Run().ok());
  auto more = MustOpen(TinyConfig(5), Dir("run"), true);
  EXPECT_EQ(more->step(), 3);
  ASSERT_TRUE(more->Run().ok());
  EXPECT_EQ(more->step(), 5);
}

TEST_F(TrainerTest, RefusesToOverwriteAnExistingRun) {
  ASSERT_TRUE(MustOpen(TinyConfig(3), Dir("run"), false)->Run().ok());
  const std::string before = ReadFile(CheckpointPath(Dir("run")));
  auto again = Trainer::Open(TinyConfig(3), Dir("run"), false);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("--resume"), std::string::npos) << again.status().message();
  EXPECT_EQ(ReadFile(CheckpointPath(Dir("run"))), before);
}

TEST_F(TrainerTest, ResumeWithADifferentConfigNamesTheKey) {
  ASSERT_TRUE(MustOpen(TinyConfig(3), Dir("run"), false)->Run().ok());
  Config changed = TinyConfig(3);
  changed.loss.lambda_cap = 0;
  auto t = Trainer::Open(changed, Dir("run"), true);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("loss.lambda_cap"), std::string::npos) << t.status().message();
}

// A branch (sic train --from): a new run from another's checkpoint. With the
// same config it is a resume, bit for bit; with a new learning rate the
// network, step and optimizer moments carry over and the new rate applies.
TEST_F(TrainerTest, ABranchWithTheSameConfigContinuesAsTheRunWouldHave) {
  auto straight = MustOpen(TinyConfig(8), Dir("straight"), false);
  ASSERT_TRUE(straight->Run().ok());
  ASSERT_TRUE(MustOpen(TinyConfig(6), Dir("first"), false)->Run().ok());
  auto branch = Trainer::Branch(TinyConfig(8), Dir("branch"), Dir("first"));
  ASSERT_TRUE(branch.ok()) << branch.status().message();
  EXPECT_EQ(branch.value()->step(), 6);
  ASSERT_TRUE(branch.value()->Run().ok());
  EXPECT_EQ(branch.value()->step(), 8);
  EXPECT_EQ(branch.value()->lr(), straight->lr());
  EXPECT_LT(straight->lr(), 1e-2) << "the plateau rule should have cut the rate, and the branch kept the cut";
  ExpectSameParameters(*straight, *branch.value());
  // Its curve holds its own steps: the straight run's lines after step 6.
  const std::string all = ReadFile(Dir("straight") + "/curve.jsonl");
  EXPECT_EQ(ReadFile(Dir("branch") + "/curve.jsonl"), all.substr(all.find("{\"cap\"", all.find("\"step\":6"))));
  const auto note = nlohmann::json::parse(ReadFile(Dir("branch") + "/branch.json"));
  EXPECT_EQ(note["step"], 6);
  EXPECT_EQ(note["from"], fs::absolute(CheckpointPath(Dir("first"))).string());
  // The run it came from is left as it was.
  auto first = MustOpen(TinyConfig(6), Dir("first"), true);
  EXPECT_EQ(first->step(), 6);
}

TEST_F(TrainerTest, ABranchTakesANewLearningRateAndKeepsTheNetwork) {
  ASSERT_TRUE(MustOpen(TinyConfig(4), Dir("first"), false)->Run().ok());
  auto at4 = MustOpen(TinyConfig(4), Dir("first"), true);
  Config slower = TinyConfig(10);
  slower.optim.lr = 1e-4;
  slower.optim.weight_decay = 0;
  slower.optim.plateau.threshold = 0;  // no more cuts: the new rate holds
  auto branch = Trainer::Branch(slower, Dir("branch"), CheckpointPath(Dir("first")));
  ASSERT_TRUE(branch.ok()) << branch.status().message();
  EXPECT_EQ(branch.value()->step(), 4);
  EXPECT_EQ(branch.value()->lr(), 1e-4);
  ExpectSameParameters(*at4, *branch.value());
  ASSERT_TRUE(branch.value()->Run().ok());
  const std::string curve = ReadFile(Dir("branch") + "/curve.jsonl");
  EXPECT_NE(curve.find("\"lr\":0.0001"), std::string::npos) << curve;
  EXPECT_EQ(curve.find("\"step\":4,"), std::string::npos) << "a step of the run it came from: " << curve;

  // The network must match; an existing run is never overwritten; the source must exist.
  Config wider = TinyConfig(10);
  wider.model.n_units = 12;
  auto refused = Trainer::Branch(wider, Dir("wider"), Dir("first"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("model.n_units"), std::string::npos) << refused.status().message();
  auto again = Trainer::Branch(slower, Dir("branch"), Dir("first"));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("already holds a run"), std::string::npos) << again.status().message();
  EXPECT_TRUE(Trainer::Branch(slower, Dir("other"), Dir("nowhere")).status().IsNotFound());
}

// Torn: what a machine that lost power may leave. `sic train --resume`
// (kFail) names the file and leaves it; the worker (kRestart) sets it aside
// and starts again at step 0. A checkpoint that reads but belongs to another
// config is an error either way: restarting would throw away a good run.
TEST_F(TrainerTest, ATornCheckpointFailsOpenOrIsSetAsideWhenAskedAndTheRunStartsAgain) {
  ASSERT_TRUE(MustOpen(TinyConfig(6), Dir("run"), false)->Run().ok());
  const std::string ckpt = CheckpointPath(Dir("run"));
  fs::resize_file(ckpt, fs::file_size(ckpt) / 2);
  const std::string torn = ReadFile(ckpt);

  auto fail = Trainer::Open(TinyConfig(6), Dir("run"), true);
  ASSERT_FALSE(fail.ok());
  EXPECT_EQ(fail.status().message().rfind(ckpt + ": cannot read checkpoint: ", 0), 0u) << fail.status().message();
  EXPECT_EQ(ReadFile(ckpt), torn) << "kFail leaves the file to the user";

  Config other = TinyConfig(6);
  other.loss.lambda_cap = 0;
  ASSERT_TRUE(MustOpen(other, Dir("other"), false)->Run().ok());
  auto differs = Trainer::Open(TinyConfig(6), Dir("other"), true, Trainer::Unreadable::kRestart);
  ASSERT_FALSE(differs.ok()) << "a readable checkpoint of another config is not torn";
  EXPECT_TRUE(fs::exists(CheckpointPath(Dir("other"))));
  EXPECT_FALSE(fs::exists(CheckpointPath(Dir("other")) + ".unreadable"));

  auto restarted = Trainer::Open(TinyConfig(6), Dir("run"), true, Trainer::Unreadable::kRestart);
  ASSERT_TRUE(restarted.ok()) << restarted.status().message();
  EXPECT_EQ(restarted.value()->step(), 0);
  EXPECT_EQ(restarted.value()->set_aside(),
            fail.status().message() + "; set aside as checkpoint.pt.unreadable, training again from step 0");
  EXPECT_FALSE(fs::exists(ckpt));
  EXPECT_EQ(ReadFile(ckpt + ".unreadable"), torn);
  ASSERT_TRUE(restarted.value()->Run().ok());
  auto straight = MustOpen(TinyConfig(6), Dir("straight"), false);
  ASSERT_TRUE(straight->Run().ok());
  ExpectSameParameters(*straight, *restarted.value());
  EXPECT_EQ(ReadFile(Dir("run") + "/curve.jsonl"), ReadFile(Dir("straight") + "/curve.jsonl"));
}

TEST_F(TrainerTest, NonFiniteLossStopsWithAClearError) {
  auto t = MustOpen(TinyConfig(5), Dir("run"), false);
  {
    torch::NoGradGuard no_grad;
    t->model()->fc3->weight.fill_(std::numeric_limits<float>::quiet_NaN());
  }
  auto outcome = t->Run();
  ASSERT_FALSE(outcome.ok());
  EXPECT_NE(outcome.status().message().find("step 1: loss sep is nan"), std::string::npos)
      << outcome.status().message();
}

TEST_F(TrainerTest, WritesEffectiveConfigCurveAndCheckpoint) {
  auto t = MustOpen(TinyConfig(4), Dir("run"), false);
  std::vector<int64_t> steps;
  TrainHooks hooks;
  hooks.on_progress = [&](const Progress& p) {
    steps.push_back(p.step);
    EXPECT_EQ(p.total_steps, 4);
    EXPECT_TRUE(std::isfinite(p.losses.total));
  };
  ASSERT_TRUE(t->Run(hooks).ok());
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_TRUE(fs::exists(CheckpointPath(Dir("run"))));
  const auto config = nlohmann::json::parse(ReadFile(Dir("run") + "/config.json"));
  EXPECT_EQ(config["model"]["n_units"], 8);
  EXPECT_EQ(config["loss"]["lambda_cap"], 0.5);
  std::ifstream curve(Dir("run") + "/curve.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(curve, line)) {
    const auto j = nlohmann::json::parse(line);
    for (const char* key : {"step", "sep", "inv", "cap", "coniso", "total", "dead", "lr"}) {
      EXPECT_TRUE(j.contains(key)) << key;
    }
    EXPECT_GE(j["dead"].get<double>(), 0.0);
    EXPECT_LE(j["dead"].get<double>(), 1.0);
    ++lines;
  }
  EXPECT_EQ(lines, 2);  // log_every = 2
}

TEST_F(TrainerTest, ReportsTheFractionOfDeadStates) {
  Config c = TinyConfig(1);
  c.model.n_units = 1;  // one unit: a negative W(v) kills the state
  auto t = MustOpen(c, "", false);
  auto losses = t->Step();
  ASSERT_TRUE(losses.ok()) << losses.status().message();
  EXPECT_GT(losses.value().dead, 0.0);
  EXPECT_LT(losses.value().dead, 1.0);
  c.model.n_units = 64;  // ... and with many units they do not
  auto healthy = MustOpen(c, "", false)->Step();
  ASSERT_TRUE(healthy.ok());
  EXPECT_EQ(healthy.value().dead, 0.0);
}

TEST_F(TrainerTest, CurveThatCannotBeWrittenFailsTheRun) {
  fs::create_directories(Dir("run"));
  fs::create_symlink("/dev/full", Dir("run") + "/curve.jsonl");  // every write: ENOSPC
  auto t = MustOpen(TinyConfig(4), Dir("run"), false);
  ASSERT_TRUE(t);
  auto outcome = t->Run();
  ASSERT_FALSE(outcome.ok()) << "a curve that was never written was reported as trained";
  EXPECT_EQ(outcome.status().message(), Dir("run") + "/curve.jsonl: cannot write: No space left on device");
}

// RLIMIT_FSIZE stands in for a full disk: a write past it fails with EFBIG
// (SIGXFSZ ignored, else it would end the process).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old_);
    struct rlimit small = old_;
    small.rlim_cur = bytes;
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  struct rlimit old_;
  sighandler_t old_handler_;
};

TEST_F(TrainerTest, CheckpointThatCannotBeWrittenFailsTheRunAndLeavesNoTornFile) {
  auto t = MustOpen(TinyConfig(4), Dir("run"), false);
  ASSERT_TRUE(t);
  Result<TrainOutcome> outcome = TrainOutcome::kFinished;
  {
    FileSizeLimit limit(1024);  // the curve's lines fit, a checkpoint does not
    outcome = t->Run();
  }
  ASSERT_FALSE(outcome.ok()) << "a checkpoint that was never written was reported as saved";
  EXPECT_EQ(outcome.status().message(), CheckpointPath(Dir("run")) + ": cannot write: File too large");
  EXPECT_EQ(outcome.status().code(), Status::Code::kResourceExhausted);
  EXPECT_FALSE(fs::exists(CheckpointPath(Dir("run"))));
  EXPECT_FALSE(fs::exists(CheckpointPath(Dir("run")) + ".tmp"));
  // The disk has room again: the same run saves.
  EXPECT_TRUE(t->SaveCheckpoint().ok());
}

TEST(Plateau, ReducesAfterPatienceRunsOut) {
  PlateauConfig c;
  c.patience = 2;
  c.factor = 0.5;
  PlateauState s;
  double lr = 1.0;
  lr = PlateauUpdate(c, s, 10.0, lr);  // best
  lr = PlateauUpdate(c, s, 10.0, lr);  // bad 1
  lr = PlateauUpdate(c, s, 10.0, lr);  // bad 2
  EXPECT_EQ(lr, 1.0);
  lr = PlateauUpdate(c, s, 10.0, lr);  // bad 3 > patience
  EXPECT_EQ(lr, 0.5);
  lr = PlateauUpdate(c, s, 5.0, lr);  // improvement resets
  EXPECT_EQ(s.bad_intervals, 0);
  EXPECT_EQ(lr, 0.5);
}

TEST(Plateau, RespectsCooldownAndMinLr) {
  PlateauConfig c;
  c.patience = 0;
  c.cooldown = 1;
  c.factor = 0.1;
  c.min_lr = 0.05;
  PlateauState s;
  double lr = 1.0;
  lr = PlateauUpdate(c, s, 1.0, lr);  // best
  lr = PlateauUpdate(c, s, 1.0, lr);  // bad -> reduce to 0.1, cooldown 1
  EXPECT_DOUBLE_EQ(lr, 0.1);
  lr = PlateauUpdate(c, s, 1.0, lr);  // in cooldown: no change
  EXPECT_DOUBLE_EQ(lr, 0.1);
  lr = PlateauUpdate(c, s, 1.0, lr);  // reduce again, floored at min_lr
  EXPECT_DOUBLE_EQ(lr, 0.05);
}

}  // namespace
}  // namespace sic
