// The dispatcher's plan (coordinator/dispatch.h) as a pure function:
// budgets per class, priority first, fair share by user then sweep, caps.
#include "coordinator/dispatch.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace sic {
namespace {

DispatchSweep S(int64_t id, const std::string& owner, int64_t pending, int64_t running = 0, int64_t queued = 0,
                const std::string& cls = "cpu") {
  DispatchSweep s;
  s.sweep_id = id;
  s.owner = owner;
  s.pending = pending;
  s.running = running;
  s.queued = queued;
  s.device_class = cls;
  return s;
}

// The sweep ids in the order the plan feeds them, one per trial.
std::vector<int64_t> Order(const std::vector<DispatchPick>& picks) {
  std::vector<int64_t> out;
  for (const DispatchPick& p : picks) {
    for (int64_t k = 0; k < p.count; ++k) out.push_back(p.sweep_id);
  }
  return out;
}

TEST(Dispatch, FeedsSlotsPlusAheadMinusWhatIsInFlight) {
  DispatchPolicy policy;
  policy.ahead = 2;
  // 3 slots + 2 ahead - (1 running + 1 queued) = 3.
  auto picks = PlanDispatch({S(1, "ann", 100, 1, 1)}, {{"cpu", 3}}, policy);
  EXPECT_EQ(Order(picks), (std::vector<int64_t>{1, 1, 1}));
  // Full: nothing.
  EXPECT_TRUE(PlanDispatch({S(1, "ann", 100, 3, 2)}, {{"cpu", 3}}, policy).empty());
}

TEST(Dispatch, AClassWithNoWorkerStillGetsAheadForTheAutoscaler) {
  DispatchPolicy policy;
  policy.ahead = 1;
  auto picks = PlanDispatch({S(1, "ann", 5, 0, 0, "cuda")}, {{"cpu", 4}}, policy);
  ASSERT_EQ(picks.size(), 1u);
  EXPECT_EQ(picks[0].device_class, "cuda");
  EXPECT_EQ(picks[0].count, 1);
}

TEST(Dispatch, ClassesHaveSeparateBudgets) {
  DispatchPolicy policy;
  policy.ahead = 1;
  auto picks = PlanDispatch({S(1, "ann", 10, 2, 1, "cpu"), S(1, "ann", 10, 0, 0, "cuda")}, {{"cpu", 2}, {"cuda", 2}},
                            policy);
  ASSERT_EQ(picks.size(), 1u);  // cpu is full (2 running + 1 queued); cuda gets 2 + 1
  EXPECT_EQ(picks[0].device_class, "cuda");
  EXPECT_EQ(picks[0].count, 3);
}

// A memory queue's slots are those of the class's workers that declare
// enough memory; they count in the class's queue too.
TEST(Dispatch, MemoryQueuesCountOnlyTheWorkersLargeEnough) {
  std::vector<WorkerSlots> workers = {
      {{"cuda"}, 4, 0, 24},  // 24 GB
      {{"cuda"}, 2, 0, 80},  // 80 GB
      {{"cuda"}, 1, 0, 0},   // memory not declared
      {{"cpu"}, 8, 0, 0},
  };
  auto slots = SlotsByQueue(workers, {"cuda@40", "cuda@100", "gpu"});
  EXPECT_EQ(slots["cuda"], 7);
  EXPECT_EQ(slots["cuda@40"], 2);
  EXPECT_EQ(slots["cpu"], 8);
  EXPECT_EQ(slots["cuda@100"], 0);
  EXPECT_EQ(slots["gpu"], 0);
  // The 40 GB trials get the 80 GB worker's 2 slots + 1 ahead, not 7 + 1.
  DispatchPolicy policy;
  policy.ahead = 1;
  auto picks = PlanDispatch({S(1, "ann", 10, 0, 0, "cuda@40")}, slots, policy);
  ASSERT_EQ(picks.size(), 1u);
  EXPECT_EQ(picks[0].device_class, "cuda@40");
  EXPECT_EQ(picks[0].count, 3);
}

TEST(Dispatch, ASmallSweepOfAnotherUserGoesBeforeABigOneInFlight) {
  DispatchPolicy policy;
  policy.ahead = 1;
  // ann has 1 running of a 200-trial sweep; bob just submitted 5: the one free place is bob's.
  auto picks = PlanDispatch({S(1, "ann", 199, 1, 0), S(2, "bob", 5)}, {{"cpu", 1}}, policy);
  EXPECT_EQ(Order(picks), (std::vector<int64_t>{2}));
}

TEST(Dispatch, UsersInterleaveThenSweepsOfOneUser) {
  DispatchPolicy policy;
  policy.ahead = 0;
  // ann has two sweeps, bob one: ann and bob alternate; ann's turns alternate between her sweeps.
  auto picks = PlanDispatch({S(1, "ann", 10), S(2, "ann", 10), S(3, "bob", 10)}, {{"cpu", 6}}, policy);
  EXPECT_EQ(Order(picks), (std::vector<int64_t>{1, 3, 2, 3, 1, 3}));
}

TEST(Dispatch, HigherPriorityGoesFirstWithoutPreempting) {
  DispatchPolicy policy;
  policy.ahead = 0;
  DispatchSweep low = S(1, "ann", 10, 2, 0);
  DispatchSweep high = S(2, "bob", 10);
  high.priority = 5;
  auto picks = PlanDispatch({low, high}, {{"cpu", 5}}, policy);
  // The 2 running stay; the 3 free slots all go to the higher priority.
  EXPECT_EQ(Order(picks), (std::vector<int64_t>{2, 2, 2}));
  // Once it has nothing pending, the lower priority gets the rest.
  high.pending = 1;
  EXPECT_EQ(Order(PlanDispatch({low, high}, {{"cpu", 5}}, policy)), (std::vector<int64_t>{2, 1, 1}));
}

TEST(Dispatch, ASweepAtItsCapWaitsWithoutBlockingOthers) {
  DispatchPolicy policy;
  policy.ahead = 0;
  DispatchSweep capped = S(1, "ann", 10, 2, 0);
  capped.max_running = 2;
  capped.priority = 9;
  auto picks = PlanDispatch({capped, S(2, "bob", 10)}, {{"cpu", 5}}, policy);
  EXPECT_EQ(Order(picks), (std::vector<int64_t>{2, 2, 2}));
}

TEST(Dispatch, AUserAtTheCapWaitsAcrossClassesAndSweeps) {
  DispatchPolicy policy;
  policy.ahead = 0;
  policy.max_running_per_user = 3;
  // ann: 2 in flight on cuda, 10 pending on cpu in another sweep: only 1 more, wherever.
  auto picks = PlanDispatch({S(1, "ann", 0, 2, 0, "cuda"), S(2, "ann", 10), S(3, "bob", 10)}, {{"cpu", 6}}, policy);
  std::vector<int64_t> order = Order(picks);
  EXPECT_EQ(std::count(order.begin(), order.end(), 2), 1);
  EXPECT_EQ(std::count(order.begin(), order.end(), 3), 3);  // bob to his cap too
  EXPECT_EQ(order.size(), 4u);
}

TEST(Dispatch, NothingPendingNothingFed) {
  EXPECT_TRUE(PlanDispatch({}, {{"cpu", 8}}, DispatchPolicy()).empty());
  EXPECT_TRUE(PlanDispatch({S(1, "ann", 0, 1, 0)}, {{"cpu", 8}}, DispatchPolicy()).empty());
}

TEST(Dispatch, AUsersQuotaOverridesTheDefaultCap) {
  DispatchPolicy policy;
  policy.ahead = 0;
  policy.max_running_per_user = 1;
  DispatchSweep ann = S(1, "ann", 10);
  ann.user_cap = 3;  // her quota: 3, over the default 1
  DispatchSweep bob = S(2, "bob", 10);
  DispatchSweep cat = S(3, "cat", 10);
  cat.user_cap = 0;  // no cap for her at all
  std::vector<int64_t> order = Order(PlanDispatch({ann, bob, cat}, {{"cpu", 10}}, policy));
  EXPECT_EQ(std::count(order.begin(), order.end(), 1), 3);
  EXPECT_EQ(std::count(order.begin(), order.end(), 2), 1);
  EXPECT_EQ(std::count(order.begin(), order.end(), 3), 6);
  EXPECT_EQ(UserCap(ann, policy), 3);
  EXPECT_EQ(UserCap(bob, policy), 1);
  EXPECT_EQ(UserCap(cat, policy), 0);
}

// ---- preemption (PlanPreemption)

RunningTrial Job(int64_t trial, int64_t sweep, int64_t priority, double started, const std::string& cls = "cpu") {
  RunningTrial t;
  t.trial_id = trial;
  t.ticket = trial * 10;
  t.sweep_id = sweep;
  t.priority = priority;
  t.started_at = started;
  t.device_class = cls;
  return t;
}

std::vector<int64_t> Asked(const std::vector<PreemptPick>& picks) {
  std::vector<int64_t> out;
  for (const PreemptPick& p : picks) out.push_back(p.trial_id);
  return out;
}

TEST(Dispatch, APreemptingSweepAsksLowerPriorityJobsYoungestFirstOnePerTrialItWants) {
  DispatchPolicy policy;
  // Two slots, both busy with sweep 1 (priority 0); sweep 3 (priority 1)
  // runs nothing; sweep 2 (priority 5, preempt) wants 1 trial.
  DispatchSweep low = S(1, "ann", 4, 2, 1);
  DispatchSweep high = S(2, "bob", 1);
  high.priority = 5;
  high.preempt = true;
  std::vector<RunningTrial> running = {Job(11, 1, 0, 100), Job(12, 1, 0, 200)};
  auto picks = PlanPreemption({low, high}, running, {{"cpu", 2}}, {}, policy);
  ASSERT_EQ(Asked(picks), (std::vector<int64_t>{12}));  // the younger attempt
  EXPECT_EQ(picks[0].ticket, 120);
  // Asked already (and still running): nothing more.
  EXPECT_TRUE(PlanPreemption({low, high}, running, {{"cpu", 2}}, {{12, 120}}, policy).empty());
  // An answered request of an older ticket does not count: asked again.
  EXPECT_EQ(Asked(PlanPreemption({low, high}, running, {{"cpu", 2}}, {{12, 99}}, policy)), (std::vector<int64_t>{12}));
  // A free slot serves it without asking anyone.
  EXPECT_TRUE(PlanPreemption({low, high}, running, {{"cpu", 3}}, {}, policy).empty());
  // Queued trials want slots too: 1 pending + 2 queued = 3 jobs asked.
  high.queued = 2;
  running.push_back(Job(13, 1, 0, 50));
  EXPECT_EQ(Asked(PlanPreemption({low, high}, running, {{"cpu", 3}}, {}, policy)), (std::vector<int64_t>{12, 11, 13}));
}

TEST(Dispatch, PreemptionNeedsTheSweepToAskAndAStrictlyLowerPriority) {
  DispatchPolicy policy;
  DispatchSweep low = S(1, "ann", 0, 2);
  DispatchSweep high = S(2, "bob", 3);
  high.priority = 5;
  std::vector<RunningTrial> running = {Job(11, 1, 0, 100), Job(12, 1, 5, 200)};
  // Not asked for: a higher priority waits for free slots.
  EXPECT_TRUE(PlanPreemption({low, high}, running, {{"cpu", 2}}, {}, policy).empty());
  high.preempt = true;
  // Job 12 is of priority 5 (its sweep's priority was raised): equal, never asked.
  EXPECT_EQ(Asked(PlanPreemption({low, high}, running, {{"cpu", 2}}, {}, policy)), (std::vector<int64_t>{11}));
  // The lowest priority goes first, whatever its age.
  running.push_back(Job(13, 3, -2, 10));
  EXPECT_EQ(Asked(PlanPreemption({low, high}, running, {{"cpu", 3}}, {}, policy)), (std::vector<int64_t>{13, 11}));
}

TEST(Dispatch, PreemptionStaysInItsQueueAndWithinTheCaps) {
  DispatchPolicy policy;
  DispatchSweep high = S(2, "bob", 5, 0, 0, "cuda");
  high.priority = 5;
  high.preempt = true;
  high.max_running = 2;
  // A cpu job is no room for a cuda trial.
  std::vector<RunningTrial> running = {Job(11, 1, 0, 100, "cpu"), Job(21, 3, 0, 100, "cuda"),
                                       Job(22, 3, 0, 200, "cuda"), Job(23, 3, 0, 300, "cuda")};
  DispatchSweep other = S(3, "ann", 0, 3, 0, "cuda");
  // 5 wanted, capped at 2 by max_running.
  EXPECT_EQ(Asked(PlanPreemption({high, other}, running, {{"cpu", 1}, {"cuda", 3}}, {}, policy)),
            (std::vector<int64_t>{23, 22}));
  // The per-user cap: bob runs 1 elsewhere, cap 2: one more.
  policy.max_running_per_user = 2;
  DispatchSweep bob_elsewhere = S(4, "bob", 0, 1, 0, "cpu");
  EXPECT_EQ(Asked(PlanPreemption({high, other, bob_elsewhere}, running, {{"cpu", 1}, {"cuda", 3}}, {}, policy)),
            (std::vector<int64_t>{23}));
}

TEST(Dispatch, TheHigherPreemptingSweepChoosesFirst) {
  DispatchPolicy policy;
  DispatchSweep mid = S(2, "bob", 1);
  mid.priority = 3;
  mid.preempt = true;
  DispatchSweep top = S(3, "cat", 1);
  top.priority = 9;
  top.preempt = true;
  // One job of priority 0 and one of priority 3 (a running trial of sweep 2).
  std::vector<RunningTrial> running = {Job(11, 1, 0, 100), Job(21, 2, 3, 300)};
  // top takes the lowest (11); mid can take only priority < 3, none left.
  EXPECT_EQ(Asked(PlanPreemption({mid, top}, running, {{"cpu", 2}}, {}, policy)), (std::vector<int64_t>{11}));
}

// The cascade this prevents: a lower-priority job queued before the preempting
// sweep's claims the slot a preemption freed, starts, and is asked a round later.
TEST(Dispatch, LowerPriorityJobsQueuedAheadOfAPreemptingSweepAreAskedBeforeTheyStart) {
  DispatchPolicy policy;
  DispatchSweep low = S(1, "ann", 0, 2, 2);  // 2 running, 2 queued
  DispatchSweep high = S(2, "bob", 0, 0, 1);  // 1 queued, nothing pending
  high.priority = 5;
  high.preempt = true;
  auto queued = [](int64_t trial, int64_t sweep, int64_t priority, int64_t ticket) {
    RunningTrial t = Job(trial, sweep, priority, 0);
    t.ticket = ticket;
    t.queued = true;
    return t;
  };
  // Stream order (tickets): 13 (low), 14 (low), 21 (high), 15 (low, fed later).
  std::vector<RunningTrial> jobs = {Job(11, 1, 0, 100), Job(12, 1, 0, 200), queued(13, 1, 0, 130),
                                    queued(14, 1, 0, 140), queued(21, 2, 5, 150), queued(15, 1, 0, 160)};
  // The running job 12 makes room; 13 and 14, ahead of 21 in the stream, are
  // asked too; 15, behind it, is not.
  EXPECT_EQ(Asked(PlanPreemption({low, high}, jobs, {{"cpu", 2}}, {}, policy)), (std::vector<int64_t>{13, 14, 12}));
  // With trials still to feed, every lower-priority queued job is ahead of them.
  high.pending = 1;
  EXPECT_EQ(Asked(PlanPreemption({low, high}, jobs, {{"cpu", 3}}, {}, policy)), (std::vector<int64_t>{13, 14, 15, 12}));
  // Asked already: not again. Queued jobs are no slots: they never count as running.
  EXPECT_EQ(Asked(PlanPreemption({low, high}, jobs, {{"cpu", 3}}, {{13, 130}, {14, 140}, {15, 160}}, policy)),
            (std::vector<int64_t>{12}));
  // Equal priorities never give way, queued or running; nor when the sweep may not preempt.
  jobs[2].priority = 5;
  EXPECT_EQ(Asked(PlanPreemption({low, high}, jobs, {{"cpu", 3}}, {{14, 140}, {15, 160}}, policy)),
            (std::vector<int64_t>{12}));
  high.preempt = false;
  EXPECT_TRUE(PlanPreemption({low, high}, jobs, {{"cpu", 2}}, {}, policy).empty());
  // A sweep at its cap wants nothing: the queued jobs run first, as they would.
  high.preempt = true;
  high.max_running = 1;
  high.running = 1;
  EXPECT_TRUE(PlanPreemption({low, high}, jobs, {{"cpu", 2}}, {}, policy).empty());
}

}  // namespace
}  // namespace sic
