#include "common/results_reader.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "common/sqlite_stmt.h"
#include "common/trial_state.h"

namespace sic {
namespace {

using nlohmann::json;


// NaN has no JSON spelling; the API says null.
json Value(double v) { return std::isfinite(v) ? json(v) : json(); }

Status NoSweep(int64_t id) { return Status::NotFound("sweep " + std::to_string(id) + ": no such sweep"); }
Status NoTrial(int64_t id) { return Status::NotFound("trial " + std::to_string(id) + ": no such trial"); }

const char* const kListedColumns =
    "t.id, t.sweep_id, t.idx, t.name, t.variant, t.status, t.worker, t.error, t.overrides, t.round, "
    "t.started_at, t.finished_at, t.total_steps, "
    "(SELECT COUNT(*) FROM attempts a WHERE a.trial_id = t.id AND a.round = t.round), "
    "t.target_steps, t.steps_done, (SELECT MAX(r.rung) FROM rungs r WHERE r.trial_id = t.id), t.device_class, "
    "t.needs";

json ListedTrial(const Stmt& s) {
  const std::string status = s.Text(5);
  const int64_t total_steps = s.Int(12);
  const int64_t steps_done = s.Int(15);
  // `step`: how far it has trained. A succeeded trial went all the way; a
  // paused or stopped one to its rung; a running one is overwritten with the
  // live progress by the caller that has it (RestApi).
  return {{"id", s.Int(0)}, {"sweep_id", s.Int(1)}, {"index", s.Int(2)}, {"name", s.Text(3)},
          {"variant", s.Text(4)}, {"status", status}, {"worker", s.Text(6)}, {"error", s.Text(7)},
          {"overrides", json::parse(s.Text(8), nullptr, false)}, {"round", s.Int(9)},
          {"started_at", s.Real(10)}, {"finished_at", s.Real(11)}, {"total_steps", total_steps},
          {"step", status == "succeeded" ? std::max(total_steps, steps_done) : steps_done}, {"attempts", s.Int(13)},
          {"target_steps", s.Int(14)}, {"steps_done", steps_done}, {"rung", s.Null(16) ? json() : json(s.Int(16))},
          {"device_class", s.Text(17)}, {"needs", json::parse(s.Text(18), nullptr, false)},
          {"metrics", json::object()}};
}

// "?, ?, ?" for an IN list of n bound values.
std::string Placeholders(size_t n) {
  std::string out = n ? "?" : "";
  for (size_t i = 1; i < n; ++i) out += ", ?";
  return out;
}

// The trials listing's sortable columns; anything else must be a metric name.
const std::map<std::string, std::string>& SortColumns() {
  static const std::map<std::string, std::string> columns = {
      {"index", "t.idx"}, {"name", "t.name"}, {"variant", "t.variant"}, {"status", "t.status"},
      {"started_at", "t.started_at"}, {"finished_at", "t.finished_at"}};
  return columns;
}

}  // namespace

Result<std::unique_ptr<ResultsReader>> ResultsReader::Open(const std::string& path) {
  sqlite3* db = nullptr;
  // NOMUTEX: a reader is used by one thread at a time (ReaderPool).
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = Status::Error(path + ": cannot open database: " + (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close_v2(db);
    return s;
  }
  std::unique_ptr<ResultsReader> reader(new ResultsReader(db));
  // busy_timeout: a reader can meet a lock only while the writer checkpoints
  // or migrates; waiting a little beats failing the page.
  // mmap: pages are read in place from the OS cache instead of copied into
  // each reader's own cache (random pages of a big sweep, several readers).
  sqlite3_busy_timeout(db, 2000);  // before the first statement that reads the file
  for (const char* pragma : {"PRAGMA query_only=1", "PRAGMA cache_size=-16384",
                             "PRAGMA mmap_size=4294967296"}) {
    if (Status s = Exec(db, pragma); !s.ok()) return Status::Error(path + ": " + s.message());
  }
  return reader;
}

ResultsReader::ResultsReader(sqlite3* db) : db_(db), stmts_(std::make_unique<StmtCache>(db)) {}

ResultsReader::~ResultsReader() {
  stmts_.reset();  // its statements finalized before the connection closes
  sqlite3_close_v2(db_);
}

Status ResultsReader::Ping() {
  Stmt s(*stmts_, "SELECT COUNT(*) FROM sweeps");
  return s.Step() == SQLITE_ROW ? Status::OK() : s.Error();
}

Result<json> ResultsReader::SweepRow(int64_t sweep_id) { return LoadSweep(sweep_id); }

Result<std::string> ResultsReader::SweepOwner(int64_t sweep_id) {
  Stmt s(*stmts_, "SELECT owner FROM sweeps WHERE id = ?");
  s.Bind(1, sweep_id);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return NoSweep(sweep_id);
  if (rc != SQLITE_ROW) return s.Error();
  return s.Text(0);
}

Result<std::pair<int64_t, std::vector<int64_t>>> ResultsReader::SweepIds(int64_t offset, int64_t limit,
                                                                         const std::string& owner) {
  Stmt n(*stmts_, "SELECT COUNT(*) FROM sweeps WHERE ?1 = '' OR owner = ?1");
  n.Bind(1, owner);
  if (n.Step() != SQLITE_ROW) return n.Error();
  Stmt s(*stmts_, "SELECT id FROM sweeps WHERE ?1 = '' OR owner = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3");
  s.Bind(1, owner).Bind(2, limit).Bind(3, offset);
  std::vector<int64_t> ids;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) ids.push_back(s.Int(0));
  if (rc != SQLITE_DONE) return s.Error();
  return std::make_pair(n.Int(0), std::move(ids));
}

Result<json> ResultsReader::LoadSweep(int64_t sweep_id) {
  Stmt s(*stmts_, "SELECT id, name, description, created_at, canceled, planned, settled, owner, priority, max_running, "
              "preempt FROM sweeps WHERE id = ?");
  s.Bind(1, sweep_id);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return NoSweep(sweep_id);
  if (rc != SQLITE_ROW) return s.Error();
  json counts = json::object();
  for (const char* status : TrialStatuses()) counts[status] = 0;
  sic::SweepRow row;
  row.canceled = s.Int(4) != 0;
  int64_t final_count = 0;
  Stmt c(*stmts_, "SELECT status, COUNT(*) FROM trials WHERE sweep_id = ? GROUP BY status");
  c.Bind(1, sweep_id);
  while (c.Step() == SQLITE_ROW) {
    counts[c.Text(0)] = c.Int(1);
    row.total += c.Int(1);
    if (IsFinalStatus(c.Text(0))) final_count += c.Int(1);
  }
  AddUnmade(row, s.Int(5), !s.Null(6));
  return json{{"id", s.Int(0)}, {"name", s.Text(1)}, {"description", s.Text(2)}, {"created_at", s.Real(3)},
              {"canceled", row.canceled}, {"total", row.total}, {"counts", counts},
              {"done", final_count == row.total}, {"owner", s.Text(7)}, {"priority", s.Int(8)},
              {"max_running", s.Int(9)}, {"preempt", s.Int(10) != 0}};
}

Result<std::vector<std::string>> ResultsReader::MetricNames(int64_t sweep_id) {
  Stmt s(*stmts_, "SELECT DISTINCT name FROM group_stats WHERE sweep_id = ? ORDER BY name");
  s.Bind(1, sweep_id);
  std::vector<std::string> names;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) names.push_back(s.Text(0));
  if (rc != SQLITE_DONE) return s.Error();
  return names;
}

namespace {

// The keys a sweep varies on purpose (grid and random parameters), in the
// spec's order of expansion (sorted).
json GridKeys(const json& spec) {
  json keys = json::array();
  if (spec.contains("grid") && spec["grid"].is_object()) {
    for (auto it = spec["grid"].begin(); it != spec["grid"].end(); ++it) keys.push_back(it.key());
  }
  if (spec.contains("random") && spec["random"].is_object() && spec["random"].contains("params") &&
      spec["random"]["params"].is_object()) {
    for (auto it = spec["random"]["params"].begin(); it != spec["random"]["params"].end(); ++it) keys.push_back(it.key());
  }
  return keys;
}

}  // namespace

Result<json> ResultsReader::GetSweep(int64_t sweep_id) {
  auto sweep = LoadSweep(sweep_id);
  if (!sweep.ok()) return sweep;
  json out = std::move(sweep.value());
  Stmt s(*stmts_, "SELECT spec FROM sweeps WHERE id = ?");
  s.Bind(1, sweep_id);
  if (s.Step() != SQLITE_ROW) return s.Error();
  out["spec"] = json::parse(s.Text(0), nullptr, false);
  out["grid_keys"] = GridKeys(out["spec"]);
  json variants = json::array();
  Stmt v(*stmts_, "SELECT variant FROM trials WHERE sweep_id = ? GROUP BY variant ORDER BY MIN(idx)");
  v.Bind(1, sweep_id);
  while (v.Step() == SQLITE_ROW) variants.push_back(v.Text(0));
  out["variants"] = std::move(variants);
  auto names = MetricNames(sweep_id);
  if (!names.ok()) return names.status();
  out["metric_names"] = names.value();
  auto dead = DeadLetters(sweep_id, 10);
  if (!dead.ok()) return dead.status();
  json latest = json::array();
  for (const DeadLetter& d : dead->second) {
    latest.push_back({{"entry_id", d.entry_id}, {"trial_id", d.trial_id ? json(d.trial_id) : json()},
                      {"error", d.error}, {"payload_bytes", d.payload_bytes}, {"at", d.at}});
  }
  out["dead_letters"] = {{"count", dead->first}, {"latest", std::move(latest)}};
  return out;
}

Result<std::pair<int64_t, std::vector<DeadLetter>>> ResultsReader::DeadLetters(int64_t sweep_id, int64_t limit) {
  Stmt n(*stmts_, "SELECT COUNT(*) FROM dead_letters WHERE sweep_id = ?");
  n.Bind(1, sweep_id);
  if (n.Step() != SQLITE_ROW) return n.Error();
  Stmt s(*stmts_, "SELECT entry_id, COALESCE(trial_id, 0), error, payload_bytes, at FROM dead_letters "
              "WHERE sweep_id = ? ORDER BY id DESC LIMIT ?");
  s.Bind(1, sweep_id).Bind(2, limit);
  std::vector<DeadLetter> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back({s.Text(0), s.Int(1), sweep_id, s.Text(2), s.Int(3), s.Real(4)});
  if (rc != SQLITE_DONE) return s.Error();
  return std::make_pair(n.Int(0), std::move(out));
}

Result<std::vector<int64_t>> ResultsReader::TrialOrder(int64_t sweep_id, const TrialQuery& q) {
  Stmt exists(*stmts_, "SELECT 1 FROM sweeps WHERE id = ?");
  exists.Bind(1, sweep_id);
  if (exists.Step() != SQLITE_ROW) return NoSweep(sweep_id);
  std::string sql = "SELECT t.id FROM trials t";
  std::string order;
  const char* direction = q.descending ? " DESC" : " ASC";
  bool by_metric = false;
  if (auto it = SortColumns().find(q.sort); it != SortColumns().end()) {
    order = it->second + direction;
  } else {
    auto names = MetricNames(sweep_id);
    if (!names.ok()) return names.status();
    if (!std::binary_search(names->begin(), names->end(), q.sort)) {
      return Status::InvalidArgument("sort: \"" + q.sort +
                           "\" is neither a column (index, name, variant, status, started_at, finished_at) "
                           "nor a metric of this sweep");
    }
    by_metric = true;
    sql += " LEFT JOIN metrics m ON m.trial_id = t.id AND m.name = ?";
    order = std::string("m.value IS NULL, m.value") + direction;
  }
  sql += " WHERE t.sweep_id = ?";
  if (!q.statuses.empty()) sql += " AND t.status IN (" + Placeholders(q.statuses.size()) + ")";
  if (!q.variant.empty()) sql += " AND t.variant = ?";
  sql += " ORDER BY " + order + ", t.idx";
  Stmt s(*stmts_, sql);
  if (!s.ok()) return s.Error();
  int i = 1;
  if (by_metric) s.Bind(i++, q.sort);
  s.Bind(i++, sweep_id);
  for (const std::string& status : q.statuses) s.Bind(i++, status);
  if (!q.variant.empty()) s.Bind(i++, q.variant);
  std::vector<int64_t> ids;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) ids.push_back(s.Int(0));
  if (rc != SQLITE_DONE) return s.Error();
  return ids;
}

Result<json> ResultsReader::TrialsById(const std::vector<int64_t>& ids, const std::vector<std::string>& metrics) {
  json out = json::array();
  if (ids.empty()) return out;
  const std::string id_list = Placeholders(ids.size());
  Stmt s(*stmts_, std::string("SELECT ") + kListedColumns + " FROM trials t WHERE t.id IN (" + id_list + ")");
  Stmt m(*stmts_, "SELECT trial_id, name, value FROM metrics WHERE trial_id IN (" + id_list + ")" +
                  (metrics.empty() ? "" : " AND name IN (" + Placeholders(metrics.size()) + ")"));
  for (size_t i = 0; i < ids.size(); ++i) {
    s.Bind(static_cast<int>(i + 1), ids[i]);
    m.Bind(static_cast<int>(i + 1), ids[i]);
  }
  for (size_t i = 0; i < metrics.size(); ++i) m.Bind(static_cast<int>(ids.size() + i + 1), metrics[i]);
  std::unordered_map<int64_t, json> rows;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) rows[s.Int(0)] = ListedTrial(s);
  if (rc != SQLITE_DONE) return s.Error();
  while ((rc = m.Step()) == SQLITE_ROW) rows[m.Int(0)]["metrics"][m.Text(1)] = Value(m.Real(2));
  if (rc != SQLITE_DONE) return m.Error();
  for (int64_t id : ids) {
    if (auto it = rows.find(id); it != rows.end()) out.push_back(std::move(it->second));
  }
  return out;
}

Result<json> ResultsReader::Summary(int64_t sweep_id, const std::vector<std::string>& metrics) {
  Stmt spec(*stmts_, "SELECT spec FROM sweeps WHERE id = ?");
  spec.Bind(1, sweep_id);
  if (spec.Step() != SQLITE_ROW) return NoSweep(sweep_id);
  // Groups in the order of their first trial: baseline first, as expanded.
  std::map<std::pair<std::string, std::string>, size_t> index;
  json groups = json::array();
  std::vector<std::pair<int64_t, size_t>> first_trial;
  Stmt c(*stmts_, "SELECT variant, point, status, COUNT(*), MIN(idx) FROM trials WHERE sweep_id = ? "
              "GROUP BY variant, point, status");
  c.Bind(1, sweep_id);
  int rc;
  while ((rc = c.Step()) == SQLITE_ROW) {
    auto key = std::make_pair(c.Text(0), c.Text(1));
    auto [it, added] = index.emplace(key, groups.size());
    if (added) {
      json counts = json::object();
      for (const char* status : TrialStatuses()) counts[status] = 0;
      groups.push_back({{"variant", key.first}, {"point", json::parse(key.second, nullptr, false)},
                        {"trials", 0}, {"counts", counts}, {"metrics", json::object()}});
      first_trial.push_back({c.Int(4), it->second});
    }
    json& g = groups[it->second];
    g["counts"][c.Text(2)] = c.Int(3);
    g["trials"] = g["trials"].get<int64_t>() + c.Int(3);
    first_trial[it->second].first = std::min(first_trial[it->second].first, c.Int(4));
  }
  if (rc != SQLITE_DONE) return c.Error();
  Stmt m(*stmts_, std::string("SELECT variant, point, name, n, nan, sum, sumsq FROM group_stats WHERE sweep_id = ?") +
                  (metrics.empty() ? "" : " AND name IN (" + Placeholders(metrics.size()) + ")"));
  m.Bind(1, sweep_id);
  for (size_t i = 0; i < metrics.size(); ++i) m.Bind(static_cast<int>(i + 2), metrics[i]);
  while ((rc = m.Step()) == SQLITE_ROW) {
    auto it = index.find({m.Text(0), m.Text(1)});
    if (it == index.end()) continue;
    const int64_t n = m.Int(3);
    const double sum = m.Real(5), sumsq = m.Real(6);
    json mean, sd;
    if (n > 0) mean = Value(sum / n);
    if (n > 1) sd = Value(std::sqrt(std::max(0.0, (sumsq - sum * sum / n) / (n - 1))));
    groups[it->second]["metrics"][m.Text(2)] = {{"n", n}, {"nan", m.Int(4)}, {"mean", mean}, {"sd", sd}};
  }
  if (rc != SQLITE_DONE) return m.Error();
  std::sort(first_trial.begin(), first_trial.end());
  json ordered = json::array();
  for (const auto& [idx, g] : first_trial) ordered.push_back(std::move(groups[g]));
  return json{{"sweep_id", sweep_id},
              {"grid_keys", GridKeys(json::parse(spec.Text(0), nullptr, false))},
              {"groups", std::move(ordered)}};
}

Result<json> ResultsReader::GetTrial(int64_t trial_id) {
  auto rows = TrialsById({trial_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return NoTrial(trial_id);
  json out = std::move(rows.value()[0]);
  Stmt c(*stmts_, "SELECT config FROM trials WHERE id = ?");
  c.Bind(1, trial_id);
  if (c.Step() != SQLITE_ROW) return c.Error();
  out["config"] = json::parse(c.Text(0), nullptr, false);
  json attempts = json::array();
  Stmt a(*stmts_, "SELECT round, delivery, worker, started_at, finished_at, outcome, error, ticket FROM attempts "
              "WHERE trial_id = ? ORDER BY round, ticket, delivery");
  a.Bind(1, trial_id);
  while (a.Step() == SQLITE_ROW) {
    attempts.push_back({{"round", a.Int(0)}, {"ticket", a.Int(7)}, {"delivery", a.Int(1)}, {"worker", a.Text(2)},
                        {"started_at", a.Real(3)}, {"finished_at", a.Null(4) ? json() : json(a.Real(4))},
                        {"outcome", a.Null(5) ? json() : json(a.Text(5))}, {"error", a.Text(6)}});
  }
  out["attempts"] = std::move(attempts);
  json artifacts = json::array();
  // step: the evaluation during training that drew it; null: the final one's.
  Stmt f(*stmts_, "SELECT name, mime, length(data), step FROM artifacts WHERE trial_id = ? ORDER BY name");
  f.Bind(1, trial_id);
  while (f.Step() == SQLITE_ROW) {
    artifacts.push_back({{"name", f.Text(0)}, {"mime", f.Text(1)}, {"bytes", f.Int(2)},
                         {"step", f.Null(3) ? json() : json(f.Int(3))},
                         {"url", "/api/v1/trials/" + std::to_string(trial_id) + "/artifacts/" + f.Text(0)}});
  }
  out["artifacts"] = std::move(artifacts);
  return out;
}

Result<json> ResultsReader::Curve(int64_t trial_id) {
  Stmt t(*stmts_, "SELECT 1 FROM trials WHERE id = ?");
  t.Bind(1, trial_id);
  if (t.Step() != SQLITE_ROW) return NoTrial(trial_id);
  json out = json::object();
  out["step"] = json::array();
  for (const CurveTerm& t : kCurveTerms) out[t.name] = json::array();
  Stmt s(*stmts_, "SELECT step, " + CurveTermsSql() + " FROM curves WHERE trial_id = ? ORDER BY step");
  s.Bind(1, trial_id);
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    out["step"].push_back(s.Int(0));
    int col = 1;
    for (const CurveTerm& t : kCurveTerms) out[t.name].push_back(Value(s.Real(col++)));
  }
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

Result<json> ResultsReader::Evals(int64_t trial_id, const std::vector<std::string>& metrics) {
  Stmt t(*stmts_, "SELECT 1 FROM trials WHERE id = ?");
  t.Bind(1, trial_id);
  if (t.Step() != SQLITE_ROW) return NoTrial(trial_id);
  // The steps first: beyond kMaxEvalSteps they are thinned evenly (the last
  // always kept), so that an answer stays a plot's worth however long a
  // trial trains and however often it is evaluated.
  std::vector<int64_t> steps;
  Stmt st(*stmts_, "SELECT DISTINCT step FROM evals WHERE trial_id = ? ORDER BY step");
  st.Bind(1, trial_id);
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) steps.push_back(st.Int(0));
  if (rc != SQLITE_DONE) return st.Error();
  std::map<int64_t, json> by_step;  // step -> metrics, for the steps answered
  const size_t stride = (steps.size() + kMaxEvalSteps - 1) / kMaxEvalSteps;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (stride <= 1 || i % stride == 0 || i + 1 == steps.size()) by_step[steps[i]] = json::object();
  }
  Stmt s(*stmts_, "SELECT step, name, value FROM evals WHERE trial_id = ?" +
                  (metrics.empty() ? std::string() : " AND name IN (" + Placeholders(metrics.size()) + ")"));
  s.Bind(1, trial_id);
  for (size_t i = 0; i < metrics.size(); ++i) s.Bind(static_cast<int>(i + 2), metrics[i]);
  while ((rc = s.Step()) == SQLITE_ROW) {
    if (auto it = by_step.find(s.Int(0)); it != by_step.end()) it->second[s.Text(1)] = Value(s.Real(2));
  }
  if (rc != SQLITE_DONE) return s.Error();
  json evals = json::array();
  for (auto& [step, values] : by_step) {
    if (!values.empty()) evals.push_back({{"step", step}, {"metrics", std::move(values)}});
  }
  return json{{"trial_id", trial_id}, {"steps", steps.size()}, {"evals", std::move(evals)}};
}

namespace {

// A block of the spec ("objective", "search", "schedule") when it is an object.
json Block(const json& spec, const char* key) {
  return spec.is_object() && spec.contains(key) && spec[key].is_object() ? spec[key] : json();
}

std::string StringOr(const json& block, const char* key, const std::string& fallback) {
  return block.is_object() && block.contains(key) && block[key].is_string() ? block[key].get<std::string>() : fallback;
}

}  // namespace

Result<json> ResultsReader::Search(int64_t sweep_id) {
  Stmt sp(*stmts_, "SELECT spec FROM sweeps WHERE id = ?");
  sp.Bind(1, sweep_id);
  if (sp.Step() != SQLITE_ROW) return NoSweep(sweep_id);
  const json spec = json::parse(sp.Text(0), nullptr, false);
  const json objective = Block(spec, "objective"), search = Block(spec, "search"), schedule = Block(spec, "schedule");
  if (objective.is_null() && search.is_null() && schedule.is_null()) {
    return Status::NotFound("sweep " + std::to_string(sweep_id) +
                            ": no objective, search or schedule (a plain sweep: read its trials)");
  }
  const std::string metric = StringOr(objective, "metric", StringOr(schedule, "metric", ""));
  // Rungs rank by the schedule's signal, which defaults to the objective.
  const bool rung_max = StringOr(schedule, "direction", StringOr(objective, "direction", "max")) != "min";

  Stmt s(*stmts_,
         "SELECT t.id, t.idx, t.name, t.status, t.overrides, t.steps_done, t.target_steps, t.total_steps, "
         "t.started_at, "
         "(SELECT MAX(r.rung) FROM rungs r WHERE r.trial_id = t.id), "
         "(SELECT r.value FROM rungs r WHERE r.trial_id = t.id ORDER BY r.rung DESC LIMIT 1), "
         "(SELECT COUNT(*) FROM metrics m WHERE m.trial_id = t.id AND m.name = ?1), "
         "(SELECT m.value FROM metrics m WHERE m.trial_id = t.id AND m.name = ?1), "
         "(SELECT MAX(c.step) FROM curves c WHERE c.trial_id = t.id) "
         "FROM trials t WHERE t.sweep_id = ?2 ORDER BY t.idx");
  s.Bind(1, metric).Bind(2, sweep_id);
  json trials = json::array();
  int64_t trained = 0, full = 0, started = 0;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    const std::string status = s.Text(3);
    const int64_t steps_done = s.Int(5), total_steps = s.Int(7), curve_step = s.Null(13) ? 0 : s.Int(13);
    const bool has_rung = !s.Null(9);
    json value, from;
    if (status == "succeeded" && s.Int(11) > 0) {
      value = Value(s.Real(12));
      from = "objective";
    } else if (has_rung) {
      value = Value(s.Real(10));
      from = "rung";
    }
    // Steps trained: a succeeded trial all of them; a trial that is still
    // under way as far as its latest pause or its latest curve point (curves
    // arrive while it runs); a failed, stopped or canceled one its steps_done.
    const int64_t done = status == "succeeded"   ? std::max(steps_done, total_steps)
                         : IsFinalStatus(status) ? steps_done
                                                 : std::max(steps_done, curve_step);
    if (s.Real(8) > 0 || done > 0) {
      ++started;
      trained += done;
      full += total_steps;
    }
    trials.push_back({{"id", s.Int(0)}, {"index", s.Int(1)}, {"name", s.Text(2)}, {"status", status},
                      {"rung", has_rung ? json(s.Int(9)) : json()}, {"steps_done", steps_done},
                      {"target_steps", s.Int(6)}, {"total_steps", total_steps}, {"value", value},
                      {"value_from", from}, {"params", json::parse(s.Text(4), nullptr, false)}});
  }
  if (rc != SQLITE_DONE) return s.Error();

  Stmt r(*stmts_, "SELECT r.rung, r.step, r.trial_id, r.value, r.promoted FROM rungs r JOIN trials t ON t.id = r.trial_id "
              "WHERE t.sweep_id = ? ORDER BY r.rung, t.idx");
  r.Bind(1, sweep_id);
  struct Entry {
    int64_t id;
    double value, promoted;
  };
  std::map<int64_t, std::pair<int64_t, std::vector<Entry>>> rungs;  // rung -> (step, entries)
  while ((rc = r.Step()) == SQLITE_ROW) {
    auto [it, added] = rungs.try_emplace(r.Int(0), r.Int(1), std::vector<Entry>{});
    it->second.first = std::min(it->second.first, r.Int(1));
    it->second.second.push_back({r.Int(2), r.Real(3), r.Real(4)});
  }
  if (rc != SQLITE_DONE) return r.Error();
  json rung_list = json::array();
  for (auto& [rung, step_entries] : rungs) {
    auto& entries = step_entries.second;
    // Best first by the rung's direction; NaN (worst for its trial) last.
    std::stable_sort(entries.begin(), entries.end(), [rung_max](const Entry& a, const Entry& b) {
      if (std::isnan(a.value) || std::isnan(b.value)) return !std::isnan(a.value) && std::isnan(b.value);
      return rung_max ? a.value > b.value : a.value < b.value;
    });
    json list = json::array();
    for (const Entry& e : entries) {
      list.push_back({{"id", e.id}, {"value", Value(e.value)}, {"promoted", !std::isnan(e.promoted)},
                      {"promoted_at", Value(e.promoted)}});
    }
    rung_list.push_back({{"rung", rung}, {"step", step_entries.first}, {"trials", std::move(list)}});
  }
  return json{{"sweep_id", sweep_id},
              {"objective", objective},
              {"search", search},
              {"schedule", schedule},
              {"trials", std::move(trials)},
              {"rungs", std::move(rung_list)},
              {"steps", {{"trained", trained}, {"full", full}, {"saved", full - trained}, {"started", started}}}};
}

Result<Artifact> ResultsReader::GetArtifact(int64_t trial_id, const std::string& name) {
  Stmt s(*stmts_, "SELECT name, mime, data FROM artifacts WHERE trial_id = ? AND name = ?");
  s.Bind(1, trial_id).Bind(2, name);
  if (s.Step() != SQLITE_ROW) {
    return Status::NotFound("trial " + std::to_string(trial_id) + ": no artifact \"" + name + "\"");
  }
  return Artifact{s.Text(0), s.Text(1), s.Text(2)};
}

Result<std::vector<std::string>> ResultsReader::ArtifactNames(int64_t trial_id) {
  Stmt t(*stmts_, "SELECT 1 FROM trials WHERE id = ?");
  t.Bind(1, trial_id);
  if (t.Step() != SQLITE_ROW) return NoTrial(trial_id);
  Stmt s(*stmts_, "SELECT name FROM artifacts WHERE trial_id = ? ORDER BY name");
  s.Bind(1, trial_id);
  std::vector<std::string> names;
  while (s.Step() == SQLITE_ROW) names.push_back(s.Text(0));
  return names;
}

Result<std::vector<ExportRow>> ResultsReader::ExportRows(int64_t sweep_id) {
  return TrialPage(sweep_id, 0, -1);  // SQLite reads LIMIT -1 as no limit
}

Result<std::vector<ExportRow>> ResultsReader::TrialPage(int64_t sweep_id, int64_t offset, int64_t limit,
                                                       bool running_only) {
  Stmt exists(*stmts_, "SELECT 1 FROM sweeps WHERE id = ?");
  exists.Bind(1, sweep_id);
  if (exists.Step() != SQLITE_ROW) return NoSweep(sweep_id);
  // Running ones: a range of trials_by_sweep_status; they have no final metrics.
  Stmt s(*stmts_, std::string("SELECT ") + sic::kTrialColumns + " FROM trials t WHERE t.sweep_id = ?" +
                  (running_only ? " AND t.status = 'running'" : "") + " ORDER BY t.idx LIMIT ? OFFSET ?");
  s.Bind(1, sweep_id).Bind(2, limit).Bind(3, offset);
  std::vector<ExportRow> rows;
  std::unordered_map<int64_t, size_t> by_id;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    TrialRow t = ReadTrial(s);
    by_id[t.id] = rows.size();
    rows.push_back({std::move(t), {}});
  }
  if (rc != SQLITE_DONE) return s.Error();
  if (running_only) return rows;
  Stmt m(*stmts_, "SELECT m.trial_id, m.name, m.value FROM metrics m JOIN "
              "(SELECT id, status FROM trials WHERE sweep_id = ? ORDER BY idx LIMIT ? OFFSET ?) p ON p.id = m.trial_id "
              "WHERE p.status IN " + FinalStatusesSql());
  m.Bind(1, sweep_id).Bind(2, limit).Bind(3, offset);
  while ((rc = m.Step()) == SQLITE_ROW) {
    if (auto it = by_id.find(m.Int(0)); it != by_id.end()) rows[it->second].metrics[m.Text(1)] = m.Real(2);
  }
  if (rc != SQLITE_DONE) return m.Error();
  return rows;
}

Result<std::map<std::string, double>> ResultsReader::Latest(int64_t trial_id) {
  std::map<std::string, double> out;
  Stmt c(*stmts_, "SELECT step, " + CurveTermsSql() + " FROM curves WHERE trial_id = ? ORDER BY step DESC LIMIT 1");
  c.Bind(1, trial_id);
  int rc = c.Step();
  if (rc == SQLITE_ROW) {
    out["step"] = static_cast<double>(c.Int(0));
    int col = 1;
    for (const CurveTerm& t : kCurveTerms) out[CurveMetricName(t)] = c.Real(col++);
  } else if (rc != SQLITE_DONE) {
    return c.Error();
  }
  Stmt e(*stmts_, "SELECT step, name, value FROM evals WHERE trial_id = ?1 AND step = "
              "(SELECT MAX(step) FROM evals WHERE trial_id = ?1)");
  e.Bind(1, trial_id);
  while ((rc = e.Step()) == SQLITE_ROW) {
    out["eval_step"] = static_cast<double>(e.Int(0));
    out[e.Text(1)] = e.Real(2);
  }
  if (rc != SQLITE_DONE) return e.Error();
  return out;
}

Result<std::map<std::string, int64_t>> ResultsReader::TrialsByStatus() {
  std::map<std::string, int64_t> out;
  for (const char* status : TrialStatuses()) out[status] = 0;
  Stmt s(*stmts_, "SELECT status, COUNT(*) FROM trials GROUP BY status");
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out[s.Text(0)] = s.Int(1);
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

Result<std::vector<ClassSweepCount>> ResultsReader::QueueCounts() {
  // Visits the live trials only, however many have finished: the classes one
  // index seek each (a skip scan of trials_by_class_status), then per class
  // its pending and queued trials as a range of that covering index; the few
  // running ones through trials_by_status. 5 ms for 10,000 live trials among
  // 200,000, where one grouped pass over the live rows took 75 ms.
  Stmt s(*stmts_,
         "WITH RECURSIVE classes(c) AS ("
         "  SELECT MIN(device_class) FROM trials"
         "  UNION ALL SELECT (SELECT MIN(device_class) FROM trials WHERE device_class > c) FROM classes"
         "  WHERE c IS NOT NULL), "
         "g(device_class, sweep_id, status, n) AS ("
         "  SELECT t.device_class, t.sweep_id, t.status, COUNT(*) FROM classes"
         "  JOIN trials t INDEXED BY trials_by_class_status ON t.device_class = classes.c"
         "   AND t.status IN ('pending', 'queued')"
         "  GROUP BY t.device_class, t.status, t.sweep_id"
         "  UNION ALL SELECT device_class, sweep_id, status, COUNT(*) FROM trials"
         "  WHERE status = 'running' AND worker != 'external' GROUP BY device_class, sweep_id) "
         "SELECT g.device_class, g.sweep_id, g.status, g.n, s.name, s.owner, s.priority, s.max_running, "
         "  " + sic::OwnerQuotaSql("s.owner") + ", s.preempt "
         "FROM g JOIN sweeps s ON s.id = g.sweep_id ORDER BY g.device_class, g.sweep_id, g.status");
  std::vector<ClassSweepCount> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    out.push_back(
        {s.Text(0), s.Int(1), s.Text(2), s.Int(3), s.Text(4), s.Text(5), s.Int(6), s.Int(7), s.Int(8), s.Int(9) != 0});
  }
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

Result<ReaderPool::Handle> ReaderPool::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto reader = std::move(idle_.back());
      idle_.pop_back();
      return Handle(this, std::move(reader));
    }
  }
  auto reader = ResultsReader::Open(path_);
  if (!reader.ok()) return reader.status();
  return Handle(this, std::move(reader.value()));
}

void ReaderPool::Release(std::unique_ptr<ResultsReader> reader) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(std::move(reader));
}

}  // namespace sic
