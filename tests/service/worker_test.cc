// The worker's queue logic against a real redis-server, with stand-in trial
// functions instead of LibTorch: result then acknowledgement, errors retried
// up to the delivery limit, a lost lease dropped without a result, canceled
// sweeps skipped.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "common/queue.h"
#include "proto/sweep.pb.h"
#include "redis_server.h"
#include "worker/worker.h"

namespace sic {
namespace {

using std::chrono::milliseconds;

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.ok());
    ASSERT_TRUE(coord_.EnsureGroups().ok());
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
  void Enqueue(int64_t trial_id, int64_t sweep_id = 1) {
    v1::TrialJob job;
    job.set_trial_id(trial_id);
    job.set_sweep_id(sweep_id);
    job.set_round(1);
    job.set_name("t" + std::to_string(trial_id));
    job.set_config_json(ConfigToJson(Config{}).dump());
    ASSERT_TRUE(coord_.AddTrial(job.SerializeAsString()).ok());
  }
  // Outcome events so far (progress events are read and dropped).
  std::vector<v1::WorkerEvent> Outcomes() {
    auto entries = coord_.ReadResults("c", 1000, 10);
    EXPECT_TRUE(entries.ok());
    for (const auto& e : entries.value()) {
      v1::WorkerEvent event;
      EXPECT_TRUE(event.ParseFromString(e.payload));
      if (event.has_outcome()) outcomes_.push_back(event);
      EXPECT_TRUE(coord_.AckResult(e.id).ok());
    }
    return outcomes_;
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

TEST_F(WorkerTest, WorkerThatLostItsLeaseDropsTheTrialWithoutAResult) {
  Enqueue(9);
  // a renews too rarely for its lease, so b takes the trial over.
  WorkerOptions slow = Options("a");
  slow.lease_ms = 300;
  slow.heartbeat_ms = 1500;
  std::atomic<bool> a_started{false}, a_stopped{false};
  Worker a(slow, [&](const Config&, const std::string&, const TrialHooks& hooks) -> Result<TrialRun> {
    a_started = true;
    while (!hooks.should_stop()) std::this_thread::sleep_for(milliseconds(5));
    a_stopped = true;
    TrialRun run;
    run.stopped = true;
    return run;
  });
  std::thread ta([&] { a.Run(); });
  ASSERT_TRUE(WaitFor([&] { return a_started.load(); }));
  WorkerOptions fast = Options("b");
  fast.lease_ms = 300;
  fast.one_shot = true;
  Worker b(fast, [&](const Config&, const std::string&, const TrialHooks&) -> Result<TrialRun> {
    TrialRun run;
    run.metrics["by"] = 2;
    return run;
  });
  EXPECT_EQ(b.Run(), 0);
  EXPECT_TRUE(WaitFor([&] { return a_stopped.load(); }));  // a's next heartbeat finds it lost
  a.RequestStop();
  ta.join();
  auto outcomes = Outcomes();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].worker(), "b");
  EXPECT_EQ(outcomes[0].delivery(), 2);
  EXPECT_EQ(coord_.PendingTrials().value(), 0);
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

}  // namespace
}  // namespace sic
