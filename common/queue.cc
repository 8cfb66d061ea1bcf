#include "common/queue.h"

namespace sic {
namespace {

constexpr const char* kWorkers = "workers";
constexpr const char* kCoordinator = "coordinator";
constexpr const char* kField = "p";

// Re-claims an entry (resetting its idle time to ARGV[4] ms) only if
// ARGV[3] still owns it: a plain XCLAIM would steal back an entry that
// another worker legitimately took over after our lease expired.
constexpr const char* kReclaimIfOwner = R"lua(
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[3] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'IDLE', ARGV[4], 'JUSTID')
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

// XREADGROUP's reply: nil, or [[stream, [entry, ...]]].
std::vector<QueueEntry> ParseRead(const RedisValue& v, std::vector<std::string>* deleted) {
  std::vector<QueueEntry> out;
  if (v.type != RedisValue::kArray) return out;
  for (const auto& stream : v.elements) {
    if (stream.elements.size() != 2) continue;
    for (const auto& entry : stream.elements[1].elements) {
      if (entry.elements.size() == 2 && entry.elements[1].is_nil()) {
        if (deleted) deleted->push_back(entry.elements[0].str);
        continue;
      }
      if (auto e = ParseEntry(entry)) out.push_back(std::move(*e));
    }
  }
  return out;
}

}  // namespace

Queue::Queue(RedisOptions options, std::string prefix)
    : client_(std::move(options)),
      trials_key_(prefix + ":trials"),
      results_key_(prefix + ":results"),
      canceled_key_(prefix + ":canceled"),
      workers_key_(prefix + ":workers") {}

Status Queue::MarkCanceled(int64_t sweep_id) {
  auto r = client_.Command({"SADD", canceled_key_, std::to_string(sweep_id)});
  return r.ok() ? Status::OK() : r.status();
}

Result<bool> Queue::IsCanceled(int64_t sweep_id) {
  auto r = client_.Command({"SISMEMBER", canceled_key_, std::to_string(sweep_id)});
  if (!r.ok()) return r.status();
  return r->integer == 1;
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

Status Queue::EnsureGroups(bool* created_trials_group) {
  if (created_trials_group) *created_trials_group = false;
  for (const auto& [stream, group] : {std::pair{trials_key_, kWorkers}, std::pair{results_key_, kCoordinator}}) {
    auto r = client_.Command({"XGROUP", "CREATE", stream, group, "0", "MKSTREAM"});
    if (!r.ok() && r.status().code() != Status::Code::kAlreadyExists) return r.status();
    if (r.ok() && stream == trials_key_ && created_trials_group) *created_trials_group = true;
  }
  return Status::OK();
}

Result<std::string> Queue::AddTrial(const std::string& payload) {
  auto r = client_.Command({"XADD", trials_key_, "*", kField, payload});
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

Result<int64_t> Queue::Deliveries(const std::string& stream, const std::string& group, const std::string& id) {
  auto r = client_.Command({"XPENDING", stream, group, id, id, "1"});
  if (!r.ok()) return r.status();
  // [[id, consumer, idle_ms, deliveries]]
  if (r->elements.empty() || r->elements[0].elements.size() != 4) return int64_t{1};
  return r->elements[0].elements[3].integer;
}

Result<std::optional<QueueEntry>> Queue::ClaimTrial(const std::string& consumer, int64_t lease_ms,
                                                    int64_t block_ms) {
  // Expired leases first: a trial abandoned by a dead worker resumes before
  // new work starts. XAUTOCLAIM scans a bounded slice of the pending list per
  // call, so follow its cursor (Redis 7 replies [cursor, entries, deleted ids]).
  std::string cursor = "0-0";
  for (int scans = 0; scans < 100; ++scans) {
    auto r = client_.Command({"XAUTOCLAIM", trials_key_, kWorkers, consumer, std::to_string(lease_ms),
                              cursor, "COUNT", "1"});
    if (!r.ok()) return r.status();
    if (r->elements.size() < 2) break;
    for (const auto& entry : r->elements[1].elements) {
      if (entry.elements.size() != 2 || entry.elements[1].is_nil()) continue;  // deleted meanwhile
      auto e = ParseEntry(entry);
      if (!e) continue;
      auto deliveries = Deliveries(trials_key_, kWorkers, e->id);
      if (!deliveries.ok()) return deliveries.status();
      e->deliveries = deliveries.value();
      return std::optional<QueueEntry>(std::move(*e));
    }
    cursor = r->elements[0].str;
    if (cursor == "0-0") break;
  }
  std::vector<std::string> argv = {"XREADGROUP", "GROUP", kWorkers, consumer, "COUNT", "1"};
  if (block_ms > 0) {
    argv.push_back("BLOCK");
    argv.push_back(std::to_string(block_ms));
  }
  argv.insert(argv.end(), {"STREAMS", trials_key_, ">"});
  auto r = client_.Command(argv, block_ms / 1000.0);
  if (!r.ok()) return r.status();
  auto entries = ParseRead(r.value(), nullptr);
  if (entries.empty()) return std::optional<QueueEntry>();
  return std::optional<QueueEntry>(std::move(entries[0]));
}

Result<bool> Queue::Heartbeat(const std::string& consumer, const std::string& id) {
  auto r = client_.Command({"EVAL", kReclaimIfOwner, "1", trials_key_, kWorkers, id, consumer, "0"});
  if (!r.ok()) return r.status();
  return r->integer == 1;
}

Status Queue::Release(const std::string& consumer, const std::string& id, int64_t lease_ms) {
  auto r = client_.Command(
      {"EVAL", kReclaimIfOwner, "1", trials_key_, kWorkers, id, consumer, std::to_string(lease_ms)});
  return r.ok() ? Status::OK() : r.status();
}

Status Queue::AckTrial(const std::string& id) {
  auto ack = client_.Command({"XACK", trials_key_, kWorkers, id});
  if (!ack.ok()) return ack.status();
  auto del = client_.Command({"XDEL", trials_key_, id});
  return del.ok() ? Status::OK() : del.status();
}

Result<std::vector<QueueEntry>> Queue::TrialsAfter(const std::string& after_id, int64_t count) {
  auto r = client_.Command({"XRANGE", trials_key_, "(" + after_id, "+", "COUNT", std::to_string(count)});
  if (!r.ok()) return r.status();
  std::vector<QueueEntry> out;
  for (const auto& entry : r->elements) {
    if (auto e = ParseEntry(entry)) out.push_back(std::move(*e));
  }
  return out;
}

Result<int64_t> Queue::PendingTrials() {
  auto r = client_.Command({"XPENDING", trials_key_, kWorkers});
  if (!r.ok()) return r.status();
  return r->elements.empty() ? 0 : r->elements[0].integer;
}

Result<int64_t> Queue::TrialsLength() {
  auto r = client_.Command({"XLEN", trials_key_});
  if (!r.ok()) return r.status();
  return r->integer;
}

}  // namespace sic
