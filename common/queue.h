// Queue: the Redis streams between coordinator and workers (DESIGN.md,
// "Delivery guarantees"). Payloads are opaque bytes (serialized messages).
//
//   <prefix>:trials:<class>
//                     jobs of one device class (common/resources.h: "cpu",
//                     "cuda", or a pool's name); consumer group "workers" on
//                     each. A worker claims one entry from any of the classes
//                     it serves (new, or one whose owner's lease expired:
//                     XAUTOCLAIM), keeps its lease alive with Heartbeat
//                     (XCLAIM ... JUSTID, only while it still owns the entry),
//                     and acknowledges it (XACK + XDEL) only after its result
//                     is in <prefix>:results. A worker never sees the streams
//                     of classes it does not serve.
//   <prefix>:canceled set of canceled sweep ids; workers skip and stop their trials.
//   <prefix>:preempt  hash trial id -> ticket: the coordinator asks the worker
//                     running that job to checkpoint and give it back, or
//                     the one that claims it, if it still waits, not to start
//                     it (coordinator/dispatch.h: PlanPreemption); the worker
//                     answers with a Preempted event. The coordinator removes
//                     a request once its job no longer runs or waits; losing the hash
//                     loses only requests, which it makes again.
//   <prefix>:workers  hash worker name -> its latest heartbeat (a serialized
//                     message), for `sicctl workers`.
//   <prefix>:results  progress events and results; consumer group "coordinator".
//                     The coordinator acknowledges an entry (XACK + XDEL) only
//                     after the SQLite transaction recording it committed; after
//                     a restart it first re-reads its own unacknowledged entries.
//                     Its group is also the sign that Redis kept its data: it
//                     exists from the coordinator's first start on, so finding
//                     it missing means Redis restarted empty.
//
// Every delivery of a trial entry counts (XPENDING's delivery counter), so a
// trial that kills its workers is seen with a rising count and can be failed
// past a limit. A command may be sent twice when a connection breaks mid-way
// (RedisClient reconnects once), so a job or an event can occasionally appear
// twice; results are idempotent on (trial, round, delivery) for that reason.
//
// The streams are named by queue (common/resources.h: a class, or
// "<class>@<GB>" for trials that need that much memory per GPU); a name that
// IsQueueName refuses is InvalidArgument everywhere (it would name another key).
//
// Thread-safety: not thread-safe (one RedisClient); one Queue per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/redis.h"
#include "sic/status.h"

namespace sic {

struct QueueEntry {
  std::string id;        // stream entry id, e.g. "1700000000000-0"
  std::string payload;
  int64_t deliveries = 1;  // times this entry has been delivered (1 = first time)
  int64_t stops = 0;       // deliveries of it that a stopping worker gave back (ReleaseStopped)
  std::string device_class;  // a trial entry's class (its stream); "" for results
};

// Stream ids "ms-seq" in time order (a malformed id sorts first).
bool IdLess(const std::string& a, const std::string& b);

class Queue {
 public:
  Queue(RedisOptions options, std::string prefix = "sic");

  // <prefix>:trials:<class> (no check of the class).
  std::string trials_key(const std::string& device_class) const { return trials_prefix_ + device_class; }
  const std::string& results_key() const { return results_key_; }

  // Creates the results stream and its group, and each class's trials stream
  // and group, where missing (idempotent). Sets *created_results_group when
  // the results group did not exist: on a Redis that has run before, that
  // means it lost its data (restarted without AOF). A class's trials group is
  // created whenever a class is first used, so it says nothing of that.
  Status EnsureGroups(const std::vector<std::string>& classes, bool* created_results_group = nullptr);

  // ---- Coordinator side.
  Result<std::string> AddTrial(const std::string& device_class, const std::string& payload);
  // Up to `count` result entries: first this consumer's unacknowledged ones
  // (left from before a crash), then new ones, waiting up to `block_ms`.
  Result<std::vector<QueueEntry>> ReadResults(const std::string& consumer, int64_t count,
                                              int64_t block_ms);
  Status AckResult(const std::string& id);
  // The id of the oldest and of the newest entry in <prefix>:results ("" when
  // it is empty). Entries are deleted once recorded, so every result added up
  // to an id X has been recorded once the oldest left is past X (IdLess).
  Result<std::pair<std::string, std::string>> ResultsBounds();

  // ---- Worker side.
  // One trial of one of `classes` (1 or more): an entry whose lease
  // (`lease_ms` idle) expired, trying the classes in the order given, else a
  // new one from any of them, waiting up to `block_ms`. nullopt when there is
  // none. Creates the classes' groups when missing (a worker may start before
  // the coordinator ever fed its class). A read that returns entries of
  // several streams keeps the first and gives the others back at once with
  // their delivery count as it was, so they are taken as first deliveries.
  Result<std::optional<QueueEntry>> ClaimTrial(const std::string& consumer, const std::vector<std::string>& classes,
                                               int64_t lease_ms, int64_t block_ms);
  // Renews the lease of entry `id` of the class's stream. false: the entry is
  // no longer this consumer's (its lease expired and another worker took it
  // over, or it was acknowledged).
  Result<bool> Heartbeat(const std::string& consumer, const std::string& device_class, const std::string& id);
  // Gives a claimed entry back at once (on SIGTERM) so that another worker can
  // take it without waiting for the lease: its idle time is made to look expired.
  Status Release(const std::string& consumer, const std::string& device_class, const std::string& id,
                 int64_t lease_ms);
  // The same, because this worker stops (SIGTERM: a scale-in, a rollout) with
  // the trial checkpointed: that delivery is no failure, and is counted in
  // the entry's `stops` so that the delivery limit leaves it out. Atomic with
  // the ownership check; forgotten when the entry is acknowledged.
  Status ReleaseStopped(const std::string& consumer, const std::string& device_class, const std::string& id,
                        int64_t lease_ms);
  Status AckTrial(const std::string& device_class, const std::string& id);
  Result<std::string> AddResult(const std::string& payload);

  // ---- Cancellation and the worker registry.
  Status MarkCanceled(int64_t sweep_id);
  Result<bool> IsCanceled(int64_t sweep_id);
  // ---- Preemption requests (<prefix>:preempt).
  Status RequestPreempt(int64_t trial_id, int64_t ticket);
  // Whether the job (trial, ticket) is asked to give its worker back.
  Result<bool> PreemptRequested(int64_t trial_id, int64_t ticket);
  // Every request: (trial id, ticket); fields that do not parse are left out.
  Result<std::vector<std::pair<int64_t, int64_t>>> PreemptRequests();
  Status ClearPreempt(const std::vector<int64_t>& trial_ids);
  Status PutWorker(const std::string& name, const std::string& payload);
  Status RemoveWorker(const std::string& name);
  Result<std::vector<std::string>> Workers();

  // Up to `count` entries of a class's trials stream (waiting or claimed: an
  // entry leaves the stream only when acknowledged) with ids after
  // `after_id` ("0-0" to start), oldest first: the reconciler reads the
  // streams in pages. A stream that does not exist is empty.
  Result<std::vector<QueueEntry>> TrialsAfter(const std::string& device_class, const std::string& after_id,
                                              int64_t count);

  // Entries of a class's trials stream not yet acknowledged (claimed), and
  // in it in total (claimed or waiting). A missing stream or group has 0.
  Result<int64_t> PendingTrials(const std::string& device_class);
  Result<int64_t> TrialsLength(const std::string& device_class);
  // The same, summed over every class stream there is (TrialClasses).
  Result<int64_t> PendingTrials();
  Result<int64_t> TrialsLength();
  // The queues (classes, and classes@GB) that have a trials stream in Redis (SCAN), sorted.
  Result<std::vector<std::string>> TrialClasses();

  RedisClient& client() { return client_; }

 private:
  Result<int64_t> Deliveries(const std::string& stream, const std::string& group, const std::string& id);

  Result<std::optional<QueueEntry>> ClaimOnce(const std::string& consumer, const std::vector<std::string>& classes,
                                              int64_t lease_ms, int64_t block_ms);

  RedisClient client_;
  std::string trials_prefix_, results_key_, canceled_key_, workers_key_;
  std::string stops_key_;  // hash "<class>:<entry id>" -> ReleaseStopped count
  std::string preempt_key_;
};

}  // namespace sic
