// The SQLite store on a real file: migrations, the trial life cycle, results
// idempotent on (trial, round, delivery), cancel and retry, and reopening.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include <sqlite3.h>

#include "common/store.h"
#include "common/trial_state.h"
#include "tests/service/store_fixture.h"

namespace sic {
namespace {

namespace fs = std::filesystem;

TEST_F(StoreTest, MigratesToCurrentSchemaInWalMode) {
  EXPECT_EQ(store_->schema_version(), Store::kSchemaVersion);
  EXPECT_TRUE(fs::exists(path_ + "-wal"));
  Reopen();  // migrating an up-to-date file is a no-op
  EXPECT_EQ(store_->schema_version(), Store::kSchemaVersion);
}

TEST_F(StoreTest, SweepTrialsStartPendingAndAreQueuedOnce) {
  const int64_t id = Submit(R"({"name": "s", "ablations": {"a": {"loss.lambda_cap": 0}}, "seeds": 2})");
  auto sweep = store_->GetSweep(id);
  ASSERT_TRUE(sweep.ok());
  EXPECT_EQ(sweep->name, "s");
  EXPECT_EQ(sweep->total, 4);
  EXPECT_EQ(sweep->counts["pending"], 4);
  EXPECT_FALSE(sweep->done());

  auto pending = store_->PendingTrials(3);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_EQ(pending->at(0).round, 1);
  EXPECT_EQ(pending->at(0).name, "baseline/seed=0");  // in trial index order
  ASSERT_TRUE(store_->MarkQueued({pending->at(0).id, pending->at(1).id, pending->at(2).id}).ok());
  EXPECT_EQ(store_->PendingTrials(10)->size(), 1u);
  // The stored config is the full effective config.
  auto trial = store_->GetTrial(pending->at(2).id);  // "a/seed=0"
  ASSERT_TRUE(trial.ok());
  EXPECT_EQ(trial->status, "queued");
  EXPECT_EQ(trial->config["loss"]["lambda_cap"], 0);
  EXPECT_EQ(trial->config["optim"]["steps"], 2000000);
}

TEST_F(StoreTest, DeviceClassesAreThoseOfTrialsNotYetFinalAndCpu) {
  EXPECT_EQ(store_->DeviceClasses().value(), (std::vector<std::string>{"cpu"}));  // always kept
  const int64_t id = Submit(R"({"name": "d", "ablations": {"gpu": {"run.device": "cuda:1"}}, "seeds": 1})");
  auto classes = store_->DeviceClasses();
  ASSERT_TRUE(classes.ok()) << classes.status().message();
  EXPECT_EQ(classes.value(), (std::vector<std::string>{"cpu", "cuda"}));
  const int64_t pool = Submit(R"({"name": "p", "resources": {"device": "cuda-a100"}, "seeds": 1})");
  EXPECT_EQ(store_->DeviceClasses().value(), (std::vector<std::string>{"cpu", "cuda", "cuda-a100"}));
  ASSERT_TRUE(store_->CancelSweep(id, 1).ok());
  ASSERT_TRUE(store_->CancelSweep(pool, 1).ok());
  EXPECT_EQ(store_->DeviceClasses().value(), (std::vector<std::string>{"cpu"}));  // final trials need no queue
}

TEST_F(StoreTest, ResultsAreIdempotentAndFirstResultOfTheRoundWins) {
  const int64_t id = Submit(R"({"seeds": 1})");
  const int64_t trial = store_->ListTrials(id, 0, 10)->at(0).id;
  ASSERT_TRUE(store_->RecordStart(trial, 1, 1, "w1", 101).ok());
  ASSERT_TRUE(store_->RecordStart(trial, 1, 1, "w1", 101.5).ok());  // repeated progress
  EXPECT_EQ(store_->GetTrial(trial)->status, "running");
  EXPECT_EQ(store_->GetTrial(trial)->attempts, 1);

  auto first = store_->RecordResult(Success(trial, 1, 1, 0.5));
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first.value());
  // The same result again (a redelivery after a crash before XACK): no change.
  auto again = store_->RecordResult(Success(trial, 1, 1, 0.7));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again.value());
  // A second attempt that also finished (lease taken over): recorded, not applied.
  auto other = store_->RecordResult(Success(trial, 1, 2, 0.9));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other.value());

  auto row = store_->GetTrial(trial);
  EXPECT_EQ(row->status, "succeeded");
  EXPECT_EQ(row->worker, "w1");
  auto metrics = store_->Metrics(trial);
  ASSERT_EQ(metrics->size(), 2u);
  EXPECT_DOUBLE_EQ(metrics->at("loss.total"), 0.5);
  EXPECT_TRUE(std::isnan(metrics->at("grid.score")));  // NaN round-trips as NULL
  EXPECT_EQ(store_->Curve(trial)->size(), 2u);
  ASSERT_EQ(store_->Artifacts(trial)->size(), 1u);
  EXPECT_EQ(store_->Artifacts(trial)->at(0).data, std::string("\x89PNG\0\1", 6));
  EXPECT_EQ(store_->CountFinishedAttempts(trial).value(), 2);
  EXPECT_TRUE(store_->GetSweep(id)->done());
}

TEST_F(StoreTest, FailedTrialsRetryInANewRoundAndStaleResultsAreIgnored) {
  const int64_t id = Submit(R"({"seeds": 2})");
  auto trials = store_->ListTrials(id, 0, 10).value();
  TrialResult fail;
  fail.trial_id = trials[0].id;
  fail.round = 1;
  fail.delivery = 3;
  fail.worker = "w";
  fail.error = "loss.sep is not finite at step 7";
  ASSERT_TRUE(store_->RecordResult(fail).value());
  EXPECT_EQ(store_->GetTrial(trials[0].id)->status, "failed");
  EXPECT_EQ(store_->GetTrial(trials[0].id)->error, fail.error);

  auto retried = store_->RetryFailed(id);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried.value(), 1);
  auto row = store_->GetTrial(trials[0].id).value();
  EXPECT_EQ(row.status, "pending");
  EXPECT_EQ(row.round, 2);
  EXPECT_EQ(row.error, "");
  // A late result of round 1 does not touch round 2.
  EXPECT_FALSE(store_->RecordResult(Success(trials[0].id, 1, 1, 0.1)).value());
  EXPECT_EQ(store_->GetTrial(trials[0].id)->status, "pending");
  EXPECT_TRUE(store_->RecordResult(Success(trials[0].id, 2, 1, 0.2)).value());
  EXPECT_DOUBLE_EQ(store_->Metrics(trials[0].id)->at("loss.total"), 0.2);
  EXPECT_FALSE(store_->RetryFailed(999).ok());
}

TEST_F(StoreTest, CancelFinalizesOnlyUnfinishedTrials) {
  const int64_t id = Submit(R"({"seeds": 3})");
  auto trials = store_->ListTrials(id, 0, 10).value();
  ASSERT_TRUE(store_->RecordResult(Success(trials[0].id, 1, 1, 0.3)).value());
  auto canceled = store_->CancelSweep(id, 200);
  ASSERT_TRUE(canceled.ok());
  EXPECT_EQ(canceled.value(), 2);
  auto sweep = store_->GetSweep(id).value();
  EXPECT_TRUE(sweep.canceled);
  EXPECT_EQ(sweep.counts["succeeded"], 1);
  EXPECT_EQ(sweep.counts["canceled"], 2);
  EXPECT_TRUE(sweep.done());
  // A result arriving after the cancel changes nothing.
  EXPECT_FALSE(store_->RecordResult(Success(trials[1].id, 1, 1, 0.3)).value());
  EXPECT_EQ(store_->GetTrial(trials[1].id)->status, "canceled");
  EXPECT_FALSE(store_->CancelSweep(999, 1).ok());
}

TEST_F(StoreTest, EverythingSurvivesReopen) {
  const int64_t id = Submit(R"({"name": "keep", "seeds": 2})");
  const int64_t trial = store_->ListTrials(id, 0, 10)->at(1).id;
  ASSERT_TRUE(store_->RecordResult(Success(trial, 1, 1, 0.25)).value());
  Reopen();
  auto sweeps = store_->ListSweeps(0, 10);
  ASSERT_TRUE(sweeps.ok());
  ASSERT_EQ(sweeps->size(), 1u);
  EXPECT_EQ(sweeps->at(0).name, "keep");
  EXPECT_EQ(sweeps->at(0).counts["succeeded"], 1);
  EXPECT_EQ(sweeps->at(0).counts["pending"], 1);
  EXPECT_DOUBLE_EQ(store_->Metrics(trial)->at("loss.total"), 0.25);
  // Idempotence holds across a restart too.
  EXPECT_FALSE(store_->RecordResult(Success(trial, 1, 1, 0.25)).value());
}

TEST_F(StoreTest, BatchCommitsOnceAndFailedCallsRollBackAlone) {
  const int64_t id = Submit(R"({"seeds": 2})");
  auto trials = store_->ListTrials(id, 0, 10).value();
  Result<bool> first = false, second = false;
  Result<int64_t> bad = int64_t{0};
  Status batch = store_->Batch([&] {
    first = store_->RecordResult(Success(trials[0].id, 1, 1, 0.5));
    bad = store_->CancelSweep(999, 1);  // fails inside the batch
    second = store_->RecordResult(Success(trials[1].id, 1, 1, 0.6));
  });
  ASSERT_TRUE(batch.ok()) << batch.message();
  EXPECT_TRUE(first.ok() && first.value());
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(second.ok() && second.value());
  Reopen();
  EXPECT_EQ(store_->GetSweep(id)->counts["succeeded"], 2);
  EXPECT_FALSE(store_->GetSweep(id)->canceled);
  // Idempotence holds inside a batch too.
  Result<bool> again = true;
  ASSERT_TRUE(store_->Batch([&] { again = store_->RecordResult(Success(trials[0].id, 1, 1, 0.5)); }).ok());
  EXPECT_FALSE(again.value());
}

// What the dispatcher plans from: per (sweep, class), pending (counted up to
// the cap), queued and running, with the sweep's owner, priority and cap; and
// taking a sweep's pending trials of one class with new tickets.
TEST_F(StoreTest, DispatchCountsAndTakeFedPerSweepAndClass) {
  auto gpu = ParseSweepSpec(R"({"name": "g", "seeds": 3, "priority": 5, "max_running": 2,
                                "resources": {"device": "cuda", "gpu_memory_gb": 40}})");
  ASSERT_TRUE(gpu.ok()) << gpu.status().message();
  const int64_t g = store_->CreateSweep(gpu.value(), 100.0, "ann").value();
  const int64_t c = Submit(R"({"name": "c", "seeds": 5})");
  auto trials = store_->ListTrials(c, 0, 10).value();
  EXPECT_EQ(trials[0].device_class, "cpu");
  EXPECT_EQ(store_->ListTrials(g, 0, 10).value()[0].needs, (nlohmann::json{{"device", "cuda"}, {"gpu_memory_gb", 40}}));
  ASSERT_TRUE(store_->MarkQueued({trials[0].id, trials[1].id}).ok());
  ASSERT_TRUE(store_->RecordStart(trials[1].id, 1, 1, "w", 101).ok());

  auto counts = store_->DispatchCounts(2);
  ASSERT_TRUE(counts.ok()) << counts.status().message();
  ASSERT_EQ(counts->size(), 2u);
  const DispatchSweep& cuda = counts->at(0).sweep_id == g ? counts->at(0) : counts->at(1);
  const DispatchSweep& cpu = counts->at(0).sweep_id == g ? counts->at(1) : counts->at(0);
  EXPECT_EQ(cuda.device_class, "cuda@40");  // its memory queue
  EXPECT_EQ(cuda.owner, "ann");
  EXPECT_EQ(cuda.priority, 5);
  EXPECT_EQ(cuda.max_running, 2);
  EXPECT_EQ(cuda.pending, 2);  // 3, counted up to the cap of 2
  EXPECT_EQ(cpu.device_class, "cpu");
  EXPECT_EQ(cpu.owner, "");
  EXPECT_EQ(cpu.pending, 2);
  EXPECT_EQ(cpu.queued, 1);
  EXPECT_EQ(cpu.running, 1);

  auto fed = store_->TakeFed(g, "cuda@40", 2, 102);
  ASSERT_TRUE(fed.ok());
  ASSERT_EQ(fed->size(), 2u);
  EXPECT_GT(fed->at(1).ticket, fed->at(0).ticket);
  EXPECT_LT(fed->at(0).index, fed->at(1).index);
  EXPECT_TRUE(store_->TakeFed(g, "cpu", 5, 102)->empty());  // no cpu trial in that sweep
  // Taken but not yet queued: a second take in the same pass goes on after the last one taken.
  auto next = store_->TakeFed(g, "cuda@40", 5, 102, fed->at(1).id);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 1u);
  EXPECT_GT(next->at(0).id, fed->at(1).id);
  EXPECT_EQ(store_->Demand("cuda@40")->unfed, 3);  // still pending until MarkQueued
  ASSERT_TRUE(store_->MarkQueued({fed->at(0).id, fed->at(1).id}).ok());
  EXPECT_EQ(store_->Demand("cuda@40")->fed, 2);
  EXPECT_EQ(store_->Demand("cuda@40")->unfed, 1);
  // A pool's demand: its class's queue, and the memory queues its workers' memory serves.
  EXPECT_EQ(store_->Demand("cuda")->fed + store_->Demand("cuda")->unfed, 0);
  EXPECT_EQ(store_->Demand("cuda", 24)->fed + store_->Demand("cuda", 24)->unfed, 0);
  EXPECT_EQ(store_->Demand("cuda", 40)->fed, 2);
  EXPECT_EQ(store_->Demand("cuda", 80)->unfed, 1);
  EXPECT_EQ(store_->Demand("cud", 80)->fed, 0);  // a prefix of the class is another class
  EXPECT_EQ(store_->Demand("cpu")->fed, 2);
  EXPECT_EQ(store_->Demand("cpu")->unfed, 3);
  EXPECT_EQ(store_->Demand("")->fed, 4);
}

TEST_F(StoreTest, RequeueUnfinishedLeavesFinalTrialsAlone) {
  const int64_t id = Submit(R"({"seeds": 4})");
  auto trials = store_->ListTrials(id, 0, 10).value();
  ASSERT_TRUE(store_->MarkQueued({trials[0].id, trials[1].id, trials[2].id}).ok());
  ASSERT_TRUE(store_->RecordStart(trials[1].id, 1, 1, "w", 1).ok());
  ASSERT_TRUE(store_->RecordResult(Success(trials[2].id, 1, 1, 0.1)).value());
  auto n = store_->RequeueUnfinished();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n.value(), 2);  // queued + running; the pending one already is, the succeeded one stays
  EXPECT_EQ(store_->PendingTrials(10)->size(), 3u);
  EXPECT_EQ(store_->GetTrial(trials[2].id)->status, "succeeded");
}

TEST_F(StoreTest, PagingAndUnknownIds) {
  const int64_t id = Submit(R"({"seeds": 5})");
  auto page = store_->ListTrials(id, 2, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ(page->at(0).index, 2);
  EXPECT_EQ(page->at(1).index, 3);
  EXPECT_FALSE(store_->GetSweep(42).ok());
  EXPECT_EQ(store_->GetSweep(42).status().message(), "sweep 42: no such sweep");
  EXPECT_FALSE(store_->GetTrial(4242).ok());
  // A result for a trial this file never had is dropped, not an error (the
  // coordinator acknowledges it rather than seeing it redelivered forever).
  auto r = store_->RecordResult(Success(4242, 1, 1, 0));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value());
}

TEST_F(StoreTest, RefusesAFileFromANewerBuild) {
  store_.reset();
  {
    auto s = Store::Open(path_);
    ASSERT_TRUE(s.ok());
  }
  const std::string bump = "/usr/bin/python3 -c \"import sqlite3; c = sqlite3.connect('" + path_ +
                           "'); c.execute('PRAGMA user_version = 99'); c.commit()\"";
  ASSERT_EQ(std::system(bump.c_str()), 0);
  auto s = Store::Open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("schema version 99 is newer"), std::string::npos)
      << s.status().message();
}

// A coordinator restarted after a kill can open its file while another
// process holds a lock on it (sicctl reading, a WAL being recovered). Open
// waits for the lock instead of failing on its very first statement.
TEST_F(StoreTest, OpenWaitsForALockHeldByAnotherConnection) {
  const std::string other = path_ + ".locked";
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(other.c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  std::thread release([holder] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sqlite3_exec(holder, "COMMIT", nullptr, nullptr, nullptr);
  });
  auto s = Store::Open(other);
  release.join();
  sqlite3_close(holder);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s.value()->schema_version(), Store::kSchemaVersion);
}

TEST_F(StoreTest, RetryOfACanceledSweepIsRefused) {
  // Workers skip every job of a canceled sweep: a retried trial would wait
  // as queued forever, so the store refuses the retry.
  const int64_t id = Submit(R"({"seeds": 2})");
  auto trials = store_->ListTrials(id, 0, 10).value();
  TrialResult fail;
  fail.trial_id = trials[0].id;
  fail.round = 1;
  fail.delivery = 4;
  fail.worker = "w";
  fail.error = "delivered 4 times (limit 3)";
  ASSERT_TRUE(store_->RecordResult(fail).value());
  ASSERT_TRUE(store_->CancelSweep(id, 200).ok());
  auto retried = store_->RetryFailed(id);
  ASSERT_FALSE(retried.ok());
  EXPECT_EQ(retried.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(retried.status().message().find("is canceled"), std::string::npos) << retried.status().message();
  auto row = store_->GetTrial(trials[0].id).value();
  EXPECT_EQ(row.status, "failed");
  EXPECT_EQ(row.round, 1);
  EXPECT_EQ(store_->PendingTrials(10)->size(), 0u);
}

TEST_F(StoreTest, EveryMoveFollowsTheStateTable) {
  for (const TrialTransition& t : TrialTransitions()) {
    for (const char* from : t.from) EXPECT_TRUE(TransitionAllowed(t.event, from)) << t.name << " from " << from;
  }
  EXPECT_FALSE(TransitionAllowed(TrialEvent::kRetry, "canceled"));
  EXPECT_FALSE(TransitionAllowed(TrialEvent::kReconcile, "pending"));
  EXPECT_FALSE(TransitionAllowed(TrialEvent::kStart, "succeeded"));
  EXPECT_EQ(FromStatusesSql(TrialEvent::kReconcile), "('queued', 'running')");

  const int64_t id = Submit(R"({"seeds": 2})");
  auto trials = store_->ListTrials(id, 0, 10).value();
  ASSERT_TRUE(store_->RecordResult(Success(trials[0].id, 1, 1, 0.5)).value());
  // A final trial is moved by nothing: enqueue, start, reconcile, requeue.
  ASSERT_TRUE(store_->MarkQueued({trials[0].id}).ok());
  ASSERT_TRUE(store_->RecordStart(trials[0].id, 1, 2, "late", 300).ok());
  EXPECT_FALSE(store_->Reconcile(trials[0].id, 0).value());
  ASSERT_TRUE(store_->RequeueUnfinished().ok());
  EXPECT_EQ(store_->GetTrial(trials[0].id)->status, "succeeded");
  EXPECT_EQ(store_->GetTrial(trials[0].id)->worker, "w1");

  // Reconcile moves a queued trial back to pending only with its current ticket.
  auto taken = store_->TakePending(10, 100).value();
  ASSERT_EQ(taken.size(), 1u);
  const TrialRow t = taken[0];
  ASSERT_TRUE(store_->MarkQueued({t.id}).ok());
  EXPECT_EQ(store_->EnqueuedBefore(100.5, 0, 10)->size(), 1u);
  EXPECT_EQ(store_->EnqueuedBefore(99, 0, 10)->size(), 0u);  // too young to be judged
  EXPECT_FALSE(store_->Reconcile(t.id, t.ticket + 1).value());
  EXPECT_EQ(store_->GetTrial(t.id)->status, "queued");
  EXPECT_TRUE(store_->Reconcile(t.id, t.ticket).value());
  EXPECT_EQ(store_->GetTrial(t.id)->status, "pending");
  EXPECT_FALSE(store_->Reconcile(t.id, t.ticket).value());  // pending is not in its from-list
}

TEST_F(StoreTest, TicketsKeepAttemptsApartWhenRedisLostItsData) {
  // Before tickets, a job enqueued again after Redis lost its data restarted
  // at delivery 1 and collided with the attempt recorded before: its result
  // was taken for a duplicate and the trial stayed running forever.
  const int64_t id = Submit(R"({"seeds": 1})");
  auto taken = store_->TakePending(10, 100).value();
  ASSERT_EQ(taken.size(), 1u);
  const TrialRow t = taken[0];
  EXPECT_GT(t.ticket, 0);
  EXPECT_EQ(store_->GetTrial(t.id)->ticket, t.ticket);
  ASSERT_TRUE(store_->MarkQueued({t.id}).ok());
  TrialResult a;
  a.trial_id = t.id;
  a.round = 1;
  a.ticket = t.ticket;
  a.delivery = 1;
  a.worker = "w1";
  ASSERT_TRUE(store_->RecordStart(a, 101).ok());
  a.error = "lost the GPU";
  a.finished_at = 102;
  ASSERT_TRUE(store_->RecordAttemptError(a).ok());
  // Redis comes back empty: the trial is enqueued again, with a new ticket.
  ASSERT_EQ(store_->RequeueUnfinished().value(), 1);
  auto again = store_->TakePending(10, 110).value();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_GT(again[0].ticket, t.ticket);
  TrialResult ok = Success(t.id, 1, 1, 0.4);  // delivery 1 again
  ok.ticket = again[0].ticket;
  EXPECT_TRUE(store_->RecordResult(ok).value());
  EXPECT_EQ(store_->GetTrial(t.id)->status, "succeeded");
  EXPECT_EQ(store_->GetSweep(id)->counts["succeeded"], 1);
  EXPECT_EQ(store_->CountFinishedAttempts(t.id).value(), 2);  // the error and the success, both kept
  EXPECT_FALSE(store_->RecordResult(ok).value());              // its redelivery changes nothing
  // Tickets never go back, across a reopen too.
  Reopen();
  Submit(R"({"seeds": 1})");
  auto third = store_->TakePending(10, 120).value();
  ASSERT_EQ(third.size(), 1u);
  EXPECT_GT(third[0].ticket, again[0].ticket);
}

TEST_F(StoreTest, DeadLettersAreKeptPerSweep) {
  const int64_t id = Submit(R"({"seeds": 1})");
  const int64_t trial = store_->ListTrials(id, 0, 10)->at(0).id;
  DeadLetter known;
  known.entry_id = "1-0";
  known.trial_id = trial;
  known.error = "worker event: unknown kind";
  known.payload_bytes = 21;
  known.at = 300;
  ASSERT_TRUE(store_->RecordDeadLetter(known).ok());
  DeadLetter garbage;
  garbage.entry_id = "2-0";
  garbage.error = "worker event: not a WorkerEvent message";
  garbage.payload_bytes = 7;
  garbage.at = 301;
  ASSERT_TRUE(store_->RecordDeadLetter(garbage).ok());
  auto of_sweep = store_->DeadLetters(id, 10).value();
  ASSERT_EQ(of_sweep.size(), 1u);
  EXPECT_EQ(of_sweep[0].sweep_id, id);  // looked up from the trial
  EXPECT_EQ(of_sweep[0].trial_id, trial);
  EXPECT_EQ(of_sweep[0].error, known.error);
  auto all = store_->DeadLetters(0, 10).value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].entry_id, "2-0");  // newest first
  EXPECT_EQ(all[0].sweep_id, 0);
}

TEST_F(StoreTest, Schema4KeepsOldAttemptsWithTicketZero) {
  // A schema-3 file: the current schema with what migrations 4 and 5 added
  // taken out again, and an attempt recorded as schema 3 keyed it.
  const int64_t id = Submit(R"({"seeds": 1})");
  const int64_t trial = store_->ListTrials(id, 0, 10)->at(0).id;
  ASSERT_TRUE(store_->RecordStart(trial, 1, 1, "w1", 101).ok());
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, kBackToSchema3, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_close(db);
  Reopen();
  EXPECT_EQ(store_->schema_version(), Store::kSchemaVersion);
  auto row = store_->GetTrial(trial).value();
  EXPECT_EQ(row.ticket, 0);
  EXPECT_EQ(row.attempts, 1);  // the old attempt, now (trial, 1, ticket 0, 1)
  // A result of that old job (no ticket) completes it once.
  EXPECT_TRUE(store_->RecordResult(Success(trial, 1, 1, 0.3)).value());
  EXPECT_FALSE(store_->RecordResult(Success(trial, 1, 1, 0.3)).value());
  EXPECT_EQ(store_->CountFinishedAttempts(trial).value(), 1);
  // New tickets start after the migration.
  Submit(R"({"seeds": 1})");
  EXPECT_EQ(store_->TakePending(10, 1)->at(0).ticket, 1);
}

// Schema 9 gives trials that need GPU memory their memory queue; those already
// in a stream (queued, running) stay where their job is.
TEST_F(StoreTest, Schema9MovesUnfedMemoryTrialsToTheirQueue) {
  auto spec = ParseSweepSpec(R"({"seeds": 3, "resources": {"device": "cuda", "gpu_memory_gb": 39.5}})");
  ASSERT_TRUE(spec.ok());
  const int64_t g = store_->CreateSweep(spec.value(), 100.0, "ann").value();
  auto trials = store_->ListTrials(g, 0, 10).value();
  ASSERT_TRUE(store_->MarkQueued({trials[0].id}).ok());
  store_.reset();
  // Back to schema 8: every trial in the class's queue, as schema 8 fed them.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE trials SET device_class = 'cuda'; ALTER TABLE sweeps DROP COLUMN preempt; "
                         "DROP TABLE quotas; PRAGMA user_version = 8;", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Reopen();
  EXPECT_EQ(store_->schema_version(), Store::kSchemaVersion);
  trials = store_->ListTrials(g, 0, 10).value();
  EXPECT_EQ(trials[0].device_class, "cuda");  // queued: its job is in the cuda stream
  EXPECT_EQ(trials[1].device_class, "cuda@40");
  EXPECT_EQ(trials[2].device_class, "cuda@40");
}

}  // namespace
}  // namespace sic
