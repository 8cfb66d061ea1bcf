// Dispatch: which pending trials the coordinator feeds to the queues next
// (DESIGN.md: "The coordinator feeds queues; it does not dump sweeps into
// them"). Each device class has its own queue, kept `ahead` trials beyond
// the slots of the live workers that serve it:
//
//   budget(class) = slots(class) + ahead - queued(class) - running(class)
//
// and the budget goes, one trial at a time, to
//   1. the highest priority among sweeps with a pending trial of the class;
//   2. among those, the user with the fewest queued + running trials (fair
//      share: a user with one trial in flight goes before one with forty);
//   3. among that user's sweeps, the one with the fewest in flight, then the
//      oldest;
// skipping a sweep at its own cap (max_running) and a user at their cap (their
// quota, else the per-user default): they wait without blocking anyone else.
// Caps count queued + running trials of every class, so a user at the cap
// never has more running.
// Running trials are not preempted unless a sweep asks (PlanPreemption).
//
// PlanDispatch is a pure function of the counts (Store::DispatchCounts,
// taken from SQLite in one snapshot), so a restarted
// coordinator plans what the old one would have.
//
// Thread-safety: pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/store.h"  // DispatchSweep

namespace sic {

// A live worker as the dispatcher (and the queue view) counts it, from the
// registry.
struct WorkerSlots {
  std::vector<std::string> classes;  // empty: {"cpu"} (workers older than classes)
  int64_t concurrency = 1;           // slots (below 1 counts as 1)
  int64_t running = 0;               // trials it runs now
  double gpu_memory_gb = 0;          // declared per GPU; 0: serves no memory queue
};

// Slots per queue (common/resources.h: Serves): for every class the workers
// serve and every queue in `queues`, the concurrency of the workers serving it
// (left out when none does). A worker serving two queues ("cuda" and
// "cuda@40") counts in both.
std::map<std::string, int64_t> SlotsByQueue(const std::vector<WorkerSlots>& workers,
                                            const std::vector<std::string>& queues);

struct DispatchPolicy {
  int64_t ahead = 1;                 // trials fed beyond a class's worker slots
  int64_t max_running_per_user = 0;  // 0: no cap; a user's quota overrides it (DispatchSweep::user_cap)
};
// A user's cap on queued + running trials: their quota (Store::SetQuota;
// -1: none), else `default_cap` (--max-running-per-user). 0: no cap.
// Inline: the queue view (sic_queue_view) uses it without the dispatcher.
inline int64_t OwnerCap(int64_t quota, int64_t default_cap) { return quota >= 0 ? quota : default_cap; }
// The same for `sweep`'s owner under `policy`.
int64_t UserCap(const DispatchSweep& sweep, const DispatchPolicy& policy);

// The picks, in the order they go into the queues (consecutive picks of one
// sweep merged). `slots`: concurrency of the live workers serving each class (a class
// missing from it has none: it still gets `ahead`, so that an autoscaler sees
// a queue and starts a worker).
struct DispatchPick {
  int64_t sweep_id = 0;
  std::string device_class;
  int64_t count = 0;
};
std::vector<DispatchPick> PlanDispatch(const std::vector<DispatchSweep>& sweeps,
                                       const std::map<std::string, int64_t>& slots, const DispatchPolicy& policy);

// Preemption, for sweeps that ask for it (spec "preempt": true, set by an
// admin). Per queue, the trials of preempting sweeps that could run now
// (pending + queued, within their caps) first take the queue's idle slots
// (slots - running) and the slots of jobs already asked to give way
// (`asked`, still running); for the rest, running jobs of the same queue
// whose sweep has a strictly lower priority are asked to give their worker
// back: lowest priority first, then the most recently started attempt (an
// asked job checkpoints before it goes, so no step is lost; the youngest
// attempt has spent the least on loading and warming up), one per trial that
// wants a slot. Higher-priority preempting sweeps choose first. A job of the same
// or a higher priority is never asked, so two preempting sweeps cannot take
// turns evicting each other. Only the same queue is looked at: a trial of
// "cuda@40" never evicts a "cuda" trial, even where one 80 GB worker serves
// both.
// Queued jobs (`queued` in `running`: in the stream, not started) of a
// strictly lower priority that stand ahead of a preempting sweep's trials are
// asked too, whatever the slots: a freed slot claims the stream's oldest entry,
// so such a job would start in the room made for the sweep and be asked to go
// a round later. Ahead means an older ticket than one of the sweep's queued
// jobs, or any ticket while the sweep still has trials to feed. The worker
// gives an asked job back before it starts.
// Pure function of the counts, the running jobs and the outstanding
// requests, so a restarted coordinator asks for what the old one would have.
struct PreemptPick {
  int64_t trial_id = 0, ticket = 0;
};
std::vector<PreemptPick> PlanPreemption(const std::vector<DispatchSweep>& sweeps,
                                        const std::vector<RunningTrial>& running,
                                        const std::map<std::string, int64_t>& slots,
                                        const std::set<std::pair<int64_t, int64_t>>& asked,
                                        const DispatchPolicy& policy);

}  // namespace sic
