#include "common/queue.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "common/resources.h"

namespace sic {
namespace {

constexpr const char* kWorkers = "workers";
constexpr const char* kCoordinator = "coordinator";
constexpr const char* kField = "p";

// Acknowledges and deletes entry ARGV[2] of stream KEYS[1] (group ARGV[1])
// and forgets its stops (hash KEYS[2], field ARGV[3]): one round trip, and no
// stop count outlives its entry when the worker dies half-way.
constexpr const char* kAckTrial = R"lua(
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[3])
return 1
)lua";

// Re-claims an entry (resetting its idle time to ARGV[4] ms) only if
// ARGV[3] still owns it: a plain XCLAIM would steal back an entry that
// another worker legitimately took over after our lease expired. With a
// second key (ReleaseStopped), also counts the release in hash KEYS[2],
// field ARGV[5], in the same step as the ownership check.
constexpr const char* kReclaimIfOwner = R"lua(
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[3] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'IDLE', ARGV[4], 'JUSTID')
if KEYS[2] then redis.call('HINCRBY', KEYS[2], ARGV[5], 1) end
return 1
)lua";

// One stream entry [id, [field, value, ...]] (fields nil when it was deleted).
std::optional<QueueEntry> ParseEntry(const RedisValue& v) {
  if (v.type != RedisValue::kArray || v.elements.size() != 2) return std::nullopt;
  QueueEntry e;
  e.id = v.elements[0].str;
  const RedisValue& fields = v.elements[1];
  for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    if (fields.elements[i].str == kField) e.payload = fields.elements[i + 1].str;
  }
  return e;
}

// XREADGROUP's reply: nil, or [[stream, [entry, ...]]]. An entry of a stream
// named <trials_prefix><class> gets that class.
std::vector<QueueEntry> ParseRead(const RedisValue& v, std::vector<std::string>* deleted,
                                  const std::string& trials_prefix = "") {
  std::vector<QueueEntry> out;
  if (v.type != RedisValue::kArray) return out;
  for (const auto& stream : v.elements) {
    if (stream.elements.size() != 2) continue;
    const std::string& key = stream.elements[0].str;
    const std::string device_class =
        !trials_prefix.empty() && key.rfind(trials_prefix, 0) == 0 ? key.substr(trials_prefix.size()) : "";
    for (const auto& entry : stream.elements[1].elements) {
      if (entry.elements.size() == 2 && entry.elements[1].is_nil()) {
        if (deleted) deleted->push_back(entry.elements[0].str);
        continue;
      }
      if (auto e = ParseEntry(entry)) {
        e->device_class = device_class;
        out.push_back(std::move(*e));
      }
    }
  }
  return out;
}

Status CheckClass(const std::string& device_class) {
  if (IsQueueName(device_class)) return Status::OK();
  return Status::InvalidArgument("device class \"" + device_class.substr(0, kMaxDeviceClassChars) +
                                 "\" is not allowed (must be 1-32 of a-z, 0-9 and '-', starting with a letter, "
                                 "optionally followed by @ and GB per GPU)");
}

Status CheckClasses(const std::vector<std::string>& classes) {
  for (const auto& c : classes) {
    if (Status s = CheckClass(c); !s.ok()) return s;
  }
  return Status::OK();
}

// A SCAN pattern that matches `literal` itself.
std::string GlobEscape(const std::string& literal) {
  std::string out;
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

Queue::Queue(RedisOptions options, std::string prefix)
    : client_(std::move(options)),
      trials_prefix_(prefix + ":trials:"),
      results_key_(prefix + ":results"),
      canceled_key_(prefix + ":canceled"),
      workers_key_(prefix + ":workers"),
      stops_key_(prefix + ":stops"),
      preempt_key_(prefix + ":preempt") {}

Status Queue::MarkCanceled(int64_t sweep_id) {
  auto r = client_.Command({"SADD", canceled_key_, std::to_string(sweep_id)});
  return r.ok() ? Status::OK() : r.status();
}

Result<bool> Queue::IsCanceled(int64_t sweep_id) {
  auto r = client_.Command({"SISMEMBER", canceled_key_, std::to_string(sweep_id)});
  if (!r.ok()) return r.status();
  return r->integer == 1;
}

Status Queue::RequestPreempt(int64_t trial_id, int64_t ticket) {
  auto r = client_.Command({"HSET", preempt_key_, std::to_string(trial_id), std::to_string(ticket)});
  return r.ok() ? Status::OK() : r.status();
}

Result<bool> Queue::PreemptRequested(int64_t trial_id, int64_t ticket) {
  auto r = client_.Command({"HGET", preempt_key_, std::to_string(trial_id)});
  if (!r.ok()) return r.status();
  return !r->is_nil() && r->str == std::to_string(ticket);
}

Result<std::vector<std::pair<int64_t, int64_t>>> Queue::PreemptRequests() {
  auto r = client_.Command({"HGETALL", preempt_key_});
  if (!r.ok()) return r.status();
  std::vector<std::pair<int64_t, int64_t>> out;
  for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    char* end = nullptr;
    const long long trial = std::strtoll(r->elements[i].str.c_str(), &end, 10);
    if (*end != '\0' || trial <= 0) continue;
    const long long ticket = std::strtoll(r->elements[i + 1].str.c_str(), &end, 10);
    if (*end != '\0') continue;
    out.push_back({trial, ticket});
  }
  return out;
}

Status Queue::ClearPreempt(const std::vector<int64_t>& trial_ids) {
  if (trial_ids.empty()) return Status::OK();
  std::vector<std::string> cmd = {"HDEL", preempt_key_};
  for (int64_t id : trial_ids) cmd.push_back(std::to_string(id));
  auto r = client_.Command(cmd);
  return r.ok() ? Status::OK() : r.status();
}

Status Queue::PutWorker(const std::string& name, const std::string& payload) {
  auto r = client_.Command({"HSET", workers_key_, name, payload});
  return r.ok() ? Status::OK() : r.status();
}

Status Queue::RemoveWorker(const std::string& name) {
  auto r = client_.Command({"HDEL", workers_key_, name});
  return r.ok() ? Status::OK() : r.status();
}

Result<std::vector<std::string>> Queue::Workers() {
  auto r = client_.Command({"HVALS", workers_key_});
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (const auto& v : r->elements) out.push_back(v.str);
  return out;
}

Status Queue::EnsureGroups(const std::vector<std::string>& classes, bool* created_results_group) {
  if (created_results_group) *created_results_group = false;
  if (Status s = CheckClasses(classes); !s.ok()) return s;
  std::vector<std::pair<std::string, const char*>> groups = {{results_key_, kCoordinator}};
  for (const auto& c : classes) groups.push_back({trials_key(c), kWorkers});
  for (const auto& [stream, group] : groups) {
    auto r = client_.Command({"XGROUP", "CREATE", stream, group, "0", "MKSTREAM"});
    if (!r.ok() && r.status().code() != Status::Code::kAlreadyExists) return r.status();
    if (r.ok() && stream == results_key_ && created_results_group) *created_results_group = true;
  }
  return Status::OK();
}

Result<std::string> Queue::AddTrial(const std::string& device_class, const std::string& payload) {
  if (Status s = CheckClass(device_class); !s.ok()) return s;
  auto r = client_.Command({"XADD", trials_key(device_class), "*", kField, payload});
  if (!r.ok()) return r.status();
  return r->str;
}

Result<std::string> Queue::AddResult(const std::string& payload) {
  auto r = client_.Command({"XADD", results_key_, "*", kField, payload});
  if (!r.ok()) return r.status();
  return r->str;
}

Result<std::vector<QueueEntry>> Queue::ReadResults(const std::string& consumer, int64_t count,
                                                   int64_t block_ms) {
  const std::string n = std::to_string(count);
  // Our own unacknowledged entries first (what a crash left behind).
  auto mine = client_.Command({"XREADGROUP", "GROUP", kCoordinator, consumer, "COUNT", n, "STREAMS",
                               results_key_, "0"});
  if (!mine.ok()) return mine.status();
  std::vector<std::string> deleted;
  auto entries = ParseRead(mine.value(), &deleted);
  for (const auto& id : deleted) {
    if (Status s = AckResult(id); !s.ok()) return s;
  }
  if (!entries.empty()) return entries;
  std::vector<std::string> argv = {"XREADGROUP", "GROUP", kCoordinator, consumer, "COUNT", n};
  if (block_ms > 0) {
    argv.push_back("BLOCK");
    argv.push_back(std::to_string(block_ms));
  }
  argv.insert(argv.end(), {"STREAMS", results_key_, ">"});
  auto fresh = client_.Command(argv, block_ms / 1000.0);
  if (!fresh.ok()) return fresh.status();
  return ParseRead(fresh.value(), nullptr);
}

Status Queue::AckResult(const std::string& id) {
  auto ack = client_.Command({"XACK", results_key_, kCoordinator, id});
  if (!ack.ok()) return ack.status();
  auto del = client_.Command({"XDEL", results_key_, id});
  return del.ok() ? Status::OK() : del.status();
}

bool IdLess(const std::string& a, const std::string& b) {
  auto parse = [](const std::string& id) {
    char* end = nullptr;
    const unsigned long long ms = std::strtoull(id.c_str(), &end, 10);
    const unsigned long long seq = *end == '-' ? std::strtoull(end + 1, nullptr, 10) : 0;
    return std::make_pair(ms, seq);
  };
  return parse(a) < parse(b);
}

Result<std::pair<std::string, std::string>> Queue::ResultsBounds() {
  // The id of the one entry a COUNT 1 range returns: [[id, [field, value]]], or "" for [].
  auto end_id = [this](const char* command, const char* from, const char* to) -> Result<std::string> {
    auto r = client_.Command({command, results_key_, from, to, "COUNT", "1"});
    if (!r.ok()) return r.status();
    return r->elements.empty() || r->elements[0].elements.empty() ? "" : r->elements[0].elements[0].str;
  };
  auto oldest = end_id("XRANGE", "-", "+");
  if (!oldest.ok()) return oldest.status();
  auto newest = end_id("XREVRANGE", "+", "-");
  if (!newest.ok()) return newest.status();
  return std::make_pair(oldest.value(), newest.value());
}

Result<int64_t> Queue::Deliveries(const std::string& stream, const std::string& group, const std::string& id) {
  auto r = client_.Command({"XPENDING", stream, group, id, id, "1"});
  if (!r.ok()) return r.status();
  // [[id, consumer, idle_ms, deliveries]]
  if (r->elements.empty() || r->elements[0].elements.size() != 4) return int64_t{1};
  return r->elements[0].elements[3].integer;
}

Result<std::optional<QueueEntry>> Queue::ClaimTrial(const std::string& consumer,
                                                    const std::vector<std::string>& classes, int64_t lease_ms,
                                                    int64_t block_ms) {
  if (classes.empty()) return Status::InvalidArgument("claim: no device class to claim from");
  if (Status s = CheckClasses(classes); !s.ok()) return s;
  auto claimed = ClaimOnce(consumer, classes, lease_ms, block_ms);
  if (claimed.ok() || !claimed.status().IsNotFound()) return claimed;
  // NOGROUP: a class nobody has fed yet, or a Redis that restarted empty.
  for (const auto& c : classes) {
    auto r = client_.Command({"XGROUP", "CREATE", trials_key(c), kWorkers, "0", "MKSTREAM"});
    if (!r.ok() && r.status().code() != Status::Code::kAlreadyExists) return r.status();
  }
  return ClaimOnce(consumer, classes, lease_ms, block_ms);
}

Result<std::optional<QueueEntry>> Queue::ClaimOnce(const std::string& consumer,
                                                   const std::vector<std::string>& classes, int64_t lease_ms,
                                                   int64_t block_ms) {
  // Expired leases first: a trial abandoned by a dead worker resumes before
  // new work starts. XAUTOCLAIM scans a bounded slice of the pending list per
  // call, so follow its cursor (Redis 7 replies [cursor, entries, deleted ids]).
  for (const auto& device_class : classes) {
    const std::string key = trials_key(device_class);
    std::string cursor = "0-0";
    for (int scans = 0; scans < 100; ++scans) {
      auto r = client_.Command({"XAUTOCLAIM", key, kWorkers, consumer, std::to_string(lease_ms), cursor, "COUNT", "1"});
      if (!r.ok()) return r.status();
      if (r->elements.size() < 2) break;
      for (const auto& entry : r->elements[1].elements) {
        if (entry.elements.size() != 2 || entry.elements[1].is_nil()) continue;  // deleted meanwhile
        auto e = ParseEntry(entry);
        if (!e) continue;
        auto deliveries = Deliveries(key, kWorkers, e->id);
        if (!deliveries.ok()) return deliveries.status();
        e->deliveries = deliveries.value();
        e->device_class = device_class;
        auto stops = client_.Command({"HGET", stops_key_, device_class + ":" + e->id});
        if (!stops.ok()) return stops.status();
        if (!stops->is_nil()) e->stops = std::strtoll(stops->str.c_str(), nullptr, 10);
        return std::optional<QueueEntry>(std::move(*e));
      }
      cursor = r->elements[0].str;
      if (cursor == "0-0") break;
    }
  }
  std::vector<std::string> argv = {"XREADGROUP", "GROUP", kWorkers, consumer, "COUNT", "1"};
  if (block_ms > 0) {
    argv.push_back("BLOCK");
    argv.push_back(std::to_string(block_ms));
  }
  argv.push_back("STREAMS");
  for (const auto& c : classes) argv.push_back(trials_key(c));
  for (size_t i = 0; i < classes.size(); ++i) argv.push_back(">");
  auto r = client_.Command(argv, block_ms / 1000.0);
  if (!r.ok()) return r.status();
  auto entries = ParseRead(r.value(), nullptr, trials_prefix_);
  if (entries.empty()) return std::optional<QueueEntry>();
  // COUNT is per stream: one entry of each of several streams may have come.
  // Keep the first; the others go back as never delivered (RETRYCOUNT 0 and
  // an expired idle time, so the next XAUTOCLAIM of any worker counts its
  // delivery 1).
  for (size_t i = 1; i < entries.size(); ++i) {
    auto back = client_.Command({"XCLAIM", trials_key(entries[i].device_class), kWorkers, consumer, "0", entries[i].id,
                                 "IDLE", std::to_string(lease_ms), "RETRYCOUNT", "0", "JUSTID"});
    if (!back.ok()) return back.status();
  }
  return std::optional<QueueEntry>(std::move(entries[0]));
}

Result<bool> Queue::Heartbeat(const std::string& consumer, const std::string& device_class, const std::string& id) {
  if (Status s = CheckClass(device_class); !s.ok()) return s;
  auto r = client_.Command({"EVAL", kReclaimIfOwner, "1", trials_key(device_class), kWorkers, id, consumer, "0"});
  if (!r.ok()) return r.status();
  return r->integer == 1;
}

Status Queue::Release(const std::string& consumer, const std::string& device_class, const std::string& id,
                      int64_t lease_ms) {
  if (Status s = CheckClass(device_class); !s.ok()) return s;
  auto r = client_.Command(
      {"EVAL", kReclaimIfOwner, "1", trials_key(device_class), kWorkers, id, consumer, std::to_string(lease_ms)});
  return r.ok() ? Status::OK() : r.status();
}

Status Queue::ReleaseStopped(const std::string& consumer, const std::string& device_class, const std::string& id,
                             int64_t lease_ms) {
  if (Status s = CheckClass(device_class); !s.ok()) return s;
  auto r = client_.Command({"EVAL", kReclaimIfOwner, "2", trials_key(device_class), stops_key_, kWorkers, id, consumer,
                            std::to_string(lease_ms), device_class + ":" + id});
  return r.ok() ? Status::OK() : r.status();
}

Status Queue::AckTrial(const std::string& device_class, const std::string& id) {
  if (Status s = CheckClass(device_class); !s.ok()) return s;
  auto r = client_.Command({"EVAL", kAckTrial, "2", trials_key(device_class), stops_key_, kWorkers, id,
                            device_class + ":" + id});
  return r.ok() ? Status::OK() : r.status();
}

Result<std::vector<QueueEntry>> Queue::TrialsAfter(const std::string& device_class, const std::string& after_id,
                                                   int64_t count) {
  if (Status s = CheckClass(device_class); !s.ok()) return s;
  auto r = client_.Command(
      {"XRANGE", trials_key(device_class), "(" + after_id, "+", "COUNT", std::to_string(count)});
  if (!r.ok()) return r.status();
  std::vector<QueueEntry> out;
  for (const auto& entry : r->elements) {
    if (auto e = ParseEntry(entry)) {
      e->device_class = device_class;
      out.push_back(std::move(*e));
    }
  }
  return out;
}

Result<int64_t> Queue::PendingTrials(const std::string& device_class) {
  if (Status s = CheckClass(device_class); !s.ok()) return s;
  auto r = client_.Command({"XPENDING", trials_key(device_class), kWorkers});
  if (!r.ok()) return r.status().IsNotFound() ? Result<int64_t>(int64_t{0}) : Result<int64_t>(r.status());
  return r->elements.empty() ? 0 : r->elements[0].integer;
}

Result<int64_t> Queue::TrialsLength(const std::string& device_class) {
  if (Status s = CheckClass(device_class); !s.ok()) return s;
  auto r = client_.Command({"XLEN", trials_key(device_class)});
  if (!r.ok()) return r.status();
  return r->integer;
}

Result<int64_t> Queue::PendingTrials() {
  auto classes = TrialClasses();
  if (!classes.ok()) return classes.status();
  int64_t total = 0;
  for (const auto& c : classes.value()) {
    auto n = PendingTrials(c);
    if (!n.ok()) return n.status();
    total += n.value();
  }
  return total;
}

Result<int64_t> Queue::TrialsLength() {
  auto classes = TrialClasses();
  if (!classes.ok()) return classes.status();
  int64_t total = 0;
  for (const auto& c : classes.value()) {
    auto n = TrialsLength(c);
    if (!n.ok()) return n.status();
    total += n.value();
  }
  return total;
}

Result<std::vector<std::string>> Queue::TrialClasses() {
  std::set<std::string> found;
  std::string cursor = "0";
  const std::string pattern = GlobEscape(trials_prefix_) + "*";
  for (int rounds = 0; rounds < 100000; ++rounds) {
    auto r = client_.Command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000", "TYPE", "stream"});
    if (!r.ok()) return r.status();
    if (r->elements.size() != 2) return Status::Internal("redis: SCAN: unexpected reply");
    for (const auto& key : r->elements[1].elements) {
      const std::string c = key.str.substr(std::min(key.str.size(), trials_prefix_.size()));
      if (IsQueueName(c)) found.insert(c);
    }
    cursor = r->elements[0].str;
    if (cursor == "0") break;
  }
  return std::vector<std::string>(found.begin(), found.end());
}

}  // namespace sic
