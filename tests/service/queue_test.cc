// The Redis streams against a real redis-server: claims, leases kept alive and
// taken over, delivery counts, release, results re-read after a coordinator
// crash, a killed Redis with AOF, passwords and unreachable servers.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "common/queue.h"
#include "redis_server.h"

namespace sic {
namespace {

using testing::RedisServer;

void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.ok()) << "redis-server did not start";
    ASSERT_TRUE(Coordinator().EnsureGroups().ok());
  }
  Queue Coordinator() { return Queue(redis_.options(), "t"); }
  RedisServer redis_{"s3cret", /*aof=*/true};
};

TEST_F(QueueTest, TrialIsClaimedOnceThenAcknowledged) {
  Queue coord = Coordinator(), a(redis_.options(), "t"), b(redis_.options(), "t");
  bool created = true;
  ASSERT_TRUE(coord.EnsureGroups(&created).ok());  // idempotent
  EXPECT_FALSE(created);
  auto id = coord.AddTrial("job-1");
  ASSERT_TRUE(id.ok()) << id.status().message();
  auto claim = a.ClaimTrial("a", 10000, 100);
  ASSERT_TRUE(claim.ok()) << claim.status().message();
  ASSERT_TRUE(claim->has_value());
  EXPECT_EQ(claim.value()->id, id.value());
  EXPECT_EQ(claim.value()->payload, "job-1");
  EXPECT_EQ(claim.value()->deliveries, 1);
  // Nobody else gets it while the lease holds.
  auto none = b.ClaimTrial("b", 10000, 50);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(coord.PendingTrials().value(), 1);
  ASSERT_TRUE(a.AddResult("result-1").ok());
  ASSERT_TRUE(a.AckTrial(id.value()).ok());
  EXPECT_EQ(coord.PendingTrials().value(), 0);
  EXPECT_EQ(coord.TrialsLength().value(), 0);  // acknowledged entries are deleted
  EXPECT_FALSE(a.Heartbeat("a", id.value()).value());
}

TEST_F(QueueTest, TrialsAfterPagesThroughWaitingAndClaimedEntries) {
  // The reconciler's view of the stream: every job not yet acknowledged,
  // claimed or not, in pages.
  Queue coord = Coordinator(), a(redis_.options(), "t");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(coord.AddTrial("job-" + std::to_string(i)).value());
  auto claimed = a.ClaimTrial("a", 10000, 100);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  std::vector<std::string> seen;
  std::string after = "0-0";
  for (int pages = 0; pages < 10; ++pages) {
    auto page = coord.TrialsAfter(after, 2);
    ASSERT_TRUE(page.ok()) << page.status().message();
    EXPECT_LE(page->size(), 2u);
    for (const QueueEntry& e : page.value()) seen.push_back(e.payload);
    if (page->size() < 2) break;
    after = page->back().id;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"job-0", "job-1", "job-2", "job-3", "job-4"}));
  ASSERT_TRUE(a.AckTrial(claimed.value()->id).ok());
  EXPECT_EQ(coord.TrialsAfter("0-0", 100)->size(), 4u);  // acknowledged entries leave the stream
}

TEST_F(QueueTest, ExpiredLeaseIsTakenOverAndCountsADelivery) {
  Queue coord = Coordinator(), a(redis_.options(), "t"), b(redis_.options(), "t");
  ASSERT_TRUE(coord.AddTrial("job").ok());
  auto first = a.ClaimTrial("a", 200, 100);
  ASSERT_TRUE(first.ok() && first->has_value());
  Sleep(250);  // a "dies": no heartbeat
  auto second = b.ClaimTrial("b", 200, 100);
  ASSERT_TRUE(second.ok()) << second.status().message();
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ(second.value()->id, first.value()->id);
  EXPECT_EQ(second.value()->payload, "job");
  EXPECT_EQ(second.value()->deliveries, 2);
  // The old owner learns that it lost the entry, and cannot steal it back.
  EXPECT_FALSE(a.Heartbeat("a", first.value()->id).value());
  EXPECT_TRUE(b.Heartbeat("b", first.value()->id).value());
  Sleep(250);
  auto third = a.ClaimTrial("a", 200, 50);
  ASSERT_TRUE(third.ok() && third->has_value());
  EXPECT_EQ(third.value()->deliveries, 3);
}

TEST_F(QueueTest, HeartbeatsKeepTheLease) {
  Queue coord = Coordinator(), a(redis_.options(), "t"), b(redis_.options(), "t");
  ASSERT_TRUE(coord.AddTrial("job").ok());
  auto claim = a.ClaimTrial("a", 300, 100);
  ASSERT_TRUE(claim.ok() && claim->has_value());
  for (int i = 0; i < 8; ++i) {  // 800 ms, well past the 300 ms lease
    Sleep(100);
    ASSERT_TRUE(a.Heartbeat("a", claim.value()->id).value());
    auto other = b.ClaimTrial("b", 300, 1);
    ASSERT_TRUE(other.ok());
    ASSERT_FALSE(other->has_value()) << "lease lost after " << (i + 1) * 100 << " ms";
  }
}

TEST_F(QueueTest, ReleasedTrialIsTakenAtOnce) {
  Queue coord = Coordinator(), a(redis_.options(), "t"), b(redis_.options(), "t");
  ASSERT_TRUE(coord.AddTrial("job").ok());
  auto claim = a.ClaimTrial("a", 60000, 100);
  ASSERT_TRUE(claim.ok() && claim->has_value());
  ASSERT_TRUE(a.Release("a", claim.value()->id, 60000).ok());
  auto taken = b.ClaimTrial("b", 60000, 1);
  ASSERT_TRUE(taken.ok() && taken->has_value());
  EXPECT_EQ(taken.value()->deliveries, 2);
}

TEST_F(QueueTest, UnacknowledgedResultsAreReadAgainAfterACrash) {
  Queue worker(redis_.options(), "t");
  for (const char* r : {"r1", "r2", "r3"}) ASSERT_TRUE(worker.AddResult(r).ok());
  std::vector<std::string> first_ids;
  {
    Queue coord = Coordinator();
    auto got = coord.ReadResults("coordinator", 10, 100);
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_EQ(got->size(), 3u);
    EXPECT_EQ(got->at(0).payload, "r1");
    ASSERT_TRUE(coord.AckResult(got->at(0).id).ok());  // only r1 was committed
  }  // the coordinator "crashes"
  Queue restarted = Coordinator();
  auto again = restarted.ReadResults("coordinator", 10, 100);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ(again->at(0).payload, "r2");
  EXPECT_EQ(again->at(1).payload, "r3");
  for (const auto& e : again.value()) ASSERT_TRUE(restarted.AckResult(e.id).ok());
  auto empty = restarted.ReadResults("coordinator", 10, 50);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  ASSERT_TRUE(worker.AddResult("r4").ok());
  auto fresh = restarted.ReadResults("coordinator", 10, 100);
  ASSERT_EQ(fresh->size(), 1u);
  EXPECT_EQ(fresh->at(0).payload, "r4");
}

TEST_F(QueueTest, KilledRedisWithAofKeepsStreamsAndClaims) {
  Queue coord = Coordinator(), a(redis_.options(), "t"), b(redis_.options(), "t");
  ASSERT_TRUE(coord.AddTrial("job-a").ok());
  ASSERT_TRUE(coord.AddTrial("job-b").ok());
  auto claim = a.ClaimTrial("a", 200, 100);
  ASSERT_TRUE(claim.ok() && claim->has_value());
  redis_.Stop(/*kill9=*/true);
  auto down = b.ClaimTrial("b", 200, 10);
  ASSERT_FALSE(down.ok());
  EXPECT_NE(down.status().message().find("redis at 127.0.0.1:"), std::string::npos) << down.status().message();
  ASSERT_TRUE(redis_.Start());
  bool created = true;
  ASSERT_TRUE(coord.EnsureGroups(&created).ok());
  EXPECT_FALSE(created);  // AOF kept the group
  // The same clients reconnect by themselves; the claim and the unread job survived.
  Sleep(250);
  auto taken = b.ClaimTrial("b", 200, 100);
  ASSERT_TRUE(taken.ok()) << taken.status().message();
  ASSERT_TRUE(taken->has_value());
  EXPECT_EQ(taken.value()->payload, "job-a");
  EXPECT_EQ(taken.value()->deliveries, 2);
  auto next = a.ClaimTrial("a", 200, 100);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(next.value()->payload, "job-b");
}

TEST_F(QueueTest, PasswordIsRequiredAndErrorsAreOneLine) {
  RedisOptions wrong = redis_.options();
  wrong.password = "nope";
  Queue bad(wrong, "t");
  auto r = bad.AddTrial("x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("authentication failed"), std::string::npos) << r.status().message();
  RedisOptions none = redis_.options();
  none.password.clear();
  auto anon = Queue(none, "t").AddTrial("x");
  ASSERT_FALSE(anon.ok());
  EXPECT_NE(anon.status().message().find("NOAUTH"), std::string::npos) << anon.status().message();

  RedisOptions nowhere;
  nowhere.port = testing::FreePort();
  auto unreachable = Queue(nowhere, "t").EnsureGroups();
  ASSERT_FALSE(unreachable.ok());
  EXPECT_EQ(unreachable.message(), "redis at 127.0.0.1:" + std::to_string(nowhere.port) + ": Connection refused");
}

}  // namespace
}  // namespace sic
