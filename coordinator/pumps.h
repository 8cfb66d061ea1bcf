// Pumps: the coordinator's background loops between SQLite and Redis.
//   enqueue:   pending trials -> sic:trials:<class> (the trial's device
//              class), each with a new ticket (and the
//              step to pause at), then marked queued (a crash between the two
//              enqueues them again with new tickets; duplicates are harmless);
//              and a discard job per checkpoint no trial will resume; and,
//              for sweeps that may preempt, requests in <prefix>:preempt for
//              the running jobs that must make room and the queued ones that
//              stand ahead of them (dispatch.h: PlanPreemption), removed once
//              their job no longer runs or waits.
//   ingest:    sic:results -> SQLite, each entry acknowledged only after the
//              transaction that records it has committed: results, progress
//              with the live curve, evaluations during training, pauses at
//              rungs (coordinator/feed.h decides what follows a pause),
//              preempted jobs (the trial goes back to pending). An entry that can
//              never be recorded (malformed, unknown kind) or whose recording
//              failed kMaxRecordTries times in a row becomes a dead letter
//              (stored, then acknowledged), so it never holds up other results.
//   reconcile: every reconcile_s, SQLite's queued and running trials against
//              the jobs in every class's sic:trials:<class>: a trial whose current ticket has no job
//              there at two passes in a row, and whose ticket is older than
//              reconcile_s, goes back to pending and is enqueued again (Redis
//              lost it: a stale snapshot, a trimmed stream, wiped data) -
//              once every result that was in sic:results at the first of
//              the two passes has been recorded: a worker acknowledges its
//              job right after sending the result, so under a backlog of
//              results a finished trial's job is gone while SQLite still
//              says running (seen: 50 of 10,000 zero-step trials run twice).
// All retry forever when Redis is down, logging once per outage.
// Live progress (latest step of running trials) is kept in memory only.
//
// Thread-safety: Start/Stop from one thread; Wake and Progress from any.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/queue.h"
#include "common/store.h"
#include "common/trial_report.h"
#include "coordinator/dispatch.h"

namespace sic {

struct LiveProgress {
  int64_t step = 0, total_steps = 0;
  double time = 0;
};

struct PumpOptions {
  double reconcile_s = 15;  // reconciler period and grace (0: no reconciler)
  // Feed pending trials through the dispatcher (coordinator/dispatch.h):
  // per class, a few beyond the workers' slots, by priority and fair share.
  // false: every pending trial goes to its queue at once, first in first out.
  bool fair = true;
  DispatchPolicy dispatch;
};

class Pumps {
 public:
  // Failed recordings of one entry before it becomes a dead letter (about a
  // second apart): rides out a busy or briefly full disk, not a broken event.
  static constexpr int kMaxRecordTries = 5;

  Pumps(Store& store, RedisOptions redis, std::string prefix, PumpOptions options = {});
  ~Pumps();
  // Called with each recorded event's latency (its worker's time to the
  // commit), for metrics. Set before Start.
  void SetIngestObserver(std::function<void(double)> observer) { on_ingested_ = std::move(observer); }
  // Where a trial of sweep S that paused at `step` with `metrics` stands:
  // its rung and the rung signal (Feed::RungOf). Set before Start; without
  // it a pause is recorded at rung 0 with no value.
  using RungResolver = std::function<Result<std::pair<int64_t, double>>(
      int64_t sweep_id, int64_t step, const std::map<std::string, double>& metrics)>;
  void SetRungResolver(RungResolver resolver) { rung_of_ = std::move(resolver); }
  // Called after a batch that paused a trial was committed (the feed has a
  // decision to make). Set before Start.
  void SetPauseObserver(std::function<void()> observer) { on_paused_ = std::move(observer); }
  // The live workers (registry), whose slots the dispatcher counts per queue
  // (SlotsByQueue); called on the enqueue thread. Set before Start; without
  // it every queue counts as having no worker (fed `ahead` trials only).
  using LiveWorkers = std::function<Result<std::vector<WorkerSlots>>()>;
  void SetSlots(LiveWorkers workers) { slots_ = std::move(workers); }
  void Start();
  void Stop();
  // A trial whose job was missing from its stream at one reconciler pass:
  // its ticket then, and the newest entry of <prefix>:results then (its
  // result, if it was on its way, is at or before it).
  struct Suspect {
    int64_t ticket = 0;
    std::string results_mark;
  };
  // One reconciler pass (the reconciler thread's; public for its tests);
  // `suspects` carries over to the next pass.
  Status ReconcileOnce(Queue& queue, std::map<int64_t, Suspect>& suspects);
  // New pending trials exist (a submit or a retry): enqueue without waiting.
  void Wake();
  std::map<int64_t, LiveProgress> Progress();
  // Events ingested so far (for logs and tests).
  int64_t ingested() const { return ingested_.load(); }

 private:
  void EnqueueLoop();
  // The trials to enqueue now, each with a new ticket: what the dispatcher
  // plans, or (not fair) the oldest pending ones.
  Result<std::vector<TrialRow>> TakeNext();
  // Discard jobs for checkpoints no trial will resume (Store::Discards).
  Status EnqueueDiscards(Queue& queue);
  // Asks running jobs to make room for preempting sweeps, from the counts
  // TakeNext read; clears requests whose job no longer runs.
  Status Preempt(Queue& queue);
  void IngestLoop();
  void ReconcileLoop();

  // Records one decoded event (inside the caller's Store::Batch).
  Status Record(const DecodedEvent& event);
  void Wait(int64_t ms);
  // Creates the groups when missing (the results stream's and one trials
  // stream per device class of the trials not yet final); when Redis has lost
  // them (restarted without AOF), every queued and running trial is enqueued again.
  Status EnsureGroups(Queue& queue);

  Store& store_;
  RedisOptions redis_;
  std::string prefix_;
  PumpOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> ingested_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  std::map<int64_t, LiveProgress> progress_;  // guarded by mu_
  std::map<std::string, int> failures_;       // entry id -> failed recordings; ingest thread only
  std::mutex groups_mu_;
  std::thread enqueue_, ingest_, reconcile_;
  std::function<void(double)> on_ingested_;
  RungResolver rung_of_;
  LiveWorkers slots_;
  std::vector<WorkerSlots> slots_cache_;                 // enqueue thread only
  std::chrono::steady_clock::time_point slots_read_;     // when slots_cache_ was read
  std::vector<DispatchSweep> counts_;                    // enqueue thread only: TakeNext's last read
  std::map<std::string, int64_t> queue_slots_;           // enqueue thread only: and its slots per queue
  int64_t preempt_requests_ = -1;                        // enqueue thread only: in Redis (-1: not read yet)
  std::function<void()> on_paused_;
  bool paused_in_batch_ = false;  // ingest thread only
};

}  // namespace sic
