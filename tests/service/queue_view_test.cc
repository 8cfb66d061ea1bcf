// The queue view's reasons (coordinator/queue_view.h): each reason on the
// facts that call for it, the most specific first, and the view built from
// trial counts and workers.
#include "coordinator/queue_view.h"

#include <gtest/gtest.h>

namespace sic {
namespace {

using nlohmann::json;

WaitFacts Waiting() {
  WaitFacts f;
  f.device_class = "cpu";
  f.pending = 3;
  f.class_workers = 2;
  return f;
}

TEST(WaitReason, NothingWaitingHasNoReason) {
  WaitFacts f = Waiting();
  f.pending = 0;
  f.class_workers = 0;  // even with no worker: nothing of the sweep waits
  EXPECT_EQ(WaitReason(f), "");
}

TEST(WaitReason, NoLiveWorkerOfTheClassComesFirst) {
  WaitFacts f = Waiting();
  f.device_class = "cuda";
  f.class_workers = 0;
  f.max_running = 1;
  f.sweep_active = 5;  // also at its cap: the missing worker is the more specific reason
  f.behind_higher_priority = true;
  EXPECT_EQ(WaitReason(f), "no live worker serves class cuda");
  f.pending = 0;
  f.queued = 1;  // fed, but still nobody to claim it
  EXPECT_EQ(WaitReason(f), "no live worker serves class cuda");
}

TEST(WaitReason, FedTrialsWaitForASlotWhateverTheCaps) {
  WaitFacts f = Waiting();
  f.pending = 0;
  f.queued = 2;
  f.max_running = 2;
  f.sweep_active = 2;
  EXPECT_EQ(WaitReason(f), "queued, waiting for a free slot");
}

TEST(WaitReason, SweepCapBeforeUserCap) {
  WaitFacts f = Waiting();
  f.max_running = 2;
  f.sweep_active = 2;
  f.max_running_per_user = 4;
  f.owner_active = 4;
  EXPECT_EQ(WaitReason(f), "at its cap (max_running 2)");
  f.sweep_active = 1;
  EXPECT_EQ(WaitReason(f), "owner at the per-user cap (4)");
  f.owner_active = 3;
  EXPECT_EQ(WaitReason(f), "waiting for a free slot (fair share)");
}

TEST(WaitReason, ZeroMeansNoCap) {
  WaitFacts f = Waiting();
  f.sweep_active = 100;
  f.owner_active = 100;
  EXPECT_EQ(WaitReason(f), "waiting for a free slot (fair share)");
}

TEST(WaitReason, PriorityAfterCaps) {
  WaitFacts f = Waiting();
  f.behind_higher_priority = true;
  EXPECT_EQ(WaitReason(f), "behind higher-priority sweeps");
  f.max_running = 1;
  f.sweep_active = 1;
  EXPECT_EQ(WaitReason(f), "at its cap (max_running 1)");
}

QueueCount Row(const std::string& cls, int64_t sweep, const std::string& status, int64_t n,
               const std::string& owner = "ann", int64_t priority = 0, int64_t max_running = 0) {
  QueueCount q;
  q.device_class = cls;
  q.sweep_id = sweep;
  q.status = status;
  q.count = n;
  q.name = "s" + std::to_string(sweep);
  q.owner = owner;
  q.priority = priority;
  q.max_running = max_running;
  return q;
}

const json& ClassOf(const json& view, const std::string& name) {
  for (const json& c : view["classes"]) {
    if (c["class"] == name) return c;
  }
  static const json none;
  ADD_FAILURE() << "no class " << name << " in " << view.dump();
  return none;
}

TEST(BuildQueueView, CountsWorkersSlotsAndTrialsPerClass) {
  std::vector<WorkerSlots> workers = {
      {{}, 2, 1},                 // an older worker: cpu
      {{"cpu", "cuda"}, 1, 0},    // serves both: counted in both
      {{"cpu", "cpu"}, 0, 0},     // a class listed twice counts once; concurrency 0 is one slot
  };
  std::vector<QueueCount> counts = {
      Row("cpu", 1, "pending", 4), Row("cpu", 1, "queued", 2), Row("cpu", 1, "running", 1),
      Row("cpu", 1, "succeeded", 9),  // not counted
      Row("gpu-a100", 2, "pending", 1),
  };
  const json view = BuildQueueView(counts, workers, 0);
  EXPECT_EQ(view["max_running_per_user"], 0);
  ASSERT_EQ(view["classes"].size(), 3u);  // by name: cpu, cuda, gpu-a100
  EXPECT_EQ(view["classes"][0]["class"], "cpu");
  EXPECT_EQ(view["classes"][1]["class"], "cuda");
  EXPECT_EQ(view["classes"][2]["class"], "gpu-a100");
  const json& cpu = ClassOf(view, "cpu");
  EXPECT_EQ(cpu["workers"], 3);
  EXPECT_EQ(cpu["slots"], 4);
  EXPECT_EQ(cpu["idle"], 3);
  EXPECT_EQ(cpu["pending"], 4);
  EXPECT_EQ(cpu["queued"], 2);
  EXPECT_EQ(cpu["running"], 1);
  ASSERT_EQ(cpu["sweeps"].size(), 1u);
  EXPECT_EQ(cpu["sweeps"][0]["reason"], "waiting for a free slot (fair share)");
  const json& cuda = ClassOf(view, "cuda");
  EXPECT_EQ(cuda["workers"], 1);
  EXPECT_EQ(cuda["sweeps"].size(), 0u);
  const json& gpu = ClassOf(view, "gpu-a100");
  EXPECT_EQ(gpu["workers"], 0);
  EXPECT_EQ(gpu["sweeps"][0]["reason"], "no live worker serves class gpu-a100");
  EXPECT_EQ(gpu["sweeps"][0]["name"], "s2");
}

TEST(BuildQueueView, AMemoryQueueCountsOnlyWorkersWithEnoughMemory) {
  std::vector<WorkerSlots> workers = {{{"cuda"}, 2, 0, 24}, {{"cuda"}, 1, 0, 0}};
  const json small = BuildQueueView({Row("cuda@40", 1, "pending", 3)}, workers, 0);
  EXPECT_EQ(ClassOf(small, "cuda")["workers"], 2);
  EXPECT_EQ(ClassOf(small, "cuda@40")["workers"], 0);
  EXPECT_EQ(ClassOf(small, "cuda@40")["sweeps"][0]["reason"],
            "no live worker serves class cuda with 40 GB per GPU");
  workers.push_back({{"cuda"}, 4, 1, 80});
  const json large = BuildQueueView({Row("cuda@40", 1, "pending", 3)}, workers, 0);
  EXPECT_EQ(ClassOf(large, "cuda@40")["workers"], 1);
  EXPECT_EQ(ClassOf(large, "cuda@40")["slots"], 4);
  EXPECT_EQ(ClassOf(large, "cuda@40")["idle"], 3);
  EXPECT_EQ(ClassOf(large, "cuda@40")["sweeps"][0]["reason"], "waiting for a free slot (fair share)");
}

TEST(BuildQueueView, CapsCountQueuedAndRunningOverEveryClass) {
  std::vector<WorkerSlots> workers = {{{"cpu", "cuda"}, 8, 0}};
  std::vector<QueueCount> counts = {
      Row("cuda", 1, "running", 2, "ann", 0, 3), Row("cpu", 1, "queued", 1, "ann", 0, 3),
      Row("cpu", 1, "pending", 5, "ann", 0, 3),  // 3 active of 3: at its cap
      Row("cpu", 2, "running", 1, "bob"), Row("cpu", 2, "pending", 1, "bob"),
  };
  json view = BuildQueueView(counts, workers, 0);
  const json& cpu = ClassOf(view, "cpu");
  EXPECT_EQ(cpu["sweeps"][0]["reason"], "at its cap (max_running 3)");
  EXPECT_EQ(cpu["sweeps"][1]["reason"], "waiting for a free slot (fair share)");
  // ann has 3 active, bob 1: a per-user cap of 2 holds ann (after her sweep's own cap) only.
  counts[0].max_running = counts[1].max_running = counts[2].max_running = 0;
  view = BuildQueueView(counts, workers, 2);
  EXPECT_EQ(ClassOf(view, "cpu")["sweeps"][0]["reason"], "owner at the per-user cap (2)");
  EXPECT_EQ(ClassOf(view, "cpu")["sweeps"][1]["reason"], "waiting for a free slot (fair share)");
  EXPECT_EQ(view["max_running_per_user"], 2);
  // A quota overrides the default: ann's 5 frees her, bob's 1 holds him.
  for (QueueCount& q : counts) q.owner_cap = q.owner == "ann" ? 5 : 1;
  view = BuildQueueView(counts, workers, 2);
  EXPECT_EQ(ClassOf(view, "cpu")["sweeps"][0]["reason"], "waiting for a free slot (fair share)");
  EXPECT_EQ(ClassOf(view, "cpu")["sweeps"][0]["owner_cap"], 5);
  EXPECT_EQ(ClassOf(view, "cpu")["sweeps"][1]["reason"], "owner at the per-user cap (1)");
}

TEST(BuildQueueView, APreemptingSweepSaysLowerPrioritiesAreAskedToMakeRoom) {
  // One worker with one slot, busy with ann's trial (priority 0).
  std::vector<WorkerSlots> workers = {{{"cpu"}, 1, 1}};
  std::vector<QueueCount> counts = {Row("cpu", 1, "running", 1, "ann", 0), Row("cpu", 2, "pending", 1, "bob", 5)};
  auto reason_of_bob = [&] {
    const json view = BuildQueueView(counts, workers, 0);
    for (const json& s : ClassOf(view, "cpu")["sweeps"]) {
      if (s["sweep_id"] == 2) return s["reason"].get<std::string>();
    }
    return std::string("(not listed)");
  };
  EXPECT_EQ(reason_of_bob(), "waiting for a free slot (fair share)");
  counts[1].preempt = true;
  EXPECT_EQ(reason_of_bob(), "lower-priority trials are asked to make room");
  counts[1].status = "queued";
  EXPECT_EQ(reason_of_bob(), "queued; lower-priority trials are asked to make room");
  // Nothing of a lower priority runs (the same priority does): it waits like anyone.
  counts[0].priority = 5;
  EXPECT_EQ(reason_of_bob(), "queued, waiting for a free slot");
}

TEST(BuildQueueView, HigherPriorityHoldsBackOnlyWhenItCanBeFed) {
  std::vector<WorkerSlots> workers = {{{"cpu"}, 1, 1}};
  std::vector<QueueCount> counts = {
      Row("cpu", 1, "pending", 5, "ann", 0),
      Row("cpu", 2, "pending", 5, "bob", 0),
      Row("cpu", 3, "pending", 5, "cy", 10),
  };
  json view = BuildQueueView(counts, workers, 0);
  const json& sweeps = ClassOf(view, "cpu")["sweeps"];
  ASSERT_EQ(sweeps.size(), 3u);
  EXPECT_EQ(sweeps[0]["sweep_id"], 3);  // highest priority first, then by id
  EXPECT_EQ(sweeps[1]["sweep_id"], 1);
  EXPECT_EQ(sweeps[2]["sweep_id"], 2);
  EXPECT_EQ(sweeps[0]["reason"], "waiting for a free slot (fair share)");
  EXPECT_EQ(sweeps[1]["reason"], "behind higher-priority sweeps");
  EXPECT_EQ(sweeps[2]["reason"], "behind higher-priority sweeps");
  // The high-priority sweep at its own cap no longer holds the others back.
  counts[2].max_running = 1;
  counts.push_back(Row("cpu", 3, "running", 1, "cy", 10, 1));
  view = BuildQueueView(counts, workers, 0);
  const json& after = ClassOf(view, "cpu")["sweeps"];
  EXPECT_EQ(after[0]["reason"], "at its cap (max_running 1)");
  EXPECT_EQ(after[1]["reason"], "waiting for a free slot (fair share)");
  // Nor does one in another class.
  counts = {Row("cuda", 3, "pending", 5, "cy", 10), Row("cpu", 1, "pending", 5, "ann", 0)};
  view = BuildQueueView(counts, {{{"cpu", "cuda"}, 1, 0}}, 0);
  EXPECT_EQ(ClassOf(view, "cpu")["sweeps"][0]["reason"], "waiting for a free slot (fair share)");
}

TEST(BuildQueueView, NoWorkersNoTrialsIsEmpty) {
  const json view = BuildQueueView({}, {}, 4);
  EXPECT_EQ(view, json({{"classes", json::array()}, {"max_running_per_user", 4}}));
}

}  // namespace
}  // namespace sic
