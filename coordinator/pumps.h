// Pumps: the coordinator's two background loops between SQLite and Redis.
//   enqueue: pending trials -> sic:trials, then marked queued (a crash between
//            the two enqueues them again; duplicates are harmless).
//   ingest:  sic:results -> SQLite, each entry acknowledged only after the
//            transaction that records it has committed.
// Both retry forever when Redis is down, logging once per outage.
// Live progress (latest step of running trials) is kept in memory only.
//
// Thread-safety: Start/Stop from one thread; Wake and Progress from any.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/queue.h"
#include "common/store.h"

namespace sic {

struct LiveProgress {
  int64_t step = 0, total_steps = 0;
  double time = 0;
};

class Pumps {
 public:
  Pumps(Store& store, RedisOptions redis, std::string prefix);
  ~Pumps();
  // Called with each recorded event's latency (its worker's time to the
  // commit), for metrics. Set before Start.
  void SetIngestObserver(std::function<void(double)> observer) { on_ingested_ = std::move(observer); }
  void Start();
  void Stop();
  // New pending trials exist (a submit or a retry): enqueue without waiting.
  void Wake();
  std::map<int64_t, LiveProgress> Progress();
  // Events ingested so far (for logs and tests).
  int64_t ingested() const { return ingested_.load(); }

 private:
  void EnqueueLoop();
  void IngestLoop();
  // Records one event (inside the caller's Store::Batch); false: not recorded.
  bool Record(const QueueEntry& entry, double* event_time);
  void Wait(int64_t ms);
  // Creates the groups when missing; when Redis has lost them (restarted
  // without AOF), every queued and running trial is enqueued again.
  Status EnsureGroups(Queue& queue);

  Store& store_;
  RedisOptions redis_;
  std::string prefix_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> ingested_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  std::map<int64_t, LiveProgress> progress_;  // guarded by mu_
  std::mutex groups_mu_;
  std::thread enqueue_, ingest_;
  std::function<void(double)> on_ingested_;
};

}  // namespace sic
