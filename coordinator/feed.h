// Feed: the coordinator's scheduler loop for adaptive sweeps (a "schedule",
// a "search", or both; docs/sweep-service.md, "Adaptive sweeps"). Plain
// sweeps are not its business: their trials are pending from submit and the
// enqueue pump pushes them all.
//
// An adaptive sweep's trials are fed lazily, a few ahead of the free workers:
// each pass, while fewer than `ahead` + free worker slots trials of adaptive
// sweeps are pending or queued, the feed asks each unsettled sweep (oldest
// first) what runs next:
//   - a promotion (ASHA: the best paused trial in the top 1/eta of its rung,
//     rungs top-down; the median rule: every paused trial not below its rung's
//     median) -> the trial goes back to pending with the next rung's step;
//   - else a new configuration: the next waiting trial of a grid, or the
//     sampler's next suggestion of a search -> pending, to pause at rung 0;
//   - else nothing; once nothing runs and nothing can start, every paused
//     trial is stopped and the sweep settled.
// Every decision is a function of the store's rows (coordinator/scheduler.h,
// coordinator/sampler.h), and every move a guarded UPDATE (Store: Release,
// Promote, StopPaused), so a restart or a repeated pass decides the same and
// records each move once.
//
// Ask hands out an external search's next suggestion (marked running);
// Store::Tell records its value.
//
// Thread-safety: Start/Stop from one thread; Wake, Ask and RungOf from any
// (Ask and the loop take one mutex: suggestions are numbered in order).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/store.h"
#include "common/sweep_spec.h"

namespace sic {

struct FeedOptions {
  int64_t ahead = 2;        // trials fed beyond the free worker slots
  double period_s = 1.0;    // a pass at least this often (and on Wake)
};

// An external search's suggestion.
struct Suggestion {
  int64_t trial_id = 0, number = 0;
  nlohmann::json params;
};

class Feed {
 public:
  // `free_slots` says how many worker slots are idle now (live workers'
  // concurrency minus their running trials); an error counts as 0.
  Feed(Store& store, std::function<Result<int64_t>()> free_slots, FeedOptions options = {});
  ~Feed();
  void Start();
  void Stop();
  void Wake();
  // Called after a pass that fed trials (pending now): wake the enqueue pump.
  void SetFedObserver(std::function<void()> observer) { on_fed_ = std::move(observer); }
  // One pass now, on the caller's thread (tests, and the loop).
  Status Pass();

  // The rung of a trial of `sweep_id` that paused at `step`, and the rung
  // signal among its `metrics` (NaN when absent): for the ingest pump, which
  // calls it inside a store batch (so it takes no lock a pass holds).
  Result<std::pair<int64_t, double>> RungOf(int64_t sweep_id, int64_t step,
                                            const std::map<std::string, double>& metrics);

  // The next suggestion of an external search (FailedPrecondition when the
  // sweep is not one, is canceled, or has handed out all its trials).
  Result<Suggestion> Ask(int64_t sweep_id);


 private:
  struct Sweep;  // a parsed spec, cached per sweep
  void Loop();
  // The parsed spec, cached; shared, so a sweep settled by the loop leaves a
  // caller on another thread with its copy.
  Result<std::shared_ptr<const SweepSpec>> SpecOf(const SweepRow& row);
  void ForgetSpec(int64_t sweep_id);
  // One decision for one sweep; returns whether it fed a trial. Without
  // `may_feed` it only stops, and settles a sweep with nothing left.
  Result<bool> Step(const SweepRow& row, const SweepSpec& spec, bool may_feed);
  Result<bool> StartNew(const SweepRow& row, const SweepSpec& spec, const std::vector<ScheduledTrial>& trials);
  Result<nlohmann::json> NextParams(const SweepSpec& spec, const std::vector<ScheduledTrial>& trials,
                                    int64_t number);

  Store& store_;
  std::function<Result<int64_t>()> free_slots_;
  FeedOptions options_;
  std::function<void()> on_fed_;
  // One pass or Ask at a time. Taken before the store's lock, never after:
  // RungOf runs inside the ingest pump's store batch, so it must not take it
  // (it did, and the coordinator deadlocked against a pass).
  std::mutex mu_;
  // Guards specs_ alone: held for no store call.
  std::mutex specs_mu_;
  std::map<int64_t, std::shared_ptr<const SweepSpec>> specs_;
  std::mutex wake_mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sic
