// Queue: the Redis streams between coordinator and workers (DESIGN.md,
// "Delivery guarantees"). Payloads are opaque bytes (serialized messages).
//
//   <prefix>:trials   jobs; consumer group "workers". A worker claims one entry
//                     (new, or one whose owner's lease expired: XAUTOCLAIM),
//                     keeps its lease alive with Heartbeat (XCLAIM ... JUSTID,
//                     only while it still owns the entry), and acknowledges it
//                     (XACK + XDEL) only after its result is in <prefix>:results.
//   <prefix>:canceled set of canceled sweep ids; workers skip and stop their trials.
//   <prefix>:workers  hash worker name -> its latest heartbeat (a serialized
//                     message), for `sicctl workers`.
//   <prefix>:results  progress events and results; consumer group "coordinator".
//                     The coordinator acknowledges an entry (XACK + XDEL) only
//                     after the SQLite transaction recording it committed; after
//                     a restart it first re-reads its own unacknowledged entries.
//
// Every delivery of a trial entry counts (XPENDING's delivery counter), so a
// trial that kills its workers is seen with a rising count and can be failed
// past a limit. A command may be sent twice when a connection breaks mid-way
// (RedisClient reconnects once), so a job or an event can occasionally appear
// twice; results are idempotent on (trial, round, delivery) for that reason.
//
// Thread-safety: not thread-safe (one RedisClient); one Queue per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/redis.h"
#include "sic/status.h"

namespace sic {

struct QueueEntry {
  std::string id;        // stream entry id, e.g. "1700000000000-0"
  std::string payload;
  int64_t deliveries = 1;  // times this entry has been delivered (1 = first time)
};

class Queue {
 public:
  Queue(RedisOptions options, std::string prefix = "sic");

  const std::string& trials_key() const { return trials_key_; }
  const std::string& results_key() const { return results_key_; }

  // Creates both streams and their groups if missing (idempotent). Sets
  // *created_trials_group when the trials group did not exist: on a Redis that
  // has run before, that means it lost its data (restarted without AOF).
  Status EnsureGroups(bool* created_trials_group = nullptr);

  // ---- Coordinator side.
  Result<std::string> AddTrial(const std::string& payload);
  // Up to `count` result entries: first this consumer's unacknowledged ones
  // (left from before a crash), then new ones, waiting up to `block_ms`.
  Result<std::vector<QueueEntry>> ReadResults(const std::string& consumer, int64_t count,
                                              int64_t block_ms);
  Status AckResult(const std::string& id);

  // ---- Worker side.
  // One trial: an entry whose lease (`lease_ms` idle) expired, else a new one,
  // waiting up to `block_ms`. nullopt when there is none.
  Result<std::optional<QueueEntry>> ClaimTrial(const std::string& consumer, int64_t lease_ms,
                                               int64_t block_ms);
  // Renews the lease. false: the entry is no longer this consumer's (its lease
  // expired and another worker took it over, or it was acknowledged).
  Result<bool> Heartbeat(const std::string& consumer, const std::string& id);
  // Gives a claimed entry back at once (on SIGTERM) so that another worker can
  // take it without waiting for the lease: its idle time is made to look expired.
  Status Release(const std::string& consumer, const std::string& id, int64_t lease_ms);
  Status AckTrial(const std::string& id);
  Result<std::string> AddResult(const std::string& payload);

  // ---- Cancellation and the worker registry.
  Status MarkCanceled(int64_t sweep_id);
  Result<bool> IsCanceled(int64_t sweep_id);
  Status PutWorker(const std::string& name, const std::string& payload);
  Status RemoveWorker(const std::string& name);
  Result<std::vector<std::string>> Workers();

  // Up to `count` entries of the trials stream (waiting or claimed: an entry
  // leaves the stream only when acknowledged) with ids after `after_id`
  // ("0-0" to start), oldest first: the reconciler reads the stream in pages.
  Result<std::vector<QueueEntry>> TrialsAfter(const std::string& after_id, int64_t count);

  // Entries of the trials stream not yet acknowledged, and waiting in total.
  Result<int64_t> PendingTrials();
  Result<int64_t> TrialsLength();

  RedisClient& client() { return client_; }

 private:
  Result<int64_t> Deliveries(const std::string& stream, const std::string& group, const std::string& id);

  RedisClient client_;
  std::string trials_key_, results_key_, canceled_key_, workers_key_;
};

}  // namespace sic
