#include "coordinator/pumps.h"

#include <chrono>

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

Pumps::Pumps(Store& store, RedisOptions redis, std::string prefix)
    : store_(store), redis_(std::move(redis)), prefix_(std::move(prefix)) {}

Pumps::~Pumps() { Stop(); }

void Pumps::Start() {
  stop_ = false;
  enqueue_ = std::thread([this] { EnqueueLoop(); });
  ingest_ = std::thread([this] { IngestLoop(); });
}

void Pumps::Stop() {
  stop_ = true;
  Wake();
  if (enqueue_.joinable()) enqueue_.join();
  if (ingest_.joinable()) ingest_.join();
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
  bool created = false;
  if (Status s = queue.EnsureGroups(&created); !s.ok()) return s;
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
  while (!stop_) {
    // Every round, not once: a Redis restarted without AOF comes back empty.
    if (Status s = EnsureGroups(queue); !s.ok()) {
      outage.Failed(s);
      Wait(1000);
      continue;
    }
    auto pending = store_.PendingTrials(256);
    if (!pending.ok()) {
      outage.Failed(pending.status());
      Wait(1000);
      continue;
    }
    if (pending->empty()) {
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
      job.set_name(t.name);
      job.set_config_json(t.config.dump());
      auto id = queue.AddTrial(job.SerializeAsString());
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
      for (size_t i = 0; i < entries->size(); ++i) recorded[i] = Record(entries->at(i), &event_times[i]);
    });
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

bool Pumps::Record(const QueueEntry& entry, double* event_time) {
  auto event = DecodeWorkerEvent(entry.payload);
  if (!event.ok()) {
    Log("ingest: dropping malformed event " + entry.id + ": " + event.status().message());
    return true;  // acknowledged, so that it is not read again
  }
  const TrialResult& r = event->report;
  *event_time = event->time;
  Status recorded;
  switch (event->kind) {
    case EventKind::kProgress: {
      recorded = store_.RecordStart(r.trial_id, r.round, r.delivery, r.worker, event->time);
      std::lock_guard<std::mutex> lock(mu_);
      LiveProgress& p = progress_[r.trial_id];
      p.step = event->step;
      p.total_steps = event->total_steps;
      p.time = event->time;
      break;
    }
    case EventKind::kAttemptError:
      recorded = store_.RecordAttemptError(r.trial_id, r.round, r.delivery, r.worker, r.error, r.finished_at);
      break;
    case EventKind::kOutcome: {
      auto applied = store_.RecordResult(r);
      recorded = applied.status();
      if (applied.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        progress_.erase(r.trial_id);
      }
      break;
    }
  }
  if (!recorded.ok()) {
    // Not acknowledged: it is read again (the next loop, or after a restart).
    Log("ingest: cannot record event " + entry.id + ": " + recorded.message());
    return false;
  }
  return true;
}

}  // namespace sic
