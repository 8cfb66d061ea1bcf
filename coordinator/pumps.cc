#include "coordinator/pumps.h"

#include <chrono>
#include <cmath>
#include <set>

#include "common/log.h"
#include "common/trial_report.h"
#include "proto/sweep.pb.h"

namespace sic {
namespace {

// Logs the first failure of a run of failures, and the recovery.
class Outage {
 public:
  explicit Outage(std::string what) : what_(std::move(what)) {}
  void Failed(const Status& s) {
    if (!down_) Log(what_ + ": " + s.message() + " (retrying)");
    down_ = true;
  }
  void Ok() {
    if (down_) Log(what_ + ": working again");
    down_ = false;
  }

 private:
  std::string what_;
  bool down_ = false;
};

}  // namespace

Pumps::Pumps(Store& store, RedisOptions redis, std::string prefix, PumpOptions options)
    : store_(store), redis_(std::move(redis)), prefix_(std::move(prefix)), options_(options) {}

Pumps::~Pumps() { Stop(); }

void Pumps::Start() {
  stop_ = false;
  enqueue_ = std::thread([this] { EnqueueLoop(); });
  ingest_ = std::thread([this] { IngestLoop(); });
  if (options_.reconcile_s > 0) reconcile_ = std::thread([this] { ReconcileLoop(); });
}

void Pumps::Stop() {
  stop_ = true;
  Wake();
  if (enqueue_.joinable()) enqueue_.join();
  if (ingest_.joinable()) ingest_.join();
  if (reconcile_.joinable()) reconcile_.join();
}

void Pumps::Wake() {
  std::lock_guard<std::mutex> lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

void Pumps::Wait(int64_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return woken_ || stop_; });
  woken_ = false;
}

std::map<int64_t, LiveProgress> Pumps::Progress() {
  std::lock_guard<std::mutex> lock(mu_);
  return progress_;
}

Status Pumps::EnsureGroups(Queue& queue) {
  std::lock_guard<std::mutex> lock(groups_mu_);
  // Every class a trial not yet final has: its stream must exist for the
  // workers of that class, and the reconciler reads each.
  auto classes = store_.DeviceClasses();
  if (!classes.ok()) return classes.status();
  bool created = false;
  if (Status s = queue.EnsureGroups(classes.value(), &created); !s.ok()) return s;
  if (!created) return Status::OK();
  auto n = store_.RequeueUnfinished();
  if (!n.ok()) return n.status();
  if (n.value() > 0) {
    Log("redis had no trial queue (restarted without AOF?): enqueueing " + std::to_string(n.value()) +
        " unfinished trials again");
    Wake();
  }
  return Status::OK();
}

void Pumps::EnqueueLoop() {
  Queue queue(redis_, prefix_);
  Outage outage("enqueue");
  // The stream groups are checked once a second, not every round: a round
  // feeds only a few trials (a few per free slot), and the check is a Redis
  // round trip per class. A Redis restarted without AOF is still healed
  // within the second (and workers make a missing group themselves).
  auto groups_checked = std::chrono::steady_clock::time_point();
  while (!stop_) {
    if (std::chrono::steady_clock::now() - groups_checked >= std::chrono::seconds(1)) {
      if (Status s = EnsureGroups(queue); !s.ok()) {
        outage.Failed(s);
        Wait(1000);
        continue;
      }
      groups_checked = std::chrono::steady_clock::now();
    }
    if (Status s = EnqueueDiscards(queue); !s.ok()) {
      outage.Failed(s);
      Wait(1000);
      continue;
    }
    auto pending = TakeNext();
    if (!pending.ok()) {
      outage.Failed(pending.status());
      Wait(1000);
      continue;
    }
    if (Status s = Preempt(queue); !s.ok()) {
      outage.Failed(s);
      Wait(1000);
      continue;
    }
    if (pending->empty()) {
      // Until a worker frees a slot (ingest wakes us) or something is submitted.
      Wait(1000);
      continue;
    }
    std::vector<int64_t> done;
    Status failure;
    for (const TrialRow& t : pending.value()) {
      v1::TrialJob job;
      job.set_trial_id(t.id);
      job.set_sweep_id(t.sweep_id);
      job.set_round(t.round);
      job.set_ticket(t.ticket);
      job.set_name(t.name);
      job.set_config_json(t.config.dump());
      job.set_stop_at_step(t.target_steps);
      job.set_device_class(t.device_class);
      job.set_needs_json(t.needs.dump());
      auto id = queue.AddTrial(t.device_class, job.SerializeAsString());
      if (!id.ok()) {
        failure = id.status();
        break;
      }
      done.push_back(t.id);
    }
    if (Status s = store_.MarkQueued(done); !s.ok()) failure = s;
    if (!failure.ok()) {
      outage.Failed(failure);
      Wait(1000);
      continue;
    }
    outage.Ok();
  }
}

Result<std::vector<TrialRow>> Pumps::TakeNext() {
  const double now = NowSeconds();
  if (!options_.fair) return store_.TakePending(256, now);
  // The workers' slots, read from the registry at most every 250 ms (a
  // round comes after every finished trial; workers come and go in seconds).
  const auto clock = std::chrono::steady_clock::now();
  if (slots_ && clock - slots_read_ >= std::chrono::milliseconds(250)) {
    auto live = slots_();
    // An unreadable registry counts as no workers.
    slots_cache_ = live.ok() ? std::move(live.value()) : std::vector<WorkerSlots>();
    slots_read_ = clock;
  }
  // No queue can be fed more than its slots + ahead: pending beyond that need
  // not be counted. A memory queue's workers serve its class too, so the
  // classes' slots bound every queue's.
  int64_t most = 0;
  for (const auto& [c, n] : SlotsByQueue(slots_cache_, {})) most = std::max(most, n);
  auto counts = store_.DispatchCounts(most + options_.dispatch.ahead);
  if (!counts.ok()) return counts.status();
  std::vector<std::string> queues;
  for (const DispatchSweep& s : counts.value()) queues.push_back(s.device_class);
  const std::map<std::string, int64_t> slots = SlotsByQueue(slots_cache_, queues);
  counts_ = counts.value();
  queue_slots_ = slots;
  std::vector<TrialRow> out;
  // A plan can pick one sweep again after another's turn (A, B, A): its
  // trials taken so far are still pending, so take on after the last one.
  std::map<std::pair<int64_t, std::string>, int64_t> last_taken;
  const std::vector<DispatchPick> plan = PlanDispatch(counts.value(), slots, options_.dispatch);
  if (plan.empty()) return out;
  // Every pick in one commit: the commits were most of the fair feed's cost
  // (one per sweep picked).
  Status failed;
  Status batch = store_.Batch([&] {
    for (const DispatchPick& pick : plan) {
      int64_t& last = last_taken[{pick.sweep_id, pick.device_class}];
      auto taken = store_.TakeFed(pick.sweep_id, pick.device_class, pick.count, now, last);
      if (!taken.ok()) {
        failed = taken.status();
        return;
      }
      for (TrialRow& t : taken.value()) {
        last = std::max(last, t.id);
        out.push_back(std::move(t));
      }
    }
  });
  if (!failed.ok()) return failed;
  if (!batch.ok()) return batch;
  return out;
}

Status Pumps::Preempt(Queue& queue) {
  if (!options_.fair) return Status::OK();
  bool wanted = false;
  for (const DispatchSweep& s : counts_) wanted = wanted || (s.preempt && s.pending + s.queued > 0);
  // Nothing to ask and nothing to clear: no Redis or SQLite read (most rounds).
  if (!wanted && preempt_requests_ == 0) return Status::OK();
  auto requests = queue.PreemptRequests();
  if (!requests.ok()) return requests.status();
  // The counts and the trials in flight from one snapshot: the store's lock
  // is held across the three reads, so no ingest batch falls between them.
  // counts_ was read before this round's take, and an ingest in between (a
  // preempted trial's worker starting the preempting sweep's trial) once made
  // the plan see that trial still waiting while its slot already counted as
  // running, and ask a second victim (seen on the CPU runs: trial 1 preempted
  // 4 s after trial 2, for a sweep of one trial).
  int64_t most = 0;
  for (const auto& [q, n] : queue_slots_) most = std::max(most, n);
  Result<std::vector<DispatchSweep>> counts = std::vector<DispatchSweep>();
  Result<std::vector<RunningTrial>> in_flight = std::vector<RunningTrial>(), queued = std::vector<RunningTrial>();
  if (Status s = store_.Batch([&] {
        counts = store_.DispatchCounts(most + options_.dispatch.ahead);
        in_flight = store_.RunningTrials();
        queued = store_.QueuedTrials();  // one queued ahead of a preempting sweep's is asked too
      });
      !s.ok()) {
    return s;
  }
  if (!counts.ok()) return counts.status();
  if (!in_flight.ok()) return in_flight.status();
  if (!queued.ok()) return queued.status();
  in_flight->insert(in_flight->end(), queued->begin(), queued->end());
  wanted = false;
  for (const DispatchSweep& s : counts.value()) wanted = wanted || (s.preempt && s.pending + s.queued > 0);
  std::set<std::pair<int64_t, int64_t>> live, asked;
  for (const RunningTrial& t : in_flight.value()) live.insert({t.trial_id, t.ticket});
  std::vector<int64_t> stale;
  for (const auto& r : requests.value()) {
    if (live.count(r)) {
      asked.insert(r);
    } else {
      stale.push_back(r.first);  // answered (preempted), finished, or enqueued again since
    }
  }
  if (Status s = queue.ClearPreempt(stale); !s.ok()) return s;
  std::vector<PreemptPick> picks;
  if (wanted) picks = PlanPreemption(counts.value(), in_flight.value(), queue_slots_, asked, options_.dispatch);
  for (const PreemptPick& p : picks) {
    if (Status s = queue.RequestPreempt(p.trial_id, p.ticket); !s.ok()) return s;
    Log("preempt: asked trial " + std::to_string(p.trial_id) + " (ticket " + std::to_string(p.ticket) +
        ") to make room for a sweep of higher priority");
  }
  preempt_requests_ = static_cast<int64_t>(asked.size() + picks.size());
  return Status::OK();
}

Status Pumps::EnqueueDiscards(Queue& queue) {
  auto discards = store_.Discards(256);
  if (!discards.ok()) return discards.status();
  std::vector<int64_t> sent;
  Status failure;
  for (const auto& [t, round] : discards.value()) {
    v1::TrialJob job;
    job.set_trial_id(t.id);
    job.set_sweep_id(t.sweep_id);
    job.set_round(round);
    job.set_name(t.name);
    job.set_discard(true);
    job.set_device_class(t.device_class);  // a worker of the class that ran it shares its checkpoints
    auto id = queue.AddTrial(t.device_class, job.SerializeAsString());
    if (!id.ok()) {
      failure = id.status();
      break;
    }
    sent.push_back(t.id);
  }
  // A crash between the two sends a discard twice: the second finds nothing to delete.
  if (Status s = store_.DropDiscards(sent); !s.ok()) return s;
  return failure;
}

void Pumps::IngestLoop() {
  Queue queue(redis_, prefix_);
  Outage outage("ingest");
  bool groups = false;
  while (!stop_) {
    if (!groups) {
      Status s = EnsureGroups(queue);
      if (!s.ok()) {
        outage.Failed(s);
        Wait(1000);
        continue;
      }
      groups = true;
    }
    auto entries = queue.ReadResults("coordinator", 256, 500);
    if (!entries.ok()) {
      outage.Failed(entries.status());
      // A restarted Redis without AOF has lost the group; recreate it.
      groups = !entries.status().IsNotFound();
      Wait(1000);
      continue;
    }
    outage.Ok();
    // One transaction (one fsync) per batch read; then acknowledge what it recorded.
    std::vector<char> recorded(entries->size(), 0);
    std::vector<double> event_times(entries->size(), 0);
    Status committed = store_.Batch([&] {
      for (size_t i = 0; i < entries->size(); ++i) {
        const QueueEntry& entry = entries->at(i);
        auto event = DecodeWorkerEvent(entry.payload);
        Status s = event.ok() ? Record(event.value()) : event.status();
        if (s.ok()) {
          recorded[i] = 1;
          event_times[i] = event->time;
          failures_.erase(entry.id);
          continue;
        }
        // Malformed bytes never get better; a store error may (a busy or full
        // disk): it is read again, kMaxRecordTries times at most.
        const bool hopeless = !event.ok() || ++failures_[entry.id] >= kMaxRecordTries;
        if (!hopeless) {
          Log("ingest: cannot record event " + entry.id + " (try " + std::to_string(failures_[entry.id]) +
              "): " + s.message());
          continue;
        }
        DeadLetter letter;
        letter.entry_id = entry.id;
        letter.trial_id = event.ok() ? event->report.trial_id : PeekTrialId(entry.payload);
        letter.error = s.message();
        letter.payload_bytes = static_cast<int64_t>(entry.payload.size());
        letter.at = NowSeconds();
        if (Status d = store_.RecordDeadLetter(letter); !d.ok()) {
          Log("ingest: cannot store dead letter " + entry.id + ": " + d.message());
          continue;
        }
        Log("ingest: dead letter " + entry.id + " (" + std::to_string(letter.payload_bytes) + " bytes): " + s.message());
        recorded[i] = 1;
        failures_.erase(entry.id);
      }
    });
    if (committed.ok() && paused_in_batch_ && on_paused_) on_paused_();
    // A start, a pause or an outcome changes what the dispatcher may feed.
    if (committed.ok() && !entries->empty()) Wake();
    paused_in_batch_ = false;
    if (committed.ok() && on_ingested_) {
      const double now = NowSeconds();
      for (size_t i = 0; i < entries->size(); ++i) {
        if (recorded[i] && event_times[i] > 0) on_ingested_(std::max(0.0, now - event_times[i]));
      }
    }
    bool all = committed.ok();
    if (!committed.ok()) Log("ingest: cannot commit " + std::to_string(entries->size()) + " events: " + committed.message());
    for (size_t i = 0; committed.ok() && i < entries->size(); ++i) {
      all = all && recorded[i];
      if (!recorded[i]) continue;
      if (Status s = queue.AckResult(entries->at(i).id); !s.ok()) {
        Log("ingest: recorded " + entries->at(i).id + " but cannot acknowledge it: " + s.message());
      }
      ++ingested_;
    }
    if (!all) Wait(1000);  // the store refuses: do not spin on the same entries
  }
}

Status Pumps::Record(const DecodedEvent& event) {
  const TrialResult& r = event.report;
  switch (event.kind) {
    case EventKind::kProgress: {
      Status s = store_.RecordStart(r, event.time);
      if (s.ok() && !r.curve.empty()) s = store_.RecordCurvePoints(r.trial_id, r.round, r.curve);
      std::lock_guard<std::mutex> lock(mu_);
      LiveProgress& p = progress_[r.trial_id];
      p.step = event.step;
      p.total_steps = event.total_steps;
      p.time = event.time;
      return s;
    }
    case EventKind::kAttemptError:
      return store_.RecordAttemptError(r);
    case EventKind::kOutcome: {
      auto applied = store_.RecordResult(r);
      if (applied.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        progress_.erase(r.trial_id);
      }
      return applied.status();
    }
    case EventKind::kEvaluation:
      return store_.RecordEvaluation(r.trial_id, event.step, r.metrics, r.artifacts);
    case EventKind::kPreempted: {
      auto moved = store_.RecordPreempted(r, event.step);
      if (!moved.ok()) return moved.status();
      std::lock_guard<std::mutex> lock(mu_);
      progress_.erase(r.trial_id);
      return Status::OK();
    }
    case EventKind::kPaused: {
      auto trial = store_.GetTrial(r.trial_id);
      if (!trial.ok()) return trial.status().IsNotFound() ? Status::OK() : trial.status();  // a wiped file
      std::pair<int64_t, double> rung{0, std::nan("")};
      if (rung_of_) {
        auto resolved = rung_of_(trial->sweep_id, event.step, r.metrics);
        if (!resolved.ok()) return resolved.status();
        rung = resolved.value();
      }
      auto moved = store_.RecordPause(r, event.step, rung.first, rung.second);
      if (!moved.ok()) return moved.status();
      paused_in_batch_ = paused_in_batch_ || moved.value();
      std::lock_guard<std::mutex> lock(mu_);
      progress_.erase(r.trial_id);
      return Status::OK();
    }
  }
  return Status::InvalidArgument("worker event: unknown kind");
}

void Pumps::ReconcileLoop() {
  Queue queue(redis_, prefix_);
  Outage outage("reconcile");
  std::map<int64_t, Suspect> suspects;
  const auto period = std::chrono::duration<double>(options_.reconcile_s);
  while (!stop_) {
    const auto next = std::chrono::steady_clock::now() + period;
    while (!stop_ && std::chrono::steady_clock::now() < next) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (stop_) break;
    if (Status s = ReconcileOnce(queue, suspects); !s.ok()) {
      outage.Failed(s);
      suspects.clear();  // what was seen before the outage proves nothing now
    } else {
      outage.Ok();
    }
  }
}

Status Pumps::ReconcileOnce(Queue& queue, std::map<int64_t, Suspect>& suspects) {
  // Which jobs Redis holds: every entry of every class's trials stream (the
  // classes of the trials not yet final; a trial's job is only ever in its
  // class's stream). A claimed entry stays in the stream until acknowledged
  // (XACK then XDEL), so this covers the groups' pending lists too; a pending
  // id whose entry is gone will never be delivered with a payload again, so
  // it counts as lost. Pages of 500; memory is 16 bytes per job in Redis.
  constexpr int64_t kPage = 500;
  constexpr size_t kMaxJobs = 4u << 20;
  std::set<std::pair<int64_t, int64_t>> live;  // (trial, ticket)
  auto classes = store_.DeviceClasses();
  if (!classes.ok()) return classes.status();
  for (const std::string& device_class : classes.value()) {
    std::string after = "0-0";
    for (;;) {
      auto page = queue.TrialsAfter(device_class, after, kPage);
      if (!page.ok()) return page.status();
      for (const QueueEntry& e : page.value()) {
        v1::TrialJob job;
        if (job.ParseFromString(e.payload)) live.insert({job.trial_id(), job.ticket()});
      }
      if (static_cast<int64_t>(page->size()) < kPage) break;
      if (live.size() > kMaxJobs) return Status::ResourceExhausted("reconcile: more than 4M jobs in the trials streams; skipped");
      after = page->back().id;
    }
  }
  // A job gone from its stream may be a finished trial whose result waits in
  // sic:results: it was added before the job went, so before `bounds.second`
  // read now, and it is recorded once the oldest result left is past that.
  // Read before SQLite, so that what was recorded shows there.
  auto bounds = queue.ResultsBounds();
  if (!bounds.ok()) return bounds.status();
  const std::string& oldest_result = bounds->first;
  auto recorded = [&](const std::string& mark) {
    return mark.empty() || oldest_result.empty() || IdLess(mark, oldest_result);
  };
  // Which queued or running trials have no job there, now and at the last
  // pass too, with every result before the first pass recorded, and with a
  // ticket older than the period (a job being enqueued now is left alone).
  const double before = NowSeconds() - options_.reconcile_s;
  std::map<int64_t, Suspect> missing;
  int64_t requeued = 0;
  for (int64_t after_id = 0;;) {
    auto page = store_.EnqueuedBefore(before, after_id, 1000);
    if (!page.ok()) return page.status();
    for (const TrialTicket& t : page.value()) {
      if (live.count({t.trial_id, t.ticket})) continue;
      auto it = suspects.find(t.trial_id);
      if (it == suspects.end() || it->second.ticket != t.ticket) {
        missing[t.trial_id] = Suspect{t.ticket, bounds->second};
        continue;
      }
      if (!recorded(it->second.results_mark)) {
        missing[t.trial_id] = it->second;  // results still on their way: ask again next pass
        continue;
      }
      auto moved = store_.Reconcile(t.trial_id, t.ticket);
      if (!moved.ok()) return moved.status();
      requeued += moved.value();
    }
    if (page->size() < 1000) break;
    after_id = page->back().trial_id;
  }
  suspects = std::move(missing);
  if (requeued > 0) {
    Log("reconcile: " + std::to_string(requeued) + " queued or running trials had no job in redis; enqueueing them again");
    Wake();
  }
  return Status::OK();
}

}  // namespace sic
