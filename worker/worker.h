// Worker: `concurrency` slots, each claiming one trial at a time from Redis
// (expired leases first), keeping its lease alive on a heartbeat thread,
// running the trial through a TrialFn, and reporting progress and the result.
//
// Devices: a worker claims only from the streams of its device classes
// (`classes`, common/queue.h), so it never sees a trial it cannot run. The
// worker, not the trial's config, chooses the device: with `gpus`, there are
// `trials_per_gpu` slots per listed GPU and slot k runs its trials on
// cuda:<gpus[k / trials_per_gpu]>;
// without, every trial runs on "cpu" (a worker of class "cuda" without GPUs
// is a stand-in, e.g. in CI). With `gpu_memory_gb` it also claims from its
// classes' memory queues up to that size ("cuda@40": trials that need 40 GB
// per GPU), and only then: a worker that declares nothing never gets them.
// GPUs shared by several trials each serve up to their share of it.
// The registry heartbeat carries the classes, the GPUs and the declared memory.
//
// Per claimed entry, in this order:
//   - malformed (worker/job.h refuses it): when its trial id is readable, a
//     failed result "malformed job: ..." at once (every delivery would be
//     refused alike), then acknowledged; otherwise acknowledged and dropped
//     with a log line.
//   - discard (a trial stopped early or canceled): the trial's checkpoint
//     directory moved to finished_dir, or removed when there is none;
//     acknowledged; no event.
//   - sweep canceled: acknowledged, skipped (the store has it canceled).
//   - asked to make room already (<prefix>:preempt names its ticket: it was
//     queued ahead of a preempting sweep's trials): Preempted at step 0 sent,
//     then acknowledged; nothing runs.
//   - delivered more than max_deliveries times: a failed result with the last
//     error any attempt recorded, then acknowledged. Never retried forever.
//   - run: progress every progress_ms, with the curve points logged since the
//     last (at most 200, the newest); an evaluation event per periodic probe;
//     checkpoints go to checkpoint_dir/trial-<id>-r<round>, so a taken-over
//     trial resumes, and so does a paused one on any worker sharing the dir.
//       finished: result sent, then acknowledged, then the directory moved
//                 to finished_dir (its model can be evaluated again or
//                 trained further), or removed when there is none.
//       paused (at the job's stop_at_step): Paused sent, then acknowledged;
//                 the directory is kept for a later job (a promotion).
//       stale (the checkpoint is past stop_at_step): acknowledged, no event.
//       error:    recorded as the last error; released for another delivery.
//                 Anything the TrialFn throws is such an error.
//       preempted (the coordinator asked, <prefix>:preempt, seen at a
//                 heartbeat): checkpointed, Preempted sent, then acknowledged;
//                 the directory is kept, the trial resumes wherever it is fed next.
//       stop (SIGTERM): checkpointed and released at once for another worker.
//       lease lost (another worker owns it now): dropped quietly.
// A checkpoint directory is removed only once the trial's final result is in
// Redis and its entry acknowledged: a worker stopped while Redis is away
// keeps it, and the trial resumes from it on its next delivery.
// No exception ends a slot (or the process): one thrown outside the TrialFn
// is logged and the entry released.
// RequestStop makes every slot stop claiming and stop its trial; Run returns
// when all slots are done. With one_shot, each slot runs one trial and exits.
//
// Thread-safety: RequestStop may be called from any thread (e.g. a signal
// waiter); everything else from the thread that calls Run.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "common/queue.h"
#include "worker/trial_runner.h"

namespace sic {

namespace v1 {
class TrialOutcome;
}

// A finished trial's outcome message: ok, its metrics, curve and artifacts
// (the caller sets the times).
void FillOutcome(const TrialRun& run, v1::TrialOutcome* out);

struct WorkerOptions {
  RedisOptions redis;
  std::string prefix = "sic";
  std::string name;               // unique per process; consumers are name/slot
  std::string checkpoint_dir = "checkpoints";
  // Where a finished trial's folder goes (finished_dir/trial-<id>-r<round>:
  // the final checkpoint, config, curve and evaluation files), and that of a
  // trial stopped early or canceled, at its discard job; empty: removed.
  // Without it a sweep keeps its metrics and pictures but not its networks.
  std::string finished_dir;
  int64_t lease_ms = 30000;       // a claim idle this long may be taken over
  int64_t heartbeat_ms = 0;       // 0: lease_ms / 3
  int64_t max_deliveries = 3;
  int64_t progress_ms = 2000;
  int64_t block_ms = 1000;        // how long one claim waits for work
  int concurrency = 1;            // with gpus: gpus.size() * trials_per_gpu
  // The device classes it claims from, in order of preference (--class).
  std::vector<std::string> classes = {"cpu"};
  // The CUDA devices it runs trials on, one slot each (--gpus); empty: CPU.
  std::vector<int> gpus;
  double gpu_memory_gb = 0;       // declared memory per GPU (0: not given): see above
  // Trials side by side on each GPU (--trials-per-gpu). A small network's
  // step is launch-bound on a GPU: on an H200, 8 trials of N=64 at once ran
  // 5.8x one alone (docs/science-core.md, "On a GPU").
  int trials_per_gpu = 1;
  int threads_per_trial = 0;      // run.threads for trials that leave it 0; 0 = cores / concurrency
  bool one_shot = false;
  // A slot that has had nothing to claim for this long exits (0: never). For
  // a Job per trial whose trial was taken, or canceled, before it started.
  double idle_exit_s = 0;
};

class Worker {
 public:
  Worker(WorkerOptions options, TrialFn run);
  // 0 when stopped or (one-shot) done cleanly.
  int Run();
  void RequestStop() { stop_ = true; }

 private:
  void Slot(int slot);
  void Registry();

  WorkerOptions options_;
  TrialFn run_;
  std::atomic<bool> stop_{false};
  std::atomic<int> slots_running_{0};
  std::atomic<int64_t> running_[64] = {};  // trial id per slot, 0 = idle
};

}  // namespace sic
