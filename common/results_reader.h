// ResultsReader: the REST API's read-only view of the coordinator's SQLite
// file, on a connection of its own. In WAL mode a reader sees the last commit
// and never blocks the writer (nor waits for it), so pages stay fast while
// results pour in. Answers are in the API's JSON shapes (docs/rest-api.md).
//
// Every value a client sends reaches SQLite as a bound parameter; sort fields
// are looked up in a fixed list or among the sweep's own metric names.
//
// Thread-safety: not thread-safe; one reader per thread (see ReaderPool).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/export.h"
#include "common/store.h"
#include "sic/status.h"

struct sqlite3;

namespace sic {

class StmtCache;  // common/sqlite_stmt.h

// Which trials of a sweep, in which order (the trials listing's parameters).
struct TrialQuery {
  std::string sort = "index";          // a column (index, name, ...) or a metric name
  bool descending = false;
  std::vector<std::string> statuses;   // empty: all
  std::string variant;                 // empty: all
};

// How many of a sweep's trials of one device class are in one status (the
// queue view's rows), with the sweep's owner, priority and cap.
struct ClassSweepCount {
  std::string device_class;
  int64_t sweep_id = 0;
  std::string status;
  int64_t count = 0;
  std::string name, owner;
  int64_t priority = 0, max_running = 0;
  int64_t owner_cap = -1;  // the owner's quota (-1: none)
  bool preempt = false;
};

class ResultsReader {
 public:
  static Result<std::unique_ptr<ResultsReader>> Open(const std::string& path);
  ~ResultsReader();
  ResultsReader(const ResultsReader&) = delete;
  ResultsReader& operator=(const ResultsReader&) = delete;

  // The sweeps list in parts: (number of sweeps, a page of ids newest first),
  // only those of `owner` when it is not empty; and one Sweep.
  Result<std::pair<int64_t, std::vector<int64_t>>> SweepIds(int64_t offset, int64_t limit,
                                                            const std::string& owner = "");
  Result<nlohmann::json> SweepRow(int64_t sweep_id);
  // Who submitted the sweep ("" before users existed); NotFound for no such sweep.
  Result<std::string> SweepOwner(int64_t sweep_id);
  // Sweep plus spec, grid_keys, variants, metric_names and dead_letters
  // ({"count", "latest": [{entry_id, trial_id, error, payload_bytes, at}]}).
  Result<nlohmann::json> GetSweep(int64_t sweep_id);
  // The ids of the sweep's trials that match, in the query's order (trials
  // without a sort metric last). Errors name a bad sort field.
  Result<std::vector<int64_t>> TrialOrder(int64_t sweep_id, const TrialQuery& query);
  // Trial objects for the ids, in the given order, with the named metrics
  // (every metric when `metrics` is empty).
  Result<nlohmann::json> TrialsById(const std::vector<int64_t>& ids, const std::vector<std::string>& metrics = {});
  // {"sweep_id", "grid_keys", "groups": [Group]} from the writer's running
  // sums, with the named metrics (all when empty).
  Result<nlohmann::json> Summary(int64_t sweep_id, const std::vector<std::string>& metrics = {});
  // Trial plus config, attempts and the artifacts' names.
  Result<nlohmann::json> GetTrial(int64_t trial_id);
  // Columns step and the curve terms (kCurveTerms: total, sep, inv, cap, coniso, lr).
  Result<nlohmann::json> Curve(int64_t trial_id);
  // Evaluations during training: {"trial_id", "steps" (how many were stored),
  // "evals": [{"step", "metrics": {name: value}}]} by step, NaN as null, with
  // the named metrics (all when empty). More than kMaxEvalSteps steps are
  // thinned evenly, the last one always kept.
  static constexpr size_t kMaxEvalSteps = 2000;
  Result<nlohmann::json> Evals(int64_t trial_id, const std::vector<std::string>& metrics = {});
  // An adaptive sweep as docs/rest-api.md shows it: the spec's objective,
  // search and schedule blocks, every trial with its rung and objective value,
  // the rungs with their trials best first, and the steps trained against the
  // steps the started configurations would have cost in full. NotFound for
  // no such sweep, and for a sweep with none of the three blocks.
  Result<nlohmann::json> Search(int64_t sweep_id);
  Result<Artifact> GetArtifact(int64_t trial_id, const std::string& name);
  // Names of the trial's artifacts, sorted (to find "<arena>/ratemaps.png").
  Result<std::vector<std::string>> ArtifactNames(int64_t trial_id);
  // Every trial of the sweep with its metrics, for exports.
  Result<std::vector<ExportRow>> ExportRows(int64_t sweep_id);
  // A page of the sweep's trials in index order, each with its metrics when
  // final (gRPC ListTrials); running_only: only those running now. NotFound
  // for no such sweep.
  Result<std::vector<ExportRow>> TrialPage(int64_t sweep_id, int64_t offset, int64_t limit,
                                           bool running_only = false);
  // A trial's latest learning-curve line ("step", "loss.total", "loss.sep",
  // ..., "lr") and its latest evaluation during training ("eval_step",
  // "eval.<L>m.*"); whichever it has (none: empty). Two index seeks.
  Result<std::map<std::string, double>> Latest(int64_t trial_id);
  // The sweep's dead letters: how many, and the latest `limit`, newest first.
  Result<std::pair<int64_t, std::vector<DeadLetter>>> DeadLetters(int64_t sweep_id, int64_t limit);
  // Trials per status over all sweeps, for /metrics.
  Result<std::map<std::string, int64_t>> TrialsByStatus();
  // The trials that wait for or hold a worker (pending, queued, running) by
  // (device class, sweep, status), ordered so; the trials an external search
  // runs itself (worker "external", from Ask) are not counted.
  Result<std::vector<ClassSweepCount>> QueueCounts();
  // A trivial query: does the file answer? (for /readyz)
  Status Ping();

 private:
  explicit ResultsReader(sqlite3* db);
  Result<nlohmann::json> LoadSweep(int64_t sweep_id);
  Result<std::vector<std::string>> MetricNames(int64_t sweep_id);

  sqlite3* db_;
  std::unique_ptr<StmtCache> stmts_;  // db_'s prepared statements
};

// A few readers shared by the HTTP threads: Acquire one, use it, and it goes
// back when the handle dies. Opens another reader when all are in use.
// Thread-safety: thread-safe.
class ReaderPool {
 public:
  explicit ReaderPool(std::string path) : path_(std::move(path)) {}

  class Handle {
   public:
    Handle(ReaderPool* pool, std::unique_ptr<ResultsReader> reader) : pool_(pool), reader_(std::move(reader)) {}
    Handle(Handle&&) = default;
    ~Handle() { if (reader_) pool_->Release(std::move(reader_)); }
    ResultsReader* operator->() { return reader_.get(); }

   private:
    ReaderPool* pool_;
    std::unique_ptr<ResultsReader> reader_;
  };

  Result<Handle> Acquire();

 private:
  void Release(std::unique_ptr<ResultsReader> reader);

  std::string path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<ResultsReader>> idle_;  // guarded by mu_
};

}  // namespace sic
