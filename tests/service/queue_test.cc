// The Redis streams against a real redis-server: claims, leases kept alive and
// taken over, delivery counts, release, results re-read after a coordinator
// crash, a killed Redis with AOF, passwords and unreachable servers; one
// stream per device class, and workers that see only their classes.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "common/queue.h"
#include "redis_server.h"

namespace sic {
namespace {

using testing::RedisServer;

const std::vector<std::string> kCpu = {"cpu"};

void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.ok()) << "redis-server did not start";
    ASSERT_TRUE(Coordinator().EnsureGroups(kCpu).ok());
  }
  Queue Coordinator() { return Queue(redis_.options(), "t"); }
  RedisServer redis_{"s3cret", /*aof=*/true};
};

TEST_F(QueueTest, TrialIsClaimedOnceThenAcknowledged) {
  Queue coord = Coordinator(), a(redis_.options(), "t"), b(redis_.options(), "t");
  bool created = true;
  ASSERT_TRUE(coord.EnsureGroups(kCpu, &created).ok());  // idempotent
  EXPECT_FALSE(created);
  auto id = coord.AddTrial("cpu", "job-1");
  ASSERT_TRUE(id.ok()) << id.status().message();
  auto claim = a.ClaimTrial("a", kCpu, 10000, 100);
  ASSERT_TRUE(claim.ok()) << claim.status().message();
  ASSERT_TRUE(claim->has_value());
  EXPECT_EQ(claim.value()->id, id.value());
  EXPECT_EQ(claim.value()->payload, "job-1");
  EXPECT_EQ(claim.value()->deliveries, 1);
  // Nobody else gets it while the lease holds.
  auto none = b.ClaimTrial("b", kCpu, 10000, 50);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(coord.PendingTrials().value(), 1);
  ASSERT_TRUE(a.AddResult("result-1").ok());
  ASSERT_TRUE(a.AckTrial("cpu", id.value()).ok());
  EXPECT_EQ(coord.PendingTrials().value(), 0);
  EXPECT_EQ(coord.TrialsLength().value(), 0);  // acknowledged entries are deleted
  EXPECT_FALSE(a.Heartbeat("a", "cpu", id.value()).value());
}

TEST_F(QueueTest, TrialsAfterPagesThroughWaitingAndClaimedEntries) {
  // The reconciler's view of the stream: every job not yet acknowledged,
  // claimed or not, in pages.
  Queue coord = Coordinator(), a(redis_.options(), "t");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(coord.AddTrial("cpu", "job-" + std::to_string(i)).value());
  auto claimed = a.ClaimTrial("a", kCpu, 10000, 100);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  std::vector<std::string> seen;
  std::string after = "0-0";
  for (int pages = 0; pages < 10; ++pages) {
    auto page = coord.TrialsAfter("cpu", after, 2);
    ASSERT_TRUE(page.ok()) << page.status().message();
    EXPECT_LE(page->size(), 2u);
    for (const QueueEntry& e : page.value()) seen.push_back(e.payload);
    if (page->size() < 2) break;
    after = page->back().id;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"job-0", "job-1", "job-2", "job-3", "job-4"}));
  ASSERT_TRUE(a.AckTrial("cpu", claimed.value()->id).ok());
  EXPECT_EQ(coord.TrialsAfter("cpu", "0-0", 100)->size(), 4u);  // acknowledged entries leave the stream
}

TEST_F(QueueTest, ExpiredLeaseIsTakenOverAndCountsADelivery) {
  Queue coord = Coordinator(), a(redis_.options(), "t"), b(redis_.options(), "t");
  ASSERT_TRUE(coord.AddTrial("cpu", "job").ok());
  auto first = a.ClaimTrial("a", kCpu, 200, 100);
  ASSERT_TRUE(first.ok() && first->has_value());
  Sleep(250);  // a "dies": no heartbeat
  auto second = b.ClaimTrial("b", kCpu, 200, 100);
  ASSERT_TRUE(second.ok()) << second.status().message();
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ(second.value()->id, first.value()->id);
  EXPECT_EQ(second.value()->payload, "job");
  EXPECT_EQ(second.value()->deliveries, 2);
  // The old owner learns that it lost the entry, and cannot steal it back.
  EXPECT_FALSE(a.Heartbeat("a", "cpu", first.value()->id).value());
  EXPECT_TRUE(b.Heartbeat("b", "cpu", first.value()->id).value());
  Sleep(250);
  auto third = a.ClaimTrial("a", kCpu, 200, 50);
  ASSERT_TRUE(third.ok() && third->has_value());
  EXPECT_EQ(third.value()->deliveries, 3);
}

TEST_F(QueueTest, HeartbeatsKeepTheLease) {
  Queue coord = Coordinator(), a(redis_.options(), "t"), b(redis_.options(), "t");
  ASSERT_TRUE(coord.AddTrial("cpu", "job").ok());
  auto claim = a.ClaimTrial("a", kCpu, 300, 100);
  ASSERT_TRUE(claim.ok() && claim->has_value());
  for (int i = 0; i < 8; ++i) {  // 800 ms, well past the 300 ms lease
    Sleep(100);
    ASSERT_TRUE(a.Heartbeat("a", "cpu", claim.value()->id).value());
    auto other = b.ClaimTrial("b", kCpu, 300, 1);
    ASSERT_TRUE(other.ok());
    ASSERT_FALSE(other->has_value()) << "lease lost after " << (i + 1) * 100 << " ms";
  }
}

TEST_F(QueueTest, ReleasedTrialIsTakenAtOnce) {
  Queue coord = Coordinator(), a(redis_.options(), "t"), b(redis_.options(), "t");
  ASSERT_TRUE(coord.AddTrial("cpu", "job").ok());
  auto claim = a.ClaimTrial("a", kCpu, 60000, 100);
  ASSERT_TRUE(claim.ok() && claim->has_value());
  ASSERT_TRUE(a.Release("a", "cpu", claim.value()->id, 60000).ok());
  auto taken = b.ClaimTrial("b", kCpu, 60000, 1);
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
  ASSERT_TRUE(coord.AddTrial("cpu", "job-a").ok());
  ASSERT_TRUE(coord.AddTrial("cpu", "job-b").ok());
  auto claim = a.ClaimTrial("a", kCpu, 200, 100);
  ASSERT_TRUE(claim.ok() && claim->has_value());
  redis_.Stop(/*kill9=*/true);
  auto down = b.ClaimTrial("b", kCpu, 200, 10);
  ASSERT_FALSE(down.ok());
  EXPECT_NE(down.status().message().find("redis at 127.0.0.1:"), std::string::npos) << down.status().message();
  ASSERT_TRUE(redis_.Start());
  bool created = true;
  ASSERT_TRUE(coord.EnsureGroups(kCpu, &created).ok());
  EXPECT_FALSE(created);  // AOF kept the group
  // The same clients reconnect by themselves; the claim and the unread job survived.
  Sleep(250);
  auto taken = b.ClaimTrial("b", kCpu, 200, 100);
  ASSERT_TRUE(taken.ok()) << taken.status().message();
  ASSERT_TRUE(taken->has_value());
  EXPECT_EQ(taken.value()->payload, "job-a");
  EXPECT_EQ(taken.value()->deliveries, 2);
  auto next = a.ClaimTrial("a", kCpu, 200, 100);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(next.value()->payload, "job-b");
}

TEST_F(QueueTest, AWorkerOfClassCpuNeverReceivesACudaEntry) {
  Queue coord = Coordinator(), cpu(redis_.options(), "t"), cuda(redis_.options(), "t");
  ASSERT_TRUE(coord.EnsureGroups({"cpu", "cuda"}).ok());
  auto gpu_job = coord.AddTrial("cuda", "gpu-job");
  ASSERT_TRUE(gpu_job.ok()) << gpu_job.status().message();
  ASSERT_TRUE(coord.AddTrial("cpu", "cpu-job").ok());
  EXPECT_EQ(coord.trials_key("cuda"), "t:trials:cuda");
  EXPECT_EQ(coord.TrialsLength("cuda").value(), 1);
  EXPECT_EQ(coord.TrialsLength("cpu").value(), 1);

  auto first = cpu.ClaimTrial("c", kCpu, 1, 100);
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status().message();
  EXPECT_EQ(first.value()->payload, "cpu-job");
  EXPECT_EQ(first.value()->device_class, "cpu");
  ASSERT_TRUE(cpu.AckTrial("cpu", first.value()->id).ok());
  // Not even as an expired lease or after a wait: the cuda stream is not its.
  for (int i = 0; i < 3; ++i) {
    auto none = cpu.ClaimTrial("c", kCpu, 1, 50);
    ASSERT_TRUE(none.ok()) << none.status().message();
    EXPECT_FALSE(none->has_value()) << "a cpu worker got " << none.value()->payload;
  }
  auto taken = cuda.ClaimTrial("g", {"cuda"}, 10000, 100);
  ASSERT_TRUE(taken.ok() && taken->has_value()) << taken.status().message();
  EXPECT_EQ(taken.value()->payload, "gpu-job");
  EXPECT_EQ(taken.value()->device_class, "cuda");
  EXPECT_EQ(taken.value()->id, gpu_job.value());
  EXPECT_EQ(coord.PendingTrials("cuda").value(), 1);
  EXPECT_EQ(coord.PendingTrials("cpu").value(), 0);
  EXPECT_EQ(coord.PendingTrials().value(), 1);  // summed over the classes
}

TEST_F(QueueTest, HeartbeatReleaseAndAckActOnTheEntrysOwnStream) {
  Queue coord = Coordinator(), a(redis_.options(), "t"), b(redis_.options(), "t");
  ASSERT_TRUE(coord.EnsureGroups({"cpu", "cuda"}).ok());
  ASSERT_TRUE(coord.AddTrial("cuda", "job").ok());
  auto claim = a.ClaimTrial("a", {"cpu", "cuda"}, 60000, 100);
  ASSERT_TRUE(claim.ok() && claim->has_value()) << claim.status().message();
  const std::string id = claim.value()->id;
  ASSERT_EQ(claim.value()->device_class, "cuda");
  // The same id in another class's stream is not this entry.
  EXPECT_FALSE(a.Heartbeat("a", "cpu", id).value());
  EXPECT_TRUE(a.Heartbeat("a", "cuda", id).value());
  ASSERT_TRUE(a.AckTrial("cpu", id).ok());
  EXPECT_EQ(coord.PendingTrials("cuda").value(), 1) << "an ack on the cpu stream acknowledged a cuda entry";
  ASSERT_TRUE(a.Release("a", "cpu", id, 60000).ok());
  auto still = b.ClaimTrial("b", {"cuda"}, 60000, 1);
  ASSERT_TRUE(still.ok());
  EXPECT_FALSE(still->has_value()) << "a release on the cpu stream gave the cuda entry back";
  ASSERT_TRUE(a.Release("a", "cuda", id, 60000).ok());
  auto taken = b.ClaimTrial("b", {"cuda"}, 60000, 1);
  ASSERT_TRUE(taken.ok() && taken->has_value());
  EXPECT_EQ(taken.value()->id, id);
  EXPECT_EQ(taken.value()->deliveries, 2);
  ASSERT_TRUE(b.AckTrial("cuda", id).ok());
  EXPECT_EQ(coord.PendingTrials("cuda").value(), 0);
  EXPECT_EQ(coord.TrialsLength("cuda").value(), 0);
}

TEST_F(QueueTest, AWorkerOfTwoClassesTakesOneEntryAndLeavesTheOtherNew) {
  // One XREADGROUP over both streams may return an entry of each (COUNT is
  // per stream): the worker keeps one, and the other is still a first delivery.
  Queue coord = Coordinator(), a(redis_.options(), "t"), b(redis_.options(), "t");
  ASSERT_TRUE(coord.EnsureGroups({"cpu", "cuda"}).ok());
  ASSERT_TRUE(coord.AddTrial("cuda", "gpu-job").ok());
  ASSERT_TRUE(coord.AddTrial("cpu", "cpu-job").ok());
  auto first = a.ClaimTrial("a", {"cuda", "cpu"}, 60000, 100);
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status().message();
  EXPECT_EQ(first.value()->payload, "gpu-job");  // the class listed first
  EXPECT_EQ(first.value()->deliveries, 1);
  EXPECT_EQ(coord.PendingTrials("cpu").value(), 1);  // read with it, and given back
  auto second = b.ClaimTrial("b", kCpu, 60000, 100);
  ASSERT_TRUE(second.ok() && second->has_value()) << second.status().message();
  EXPECT_EQ(second.value()->payload, "cpu-job");
  EXPECT_EQ(second.value()->deliveries, 1);
  EXPECT_FALSE(a.ClaimTrial("a", {"cuda", "cpu"}, 60000, 1).value().has_value());
  EXPECT_EQ(coord.TrialClasses().value(), (std::vector<std::string>{"cpu", "cuda"}));
}

TEST_F(QueueTest, AWorkerWaitsForAClassNobodyHasFedYet) {
  Queue coord = Coordinator(), w(redis_.options(), "t");
  auto none = w.ClaimTrial("w", {"cuda-a100"}, 60000, 10);
  ASSERT_TRUE(none.ok()) << none.status().message();  // its group is made, not an error
  EXPECT_FALSE(none->has_value());
  bool created = true;
  ASSERT_TRUE(coord.EnsureGroups({"cpu", "cuda-a100", "tpu"}, &created).ok());
  EXPECT_FALSE(created) << "a new class is not a Redis that lost its data";
  ASSERT_TRUE(coord.AddTrial("cuda-a100", "job").ok());
  auto got = w.ClaimTrial("w", {"cuda-a100"}, 60000, 100);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(got.value()->payload, "job");
}

TEST_F(QueueTest, LostResultsGroupSaysRedisLostItsData) {
  Queue coord = Coordinator();
  ASSERT_TRUE(coord.client().Command({"FLUSHALL"}).ok());
  bool created = false;
  ASSERT_TRUE(coord.EnsureGroups(kCpu, &created).ok());
  EXPECT_TRUE(created);
}

TEST_F(QueueTest, DeviceClassesThatNameOtherKeysAreRefused) {
  Queue q = Coordinator();
  for (const std::string& bad : std::vector<std::string>{"", "CUDA", "cpu:x", "a*", "1gpu", std::string(33, 'a')}) {
    auto add = q.AddTrial(bad, "x");
    ASSERT_FALSE(add.ok()) << bad;
    EXPECT_EQ(add.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(q.ClaimTrial("w", {"cpu", bad}, 1000, 1).status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(q.EnsureGroups({bad}).code(), Status::Code::kInvalidArgument);
  }
  EXPECT_EQ(q.ClaimTrial("w", {}, 1000, 1).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(q.TrialsLength().value(), 0);
}

TEST_F(QueueTest, PasswordIsRequiredAndErrorsAreOneLine) {
  RedisOptions wrong = redis_.options();
  wrong.password = "nope";
  Queue bad(wrong, "t");
  auto r = bad.AddTrial("cpu", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("authentication failed"), std::string::npos) << r.status().message();
  RedisOptions none = redis_.options();
  none.password.clear();
  auto anon = Queue(none, "t").AddTrial("cpu", "x");
  ASSERT_FALSE(anon.ok());
  EXPECT_NE(anon.status().message().find("NOAUTH"), std::string::npos) << anon.status().message();

  RedisOptions nowhere;
  nowhere.port = testing::FreePort();
  auto unreachable = Queue(nowhere, "t").EnsureGroups(kCpu);
  ASSERT_FALSE(unreachable.ok());
  EXPECT_EQ(unreachable.message(), "redis at 127.0.0.1:" + std::to_string(nowhere.port) + ": Connection refused");
}

}  // namespace
}  // namespace sic
