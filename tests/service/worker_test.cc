// The worker's queue logic against a real redis-server, with stand-in trial
// functions instead of LibTorch: result then acknowledgement, errors retried
// up to the delivery limit, a lost lease dropped without a result (the taker
// alone in the trial folder), canceled sweeps skipped; trials that throw, malformed jobs and a Redis outage at
// SIGTERM, none of which may end the worker or lose a checkpoint; pauses at
// a rung (checkpoint kept), discards, live curves and evaluation events.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <new>
#include <set>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "common/queue.h"
#include "proto/sweep.pb.h"
#include "redis_server.h"
#include "worker/folder_lock.h"
#include "worker/worker.h"

namespace sic {
namespace {

using std::chrono::milliseconds;

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.ok());
    ASSERT_TRUE(coord_.EnsureGroups({"cpu"}).ok());
    char tmpl[] = "/tmp/sic-worker-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  WorkerOptions Options(const std::string& name) {
    WorkerOptions o;
    o.redis = redis_.options();
    o.prefix = "w";
    o.name = name;
    o.checkpoint_dir = dir_;
    o.lease_ms = 5000;
    o.block_ms = 50;
    o.progress_ms = 0;
    return o;
  }
  // A job whose config has run.seed = trial_id, so a TrialFn can tell them apart.
  static v1::TrialJob Job(int64_t trial_id, int64_t sweep_id = 1) {
    v1::TrialJob job;
    job.set_trial_id(trial_id);
    job.set_sweep_id(sweep_id);
    job.set_round(1);
    job.set_name("t" + std::to_string(trial_id));
    Config config;
    config.run.seed = trial_id;
    job.set_config_json(ConfigToJson(config).dump());
    return job;
  }
  void Enqueue(int64_t trial_id, int64_t sweep_id = 1) { EnqueueBytes(Job(trial_id, sweep_id).SerializeAsString()); }
  void EnqueueBytes(const std::string& bytes) { ASSERT_TRUE(coord_.AddTrial("cpu", bytes).ok()); }
  // Outcome events so far (the others are kept in events_).
  std::vector<v1::WorkerEvent> Outcomes() {
    auto entries = coord_.ReadResults("c", 1000, 10);
    EXPECT_TRUE(entries.ok());
    for (const auto& e : entries.value()) {
      v1::WorkerEvent event;
      EXPECT_TRUE(event.ParseFromString(e.payload));
      if (event.has_outcome()) outcomes_.push_back(event);
      events_.push_back(event);
      EXPECT_TRUE(coord_.AckResult(e.id).ok());
    }
    return outcomes_;
  }
  // Every event so far of one kind (WorkerEvent::kPaused, ...).
  std::vector<v1::WorkerEvent> Events(v1::WorkerEvent::KindCase kind) {
    Outcomes();
    std::vector<v1::WorkerEvent> out;
    for (const auto& e : events_) {
      if (e.kind_case() == kind) out.push_back(e);
    }
    return out;
  }
  std::string TrialDir(int64_t trial_id, int64_t round = 1) const {
    return dir_ + "/trial-" + std::to_string(trial_id) + "-r" + std::to_string(round);
  }
  template <typename F>
  bool WaitFor(F done, int ms = 10000) {
    for (int i = 0; i < ms / 10; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  }

  testing::RedisServer redis_;
  Queue coord_{redis_.options(), "w"};
  std::string dir_;
  std::vector<v1::WorkerEvent> outcomes_;
  std::vector<v1::WorkerEvent> events_;
};

TEST_F(WorkerTest, FinishedTrialSendsItsResultThenAcknowledges) {
  Enqueue(7);
  WorkerOptions o = Options("a");
  o.one_shot = true;
  Worker worker(o, [](const Config& c, const std::string&, const TrialHooks& hooks) -> Result<TrialRun> {
    hooks.on_progress({1, c.optim.steps, 0.5, 1e-3, 10});
    TrialRun run;
    run.metrics["loss.total"] = 0.25;
    run.curve.push_back({1, 0.5, 0, 0, 0, 0, 1e-3});
    return run;
  });
  EXPECT_EQ(worker.Run(), 0);
  auto outcomes = Outcomes();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].trial_id(), 7);
  EXPECT_EQ(outcomes[0].delivery(), 1);
  EXPECT_EQ(outcomes[0].worker(), "a");
  EXPECT_TRUE(outcomes[0].outcome().ok());
  EXPECT_DOUBLE_EQ(outcomes[0].outcome().metrics().at("loss.total"), 0.25);
  EXPECT_EQ(outcomes[0].outcome().curve_size(), 1);
  EXPECT_EQ(coord_.PendingTrials().value(), 0);
  EXPECT_EQ(coord_.TrialsLength().value(), 0);
}

// A finished trial's folder (its network) is removed, or kept in
// --finished-dir with everything the trial wrote.
TEST_F(WorkerTest, AFinishedTrialsFolderIsRemovedOrKeptInTheFinishedDir) {
  const TrialFn writes = [](const Config& c, const std::string& dir, const TrialHooks&) -> Result<TrialRun> {
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/checkpoint.pt") << "network of trial " << c.run.seed;
    return TrialRun{};
  };
  Enqueue(7);
  WorkerOptions o = Options("a");
  o.one_shot = true;
  EXPECT_EQ(Worker(o, writes).Run(), 0);
  EXPECT_FALSE(std::filesystem::exists(TrialDir(7)));

  Enqueue(8);
  o.finished_dir = dir_ + "/finished";
  EXPECT_EQ(Worker(o, writes).Run(), 0);
  ASSERT_EQ(Outcomes().size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(TrialDir(8)));
  EXPECT_FALSE(std::filesystem::exists(TrialDir(8) + ".lock"));
  std::ifstream kept(dir_ + "/finished/trial-8-r1/checkpoint.pt");
  std::string text;
  std::getline(kept, text);
  EXPECT_EQ(text, "network of trial 8");

  // An earlier folder of the same trial and round is replaced.
  std::filesystem::create_directories(dir_ + "/finished/trial-11-r1");
  std::ofstream(dir_ + "/finished/trial-11-r1/old") << "old";
  Enqueue(11);
  EXPECT_EQ(Worker(o, writes).Run(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/finished/trial-11-r1/old"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/finished/trial-11-r1/checkpoint.pt"));

  // Misconfigured: the finished folder is the checkpoint folder itself (the
  // network stays where it is), or a file (it stays too, and is logged).
  // Neither may lose the network.
  Enqueue(9);
  o.finished_dir = dir_;
  EXPECT_EQ(Worker(o, writes).Run(), 0);
  std::ifstream same(TrialDir(9) + "/checkpoint.pt");
  std::getline(same, text);
  EXPECT_EQ(text, "network of trial 9");
  Enqueue(10);
  o.finished_dir = dir_ + "/a-file";
  std::ofstream(o.finished_dir) << "not a folder";
  EXPECT_EQ(Worker(o, writes).Run(), 0);
  std::ifstream stays(TrialDir(10) + "/checkpoint.pt");
  std::getline(stays, text);
  EXPECT_EQ(text, "network of trial 10");
  EXPECT_EQ(Outcomes().size(), 5u);
}

TEST_F(WorkerTest, IdleWorkerExitsAfterIdleExitSecondsAndABusyOneDoesNot) {
  WorkerOptions o = Options("a");
  o.one_shot = true;
  o.idle_exit_s = 1.5;
  o.block_ms = 200;
  std::atomic<int> calls{0};
  auto trial = [&](const Config&, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    ++calls;
    return TrialRun();
  };
  Worker idle(o, trial);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(idle.Run(), 0);  // returns by itself: nothing was queued
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  EXPECT_EQ(calls.load(), 0);
  // A trial that arrives within the idle time is run.
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    Enqueue(9);
  });
  Worker waiting(o, trial);
  EXPECT_EQ(waiting.Run(), 0);
  late.join();
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(WorkerTest, ErrorsAreRetriedUpToTheDeliveryLimitThenFailWithTheLastError) {
  Enqueue(8);
  WorkerOptions o = Options("a");
  o.max_deliveries = 2;
  std::atomic<int> calls{0};
  std::string trial_dir;
  Worker worker(o, [&](const Config&, const std::string& dir, const TrialHooks&) -> Result<TrialRun> {
    trial_dir = dir;
    std::filesystem::create_directories(dir + "/eval");  // as a checkpointing trial leaves it
    return Status::Error("boom " + std::to_string(++calls));
  });
  std::thread t([&] { worker.Run(); });
  EXPECT_TRUE(WaitFor([&] { return !Outcomes().empty(); }));
  worker.RequestStop();
  t.join();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_FALSE(trial_dir.empty());
  EXPECT_FALSE(std::filesystem::exists(trial_dir)) << "a finally failed trial leaves no checkpoint folder";
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_FALSE(outcomes_[0].outcome().ok());
  EXPECT_EQ(outcomes_[0].outcome().error(), "delivered 3 times (limit 2); last error: boom 2");
  EXPECT_EQ(coord_.PendingTrials().value(), 0);
}

// A worker that stops (SIGTERM: a scale-in, a rollout) gives its trial back
// checkpointed; that is no failure. Stopped three times over a delivery limit
// of 1, the trial still runs to its end on the fourth worker, and its
// delivery numbers still tell the attempts apart. A crash (no release) does
// count: the next test of the limit is ErrorsAreRetried... above.
TEST_F(WorkerTest, StoppingWorkersDoNotUseUpTheTrialsDeliveries) {
  Enqueue(10);
  for (int k = 1; k <= 3; ++k) {
    WorkerOptions o = Options("stopping-" + std::to_string(k));
    o.max_deliveries = 1;
    std::atomic<bool> started{false};
    Worker worker(o, [&](const Config&, const std::string&, const TrialHooks& hooks) -> Result<TrialRun> {
      started = true;
      while (!hooks.should_stop()) std::this_thread::sleep_for(milliseconds(5));
      TrialRun run;
      run.stopped = true;
      return run;
    });
    std::thread t([&] { worker.Run(); });
    ASSERT_TRUE(WaitFor([&] { return started.load(); })) << "stop " << k;
    worker.RequestStop();
    t.join();
  }
  WorkerOptions o = Options("last");
  o.max_deliveries = 1;
  o.one_shot = true;
  Worker last(o, [&](const Config&, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    TrialRun run;
    run.metrics["done"] = 1;
    return run;
  });
  EXPECT_EQ(last.Run(), 0);
  auto outcomes = Outcomes();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0].outcome().ok()) << outcomes[0].outcome().error();
  EXPECT_EQ(outcomes[0].worker(), "last");
  EXPECT_EQ(outcomes[0].delivery(), 4);
  EXPECT_EQ(coord_.PendingTrials().value(), 0);
  EXPECT_TRUE(coord_.client().Command({"HLEN", "w:stops"})->integer == 0) << "forgotten once acknowledged";
}

TEST_F(WorkerTest, AFolderLockExcludesOthersUntilReleasedAndLeavesNoFileBehind) {
  const std::string folder = dir_ + "/deeper/trial-1-r1";  // the parent is created
  auto first = FolderLock::TryLock(folder);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_NE(first.value(), nullptr);
  EXPECT_TRUE(std::filesystem::exists(folder + ".lock"));
  auto second = FolderLock::TryLock(folder);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.value(), nullptr);  // held: not an error, nobody's lock
  first.value().reset();
  EXPECT_FALSE(std::filesystem::exists(folder + ".lock"));
  auto third = FolderLock::TryLock(folder);
  ASSERT_TRUE(third.ok());
  EXPECT_NE(third.value(), nullptr);

  const std::string file = dir_ + "/a-file";
  std::ofstream(file) << "x";
  auto under_a_file = FolderLock::TryLock(file + "/trial-1-r1");
  ASSERT_FALSE(under_a_file.ok());
  EXPECT_NE(under_a_file.status().message().find("a-file/trial-1-r1.lock: cannot open the folder's lock: Not a directory"),
            std::string::npos)
      << under_a_file.status().message();
}

// ---- Two deliveries of one job at once (a lease taken over while the first
// worker trains on, as when Redis is away): one works in the folder at a time.

// A worker that lost its lease stops without a result; the delivery that
// took the trial over waits for the folder, then resumes what it left.
TEST_F(WorkerTest, WorkerThatLostItsLeaseStopsAndTheTakerResumesItsFolderAlone) {
  Enqueue(9);
  // a renews too rarely for its lease, so b takes the trial over while a
  // still trains; a learns it at its next heartbeat and stops.
  WorkerOptions slow = Options("a");
  slow.lease_ms = 300;
  slow.heartbeat_ms = 1500;
  std::atomic<int> inside{0}, most_inside{0};
  auto enter = [&] {
    const int now = ++inside;
    int seen = most_inside.load();
    while (now > seen && !most_inside.compare_exchange_weak(seen, now)) {
    }
  };
  std::atomic<bool> a_started{false};
  Worker a(slow, [&](const Config&, const std::string& dir, const TrialHooks& hooks) -> Result<TrialRun> {
    enter();
    a_started = true;
    while (!hooks.should_stop()) std::this_thread::sleep_for(milliseconds(5));
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/checkpoint") << "a's";  // what a leaves for the next delivery
    --inside;
    TrialRun run;
    run.stopped = true;
    return run;
  });
  std::thread ta([&] { a.Run(); });
  ASSERT_TRUE(WaitFor([&] { return a_started.load(); }));
  WorkerOptions fast = Options("b");
  fast.lease_ms = 300;
  fast.one_shot = true;
  std::string resumed;
  Worker b(fast, [&](const Config&, const std::string& dir, const TrialHooks&) -> Result<TrialRun> {
    enter();
    std::ifstream(dir + "/checkpoint") >> resumed;
    --inside;
    return TrialRun{};
  });
  EXPECT_EQ(b.Run(), 0);
  a.RequestStop();
  ta.join();
  EXPECT_EQ(most_inside.load(), 1);  // never both in the folder
  EXPECT_EQ(resumed, "a's");
  auto outcomes = Outcomes();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].worker(), "b");
  EXPECT_EQ(outcomes[0].delivery(), 2);
  EXPECT_TRUE(outcomes[0].outcome().ok());
  EXPECT_EQ(coord_.PendingTrials().value(), 0);
  EXPECT_FALSE(std::filesystem::exists(TrialDir(9)));  // removed once the result was in
  EXPECT_FALSE(std::filesystem::exists(TrialDir(9) + ".lock"));
}

TEST_F(WorkerTest, ADeliveryWaitingForItsFolderDropsTheTrialWhenTheOtherFinishesIt) {
  Enqueue(10);
  // a does not check should_stop: it finishes and delivers while b waits.
  WorkerOptions slow = Options("a");
  slow.lease_ms = 300;
  slow.heartbeat_ms = 5000;
  slow.one_shot = true;
  std::atomic<bool> a_started{false}, b_waits{false};
  Worker a(slow, [&](const Config&, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    a_started = true;
    while (!b_waits) std::this_thread::sleep_for(milliseconds(5));
    std::this_thread::sleep_for(milliseconds(300));  // b waits on the folder meanwhile
    TrialRun run;
    run.metrics["by"] = 1;
    return run;
  });
  std::thread ta([&] { a.Run(); });
  ASSERT_TRUE(WaitFor([&] { return a_started.load(); }));
  WorkerOptions fast = Options("b");
  fast.lease_ms = 300;
  fast.heartbeat_ms = 50;
  std::atomic<int> b_calls{0};
  Worker b(fast, [&](const Config&, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    ++b_calls;
    return TrialRun{};
  });
  std::thread tb([&] { b.Run(); });
  // b has claimed the entry once it is no longer a's.
  ASSERT_TRUE(WaitFor([&] { return coord_.PendingTrials().value() == 1 && a_started && [&] {
    auto p = coord_.client().Command({"XPENDING", coord_.trials_key("cpu"), "workers", "-", "+", "10"});
    return p.ok() && p->elements.size() == 1 && p->elements[0].elements[1].str.rfind("b/", 0) == 0;
  }(); }));
  b_waits = true;
  ta.join();
  ASSERT_TRUE(WaitFor([&] { return Outcomes().size() == 1; }));
  std::this_thread::sleep_for(milliseconds(300));  // b's heartbeats find the lease gone
  b.RequestStop();
  tb.join();
  EXPECT_EQ(b_calls.load(), 0);
  ASSERT_EQ(Outcomes().size(), 1u);
  EXPECT_EQ(outcomes_[0].worker(), "a");
  EXPECT_EQ(coord_.PendingTrials().value(), 0);
  EXPECT_FALSE(std::filesystem::exists(TrialDir(10)));
}

TEST_F(WorkerTest, TrialsOfCanceledSweepsAreSkipped) {
  ASSERT_TRUE(coord_.MarkCanceled(3).ok());
  Enqueue(10, /*sweep_id=*/3);
  std::atomic<int> calls{0};
  Worker worker(Options("a"), [&](const Config&, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    ++calls;
    return TrialRun{};
  });
  std::thread t([&] { worker.Run(); });
  EXPECT_TRUE(WaitFor([&] { return coord_.TrialsLength().value() == 0; }));
  worker.RequestStop();
  t.join();
  EXPECT_EQ(calls.load(), 0);
  EXPECT_TRUE(Outcomes().empty());
}

// ---- Rungs: a job with stop_at_step pauses there, keeps its checkpoint, and a
// later job of the same trial and round resumes from it.

TEST_F(WorkerTest, PausedTrialSendsPausedAcknowledgesAndKeepsItsCheckpointForThePromotion) {
  v1::TrialJob rung = Job(40);
  rung.set_ticket(1);
  rung.set_stop_at_step(300);
  EnqueueBytes(rung.SerializeAsString());
  WorkerOptions o = Options("a");
  o.one_shot = true;
  std::vector<std::pair<int64_t, bool>> calls;  // (stop_at_step, checkpoint found)
  auto trial = [&](const Config&, const std::string& dir, const TrialHooks& hooks) -> Result<TrialRun> {
    calls.emplace_back(hooks.stop_at_step, std::filesystem::exists(dir + "/checkpoint.pt"));
    std::filesystem::create_directories(dir);
    TrialRun run;
    if (hooks.stop_at_step > 0) {
      std::ofstream(dir + "/checkpoint.pt") << "step 300";
      hooks.on_curve({300, 0.5, 0.1, 0.1, 0.1, 0.1, 1e-3});  // logged after the last progress event
      run.paused = true;
      run.step = 300;
      run.metrics = {{"steps", 300}, {"loss.total", 0.5}, {"eval.2m.fraction_grid.0.3", 0.25}};
    } else {
      run.step = 2000000;
      run.metrics = {{"loss.total", 0.25}};
    }
    return run;
  };
  Worker first(o, trial);
  EXPECT_EQ(first.Run(), 0);
  auto paused = Events(v1::WorkerEvent::kPaused);
  ASSERT_EQ(paused.size(), 1u);
  EXPECT_TRUE(Outcomes().empty()) << "a paused trial has no outcome yet";
  EXPECT_EQ(paused[0].ticket(), 1);
  EXPECT_EQ(paused[0].paused().step(), 300);
  EXPECT_DOUBLE_EQ(paused[0].paused().metrics().at("eval.2m.fraction_grid.0.3"), 0.25);
  ASSERT_EQ(paused[0].paused().curve_size(), 1);
  EXPECT_EQ(paused[0].paused().curve(0).step(), 300);
  EXPECT_GT(paused[0].paused().finished_at(), 0);
  EXPECT_EQ(coord_.PendingTrials().value(), 0) << "the worker is released";
  EXPECT_TRUE(std::filesystem::exists(TrialDir(40) + "/checkpoint.pt")) << "the rung's checkpoint is kept";

  // The promotion: same trial and round, a new ticket, trained to the end.
  v1::TrialJob promoted = Job(40);
  promoted.set_ticket(2);
  EnqueueBytes(promoted.SerializeAsString());
  Worker second(o, trial);
  EXPECT_EQ(second.Run(), 0);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0], std::make_pair(int64_t{300}, false));
  EXPECT_EQ(calls[1], std::make_pair(int64_t{0}, true)) << "the promotion resumes from the rung's checkpoint";
  auto outcomes = Outcomes();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].ticket(), 2);
  EXPECT_TRUE(outcomes[0].outcome().ok());
  EXPECT_FALSE(std::filesystem::exists(TrialDir(40))) << "a finished trial's checkpoint is removed";
}

// ---- Preemption: a job named in <prefix>:preempt (with its ticket)
// checkpoints at its next heartbeat, sends Preempted with its step, is
// acknowledged and keeps the checkpoint; the next job resumes it. A request
// for another ticket of the trial stops nothing.
TEST_F(WorkerTest, AJobAskedToMakeRoomCheckpointsSendsPreemptedAndTheNextJobResumesIt) {
  v1::TrialJob job = Job(50);
  job.set_ticket(7);
  EnqueueBytes(job.SerializeAsString());
  WorkerOptions o = Options("a");
  o.one_shot = true;
  o.heartbeat_ms = 20;
  std::atomic<int64_t> step{0};
  std::vector<int64_t> resumed_at;  // the checkpoint's step each call found (0: none)
  auto trial = [&](const Config&, const std::string& dir, const TrialHooks& hooks) -> Result<TrialRun> {
    std::filesystem::create_directories(dir);
    int64_t at = 0;
    std::ifstream(dir + "/checkpoint.pt") >> at;
    resumed_at.push_back(at);
    TrialRun run;
    for (step = at; step < 20000; ++step) {
      if (step % 100 == 0) hooks.on_curve({step + 1, 1.0, 0, 0, 0, 0, 1e-3});
      if (hooks.should_stop()) {
        std::ofstream(dir + "/checkpoint.pt") << step.load();
        run.stopped = true;
        run.step = step;
        return run;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    run.step = step;
    run.metrics = {{"loss.total", 0.25}};
    return run;
  };
  Worker first(o, trial);
  std::thread t([&] { first.Run(); });
  ASSERT_TRUE(WaitFor([&] { return step.load() > 50; }));
  // Another ticket of the trial (an answered request): nothing happens.
  ASSERT_TRUE(coord_.RequestPreempt(50, 6).ok());
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_TRUE(Events(v1::WorkerEvent::kPreempted).empty());
  ASSERT_TRUE(coord_.RequestPreempt(50, 7).ok());
  t.join();  // one-shot: the slot ends with the job
  auto preempted = Events(v1::WorkerEvent::kPreempted);
  ASSERT_EQ(preempted.size(), 1u);
  EXPECT_TRUE(Outcomes().empty()) << "a preempted trial has no outcome";
  EXPECT_EQ(preempted[0].ticket(), 7);
  const int64_t stopped_at = preempted[0].preempted().step();
  EXPECT_GT(stopped_at, 50);
  EXPECT_GT(preempted[0].preempted().finished_at(), 0);
  EXPECT_EQ(coord_.TrialsLength().value(), 0) << "the job is acknowledged: its worker is free";
  EXPECT_TRUE(std::filesystem::exists(TrialDir(50) + "/checkpoint.pt")) << "the checkpoint is kept";

  // Fed again with a new ticket (the request names the old one): it resumes and finishes.
  job.set_ticket(8);
  EnqueueBytes(job.SerializeAsString());
  Worker second(o, trial);
  EXPECT_EQ(second.Run(), 0);
  ASSERT_EQ(resumed_at.size(), 2u);
  EXPECT_EQ(resumed_at[0], 0);
  EXPECT_EQ(resumed_at[1], stopped_at) << "the next job resumes where the preempted one stopped";
  auto outcomes = Outcomes();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].ticket(), 8);
  EXPECT_TRUE(outcomes[0].outcome().ok());
}

// A job asked to make room while it waited in the stream (it stood ahead of a
// preempting sweep's trials) is given back unstarted; a job of the same trial
// with another ticket runs.
TEST_F(WorkerTest, AJobAskedToMakeRoomBeforeItStartsIsGivenBackUnstarted) {
  v1::TrialJob job = Job(51);
  job.set_ticket(4);
  EnqueueBytes(job.SerializeAsString());
  ASSERT_TRUE(coord_.RequestPreempt(51, 4).ok());
  job.set_ticket(5);
  EnqueueBytes(job.SerializeAsString());  // fed again later: its request named ticket 4
  WorkerOptions o = Options("a");
  std::vector<int64_t> ran;  // one entry per job that trained
  Worker worker(o, [&](const Config&, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    ran.push_back(51);
    TrialRun run;
    run.step = 100;
    return run;
  });
  std::thread t([&] { worker.Run(); });
  EXPECT_TRUE(WaitFor([&] { return coord_.TrialsLength().value() == 0 && coord_.PendingTrials().value() == 0; }));
  worker.RequestStop();
  t.join();
  auto outcomes = Outcomes();
  auto preempted = Events(v1::WorkerEvent::kPreempted);
  ASSERT_EQ(preempted.size(), 1u);
  EXPECT_EQ(preempted[0].ticket(), 4);
  EXPECT_EQ(preempted[0].preempted().step(), 0) << "nothing trained: the store keeps steps_done";
  EXPECT_TRUE(preempted[0].preempted().curve().empty());
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].ticket(), 5);
  EXPECT_EQ(ran.size(), 1u) << "only the job that was not asked trained";
}

TEST_F(WorkerTest, PauseJobBehindTheCheckpointIsAcknowledgedWithoutAnEvent) {
  v1::TrialJob stale = Job(41);
  stale.set_stop_at_step(300);
  EnqueueBytes(stale.SerializeAsString());
  WorkerOptions o = Options("a");
  o.one_shot = true;
  Worker worker(o, [&](const Config&, const std::string& dir, const TrialHooks&) -> Result<TrialRun> {
    std::filesystem::create_directories(dir);
    TrialRun run;
    run.stale = true;
    run.step = 900;
    return run;
  });
  EXPECT_EQ(worker.Run(), 0);
  Outcomes();
  for (const auto& e : events_) EXPECT_TRUE(e.has_progress()) << e.DebugString();
  EXPECT_EQ(coord_.PendingTrials().value(), 0);
  EXPECT_EQ(coord_.TrialsLength().value(), 0);
  EXPECT_TRUE(std::filesystem::exists(TrialDir(41))) << "the later job's checkpoint is not this job's to remove";
}

TEST_F(WorkerTest, DiscardRemovesTheCheckpointAndRunsNothing) {
  std::filesystem::create_directories(TrialDir(42, 3));
  std::ofstream(TrialDir(42, 3) + "/checkpoint.pt") << "step 300";
  std::filesystem::create_directories(TrialDir(43, 1));  // another trial's: untouched
  v1::TrialJob discard;
  discard.set_trial_id(42);
  discard.set_sweep_id(1);
  discard.set_round(3);
  discard.set_ticket(9);
  discard.set_discard(true);  // no config
  EnqueueBytes(discard.SerializeAsString());
  std::atomic<int> calls{0};
  Worker worker(Options("a"), [&](const Config&, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    ++calls;
    return TrialRun{};
  });
  std::thread t([&] { worker.Run(); });
  EXPECT_TRUE(WaitFor([&] { return coord_.TrialsLength().value() == 0 && coord_.PendingTrials().value() == 0; }));
  worker.RequestStop();
  t.join();
  EXPECT_EQ(calls.load(), 0);
  EXPECT_FALSE(std::filesystem::exists(TrialDir(42, 3)));
  EXPECT_TRUE(std::filesystem::exists(TrialDir(43, 1)));
  Outcomes();
  EXPECT_TRUE(events_.empty()) << "a discard sends nothing";
}

// An early-stopped or canceled trial's network is a result too: with a
// finished_dir its discard job keeps the folder there instead of deleting it.
TEST_F(WorkerTest, ADiscardKeepsTheFolderInTheFinishedDir) {
  std::filesystem::create_directories(TrialDir(42, 3));
  std::ofstream(TrialDir(42, 3) + "/checkpoint.pt") << "step 300";
  v1::TrialJob discard;
  discard.set_trial_id(42);
  discard.set_sweep_id(1);
  discard.set_round(3);
  discard.set_ticket(9);
  discard.set_discard(true);
  EnqueueBytes(discard.SerializeAsString());
  WorkerOptions o = Options("a");
  o.finished_dir = dir_ + "/finished";
  Worker worker(o, [&](const Config&, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    ADD_FAILURE() << "a discard runs nothing";
    return TrialRun{};
  });
  std::thread t([&] { worker.Run(); });
  EXPECT_TRUE(WaitFor([&] { return coord_.TrialsLength().value() == 0 && coord_.PendingTrials().value() == 0; }));
  worker.RequestStop();
  t.join();
  EXPECT_FALSE(std::filesystem::exists(TrialDir(42, 3)));
  EXPECT_FALSE(std::filesystem::exists(TrialDir(42, 3) + ".lock"));
  std::ifstream kept(o.finished_dir + "/trial-42-r3/checkpoint.pt");
  std::string text;
  std::getline(kept, text);
  EXPECT_EQ(text, "step 300");
}

TEST_F(WorkerTest, ProgressCarriesTheNewCurvePointsAndProbesSendEvaluations) {
  Enqueue(44);
  WorkerOptions o = Options("a");
  o.one_shot = true;  // progress_ms = 0: every progress call sends an event
  Worker worker(o, [&](const Config& c, const std::string&, const TrialHooks& hooks) -> Result<TrialRun> {
    for (int64_t k = 1; k <= 450; ++k) hooks.on_curve({10 * k, 1.0 / k, 0, 0, 0, 0, 1e-3});
    hooks.on_progress({4500, c.optim.steps, 0.1, 1e-3, 100});
    hooks.on_curve({4510, 0.1, 0, 0, 0, 0, 1e-3});
    hooks.on_curve({4520, 0.1, 0, 0, 0, 0, 1e-3});
    hooks.on_progress({4520, c.optim.steps, 0.1, 1e-3, 100});
    hooks.on_progress({4521, c.optim.steps, 0.1, 1e-3, 100});
    hooks.on_evaluation(4000, {{"eval.2m.n_grid", 6}, {"eval.2m.max_score60", 0.45}},
                        {{"arena_2m/ratemaps.png", "image/png", "\x89PNG..."}});
    return TrialRun{};
  });
  EXPECT_EQ(worker.Run(), 0);
  std::vector<v1::WorkerEvent> progress;
  for (const auto& e : Events(v1::WorkerEvent::kProgress)) {
    if (e.progress().step() > 0) progress.push_back(e);  // not the "running" event
  }
  ASSERT_EQ(progress.size(), 3u);
  const auto& batch = progress[0].progress().curve();
  ASSERT_EQ(batch.size(), 200) << "bounded, the newest kept";
  EXPECT_EQ(batch.Get(0).step(), 2510);
  EXPECT_EQ(batch.Get(199).step(), 4500);
  ASSERT_EQ(progress[1].progress().curve_size(), 2) << "only the points since the previous event";
  EXPECT_EQ(progress[1].progress().curve(1).step(), 4520);
  EXPECT_EQ(progress[2].progress().curve_size(), 0);
  auto evaluations = Events(v1::WorkerEvent::kEvaluation);
  ASSERT_EQ(evaluations.size(), 1u);
  EXPECT_EQ(evaluations[0].evaluation().step(), 4000);
  EXPECT_DOUBLE_EQ(evaluations[0].evaluation().metrics().at("eval.2m.n_grid"), 6);
  ASSERT_EQ(evaluations[0].evaluation().artifacts_size(), 1) << "the probe's pictures go with it";
  EXPECT_EQ(evaluations[0].evaluation().artifacts(0).name(), "arena_2m/ratemaps.png");
  ASSERT_EQ(Outcomes().size(), 1u);
}

// ---- Nothing a trial throws ends the worker: the attempt fails, the next trial runs.

struct Thrower {
  const char* name;
  std::function<void()> fn;
  const char* error;  // what the trial's final error then says
};
void PrintTo(const Thrower& t, std::ostream* os) { *os << t.name; }

class WorkerThrowTest : public WorkerTest, public ::testing::WithParamInterface<Thrower> {};

TEST_P(WorkerThrowTest, TrialThatThrowsFailsItsAttemptsAndTheNextTrialRuns) {
  Enqueue(11);
  Enqueue(12);
  WorkerOptions o = Options("a");
  o.max_deliveries = 1;
  std::atomic<int> finished{0};
  Worker worker(o, [&](const Config& c, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    if (c.run.seed == 11) GetParam().fn();
    ++finished;
    return TrialRun{};
  });
  std::thread t([&] { worker.Run(); });
  EXPECT_TRUE(WaitFor([&] { return Outcomes().size() == 2; }));
  worker.RequestStop();
  t.join();
  ASSERT_EQ(outcomes_.size(), 2u);
  for (const auto& e : outcomes_) {
    if (e.trial_id() == 12) {
      EXPECT_TRUE(e.outcome().ok());
    } else {
      EXPECT_EQ(e.trial_id(), 11);
      EXPECT_FALSE(e.outcome().ok());
      EXPECT_EQ(e.outcome().error(), std::string("delivered 2 times (limit 1); last error: ") + GetParam().error);
    }
  }
  EXPECT_EQ(finished.load(), 1);
  EXPECT_EQ(coord_.PendingTrials().value(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Exceptions, WorkerThrowTest,
    ::testing::Values(
        Thrower{"RuntimeError", [] { throw std::runtime_error("device-side assert\nbacktrace..."); },
                "trial failed: device-side assert"},
        Thrower{"BadAlloc", [] { throw std::bad_alloc(); }, "trial failed: out of memory (std::bad_alloc)"},
        Thrower{"FilesystemError",
                [] { throw std::filesystem::filesystem_error("cannot create directories", "/ckpt/x",
                                                             std::make_error_code(std::errc::no_space_on_device)); },
                "trial failed: filesystem error: cannot create directories: No space left on device [/ckpt/x]"},
        Thrower{"NotAnException", [] { throw 42; },
                "trial failed: an exception that is not a std::exception"}),
    [](const ::testing::TestParamInfo<Thrower>& info) { return std::string(info.param.name); });

TEST_F(WorkerTest, CheckpointDirThatIsAFileFailsTheTrialsNotTheWorker) {
  const std::string file = dir_ + "/not-a-directory";
  std::ofstream(file) << "x";
  Enqueue(13);
  Enqueue(14);
  WorkerOptions o = Options("a");
  o.checkpoint_dir = file;
  o.max_deliveries = 1;
  std::atomic<int> calls{0};
  Worker worker(o, [&](const Config&, const std::string& dir, const TrialHooks&) -> Result<TrialRun> {
    ++calls;
    std::filesystem::create_directories(dir);  // throws, as an unguarded trial would
    return TrialRun{};
  });
  std::thread t([&] { worker.Run(); });
  EXPECT_TRUE(WaitFor([&] { return Outcomes().size() == 2; }));
  worker.RequestStop();
  t.join();
  ASSERT_EQ(outcomes_.size(), 2u);
  for (const auto& e : outcomes_) {
    EXPECT_FALSE(e.outcome().ok());
    EXPECT_NE(e.outcome().error().find("Not a directory"), std::string::npos) << e.outcome().error();
  }
  EXPECT_EQ(calls.load(), 0);  // the folder's lock fails first, naming the reason
  EXPECT_TRUE(std::filesystem::is_regular_file(file));
}

// ---- Malformed jobs: failed at once when the trial id is readable, else dropped.

TEST_F(WorkerTest, MalformedJobsAreFailedOrDroppedAndTheNextTrialRuns) {
  EnqueueBytes(std::string("\x0f not a protobuf", 16));  // wire type 7 does not exist
  v1::TrialJob no_id = Job(20);
  no_id.set_trial_id(0);
  EnqueueBytes(no_id.SerializeAsString());
  v1::TrialJob torn = Job(21);
  torn.set_config_json("{\"run\": ");
  EnqueueBytes(torn.SerializeAsString());
  v1::TrialJob deep = Job(22);
  deep.set_config_json(std::string(100000, '[') + std::string(100000, ']'));
  EnqueueBytes(deep.SerializeAsString());
  v1::TrialJob out_of_range = Job(23);
  out_of_range.set_config_json("{\"loss\": {\"sigma_g\": -1}}");
  EnqueueBytes(out_of_range.SerializeAsString());
  v1::TrialJob past_the_end = Job(26);
  past_the_end.set_stop_at_step(2000001);  // optim.steps is 2000000
  EnqueueBytes(past_the_end.SerializeAsString());
  v1::TrialJob forged_name = Job(24);
  forged_name.set_name("t24\n[worker] trial 1: finished");
  EnqueueBytes(forged_name.SerializeAsString());
  Enqueue(25);

  std::vector<int64_t> ran;
  std::mutex mu;
  Worker worker(Options("a"), [&](const Config& c, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    std::lock_guard<std::mutex> lock(mu);
    ran.push_back(c.run.seed);
    return TrialRun{};
  });
  std::thread t([&] { worker.Run(); });
  EXPECT_TRUE(WaitFor([&] { return Outcomes().size() >= 6 && coord_.TrialsLength().value() == 0; }));
  worker.RequestStop();
  t.join();
  EXPECT_EQ(ran, std::vector<int64_t>{25});
  std::map<int64_t, v1::WorkerEvent> by_trial;
  for (const auto& e : outcomes_) by_trial[e.trial_id()] = e;
  ASSERT_EQ(by_trial.size(), 6u);
  const std::map<int64_t, std::string> errors = {
      {21, "malformed job: job: config: malformed JSON: "},
      {22, "malformed job: job: config: nested deeper than 8 levels"},
      {23, "malformed job: job: config: loss.sigma_g: "},
      {24, "malformed job: job: name contains a control character"},
      {26, "malformed job: job: stop_at_step 2000001 is out of range (must be in [0, 2000000], optim.steps)"},
  };
  for (const auto& [id, prefix] : errors) {
    const auto& e = by_trial[id];
    EXPECT_FALSE(e.outcome().ok()) << id;
    EXPECT_EQ(e.delivery(), 1) << id << ": failed at once, not retried";
    EXPECT_EQ(e.outcome().error().rfind(prefix, 0), 0u) << e.outcome().error();
    EXPECT_EQ(e.outcome().error().find('\n'), std::string::npos);
  }
  EXPECT_TRUE(by_trial[25].outcome().ok());
  EXPECT_EQ(coord_.PendingTrials().value(), 0);
}

// ---- Devices: the worker, not the trial's config, chooses where it runs.

TEST_F(WorkerTest, EachGpuSlotPlacesItsTrialOnItsOwnDevice) {
  ASSERT_TRUE(coord_.EnsureGroups({"cuda"}).ok());
  for (int64_t id : {41, 42}) {
    v1::TrialJob job = Job(id);
    Config config;
    config.run.seed = id;
    config.run.device = "cuda:9";  // what the config asks is not what it gets
    job.set_config_json(ConfigToJson(config).dump());
    job.set_device_class("cuda");
    ASSERT_TRUE(coord_.AddTrial("cuda", job.SerializeAsString()).ok());
  }
  Enqueue(43);  // a cpu trial: never claimed by this worker
  WorkerOptions o = Options("g");
  o.classes = {"cuda"};
  o.gpus = {2, 5};
  o.gpu_memory_gb = 80;
  std::mutex mu;
  std::set<std::string> devices;
  std::atomic<int> started{0};
  std::atomic<bool> finish{false};
  Worker w(o, [&](const Config& config, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    {
      std::lock_guard<std::mutex> lock(mu);
      devices.insert(config.run.device);
    }
    ++started;
    while (!finish) std::this_thread::sleep_for(milliseconds(5));
    return TrialRun{};
  });
  std::thread t([&] { w.Run(); });
  const bool both = WaitFor([&] { return started == 2; });
  // The registry says what the worker serves and has.
  v1::Worker seen;
  const bool registered = WaitFor([&] {
    auto all = coord_.Workers();
    return all.ok() && !all->empty() && seen.ParseFromString(all->front());
  });
  finish = true;
  ASSERT_TRUE(WaitFor([&] { return Outcomes().size() >= 2; }));
  w.RequestStop();
  t.join();
  ASSERT_TRUE(both) << "two GPU slots did not run two trials side by side";
  EXPECT_EQ(devices, (std::set<std::string>{"cuda:2", "cuda:5"}));
  for (const auto& e : Outcomes()) EXPECT_NE(e.trial_id(), 43) << "a cuda worker ran a cpu trial";
  EXPECT_EQ(coord_.TrialsLength("cpu").value(), 1);
  ASSERT_TRUE(registered);
  EXPECT_EQ(seen.concurrency(), 2);
  ASSERT_EQ(seen.classes_size(), 1);
  EXPECT_EQ(seen.classes(0), "cuda");
  ASSERT_EQ(seen.gpus_size(), 2);
  EXPECT_EQ(seen.gpus(0).index(), 2);
  EXPECT_EQ(seen.gpus(1).index(), 5);
  EXPECT_EQ(seen.gpus(1).memory_gb(), 80);
  EXPECT_EQ(seen.gpu_memory_gb(), 80);
}

// --trials-per-gpu: small networks share a GPU (their steps are launch-bound).
// Each GPU gets as many slots, and each slot claims only its share of the
// GPU's memory: 80 GB shared by two serves 40 GB trials, not 60 GB ones.
TEST_F(WorkerTest, TrialsPerGpuShareEachGpuAndEachClaimsItsShareOfTheMemory) {
  ASSERT_TRUE(coord_.EnsureGroups({"cuda", "cuda@40", "cuda@60"}).ok());
  for (int64_t id : {61, 62, 63, 64}) {
    v1::TrialJob job = Job(id);
    job.set_device_class("cuda");
    ASSERT_TRUE(coord_.AddTrial("cuda", job.SerializeAsString()).ok());
  }
  for (const auto& [id, queue] : {std::pair<int64_t, const char*>{65, "cuda@40"}, {66, "cuda@60"}}) {
    v1::TrialJob job = Job(id);
    job.set_device_class(queue);
    ASSERT_TRUE(coord_.AddTrial(queue, job.SerializeAsString()).ok());
  }
  WorkerOptions o = Options("shared");
  o.classes = {"cuda"};
  o.gpus = {2, 5};
  o.trials_per_gpu = 2;
  o.gpu_memory_gb = 80;
  std::mutex mu;
  std::multiset<std::string> devices;
  std::set<int64_t> ran;
  std::atomic<int> started{0};
  std::atomic<bool> finish{false};
  Worker w(o, [&](const Config& config, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (started < 4) devices.insert(config.run.device);
      ran.insert(config.run.seed);
    }
    ++started;
    while (!finish) std::this_thread::sleep_for(milliseconds(5));
    return TrialRun{};
  });
  std::thread t([&] { w.Run(); });
  const bool four = WaitFor([&] { return started >= 4; });
  v1::Worker seen;
  const bool registered = WaitFor([&] {
    auto all = coord_.Workers();
    return all.ok() && !all->empty() && seen.ParseFromString(all->front());
  });
  finish = true;
  const bool five = WaitFor([&] { return Outcomes().size() >= 5; });
  w.RequestStop();
  t.join();
  ASSERT_TRUE(four) << "four slots did not run four trials side by side";
  EXPECT_EQ(devices, (std::multiset<std::string>{"cuda:2", "cuda:2", "cuda:5", "cuda:5"}));
  ASSERT_TRUE(five);
  EXPECT_EQ(ran, (std::set<int64_t>{61, 62, 63, 64, 65}));
  EXPECT_EQ(coord_.PendingTrials("cuda@60").value(), 0) << "a 40 GB share claimed a 60 GB trial";
  EXPECT_EQ(coord_.TrialsLength("cuda@60").value(), 1);
  ASSERT_TRUE(registered);
  EXPECT_EQ(seen.concurrency(), 4);
  EXPECT_EQ(seen.gpu_memory_gb(), 40);  // what one of its trials may need
  ASSERT_EQ(seen.gpus_size(), 2);
  EXPECT_EQ(seen.gpus(0).memory_gb(), 80);  // what each GPU has
}

TEST_F(WorkerTest, AWorkerWithoutGpusRunsItsTrialsOnTheCpu) {
  // A worker of class cuda with no --gpus stands in for a GPU worker (CI):
  // it runs what it claims on the CPU, whatever run.device says.
  ASSERT_TRUE(coord_.EnsureGroups({"cuda"}).ok());
  v1::TrialJob job = Job(44);
  Config config;
  config.run.device = "cuda";
  job.set_config_json(ConfigToJson(config).dump());
  ASSERT_TRUE(coord_.AddTrial("cuda", job.SerializeAsString()).ok());
  WorkerOptions o = Options("c");
  o.classes = {"cpu", "cuda"};
  o.one_shot = true;
  std::string device;
  Worker w(o, [&](const Config& c, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    device = c.run.device;
    return TrialRun{};
  });
  EXPECT_EQ(w.Run(), 0);
  EXPECT_EQ(device, "cpu");
  ASSERT_EQ(Outcomes().size(), 1u);
  EXPECT_EQ(coord_.PendingTrials("cuda").value(), 0);
  EXPECT_EQ(coord_.TrialsLength("cuda").value(), 0);  // acknowledged on its own stream
}

TEST_F(WorkerTest, OnlyAWorkerWithEnoughGpuMemoryClaimsFromAMemoryQueue) {
  // Trial 51 needs 40 GB per GPU (queue cuda@40), trial 52 any cuda GPU.
  ASSERT_TRUE(coord_.EnsureGroups({"cuda", "cuda@40"}).ok());
  v1::TrialJob big = Job(51);
  big.set_device_class("cuda@40");
  ASSERT_TRUE(coord_.AddTrial("cuda@40", big.SerializeAsString()).ok());
  v1::TrialJob any = Job(52);
  any.set_device_class("cuda");
  ASSERT_TRUE(coord_.AddTrial("cuda", any.SerializeAsString()).ok());
  std::vector<int64_t> ran;  // by the 24 GB worker, then by the 80 GB one
  auto run = [&](const Config& c, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    ran.push_back(c.run.seed);
    return TrialRun{};
  };
  WorkerOptions small = Options("small");
  small.classes = {"cuda"};
  small.gpu_memory_gb = 24;
  small.idle_exit_s = 1;  // it takes 52, then finds nothing it may run
  EXPECT_EQ(Worker(small, run).Run(), 0);
  EXPECT_EQ(ran, (std::vector<int64_t>{52}));
  EXPECT_EQ(coord_.TrialsLength("cuda@40").value(), 1);
  EXPECT_EQ(coord_.PendingTrials("cuda@40").value(), 0) << "the 24 GB worker claimed the 40 GB trial";

  // The 80 GB worker prefers the trial only it can run; it finds the memory
  // queue itself (it was not named on its command line).
  ASSERT_TRUE(coord_.AddTrial("cuda", any.SerializeAsString()).ok());
  WorkerOptions large = Options("large");
  large.classes = {"cuda"};
  large.gpu_memory_gb = 80;
  large.one_shot = true;
  EXPECT_EQ(Worker(large, run).Run(), 0);
  EXPECT_EQ(ran, (std::vector<int64_t>{52, 51}));
  EXPECT_EQ(coord_.TrialsLength("cuda@40").value(), 0);
}

// ---- SIGTERM while Redis is away: the result cannot be sent, so the
// checkpoint folder stays for the delivery that will send it.

TEST_F(WorkerTest, StopDuringARedisOutageKeepsTheCheckpointUntilTheResultIsIn) {
  testing::RedisServer aof("", /*aof=*/true);
  ASSERT_TRUE(aof.ok());
  Queue q(aof.options(), "w");
  ASSERT_TRUE(q.EnsureGroups({"cpu"}).ok());
  v1::TrialJob job = Job(30);
  ASSERT_TRUE(q.AddTrial("cpu", job.SerializeAsString()).ok());
  WorkerOptions o = Options("a");
  o.redis = aof.options();
  o.lease_ms = 500;
  std::atomic<bool> started{false}, finish{false};
  std::string trial_dir;
  Worker a(o, [&](const Config&, const std::string& dir, const TrialHooks&) -> Result<TrialRun> {
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/checkpoint.pt") << "step 1000 of 1000";
    trial_dir = dir;
    started = true;
    while (!finish) std::this_thread::sleep_for(milliseconds(5));
    return TrialRun{};  // finished, just as the worker is told to stop
  });
  std::thread ta([&] { a.Run(); });
  ASSERT_TRUE(WaitFor([&] { return started.load(); }));
  aof.Stop();
  a.RequestStop();
  finish = true;
  ta.join();
  EXPECT_TRUE(std::filesystem::exists(trial_dir + "/checkpoint.pt")) << "the finished trial's progress was lost";

  // Redis is back: the entry is still claimed and unacknowledged; the next
  // delivery finds the checkpoint, sends the result and only then removes it.
  ASSERT_TRUE(aof.Start());
  ASSERT_TRUE(WaitFor([&] { return q.PendingTrials().ok(); }));
  EXPECT_EQ(q.PendingTrials().value(), 1);
  WorkerOptions ob = o;
  ob.name = "b";
  ob.one_shot = true;
  bool resumed = false;
  Worker b(ob, [&](const Config&, const std::string& dir, const TrialHooks&) -> Result<TrialRun> {
    resumed = std::filesystem::exists(dir + "/checkpoint.pt");
    return TrialRun{};
  });
  EXPECT_EQ(b.Run(), 0);
  EXPECT_TRUE(resumed);
  EXPECT_FALSE(std::filesystem::exists(trial_dir));
  EXPECT_EQ(q.PendingTrials().value(), 0);
  auto results = q.ReadResults("c", 1000, 10);
  ASSERT_TRUE(results.ok());
  int outcomes = 0;
  for (const auto& r : results.value()) {
    v1::WorkerEvent e;
    ASSERT_TRUE(e.ParseFromString(r.payload));
    if (e.has_outcome()) {
      ++outcomes;
      EXPECT_EQ(e.worker(), "b");
      EXPECT_TRUE(e.outcome().ok());
    }
  }
  EXPECT_EQ(outcomes, 1);
}

}  // namespace
}  // namespace sic
