// The reconciler (Pumps::ReconcileOnce) against a real redis-server and
// SQLite file: a running trial whose job is gone from its stream goes back
// to the queue only after two passes, and not while results that may be its
// own still wait in sic:results (a finished trial acknowledges its job right
// after sending its result, so under a backlog the job is gone while SQLite
// still says running).
#include <gtest/gtest.h>

#include "common/log.h"
#include "common/queue.h"
#include "coordinator/pumps.h"
#include "tests/service/redis_server.h"
#include "tests/service/store_fixture.h"

namespace sic {
namespace {

class ReconcileTest : public StoreTest {
 protected:
  // A trial queued (ticket issued long ago) and started, with no job in Redis.
  int64_t RunningTrialWithoutAJob() {
    const int64_t id = Submit(R"({"seeds": 1})");
    auto taken = store_->TakePending(10, NowSeconds() - 3600);
    EXPECT_TRUE(taken.ok() && taken->size() == 1u);
    EXPECT_TRUE(store_->MarkQueued({taken->at(0).id}).ok());
    EXPECT_TRUE(store_->RecordStart(taken->at(0).id, 1, 1, "w", NowSeconds() - 3000).ok());
    (void)id;
    return taken->at(0).id;
  }
  std::string Status(int64_t trial) { return store_->GetTrial(trial).value().status; }

  testing::RedisServer redis_;
};

TEST_F(ReconcileTest, AJobGoneTwiceIsEnqueuedAgainOnlyOnceTheResultsBeforeItAreRecorded) {
  ASSERT_TRUE(redis_.ok());
  Queue queue(redis_.options(), "t");
  ASSERT_TRUE(queue.EnsureGroups({"cpu"}).ok());
  const int64_t trial = RunningTrialWithoutAJob();
  // A result waits unrecorded (the coordinator's ingestion is behind).
  auto waiting = queue.AddResult("its result, perhaps");
  ASSERT_TRUE(waiting.ok());
  PumpOptions options;
  options.reconcile_s = 1;
  Pumps pumps(*store_, redis_.options(), "t", options);  // not started: only the pass under test runs
  std::map<int64_t, Pumps::Suspect> suspects;

  ASSERT_TRUE(pumps.ReconcileOnce(queue, suspects).ok());
  EXPECT_EQ(Status(trial), "running") << "one pass is not enough";
  ASSERT_EQ(suspects.count(trial), 1u);
  ASSERT_TRUE(pumps.ReconcileOnce(queue, suspects).ok());
  EXPECT_EQ(Status(trial), "running") << "enqueued again while a result from before the first pass waits";
  // A newer result does not hold it back: only those before the first pass.
  ASSERT_TRUE(queue.AckResult(waiting.value()).ok());
  ASSERT_TRUE(queue.AddResult("a later result").ok());
  ASSERT_TRUE(pumps.ReconcileOnce(queue, suspects).ok());
  EXPECT_NE(Status(trial), "running");
  EXPECT_EQ(suspects.count(trial), 0u);
}

TEST(StreamIds, CompareAsTimeThenSequence) {
  EXPECT_TRUE(IdLess("1700000000000-0", "1700000000000-1"));
  EXPECT_TRUE(IdLess("999-5", "1000-0"));  // not as text
  EXPECT_FALSE(IdLess("1000-0", "999-5"));
  EXPECT_FALSE(IdLess("5-5", "5-5"));
  EXPECT_TRUE(IdLess("", "0-1"));
}

}  // namespace
}  // namespace sic
