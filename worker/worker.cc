#include "worker/worker.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/resources.h"
#include "common/trial_report.h"
#include "proto/sweep.pb.h"
#include "worker/folder_lock.h"
#include "worker/job.h"

namespace sic {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

void SleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::string ErrorsKey(const std::string& prefix) { return prefix + ":errors"; }
std::string ErrorField(const v1::TrialJob& job) {
  return std::to_string(job.trial_id()) + ":" + std::to_string(job.round());
}

// Keeps one claimed entry's lease alive and watches for a cancel of its sweep
// and a preemption request for its job (<prefix>:preempt), on its own thread
// and Redis connection, once per heartbeat, until destroyed.
class Lease {
 public:
  Lease(const WorkerOptions& o, const std::string& consumer, const QueueEntry& entry, const v1::TrialJob& job)
      : queue_(o.redis, o.prefix) {
    const int64_t every = o.heartbeat_ms > 0 ? o.heartbeat_ms : std::max<int64_t>(1, o.lease_ms / 3);
    thread_ = std::thread([this, consumer, device_class = entry.device_class, id = entry.id, sweep_id = job.sweep_id(),
                           trial_id = job.trial_id(), ticket = job.ticket(), every] {
      std::unique_lock<std::mutex> lock(mu_);
      bool failing = false;
      while (!cv_.wait_for(lock, std::chrono::milliseconds(every), [this] { return done_; })) {
        lock.unlock();
        auto held = queue_.Heartbeat(consumer, device_class, id);
        if (held.ok() && !held.value()) lost_ = true;
        // Once per outage: training goes on while Redis is away.
        if (!held.ok() && !failing) Log("heartbeat: " + held.status().message() + " (training goes on)");
        failing = !held.ok();
        auto canceled = queue_.IsCanceled(sweep_id);
        if (canceled.ok() && canceled.value()) canceled_ = true;
        auto preempted = queue_.PreemptRequested(trial_id, ticket);
        if (preempted.ok() && preempted.value()) preempted_ = true;
        lock.lock();
      }
    });
  }
  ~Lease() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool lost() const { return lost_; }
  bool canceled() const { return canceled_; }
  bool preempted() const { return preempted_; }

 private:
  Queue queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> lost_{false}, canceled_{false}, preempted_{false};
  std::thread thread_;
};

// How one attempt at a trial ended.
struct Attempted {
  enum Kind {
    kFinished,  // trained (and evaluated); `run` holds what to report
    kPaused,    // at the job's stop_at_step, checkpointed; `run` holds the rung's metrics
    kStale,     // the checkpoint is past the job's stop_at_step: out of date, nothing ran
    kError,     // the trial failed, or threw; `error` says why
    kStopped,   // stopped for SIGTERM, checkpointed
    kLost,      // stopped: its lease was taken over by another worker
    kCanceled,  // stopped: its sweep was canceled
    kPreempted, // stopped: the coordinator asked for its worker; checkpointed at run.step
  };
  Kind kind = kError;
  TrialRun run;
  std::string error;
  double started = 0;
  std::vector<CurvePoint> unsent;  // curve points no progress event carried
  // The trial folder, held until the attempt is reported (which may remove
  // it); null when the attempt ended while another delivery held it.
  std::unique_ptr<FolderLock> folder;
};

// The most curve points one event carries (the newest, when more were logged).
constexpr size_t kMaxCurvePerEvent = 200;

// What an attempt says while it runs: progress events at most every
// progress_ms, each with the curve points logged since the previous one;
// an evaluation event per periodic probe. None is retried while Redis is
// away (training goes on): a lost progress event's points are in the final
// outcome's curve, a lost evaluation is a missing point of the emergence
// curve. Runs on the trial's thread; not thread-safe.
class LiveReport {
 public:
  LiveReport(Queue& queue, std::function<v1::WorkerEvent()> event, int64_t progress_ms)
      : queue_(queue), event_(std::move(event)), every_(progress_ms) {}

  void Progress(const TrialProgress& p) {
    const auto now = Clock::now();
    if (now - last_sent_ < std::chrono::milliseconds(every_)) return;
    last_sent_ = now;
    v1::WorkerEvent e = event_();
    auto* pr = e.mutable_progress();
    pr->set_step(p.step);
    pr->set_total_steps(p.total_steps);
    pr->set_loss_total(p.loss_total);
    pr->set_lr(p.lr);
    pr->set_steps_per_sec(p.steps_per_sec);
    EncodeCurve(TakeCurve(), pr);
    (void)queue_.AddResult(e.SerializeAsString());
  }
  void Curve(const CurvePoint& point) {
    curve_.push_back(point);
    if (curve_.size() > kMaxCurvePerEvent) curve_.pop_front();
  }
  void Evaluation(int64_t step, const std::map<std::string, double>& metrics, const std::vector<Artifact>& pictures) {
    v1::WorkerEvent e = event_();
    EncodeEvaluation(step, metrics, pictures, e.mutable_evaluation());
    (void)queue_.AddResult(e.SerializeAsString());
  }
  std::vector<CurvePoint> TakeCurve() {
    std::vector<CurvePoint> out(curve_.begin(), curve_.end());
    curve_.clear();
    return out;
  }

 private:
  Queue& queue_;
  std::function<v1::WorkerEvent()> event_;
  const int64_t every_;
  Clock::time_point last_sent_{};
  std::deque<CurvePoint> curve_;
};

// Sets a slot's "running trial" for the registry while in scope.
class Running {
 public:
  Running(std::atomic<int64_t>& slot, int64_t trial_id) : slot_(slot) { slot_ = trial_id; }
  ~Running() { slot_ = 0; }

 private:
  std::atomic<int64_t>& slot_;
};

// One slot of a Worker: Claim an entry, Attempt its trial under a Lease,
// Report how it ended. Owns its Redis connection; runs on one thread.
// The GPU memory one trial may claim: a GPU's, or its share of a shared one.
double ClaimMemoryGb(const WorkerOptions& o) {
  return o.gpus.empty() ? o.gpu_memory_gb : o.gpu_memory_gb / o.trials_per_gpu;
}

class SlotLoop {
 public:
  SlotLoop(const WorkerOptions& options, const TrialFn& run, const std::atomic<bool>& stop,
           std::atomic<int64_t>& running, int slot)
      : o_(options),
        run_(run),
        stop_(stop),
        running_(running),
        consumer_(options.name + "/" + std::to_string(slot)),
        device_(options.gpus.empty() ? "cpu" : "cuda:" + std::to_string(options.gpus[slot / options.trials_per_gpu])),
        queue_(options.redis, options.prefix) {}

  // Until stopped (or one-shot done, or idle past idle_exit_s). Nothing a
  // trial or a job does ends it: whatever is thrown is caught here.
  void Run() {
    auto last_work = Clock::now();
    while (!stop_) {
      if (o_.idle_exit_s > 0 && Clock::now() - last_work > std::chrono::duration<double>(o_.idle_exit_s)) {
        Log("nothing to claim for " + std::to_string(static_cast<int64_t>(o_.idle_exit_s)) + " s; exiting");
        break;
      }
      std::optional<QueueEntry> entry;
      bool attempted = false;
      try {
        entry = Claim();
        if (!entry) continue;
        last_work = Clock::now();
        attempted = Handle(*entry);
      } catch (const std::exception& e) {
        Unexpected(entry, FirstLine(e.what()));
      } catch (...) {
        Unexpected(entry, "an exception that is not a std::exception");
      }
      if (attempted && o_.one_shot) break;
      last_work = Clock::now();
    }
  }

 private:
  // The next entry, or nothing (none waiting, or Redis down: logged once per outage).
  std::optional<QueueEntry> Claim() {
    auto claim = queue_.ClaimTrial(consumer_, Queues(), o_.lease_ms, o_.block_ms);
    if (!claim.ok()) {
      if (!down_) Log("claim: " + claim.status().message() + " (retrying)");
      down_ = true;
      SleepMs(1000);
      return std::nullopt;
    }
    if (down_) Log("claim: working again");
    down_ = false;
    return std::move(claim.value());
  }

  // The queues to claim from (common/resources.h: ClaimOrder). A worker that
  // declares its GPUs' memory also serves its classes' memory queues, which
  // come and go with the trials that need them: listed again every 10 s.
  const std::vector<std::string>& Queues() {
    if (ClaimMemoryGb(o_) <= 0) return o_.classes;
    const auto now = Clock::now();
    if (queues_.empty() || now - queues_listed_ > std::chrono::seconds(10)) {
      auto existing = queue_.TrialClasses();
      // Redis down: the claim itself will say so; until then the plain classes.
      queues_ = ClaimOrder(o_.classes, ClaimMemoryGb(o_),
                           existing.ok() ? existing.value() : std::vector<std::string>());
      queues_listed_ = now;
    }
    return queues_;
  }

  // Does what a claimed entry needs. True when a trial was attempted (as
  // opposed to refused, skipped or failed past the delivery limit).
  bool Handle(const QueueEntry& entry) {
    v1::TrialJob ids;
    Result<DecodedJob> decoded = DecodeJob(entry.payload, &ids);
    if (!decoded.ok()) {
      Refuse(entry, ids, decoded.status());
      return false;
    }
    const DecodedJob& job = decoded.value();
    const std::string label = "trial " + std::to_string(job.job.trial_id()) + " (" + job.job.name() +
                              ", delivery " + std::to_string(entry.deliveries) + ")";
    if (job.job.discard()) {
      // A stopped or canceled trial's folder: kept like a finished one's when
      // there is a finished_dir (an early-stopped network is still a result).
      const std::string kept = RetireIfFree(TrialDir(job.job));
      if (Persist("ack", [&] { return queue_.AckTrial(entry.device_class, entry.id); })) {
        Log(label + ": checkpoint " + (kept.empty() ? "discarded" : "no longer needed" + kept));
      }
      return false;
    }
    if (auto canceled = queue_.IsCanceled(job.job.sweep_id()); canceled.ok() && canceled.value()) {
      Log(label + ": sweep canceled, skipped");
      if (queue_.AckTrial(entry.device_class, entry.id).ok()) RemoveIfFree(TrialDir(job.job));
      return false;
    }
    // Asked to make room while it waited in the stream (it stood ahead of a
    // preempting sweep's trials): given back before it starts, so that the
    // slot goes to that sweep. The store puts the trial back to pending.
    if (auto asked = queue_.PreemptRequested(job.job.trial_id(), job.job.ticket()); asked.ok() && asked.value()) {
      v1::WorkerEvent e = Event(job.job, entry.deliveries);
      EncodePreempted(0, {}, NowSeconds(), e.mutable_preempted());
      Log(label + (Deliver(entry, e) ? ": asked to make room before it started; given back"
                                     : ": asked to make room before it started, but the event is not in Redis"));
      return false;
    }
    // Deliveries a stopping worker gave back (a scale-in, a rollout) are no
    // failures: a long trial may be stopped and resumed any number of times.
    if (entry.deliveries - entry.stops > o_.max_deliveries) {
      FailPastLimit(entry, job.job, label);
      return false;
    }
    Attempted attempted = Attempt(entry, job, label);
    Report(entry, job.job, label, attempted);
    return true;
  }

  // A job DecodeJob refused. The same bytes would be refused on every
  // delivery, so the trial is failed now when its ids are readable (else the
  // store would keep it queued for ever); otherwise the entry is dropped.
  void Refuse(const QueueEntry& entry, const v1::TrialJob& ids, const Status& why) {
    if (ids.trial_id() <= 0) {
      Log("dropping malformed job " + entry.id + ": " + why.message());
      (void)queue_.AckTrial(entry.device_class, entry.id);
      return;
    }
    v1::WorkerEvent e = Event(ids, entry.deliveries);
    auto* o = e.mutable_outcome();
    o->set_ok(false);
    o->set_error("malformed job: " + why.message());
    o->set_started_at(NowSeconds());
    o->set_finished_at(o->started_at());
    Log("trial " + std::to_string(ids.trial_id()) + ": " + o->error());
    (void)Deliver(entry, e);
  }

  void FailPastLimit(const QueueEntry& entry, const v1::TrialJob& job, const std::string& label) {
    auto last = queue_.client().Command({"HGET", ErrorsKey(o_.prefix), ErrorField(job)});
    const std::string last_error = last.ok() && !last->is_nil() ? last->str : "the worker stopped or died";
    v1::WorkerEvent e = Event(job, entry.deliveries);
    auto* o = e.mutable_outcome();
    o->set_ok(false);
    o->set_error("delivered " + std::to_string(entry.deliveries - entry.stops) + " times (limit " +
                 std::to_string(o_.max_deliveries) + ")" +
                 (entry.stops > 0 ? ", besides " + std::to_string(entry.stops) + " ended by a worker stopping" : "") +
                 "; last error: " + last_error);
    o->set_started_at(NowSeconds());
    o->set_finished_at(o->started_at());
    Log(label + ": " + o->error());
    // A retry runs as a new round in a folder of its own: this one is done
    // with, once the failure is in Redis.
    if (Deliver(entry, e)) RemoveIfFree(TrialDir(job));
  }

  // Runs the trial under a Lease: progress and evaluation events while it
  // trains; stops when the worker stops, the lease is lost or the sweep is
  // canceled; pauses at the job's stop_at_step.
  Attempted Attempt(const QueueEntry& entry, const DecodedJob& job, const std::string& label) {
    Attempted a;
    a.started = NowSeconds();
    Config config = job.config;
    config.run.device = device_;  // the worker's choice, whatever the config asked
    if (config.run.threads == 0) {
      const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      config.run.threads = o_.threads_per_trial > 0 ? o_.threads_per_trial : std::max(1, cores / o_.concurrency);
    }
    Running running(running_, job.job.trial_id());
    Lease lease(o_, consumer_, entry, job.job);
    const auto ended = [&] { return stop_ || lease.lost() || lease.canceled() || lease.preempted(); };
    const auto ended_as = [&] {
      return lease.lost()        ? Attempted::kLost
             : lease.canceled()  ? Attempted::kCanceled
             : lease.preempted() ? Attempted::kPreempted
                                 : Attempted::kStopped;
    };
    bool waited = false;
    auto folder = LockFolder(TrialDir(job.job), label, ended, &waited);
    if (!folder.ok()) {
      a.error = folder.status().message();
      return a;
    }
    a.folder = std::move(folder.value());
    if (!a.folder) {
      a.kind = ended_as();
      return a;
    }
    // The other delivery may have finished the trial and acknowledged the
    // entry just now, before this lease's next heartbeat: ask at once.
    if (waited) {
      auto held = queue_.Heartbeat(consumer_, entry.device_class, entry.id);
      if (held.ok() && !held.value()) {
        a.kind = Attempted::kLost;
        return a;
      }
    }
    v1::WorkerEvent first = Event(job.job, entry.deliveries);
    first.mutable_progress()->set_total_steps(config.optim.steps);
    (void)queue_.AddResult(first.SerializeAsString());  // "running"; losing it is harmless
    Log(label + (job.pause_at > 0 ? ": started (to pause at step " + std::to_string(job.pause_at) + ")" : ": started"));
    LiveReport live(queue_, [&] { return Event(job.job, entry.deliveries); }, o_.progress_ms);
    TrialHooks hooks;
    hooks.stop_at_step = job.pause_at;
    hooks.should_stop = ended;
    hooks.on_progress = [&](const TrialProgress& p) { live.Progress(p); };
    hooks.on_curve = [&](const CurvePoint& p) { live.Curve(p); };
    hooks.on_notice = [&](const std::string& m) { Log(label + ": " + m); };
    hooks.on_evaluation = [&](int64_t step, const std::map<std::string, double>& m, const std::vector<Artifact>& p) {
      live.Evaluation(step, m, p);
    };
    Result<TrialRun> run = RunGuarded(config, TrialDir(job.job), hooks);
    a.unsent = live.TakeCurve();
    if (!run.ok()) {
      a.kind = Attempted::kError;
      a.error = run.status().message();
    } else if (run->stopped) {
      a.kind = ended_as();
      a.run = std::move(run.value());
    } else {
      a.kind = run->stale ? Attempted::kStale : run->paused ? Attempted::kPaused : Attempted::kFinished;
      a.run = std::move(run.value());
    }
    return a;
  }

  // The trial folder's lock. Another delivery of this job may still work in
  // the folder (its lease ran out while Redis was away, and it cannot know
  // yet): this one waits, its own lease kept alive, until that one stops
  // (then this one resumes its checkpoint) or finishes (then this lease is
  // found lost). Null when `ended` said so first.
  Result<std::unique_ptr<FolderLock>> LockFolder(const std::string& dir, const std::string& label,
                                                 const std::function<bool()>& ended, bool* waited) {
    for (;; *waited = true) {
      auto lock = FolderLock::TryLock(dir);
      if (!lock.ok() || lock.value()) return lock;
      if (!*waited) Log(label + ": another delivery works in its folder; waiting for it to end");
      if (ended()) return std::unique_ptr<FolderLock>();
      SleepMs(100);
    }
  }

  // The TrialFn, with whatever it throws (a filesystem error, c10::Error from
  // a device, std::bad_alloc from a huge config) turned into an error.
  Result<TrialRun> RunGuarded(const Config& config, const std::string& dir, const TrialHooks& hooks) {
    try {
      return run_(config, dir, hooks);
    } catch (const std::bad_alloc&) {
      return Status::ResourceExhausted("trial failed: out of memory (std::bad_alloc)");
    } catch (const std::exception& e) {
      return Status::Internal("trial failed: " + FirstLine(e.what()));
    } catch (...) {
      return Status::Internal("trial failed: an exception that is not a std::exception");
    }
  }

  void Report(const QueueEntry& entry, const v1::TrialJob& job, const std::string& label, Attempted& a) {
    switch (a.kind) {
      case Attempted::kFinished:
        return ReportFinished(entry, job, label, a);
      case Attempted::kPaused:
        return ReportPaused(entry, job, label, a);
      case Attempted::kError:
        return ReportError(entry, job, label, a);
      case Attempted::kStale:
        // A pause job delivered again after a later job of the trial ran on:
        // the store has this rung already (or ignores its old ticket).
        Log(label + ": out of date (the checkpoint is at step " + std::to_string(a.run.step) +
            ", past stop_at_step " + std::to_string(job.stop_at_step()) + "); acknowledged, nothing sent");
        (void)Persist("ack", [&] { return queue_.AckTrial(entry.device_class, entry.id); });
        return;
      case Attempted::kLost:
        Log(label + ": lease lost to another worker; dropped");
        return;
      case Attempted::kCanceled:
        Log(label + ": sweep canceled; stopped");
        // Without the folder, the delivery that holds it removes it.
        if (queue_.AckTrial(entry.device_class, entry.id).ok() && a.folder) RemoveDir(TrialDir(job));
        return;
      case Attempted::kPreempted:
        return ReportPreempted(entry, job, label, a);
      case Attempted::kStopped:
        Log(label + ": stopped; checkpoint kept and trial released");
        (void)queue_.ReleaseStopped(consumer_, entry.device_class, entry.id, o_.lease_ms);
        return;
    }
  }

  void ReportFinished(const QueueEntry& entry, const v1::TrialJob& job, const std::string& label, Attempted& a) {
    v1::WorkerEvent e = Event(job, entry.deliveries);
    auto* o = e.mutable_outcome();
    FillOutcome(a.run, o);
    o->set_started_at(a.started);
    o->set_finished_at(NowSeconds());
    if (Deliver(entry, e)) {
      Log(label + ": finished" + Retire(TrialDir(job)));
    } else {
      Log(label + ": finished, but the result is not in Redis; checkpoint kept for the next delivery");
    }
  }

  // The checkpoint stays whatever happens: a later job (a promotion) resumes
  // from it, or the next delivery of this one reports the rung again.
  void ReportPaused(const QueueEntry& entry, const v1::TrialJob& job, const std::string& label, Attempted& a) {
    v1::WorkerEvent e = Event(job, entry.deliveries);
    EncodePaused(a.run.step, a.run.metrics, a.unsent, NowSeconds(), e.mutable_paused());
    const std::string at = ": paused at step " + std::to_string(a.run.step);
    Log(label + (Deliver(entry, e) ? at + "; checkpoint kept" : at + ", but the event is not in Redis; checkpoint kept"));
  }

  // As a pause without a rung: the coordinator puts the trial back to
  // pending, and whichever worker it is fed to next resumes the checkpoint.
  void ReportPreempted(const QueueEntry& entry, const v1::TrialJob& job, const std::string& label, Attempted& a) {
    v1::WorkerEvent e = Event(job, entry.deliveries);
    EncodePreempted(a.run.step, a.unsent, NowSeconds(), e.mutable_preempted());
    const std::string at = ": preempted at step " + std::to_string(a.run.step);
    Log(label + (Deliver(entry, e) ? at + "; checkpoint kept, worker free for a sweep of higher priority"
                                   : at + ", but the event is not in Redis; checkpoint kept"));
  }

  void ReportError(const QueueEntry& entry, const v1::TrialJob& job, const std::string& label, Attempted& a) {
    // Another delivery may succeed (a transient fault); the limit stops a
    // deterministic one. The error waits in Redis for the final report.
    Log(label + ": " + a.error);
    (void)queue_.client().Command({"HSET", ErrorsKey(o_.prefix), ErrorField(job), a.error});
    // So that the attempt shows its error now, not only in the final report.
    v1::WorkerEvent e = Event(job, entry.deliveries);
    e.mutable_attempt_error()->set_error(a.error);
    e.mutable_attempt_error()->set_finished_at(NowSeconds());
    (void)queue_.AddResult(e.SerializeAsString());
    (void)queue_.Release(consumer_, entry.device_class, entry.id, o_.lease_ms);
  }

  // Something outside the trial threw (the Lease's thread, Redis replies).
  // The entry, if any, goes back for another delivery.
  void Unexpected(const std::optional<QueueEntry>& entry, const std::string& what) {
    Log("slot " + consumer_ + ": unexpected error: " + what + (entry ? "; entry " + entry->id + " released" : ""));
    try {
      if (entry) (void)queue_.Release(consumer_, entry->device_class, entry->id, o_.lease_ms);
    } catch (...) {
    }
    SleepMs(1000);  // not a busy loop if it happens again at once
  }

  // Sends a final event, then acknowledges the entry: a crash in between
  // only redelivers a trial whose result the store then ignores. True when
  // both are done; false when the worker stopped while Redis was away (the
  // entry stays claimed, its lease runs out and another worker takes it).
  bool Deliver(const QueueEntry& entry, const v1::WorkerEvent& e) {
    const std::string bytes = e.SerializeAsString();
    if (!Persist("result", [&] { return queue_.AddResult(bytes).status(); })) return false;
    return Persist("ack", [&] { return queue_.AckTrial(entry.device_class, entry.id); });
  }

  // Retries a Redis command until it works or the worker stops.
  bool Persist(const char* what, const std::function<Status()>& fn) {
    for (int tries = 0;; ++tries) {
      Status s = fn();
      if (s.ok()) return true;
      if (tries == 0) Log(std::string(what) + ": " + s.message() + " (retrying)");
      if (stop_) return false;
      SleepMs(500);
    }
  }

  v1::WorkerEvent Event(const v1::TrialJob& job, int64_t delivery) const {
    v1::WorkerEvent e;
    e.set_trial_id(job.trial_id());
    e.set_round(job.round());
    e.set_ticket(job.ticket());
    e.set_delivery(delivery);
    e.set_worker(o_.name);
    e.set_time(NowSeconds());
    return e;
  }

  std::string TrialDir(const v1::TrialJob& job) const {
    return o_.checkpoint_dir + "/trial-" + std::to_string(job.trial_id()) + "-r" + std::to_string(job.round());
  }

  // Call with the folder's lock held.
  static void RemoveDir(const std::string& dir) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) Log(dir + ": cannot remove: " + ec.message());
  }
  // A finished trial's folder, with its lock held: moved into finished_dir
  // (replacing an earlier folder of the same name), else removed. Returns
  // what the log line adds. Nothing is deleted before the move: a folder that
  // cannot be moved stays where it is, since its network is worth more than
  // the disk it takes. A finished_dir that is the checkpoint folder itself
  // keeps it in place (renaming a folder onto itself does nothing).
  std::string Retire(const std::string& dir) const {
    if (o_.finished_dir.empty()) {
      RemoveDir(dir);
      return "";
    }
    std::error_code ec;
    if (!fs::exists(dir, ec)) return "";  // the trial wrote nothing
    const fs::path to = fs::path(o_.finished_dir) / fs::path(dir).filename();
    // Renames `from` to `to`; an earlier folder there (the same trial and
    // round) is replaced, unless `dir` lies inside it.
    const auto place = [&](const fs::path& from, std::error_code& err) {
      fs::rename(from, to, err);
      if (err != std::errc::directory_not_empty && err != std::errc::file_exists) return;
      std::error_code e1, e2;
      const fs::path inside = fs::weakly_canonical(dir, e1).lexically_relative(fs::weakly_canonical(to, e2));
      if (e1 || e2 || (!inside.empty() && *inside.begin() != "..")) return;  // err stays "exists"
      fs::remove_all(to, err);
      if (!err) fs::rename(from, to, err);
    };
    fs::create_directories(o_.finished_dir, ec);
    if (!ec) place(dir, ec);
    if (ec == std::errc::cross_device_link) {  // another file system: copy, then remove
      ec.clear();
      const fs::path part = to.string() + ".part";
      fs::remove_all(part, ec);
      if (!ec) fs::copy(dir, part, fs::copy_options::recursive, ec);
      if (!ec) place(part, ec);
      if (!ec) {
        RemoveDir(dir);
      } else {
        std::error_code ignored;
        fs::remove_all(part, ignored);
      }
    }
    if (ec) return "; its folder stays in place (cannot move it to " + to.string() + ": " + ec.message() + ")";
    return "; kept in " + to.string();
  }
  // Runs `fn` with the lock of a folder no attempt of this worker holds and
  // returns its answer. When another delivery works in the folder, `fn` does
  // not run (""): that one removes or keeps the folder when it ends, or leaves
  // its checkpoint to a later job, which then finds its sweep's verdict.
  template <typename Fn>
  static std::string IfFree(const std::string& dir, Fn&& fn) {
    auto lock = FolderLock::TryLock(dir);
    if (!lock.ok()) {
      Log(lock.status().message());
      return "";
    }
    if (!lock.value()) {
      Log(dir + ": another delivery works in it; left to that one");
      return "";
    }
    return fn();
  }
  static void RemoveIfFree(const std::string& dir) {
    IfFree(dir, [&] {
      RemoveDir(dir);
      return std::string();
    });
  }
  std::string RetireIfFree(const std::string& dir) const {
    return IfFree(dir, [&] { return Retire(dir); });
  }

  const WorkerOptions& o_;
  const TrialFn& run_;
  const std::atomic<bool>& stop_;
  std::atomic<int64_t>& running_;
  const std::string consumer_;
  const std::string device_;  // where this slot runs its trials: "cpu" or "cuda:K"
  Queue queue_;
  bool down_ = false;  // Redis unreachable at the last claim
  std::vector<std::string> queues_;  // Queues(), as last listed
  Clock::time_point queues_listed_{};
};

}  // namespace

Worker::Worker(WorkerOptions options, TrialFn run) : options_(std::move(options)), run_(std::move(run)) {
  if (options_.gpus.size() > 64) options_.gpus.resize(64);
  options_.trials_per_gpu = std::max(1, std::min(options_.trials_per_gpu, 64));
  if (!options_.gpus.empty()) {
    // At most 64 slots, whole GPUs' worth, so no GPU gets fewer slots than another.
    options_.gpus.resize(std::min<size_t>(options_.gpus.size(), 64 / options_.trials_per_gpu));
    options_.concurrency = static_cast<int>(options_.gpus.size()) * options_.trials_per_gpu;
  }
  options_.concurrency = std::max(1, std::min(options_.concurrency, 64));
  if (options_.classes.empty()) options_.classes = {"cpu"};
}

int Worker::Run() {
  std::string classes, gpus;
  for (const auto& c : options_.classes) classes += (classes.empty() ? "" : ",") + c;
  for (int g : options_.gpus) gpus += (gpus.empty() ? "" : ",") + std::to_string(g);
  Log("worker " + options_.name + ": " + std::to_string(options_.concurrency) + " slot(s), class " + classes +
      (gpus.empty() ? ", on cpu" : ", on cuda:" + gpus) + ", redis " + options_.redis.Address() + ", lease " +
      std::to_string(options_.lease_ms) + " ms");
  slots_running_ = options_.concurrency;  // before the registry, which runs while slots do
  std::thread registry([this] { Registry(); });
  std::vector<std::thread> slots;
  for (int s = 0; s < options_.concurrency; ++s) slots.emplace_back([this, s] { Slot(s); });
  for (auto& t : slots) t.join();
  registry.join();
  return 0;
}

// Publishes this worker in <prefix>:workers every 2 s, removed on exit.
void Worker::Registry() {
  Queue queue(options_.redis, options_.prefix);
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  while (slots_running_ > 0) {
    v1::Worker w;
    w.set_name(options_.name);
    w.set_host(host);
    w.set_pid(getpid());
    w.set_last_seen(NowSeconds());
    w.set_concurrency(options_.concurrency);
    for (const auto& c : options_.classes) w.add_classes(c);
    w.set_gpu_memory_gb(ClaimMemoryGb(options_));  // what one trial may need (a shared GPU's share)
    for (int g : options_.gpus) {
      v1::Gpu* gpu = w.add_gpus();
      gpu->set_index(g);
      gpu->set_memory_gb(options_.gpu_memory_gb);
    }
    for (int s = 0; s < options_.concurrency; ++s) {
      if (running_[s] != 0) w.add_running_trials(running_[s]);
    }
    (void)queue.PutWorker(options_.name, w.SerializeAsString());
    for (int i = 0; i < 20 && slots_running_ > 0; ++i) SleepMs(100);
  }
  (void)queue.RemoveWorker(options_.name);
}

void FillOutcome(const TrialRun& run, v1::TrialOutcome* o) {
  EncodeOutcome(run.metrics, run.curve, run.artifacts, o);
}

void Worker::Slot(int slot) {
  SlotLoop(options_, run_, stop_, running_[slot], slot).Run();
  --slots_running_;
}

}  // namespace sic
