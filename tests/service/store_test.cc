// The SQLite store on a real file: migrations, the trial life cycle, results
// idempotent on (trial, round, delivery), cancel and retry, and reopening.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "common/store.h"
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

}  // namespace
}  // namespace sic
