#include "common/store.h"

#include <cmath>
#include <iterator>

#include "common/sqlite_stmt.h"
#include "common/trial_state.h"

namespace sic {
namespace {

using nlohmann::json;

// Schema migrations; entry k takes the file from user_version k to k + 1.
// Append only: a shipped migration never changes.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE sweeps (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  description TEXT NOT NULL,
  spec        TEXT NOT NULL,
  created_at  REAL NOT NULL,
  canceled    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE trials (
  id          INTEGER PRIMARY KEY,
  sweep_id    INTEGER NOT NULL REFERENCES sweeps(id),
  idx         INTEGER NOT NULL,
  name        TEXT NOT NULL,
  variant     TEXT NOT NULL,
  config      TEXT NOT NULL,
  overrides   TEXT NOT NULL,
  status      TEXT NOT NULL,
  round       INTEGER NOT NULL DEFAULT 1,
  worker      TEXT NOT NULL DEFAULT '',
  error       TEXT NOT NULL DEFAULT '',
  started_at  REAL NOT NULL DEFAULT 0,
  finished_at REAL NOT NULL DEFAULT 0,
  UNIQUE (sweep_id, idx)
);
CREATE INDEX trials_by_status ON trials(status);
CREATE TABLE attempts (
  trial_id    INTEGER NOT NULL REFERENCES trials(id),
  round       INTEGER NOT NULL,
  delivery    INTEGER NOT NULL,
  worker      TEXT NOT NULL,
  started_at  REAL NOT NULL,
  finished_at REAL,
  outcome     TEXT,            -- NULL while running; 'succeeded' or 'failed'
  error       TEXT,
  PRIMARY KEY (trial_id, round, delivery)
);
CREATE TABLE metrics (
  trial_id INTEGER NOT NULL REFERENCES trials(id),
  name     TEXT NOT NULL,
  value    REAL,                -- NULL stands for NaN (SQLite has no NaN)
  PRIMARY KEY (trial_id, name)
);
CREATE TABLE curves (
  trial_id INTEGER NOT NULL REFERENCES trials(id),
  step     INTEGER NOT NULL,
  total REAL, sep REAL, inv REAL, cap REAL, coniso REAL, lr REAL,
  PRIMARY KEY (trial_id, step)
);
CREATE TABLE artifacts (
  trial_id INTEGER NOT NULL REFERENCES trials(id),
  name     TEXT NOT NULL,
  mime     TEXT NOT NULL,
  data     BLOB NOT NULL,
  PRIMARY KEY (trial_id, name)
);
)sql",
    // 2: per-trial grid point (the overrides without the seed) and per-group
    // running sums of every metric, so that a sweep's summary (mean and sd over
    // seeds per variant and grid point) is read from a few hundred rows however
    // many trials the sweep holds. RecordResult keeps group_stats current.
    R"sql(
ALTER TABLE trials ADD COLUMN point TEXT NOT NULL DEFAULT '{}';
UPDATE trials SET point = json_remove(overrides, '$."run.seed"');
CREATE INDEX trials_by_group ON trials(sweep_id, variant, point, status);
CREATE TABLE group_stats (
  sweep_id INTEGER NOT NULL,
  variant  TEXT NOT NULL,
  point    TEXT NOT NULL,
  name     TEXT NOT NULL,
  n        INTEGER NOT NULL,   -- finite values
  nan      INTEGER NOT NULL,   -- NaN values (stored as NULL)
  sum      REAL NOT NULL,
  sumsq    REAL NOT NULL,
  PRIMARY KEY (sweep_id, variant, point, name)
) WITHOUT ROWID;
INSERT INTO group_stats
  SELECT t.sweep_id, t.variant, t.point, m.name, COUNT(m.value), SUM(m.value IS NULL),
         TOTAL(m.value), TOTAL(m.value * m.value)
  FROM metrics m JOIN trials t ON t.id = m.trial_id GROUP BY 1, 2, 3, 4;
)sql",
    // 3: each trial's optim.steps as a column: the trials listing showed it
    // through json_extract of the whole config, half the cost of a page.
    R"sql(
ALTER TABLE trials ADD COLUMN total_steps INTEGER NOT NULL DEFAULT 0;
UPDATE trials SET total_steps = COALESCE(json_extract(config, '$.optim.steps'), 0);
)sql",
    // 4: job tickets. Every enqueue gives the trial a new ticket from the
    // `ticket` sequence; its job carries it and the worker echoes it, so an
    // attempt is (trial, round, ticket, delivery) and a job enqueued again
    // after Redis lost its data (whose delivery count restarts at 1) never
    // collides with an attempt already recorded. The primary key changes, so
    // the attempts table is rebuilt; old rows keep ticket 0. enqueued_at: when
    // the current ticket was issued (the reconciler leaves young jobs alone).
    R"sql(
ALTER TABLE trials ADD COLUMN ticket INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN enqueued_at REAL NOT NULL DEFAULT 0;
CREATE TABLE sequences (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO sequences (name, value) VALUES ('ticket', 0);
CREATE TABLE attempts_v4 (
  trial_id    INTEGER NOT NULL REFERENCES trials(id),
  round       INTEGER NOT NULL,
  ticket      INTEGER NOT NULL DEFAULT 0,
  delivery    INTEGER NOT NULL,
  worker      TEXT NOT NULL,
  started_at  REAL NOT NULL,
  finished_at REAL,
  outcome     TEXT,            -- NULL while running; 'succeeded', 'failed' or 'error'
  error       TEXT,
  PRIMARY KEY (trial_id, round, ticket, delivery)
);
INSERT INTO attempts_v4 (trial_id, round, ticket, delivery, worker, started_at, finished_at, outcome, error)
  SELECT trial_id, round, 0, delivery, worker, started_at, finished_at, outcome, error FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_v4 RENAME TO attempts;
CREATE INDEX trials_by_status_enqueued ON trials(status, enqueued_at);
)sql",
    // 5: dead letters: results-stream entries that could not be recorded
    // (malformed bytes, an unknown kind, a store error that kept repeating).
    // They are acknowledged so that they never hold up other results, and
    // kept here so that `sicctl show`, the REST API and the dashboard say so.
    R"sql(
CREATE TABLE dead_letters (
  id            INTEGER PRIMARY KEY,
  entry_id      TEXT NOT NULL,     -- the sic:results entry
  trial_id      INTEGER,           -- NULL when the bytes did not say
  sweep_id      INTEGER,           -- NULL when no trial of the store matched
  error         TEXT NOT NULL,
  payload_bytes INTEGER NOT NULL,
  at            REAL NOT NULL
);
CREATE INDEX dead_letters_by_sweep ON dead_letters(sweep_id, id);
)sql",
    // 6: adaptive sweeps (early stopping, searches) and evaluations during
    // training. A trial's current job trains to target_steps (0: optim.steps)
    // and pauses there; steps_done is how far it has trained (latest pause or
    // end). evals holds every evaluation during training, once per (trial,
    // step); rungs every rung a trial reached with its signal, and when the
    // scheduler promoted it from there. New statuses (waiting, paused,
    // stopped) need no schema change: common/trial_state.h.
    R"sql(
ALTER TABLE trials ADD COLUMN target_steps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN steps_done INTEGER NOT NULL DEFAULT 0;
CREATE TABLE evals (
  trial_id INTEGER NOT NULL REFERENCES trials(id),
  step     INTEGER NOT NULL,
  name     TEXT NOT NULL,
  value    REAL,                -- NULL stands for NaN
  PRIMARY KEY (trial_id, step, name)
) WITHOUT ROWID;
CREATE TABLE rungs (
  trial_id INTEGER NOT NULL REFERENCES trials(id),
  rung     INTEGER NOT NULL,    -- 0-based, into the schedule's rung steps
  step     INTEGER NOT NULL,
  value    REAL,                -- the rung signal; NULL stands for NaN
  at       REAL NOT NULL,
  promoted REAL,                -- when the scheduler promoted the trial from here; NULL: not (yet)
  PRIMARY KEY (trial_id, rung)
) WITHOUT ROWID;
CREATE INDEX trials_by_sweep_status ON trials(sweep_id, status);
ALTER TABLE sweeps ADD COLUMN adaptive INTEGER NOT NULL DEFAULT 0;  -- has a schedule or a search
ALTER TABLE sweeps ADD COLUMN planned INTEGER NOT NULL DEFAULT 0;   -- a search's trials in all (0: its rows)
ALTER TABLE sweeps ADD COLUMN settled REAL;                         -- when its scheduler had nothing left to do
CREATE TABLE discards (              -- checkpoints of trials that will never resume, for workers to delete
  trial_id INTEGER PRIMARY KEY REFERENCES trials(id),
  round    INTEGER NOT NULL
);
)sql",
    // 7: a lab on one cluster. A sweep has an owner (the user whose token
    // submitted it; "" before users existed), a priority and a cap on its
    // queued + running trials (0: none). A trial has a device class (the
    // queue it is fed to, derived from its config's run.device unless the
    // spec's "resources" says) and its needs. Tokens are kept as SHA-256
    // digests only. The audit log is append-only: triggers refuse to change
    // or delete a row.
    R"sql(
ALTER TABLE sweeps ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE sweeps ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sweeps ADD COLUMN max_running INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN device_class TEXT NOT NULL DEFAULT 'cpu';
ALTER TABLE trials ADD COLUMN needs TEXT NOT NULL DEFAULT '{}';
UPDATE trials SET device_class = 'cuda', needs = '{"device":"cuda"}'
  WHERE json_extract(config, '$.run.device') LIKE 'cuda%';
UPDATE trials SET needs = '{"device":"cpu"}' WHERE needs = '{}';
CREATE INDEX trials_by_class_status ON trials(device_class, status, sweep_id);
CREATE TABLE tokens (
  id         INTEGER PRIMARY KEY,
  user       TEXT NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin')),
  digest     BLOB NOT NULL UNIQUE,   -- SHA-256 of the token
  created_at REAL NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at REAL                    -- NULL: live
);
CREATE TABLE audit (
  id     INTEGER PRIMARY KEY,
  at     REAL NOT NULL,
  user   TEXT NOT NULL,
  role   TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  source TEXT NOT NULL,
  code   TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_by_user ON audit(user, id);
CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit: append-only'); END;
CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit: append-only'); END;
)sql",
    // 8: pictures while a trial trains. An evaluation during training sends
    // its pictures under the final evaluation's names; a trial keeps only the
    // latest ones (step: the evaluation's), and the final evaluation's (step
    // NULL) replace them for good.
    R"sql(
ALTER TABLE artifacts ADD COLUMN step INTEGER;
)sql",
    // 9: a trial that needs GPU memory has its own queue, "<class>@<GB>"
    // (common/resources.h). Trials already in a stream (queued, running) stay
    // where their job is; the others move, so a retry or promotion goes there.
    R"sql(
UPDATE trials SET device_class = device_class || '@' ||
  (CAST(json_extract(needs, '$.gpu_memory_gb') AS INTEGER) +
   (json_extract(needs, '$.gpu_memory_gb') > CAST(json_extract(needs, '$.gpu_memory_gb') AS INTEGER)))
WHERE json_extract(needs, '$.gpu_memory_gb') > 0 AND instr(device_class, '@') = 0
  AND status NOT IN ('queued', 'running');
)sql",
    // 10: a sweep may preempt running trials of lower priority when asked
    // (coordinator/dispatch.h: PlanPreemption); a user's own cap on queued +
    // running trials, overriding --max-running-per-user (0: none for them).
    R"sql(
ALTER TABLE sweeps ADD COLUMN preempt INTEGER NOT NULL DEFAULT 0;
CREATE TABLE quotas (
  user        TEXT PRIMARY KEY,
  max_running INTEGER NOT NULL CHECK (max_running >= 0),
  set_by      TEXT NOT NULL,
  set_at      REAL NOT NULL
);
)sql",
};
constexpr int kNumMigrations = sizeof(kMigrations) / sizeof(kMigrations[0]);
static_assert(kNumMigrations == Store::kSchemaVersion, "one migration per schema version");


// BEGIN IMMEDIATE ... COMMIT, rolled back unless Commit() succeeds. Inside an
// open transaction (Store::Batch) it is a savepoint instead, so one failing
// call in a batch rolls back alone and the batch still commits once.
class Transaction {
 public:
  explicit Transaction(sqlite3* db)
      : db_(db), nested_(sqlite3_get_autocommit(db) == 0),
        begun_(Exec(db, nested_ ? "SAVEPOINT call" : "BEGIN IMMEDIATE")) {}
  ~Transaction() {
    if (begun_.ok() && !done_) Exec(db_, nested_ ? "ROLLBACK TO call; RELEASE call" : "ROLLBACK");
  }
  const Status& begun() const { return begun_; }
  Status Commit() {
    done_ = true;
    Status s = Exec(db_, nested_ ? "RELEASE call" : "COMMIT");
    if (!s.ok()) Exec(db_, nested_ ? "ROLLBACK TO call; RELEASE call" : "ROLLBACK");
    return s;
  }

 private:
  sqlite3* db_;
  bool nested_;
  Status begun_;
  bool done_ = false;
};

// ", ?, ?, ..." : one placeholder per curve term.
std::string CurveTermsBinds() {
  std::string out;
  for (size_t i = 0; i < std::size(kCurveTerms); ++i) out += ", ?";
  return out;
}

// Binds a point's terms from parameter `first` on, in kCurveTerms order.
void BindCurveTerms(Stmt& s, int first, const CurvePoint& p) {
  for (const CurveTerm& t : kCurveTerms) s.Bind(first++, p.*t.field);
}

// Runs a one-row `... RETURNING <int>` statement to its end (stepping it
// again after SQLITE_DONE would run it a second time) and hands the value, if
// a row matched, to `returned`.
template <typename F>
Status StepReturning(Stmt& s, F returned) {
  int rc = s.Step();
  if (rc == SQLITE_ROW) {
    returned(s.Int(0));
    rc = s.Step();
  }
  return rc == SQLITE_DONE ? Status::OK() : s.Error();
}

}  // namespace

// "c(name)": every device class a trial has, by skipping through the
// trials_by_class_status index (one seek per class, never a pass over the
// trials). Shared by the dispatcher's counts and the stream upkeep.
const char* const kEveryClass =
    "WITH RECURSIVE c(name) AS ("
    "  SELECT MIN(device_class) FROM trials "
    "  UNION ALL SELECT (SELECT MIN(device_class) FROM trials WHERE device_class > c.name) "
    "  FROM c WHERE c.name IS NOT NULL) ";

const char* const kTrialColumns =
    "t.id, t.sweep_id, t.idx, t.name, t.variant, t.status, t.worker, t.error, t.config, "
    "t.overrides, t.round, t.started_at, t.finished_at, "
    "(SELECT COUNT(*) FROM attempts a WHERE a.trial_id = t.id AND a.round = t.round), "
    "t.ticket, t.enqueued_at, t.target_steps, t.steps_done, "
    "(SELECT MAX(r.rung) FROM rungs r WHERE r.trial_id = t.id), t.device_class, t.needs";

TrialRow ReadTrial(const Stmt& s) {
  TrialRow t;
  t.id = s.Int(0);
  t.sweep_id = s.Int(1);
  t.index = s.Int(2);
  t.name = s.Text(3);
  t.variant = s.Text(4);
  t.status = s.Text(5);
  t.worker = s.Text(6);
  t.error = s.Text(7);
  t.config = json::parse(s.Text(8), nullptr, false);
  t.overrides = json::parse(s.Text(9), nullptr, false);
  t.round = s.Int(10);
  t.started_at = s.Real(11);
  t.finished_at = s.Real(12);
  t.attempts = s.Int(13);
  t.ticket = s.Int(14);
  t.enqueued_at = s.Real(15);
  t.target_steps = s.Int(16);
  t.steps_done = s.Int(17);
  t.rung = s.Null(18) ? -1 : s.Int(18);
  t.device_class = s.Text(19);
  t.needs = json::parse(s.Text(20), nullptr, false);
  return t;
}

void ConfigureSqliteProcess() {
  static const int rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)rc;  // SQLITE_MISUSE once SQLite is in use: then it is too late, and harmless
}

void AddUnmade(SweepRow& row, int64_t planned, bool settled) {
  if (planned > row.total && !row.canceled && !settled) row.total = planned;
}

bool SweepRow::done() const {
  int64_t final_count = 0;
  for (const auto& [status, n] : counts) {
    if (IsFinalStatus(status)) final_count += n;
  }
  return final_count == total;
}

Store::Store(sqlite3* db) : db_(db), stmts_(std::make_unique<StmtCache>(db)) {}
Store::~Store() {
  stmts_.reset();  // its statements finalized before the connection closes
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                                        SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = Status::Error(path + ": cannot open database: " + (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close_v2(db);
    return s;
  }
  std::unique_ptr<Store> store(new Store(db));
  // The busy timeout comes first: even switching to WAL reads the file, and a
  // coordinator restarted after a kill can meet another process (sicctl, a
  // reader) recovering the WAL the dead one left. Without it that first read
  // fails at once with "database is locked" instead of waiting.
  sqlite3_busy_timeout(db, 5000);
  // WAL: readers never block the writer. synchronous=FULL: a committed result
  // survives power loss, which is what acknowledging it in Redis promises.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (Status s = Exec(db, pragma); !s.ok()) return Status::Error(path + ": " + s.message());
  }
  if (Status s = store->Migrate(); !s.ok()) return Status::Error(path + ": " + s.message());
  return store;
}

int Store::schema_version() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "PRAGMA user_version");
  return s.Step() == SQLITE_ROW ? static_cast<int>(s.Int(0)) : -1;
}

Status Store::Batch(const std::function<void()>& calls) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  calls();
  Status committed = tx.Commit();
  Publish();
  return committed;
}

Status Store::AddToGroupStats(int64_t trial_id, int64_t sign) {
  // The SELECT's WHERE keeps SQLite from reading ON CONFLICT as a join clause.
  Stmt s(*stmts_, "INSERT INTO group_stats (sweep_id, variant, point, name, n, nan, sum, sumsq) "
              "SELECT t.sweep_id, t.variant, t.point, m.name, ?1 * (m.value IS NOT NULL), "
              "?1 * (m.value IS NULL), ?1 * COALESCE(m.value, 0), ?1 * COALESCE(m.value * m.value, 0) "
              "FROM metrics m JOIN trials t ON t.id = m.trial_id WHERE m.trial_id = ?2 "
              "ON CONFLICT (sweep_id, variant, point, name) DO UPDATE SET n = n + excluded.n, "
              "nan = nan + excluded.nan, sum = sum + excluded.sum, sumsq = sumsq + excluded.sumsq");
  s.Bind(1, sign).Bind(2, trial_id);
  if (Status st = s.Run(); !st.ok()) return st;
  if (sign > 0) return Status::OK();
  Stmt empty(*stmts_, "DELETE FROM group_stats WHERE n = 0 AND nan = 0 AND sweep_id = "
                  "(SELECT sweep_id FROM trials WHERE id = ?)");
  empty.Bind(1, trial_id);
  return empty.Run();
}

void Store::Touch(int64_t sweep_id, bool requested) { touched_[sweep_id] |= requested; }

void Store::Publish() {
  // Inside a Batch the changes are not visible to readers before its commit.
  if (sqlite3_get_autocommit(db_) == 0) return;
  std::lock_guard<std::mutex> lock(generations_mu_);
  for (const auto& [id, requested] : touched_) {
    SweepGeneration& g = generations_[id];
    ++(requested ? g.requested : g.ingested);
  }
  touched_.clear();
}

SweepGeneration Store::Generation(int64_t sweep_id) const {
  std::lock_guard<std::mutex> lock(generations_mu_);
  auto it = generations_.find(sweep_id);
  SweepGeneration g = it == generations_.end() ? SweepGeneration() : it->second;
  g.requested += every_sweep_requested_;
  return g;
}

Status Store::Migrate() {
  int64_t version = 0;
  {
    // Finalized before migrating: an open statement keeps DROP TABLE from
    // running ("database table is locked").
    Stmt v(db_, "PRAGMA user_version");
    if (v.Step() != SQLITE_ROW) return v.Error();
    version = v.Int(0);
  }
  if (version > kSchemaVersion) {
    return Status::Error("store: schema version " + std::to_string(version) +
                         " is newer than this build understands (" + std::to_string(kSchemaVersion) + ")");
  }
  for (int64_t k = version; k < kNumMigrations; ++k) {
    Transaction tx(db_);
    if (!tx.begun().ok()) return tx.begun();
    if (Status s = Exec(db_, kMigrations[k]); !s.ok()) return s;
    const std::string bump = "PRAGMA user_version = " + std::to_string(k + 1);
    if (Status s = Exec(db_, bump.c_str()); !s.ok()) return s;
    if (Status s = tx.Commit(); !s.ok()) return s;
  }
  return Status::OK();
}

Result<int64_t> Store::CreateSweep(const SweepSpec& sweep, double now, const std::string& owner) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  const bool scheduled = sweep.schedule.method != ScheduleSpec::kNone;
  const int64_t planned =
      sweep.has_search ? sweep.search.trials * std::max<int64_t>(1, static_cast<int64_t>(sweep.seeds.size())) : 0;
  Stmt ins(*stmts_, "INSERT INTO sweeps (name, description, spec, created_at, adaptive, planned, owner, priority, "
                "max_running, preempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins.Bind(1, sweep.name).Bind(2, sweep.description).Bind(3, sweep.spec.dump()).Bind(4, now);
  ins.Bind(5, int64_t{scheduled || sweep.has_search}).Bind(6, planned).Bind(7, owner).Bind(8, sweep.priority);
  ins.Bind(9, sweep.max_running).Bind(10, int64_t{sweep.preempt});
  if (Status s = ins.Run(); !s.ok()) return s;
  const int64_t sweep_id = sqlite3_last_insert_rowid(db_);
  Stmt trial(*stmts_, "INSERT INTO trials (sweep_id, idx, name, variant, config, overrides, point, total_steps, status, "
                  "device_class, needs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, json_remove(?6, '$.\"run.seed\"'), ?7, ?8, ?9, ?10)");
  for (const TrialSpec& t : sweep.trials) {
    trial.Reset();
    trial.Bind(1, sweep_id).Bind(2, t.index).Bind(3, t.name).Bind(4, t.variant);
    trial.Bind(5, ConfigToJson(t.config).dump()).Bind(6, t.overrides.dump()).Bind(7, t.config.optim.steps);
    // A scheduled sweep's trials wait for the scheduler, which feeds them a few at a time.
    trial.Bind(8, std::string(Transition(scheduled ? TrialEvent::kHold : TrialEvent::kSubmit).to));
    trial.Bind(9, QueueOf(t.needs)).Bind(10, NeedsToJson(t.needs).dump());
    if (Status s = trial.Run(); !s.ok()) return s;
  }
  if (Status s = tx.Commit(); !s.ok()) return s;
  Touch(sweep_id, /*requested=*/true);
  Publish();
  return sweep_id;
}

namespace {

// "UPDATE trials SET <set> WHERE <where> AND status IN (<event's from-list>)":
// every statement that moves a trial is built here, from the state table.
std::string MoveTrials(TrialEvent event, const std::string& set, const std::string& where,
                       const std::string& returning = "") {
  return "UPDATE trials SET status = '" + std::string(Transition(event).to) + "'" + (set.empty() ? "" : ", " + set) +
         " WHERE " + where + " AND status IN " + FromStatusesSql(event) + returning;
}

}  // namespace

Result<std::vector<TrialRow>> Store::PendingTrials(int64_t limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, (std::string("SELECT ") + kTrialColumns + " FROM trials t WHERE t.status IN " +
               FromStatusesSql(TrialEvent::kEnqueue) + " ORDER BY t.id LIMIT ?").c_str());
  s.Bind(1, limit);
  std::vector<TrialRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadTrial(s));
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

Result<std::vector<TrialRow>> Store::TakePending(int64_t limit, double now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto pending = PendingTrials(limit);
  if (!pending.ok() || pending->empty()) return pending;
  if (Status s = IssueTickets(pending.value(), now); !s.ok()) return s;
  return pending;
}

Status Store::IssueTickets(std::vector<TrialRow>& trials, double now) {
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  Stmt next(*stmts_, "UPDATE sequences SET value = value + 1 WHERE name = 'ticket' RETURNING value");
  Stmt issue(*stmts_, "UPDATE trials SET ticket = ?, enqueued_at = ? WHERE id = ?");
  for (TrialRow& t : trials) {
    next.Reset();
    int64_t ticket = 0;
    if (Status s = StepReturning(next, [&](int64_t v) { ticket = v; }); !s.ok()) return s;
    if (ticket == 0) return Status::Internal("store: the ticket sequence is missing");
    issue.Reset();
    issue.Bind(1, ticket).Bind(2, now).Bind(3, t.id);
    if (Status s = issue.Run(); !s.ok()) return s;
    t.ticket = ticket;
    t.enqueued_at = now;
  }
  return tx.Commit();
}

Result<std::vector<DispatchSweep>> Store::DispatchCounts(int64_t pending_cap) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // Called for every few trials fed, with tens of thousands pending: nothing
  // here reads every pending row. In flight (queued, running) are few (about
  // the workers' slots) and read by the status index. Pending ones are found
  // by skipping through the (device_class, status, sweep_id) index: each
  // class, then each sweep of it with a pending trial, one seek apiece, and
  // counted no further than `pending_cap`.
  Transaction tx(db_);  // one snapshot for both reads
  if (!tx.begun().ok()) return tx.begun();
  std::map<std::pair<int64_t, std::string>, DispatchSweep> rows;
  Stmt active(*stmts_, "SELECT t.sweep_id, t.device_class, s.owner, s.priority, s.max_running, "
                   "SUM(t.status = 'queued'), SUM(t.status = 'running'), s.preempt, " + OwnerQuotaSql("s.owner") +
                   " FROM trials t JOIN sweeps s ON s.id = t.sweep_id "
                   "WHERE t.status IN ('queued', 'running') AND t.worker != 'external' "
                   "GROUP BY t.sweep_id, t.device_class");
  int rc;
  while ((rc = active.Step()) == SQLITE_ROW) {
    DispatchSweep& d = rows[{active.Int(0), active.Text(1)}];
    d.sweep_id = active.Int(0);
    d.device_class = active.Text(1);
    d.owner = active.Text(2);
    d.priority = active.Int(3);
    d.max_running = active.Int(4);
    d.queued = active.Int(5);
    d.running = active.Int(6);
    d.preempt = active.Int(7) != 0;
    d.user_cap = active.Int(8);
  }
  if (rc != SQLITE_DONE) return active.Error();
  Stmt classes(*stmts_, std::string(kEveryClass) +
                    "SELECT name FROM c WHERE name IS NOT NULL AND "
                    "EXISTS (SELECT 1 FROM trials WHERE device_class = c.name AND status = 'pending')");
  std::vector<std::string> pending_classes;
  while ((rc = classes.Step()) == SQLITE_ROW) pending_classes.push_back(classes.Text(0));
  if (rc != SQLITE_DONE) return classes.Error();
  Stmt sweeps(*stmts_, "WITH RECURSIVE s(id) AS ("
                   "  SELECT MIN(sweep_id) FROM trials WHERE device_class = ?1 AND status = 'pending' "
                   "  UNION ALL SELECT (SELECT MIN(sweep_id) FROM trials WHERE device_class = ?1 "
                   "    AND status = 'pending' AND sweep_id > s.id) FROM s WHERE s.id IS NOT NULL) "
                   "SELECT sw.id, sw.owner, sw.priority, sw.max_running, (SELECT COUNT(*) FROM (SELECT 1 FROM trials "
                   "  WHERE device_class = ?1 AND status = 'pending' AND sweep_id = sw.id LIMIT ?2)), sw.preempt, " +
                   OwnerQuotaSql("sw.owner") + " FROM s JOIN sweeps sw ON sw.id = s.id");
  for (const std::string& c : pending_classes) {
    sweeps.Reset();
    sweeps.Bind(1, c).Bind(2, std::max<int64_t>(1, pending_cap));
    while ((rc = sweeps.Step()) == SQLITE_ROW) {
      DispatchSweep& d = rows[{sweeps.Int(0), c}];
      d.sweep_id = sweeps.Int(0);
      d.device_class = c;
      d.owner = sweeps.Text(1);
      d.priority = sweeps.Int(2);
      d.max_running = sweeps.Int(3);
      d.pending = sweeps.Int(4);
      d.preempt = sweeps.Int(5) != 0;
      d.user_cap = sweeps.Int(6);
    }
    if (rc != SQLITE_DONE) return sweeps.Error();
  }
  if (Status st = tx.Commit(); !st.ok()) return st;
  std::vector<DispatchSweep> out;
  out.reserve(rows.size());
  for (auto& [key, d] : rows) out.push_back(std::move(d));
  return out;
}

Result<std::vector<TrialRow>> Store::TakeFed(int64_t sweep_id, const std::string& device_class, int64_t count,
                                             double now, int64_t after_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, (std::string("SELECT ") + kTrialColumns + " FROM trials t WHERE t.sweep_id = ? AND t.device_class = ? "
               "AND t.status IN " + FromStatusesSql(TrialEvent::kEnqueue) + " AND t.id > ? ORDER BY t.id LIMIT ?").c_str());
  s.Bind(1, sweep_id).Bind(2, device_class).Bind(3, after_id).Bind(4, count);
  std::vector<TrialRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadTrial(s));
  if (rc != SQLITE_DONE) return s.Error();
  if (out.empty()) return out;
  if (Status st = IssueTickets(out, now); !st.ok()) return st;
  return out;
}

Status Store::MarkQueued(const std::vector<int64_t>& trial_ids) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  Stmt s(*stmts_, MoveTrials(TrialEvent::kEnqueue, "", "id = ?", " RETURNING sweep_id"));
  for (int64_t id : trial_ids) {
    s.Reset();
    s.Bind(1, id);
    if (Status st = StepReturning(s, [&](int64_t sweep_id) { Touch(sweep_id); }); !st.ok()) return st;
  }
  Status committed = tx.Commit();
  Publish();
  return committed;
}

Status Store::RecordStart(const TrialResult& a, double now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  Stmt attempt(*stmts_, "INSERT OR IGNORE INTO attempts (trial_id, round, ticket, delivery, worker, started_at) "
                    "SELECT id, ?, ?, ?, ?, ? FROM trials WHERE id = ?");
  attempt.Bind(1, a.round).Bind(2, a.ticket).Bind(3, a.delivery).Bind(4, a.worker).Bind(5, now).Bind(6, a.trial_id);
  if (Status s = attempt.Run(); !s.ok()) return s;
  // Every progress event lands here: the row is written only when it changes,
  // so that readers' caches of the sweep stay valid while trials run.
  Stmt trial(*stmts_, MoveTrials(TrialEvent::kStart,
                             "worker = ?1, started_at = CASE WHEN started_at = 0 THEN ?2 ELSE started_at END",
                             "id = ?3 AND round = ?4 AND (status != 'running' OR worker != ?1)",
                             " RETURNING sweep_id"));
  trial.Bind(1, a.worker).Bind(2, now).Bind(3, a.trial_id).Bind(4, a.round);
  if (Status s = StepReturning(trial, [&](int64_t sweep_id) { Touch(sweep_id); }); !s.ok()) return s;
  Status committed = tx.Commit();
  Publish();
  return committed;
}

Status Store::RecordAttemptError(const TrialResult& a) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "INSERT INTO attempts (trial_id, round, ticket, delivery, worker, started_at, finished_at, outcome, error) "
              "SELECT id, ?1, ?2, ?3, ?4, ?5, ?5, 'error', ?6 FROM trials WHERE id = ?7 "
              "ON CONFLICT (trial_id, round, ticket, delivery) DO UPDATE SET finished_at = excluded.finished_at, "
              "outcome = 'error', error = excluded.error WHERE attempts.outcome IS NULL");
  s.Bind(1, a.round).Bind(2, a.ticket).Bind(3, a.delivery).Bind(4, a.worker).Bind(5, a.finished_at);
  s.Bind(6, a.error).Bind(7, a.trial_id);
  return s.Run();
}

Result<bool> Store::RecordResult(const TrialResult& r) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  Stmt trial(*stmts_, "SELECT status, round, sweep_id FROM trials WHERE id = ?");
  trial.Bind(1, r.trial_id);
  const int rc = trial.Step();
  if (rc == SQLITE_DONE) return false;  // unknown trial (e.g. a wiped file): nothing to record
  if (rc != SQLITE_ROW) return trial.Error();
  const std::string status = trial.Text(0);
  const int64_t round = trial.Int(1);
  const int64_t sweep_id = trial.Int(2);

  Stmt seen(*stmts_, "SELECT outcome IS NOT NULL AND outcome != 'error' FROM attempts "
                 "WHERE trial_id = ? AND round = ? AND ticket = ? AND delivery = ?");
  seen.Bind(1, r.trial_id).Bind(2, r.round).Bind(3, r.ticket).Bind(4, r.delivery);
  if (seen.Step() == SQLITE_ROW && seen.Int(0)) return false;  // this attempt is recorded already
  const TrialEvent event = r.ok ? TrialEvent::kFinish : TrialEvent::kFail;
  const std::string outcome = Transition(event).to;
  Stmt attempt(*stmts_, "INSERT INTO attempts (trial_id, round, ticket, delivery, worker, started_at, finished_at, outcome, error) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (trial_id, round, ticket, delivery) DO UPDATE SET "
                    "worker = excluded.worker, finished_at = excluded.finished_at, "
                    "outcome = excluded.outcome, error = excluded.error");
  attempt.Bind(1, r.trial_id).Bind(2, r.round).Bind(3, r.ticket).Bind(4, r.delivery).Bind(5, r.worker);
  attempt.Bind(6, r.started_at).Bind(7, r.finished_at).Bind(8, outcome).Bind(9, r.error);
  if (Status s = attempt.Run(); !s.ok()) return s;

  const bool applies = TransitionAllowed(event, status) && r.round == round;
  if (applies) {
    Stmt upd(*stmts_, MoveTrials(event, "worker = ?1, error = ?2, finished_at = ?3, "
                                    "started_at = CASE WHEN started_at = 0 THEN ?4 ELSE started_at END, "
                                    "steps_done = CASE WHEN ?6 THEN total_steps ELSE steps_done END",
                             "id = ?5"));
    upd.Bind(1, r.worker).Bind(2, r.ok ? std::string() : r.error);
    upd.Bind(3, r.finished_at).Bind(4, r.started_at).Bind(5, r.trial_id).Bind(6, int64_t{r.ok && r.worker != "external"});
    if (Status s = upd.Run(); !s.ok()) return s;
    // A retried trial replaces whatever an earlier round left, in the group
    // sums too: take its old values out, put the new ones in.
    if (Status s = AddToGroupStats(r.trial_id, -1); !s.ok()) return s;
    // (The curve arrives while the trial runs; a retry clears it.)
    for (const char* table : {"metrics", "artifacts"}) {
      Stmt del(*stmts_, (std::string("DELETE FROM ") + table + " WHERE trial_id = ?").c_str());
      del.Bind(1, r.trial_id);
      if (Status s = del.Run(); !s.ok()) return s;
    }
    Stmt metric(*stmts_, "INSERT INTO metrics (trial_id, name, value) VALUES (?, ?, ?)");
    for (const auto& [name, value] : r.metrics) {
      metric.Reset();
      metric.Bind(1, r.trial_id).Bind(2, name).Bind(3, value);
      if (Status s = metric.Run(); !s.ok()) return s;
    }
    Stmt point(*stmts_, "INSERT OR REPLACE INTO curves (trial_id, step, " + CurveTermsSql() + ") SELECT ?, ?" +
                        CurveTermsBinds());
    for (const CurvePoint& p : r.curve) {
      point.Reset();
      point.Bind(1, r.trial_id).Bind(2, p.step);
      BindCurveTerms(point, 3, p);
      if (Status s = point.Run(); !s.ok()) return s;
    }
    Stmt art(*stmts_, "INSERT OR REPLACE INTO artifacts (trial_id, name, mime, data) VALUES (?, ?, ?, ?)");
    for (const Artifact& a : r.artifacts) {
      art.Reset();
      art.Bind(1, r.trial_id).Bind(2, a.name).Bind(3, a.mime).BindBlob(4, a.data);
      if (Status s = art.Run(); !s.ok()) return s;
    }
    if (Status s = AddToGroupStats(r.trial_id, +1); !s.ok()) return s;
    Touch(sweep_id);
  }
  Status committed = tx.Commit();
  Publish();
  if (!committed.ok()) return committed;
  return applies;
}

Result<int64_t> Store::CancelSweep(int64_t sweep_id, double now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  Stmt sweep(*stmts_, "UPDATE sweeps SET canceled = 1 WHERE id = ?");
  sweep.Bind(1, sweep_id);
  if (Status s = sweep.Run(); !s.ok()) return s;
  if (sqlite3_changes(db_) == 0) return Status::NotFound("sweep " + std::to_string(sweep_id) + ": no such sweep");
  // Paused trials hold checkpoints that nobody will resume now.
  Stmt discard(*stmts_, "INSERT OR REPLACE INTO discards (trial_id, round) SELECT id, round FROM trials "
                    "WHERE sweep_id = ? AND status = 'paused'");
  discard.Bind(1, sweep_id);
  if (Status s = discard.Run(); !s.ok()) return s;
  Stmt trials(*stmts_, MoveTrials(TrialEvent::kCancel, "finished_at = ?", "sweep_id = ?"));
  trials.Bind(1, now).Bind(2, sweep_id);
  if (Status s = trials.Run(); !s.ok()) return s;
  const int64_t changed = sqlite3_changes(db_);
  if (Status s = tx.Commit(); !s.ok()) return s;
  Touch(sweep_id, /*requested=*/true);
  Publish();
  return changed;
}

Result<int64_t> Store::RequeueUnfinished() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, MoveTrials(TrialEvent::kReconcile, "", "1"));
  if (Status st = s.Run(); !st.ok()) return st;
  const int64_t changed = sqlite3_changes(db_);
  {
    std::lock_guard<std::mutex> lock(generations_mu_);
    ++every_sweep_requested_;  // every sweep may have changed
  }
  return changed;
}

Result<std::vector<TrialTicket>> Store::EnqueuedBefore(double before, int64_t after_id, int64_t limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT id, ticket, sweep_id FROM trials WHERE status IN " + FromStatusesSql(TrialEvent::kReconcile) +
                  " AND enqueued_at < ? AND id > ? ORDER BY id LIMIT ?");
  s.Bind(1, before).Bind(2, after_id).Bind(3, limit);
  std::vector<TrialTicket> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back({s.Int(0), s.Int(1), s.Int(2)});
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

Result<std::vector<std::string>> Store::DeviceClasses() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // Called every enqueue round: a few index seeks per class (a skip scan of
  // trials_by_class_status, then one seek per status not final), never a
  // pass over every trial.
  std::string live;
  for (const char* status : TrialStatuses()) {
    if (!IsFinalStatus(status)) live += std::string(live.empty() ? "" : ", ") + "'" + status + "'";
  }
  Stmt s(*stmts_, std::string(kEveryClass) +
              "SELECT 'cpu' UNION SELECT name FROM c WHERE name IS NOT NULL AND EXISTS (SELECT 1 FROM trials "
              "  WHERE device_class = c.name AND status IN (" + live + ")) ORDER BY 1");
  std::vector<std::string> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(s.Text(0));
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

Result<bool> Store::Reconcile(int64_t trial_id, int64_t ticket) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, MoveTrials(TrialEvent::kReconcile, "", "id = ? AND ticket = ?", " RETURNING sweep_id"));
  s.Bind(1, trial_id).Bind(2, ticket);
  bool moved = false;
  if (Status st = StepReturning(s, [&](int64_t sweep_id) { Touch(sweep_id, /*requested=*/true); moved = true; });
      !st.ok()) {
    return st;
  }
  Publish();
  return moved;
}

Result<int64_t> Store::RetryFailed(int64_t sweep_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  Stmt sweep(*stmts_, "SELECT canceled FROM sweeps WHERE id = ?");
  sweep.Bind(1, sweep_id);
  if (sweep.Step() != SQLITE_ROW) return Status::NotFound("sweep " + std::to_string(sweep_id) + ": no such sweep");
  // Workers skip every job of a canceled sweep: retried trials would wait as
  // queued forever. Refused; the SQL below says so again for any other caller.
  if (sweep.Int(0) != 0) {
    return Status::FailedPrecondition("sweep " + std::to_string(sweep_id) +
                                      " is canceled; its failed trials cannot be retried (submit the spec again)");
  }
  // A new round trains from scratch (its checkpoint directory is per round):
  // the failed round's curve, evaluations and their pictures go; its rungs stay, as the
  // scheduler's record of what it decided (training is deterministic, so the
  // new round reaches the same values).
  for (const char* table : {"curves", "evals", "artifacts"}) {
    Stmt del(*stmts_, std::string("DELETE FROM ") + table + " WHERE trial_id IN (SELECT id FROM trials WHERE sweep_id = ? "
                  "AND status IN " + FromStatusesSql(TrialEvent::kRetry) + ")");
    del.Bind(1, sweep_id);
    if (Status st = del.Run(); !st.ok()) return st;
  }
  Stmt s(*stmts_, MoveTrials(TrialEvent::kRetry, "round = round + 1, error = '', finished_at = 0",
                         "sweep_id = ?1 AND (SELECT canceled FROM sweeps WHERE id = ?1) = 0"));
  s.Bind(1, sweep_id);
  if (Status st = s.Run(); !st.ok()) return st;
  const int64_t changed = sqlite3_changes(db_);
  if (changed > 0) {
    // An adaptive sweep's scheduler takes it up again (a retried trial may pause at a rung).
    Stmt unsettle(*stmts_, "UPDATE sweeps SET settled = NULL WHERE id = ?");
    unsettle.Bind(1, sweep_id);
    if (Status st = unsettle.Run(); !st.ok()) return st;
  }
  if (Status st = tx.Commit(); !st.ok()) return st;
  Touch(sweep_id, /*requested=*/true);
  Publish();
  return changed;
}

Status Store::RecordDeadLetter(const DeadLetter& d) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "INSERT INTO dead_letters (entry_id, trial_id, sweep_id, error, payload_bytes, at) "
              "VALUES (?1, NULLIF(?2, 0), COALESCE(NULLIF(?3, 0), (SELECT sweep_id FROM trials WHERE id = ?2)), "
              "?4, ?5, ?6) RETURNING COALESCE(sweep_id, 0)");
  s.Bind(1, d.entry_id).Bind(2, d.trial_id).Bind(3, d.sweep_id).Bind(4, d.error.substr(0, 1000));
  s.Bind(5, d.payload_bytes).Bind(6, d.at);
  Status st = StepReturning(s, [&](int64_t sweep_id) {
    if (sweep_id > 0) Touch(sweep_id);
  });
  Publish();
  return st;
}

Result<std::vector<DeadLetter>> Store::DeadLetters(int64_t sweep_id, int64_t limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT entry_id, COALESCE(trial_id, 0), COALESCE(sweep_id, 0), error, payload_bytes, at "
              "FROM dead_letters WHERE (?1 = 0 OR sweep_id = ?1) ORDER BY id DESC LIMIT ?2");
  s.Bind(1, sweep_id).Bind(2, limit);
  std::vector<DeadLetter> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    out.push_back({s.Text(0), s.Int(1), s.Int(2), s.Text(3), s.Int(4), s.Real(5)});
  }
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

Result<SweepRow> Store::LoadSweep(int64_t sweep_id) {
  Stmt s(*stmts_, "SELECT id, name, description, spec, created_at, canceled, planned, settled, owner, priority, "
              "max_running, preempt FROM sweeps WHERE id = ?");
  s.Bind(1, sweep_id);
  if (s.Step() != SQLITE_ROW) return Status::NotFound("sweep " + std::to_string(sweep_id) + ": no such sweep");
  SweepRow row;
  row.id = s.Int(0);
  row.name = s.Text(1);
  row.description = s.Text(2);
  row.spec = json::parse(s.Text(3), nullptr, false);
  row.created_at = s.Real(4);
  row.canceled = s.Int(5) != 0;
  row.owner = s.Text(8);
  row.priority = s.Int(9);
  row.max_running = s.Int(10);
  row.preempt = s.Int(11) != 0;
  Stmt counts(*stmts_, "SELECT status, COUNT(*) FROM trials WHERE sweep_id = ? GROUP BY status");
  counts.Bind(1, sweep_id);
  while (counts.Step() == SQLITE_ROW) {
    row.counts[counts.Text(0)] = counts.Int(1);
    row.total += counts.Int(1);
  }
  AddUnmade(row, s.Int(6), !s.Null(7));
  return row;
}

Result<std::vector<SweepRow>> Store::LoadSweeps(Stmt& ids_query) {
  std::vector<int64_t> ids;
  int rc;
  while ((rc = ids_query.Step()) == SQLITE_ROW) ids.push_back(ids_query.Int(0));
  if (rc != SQLITE_DONE) return ids_query.Error();
  std::vector<SweepRow> out;
  for (int64_t id : ids) {
    auto row = LoadSweep(id);
    if (!row.ok()) return row.status();
    out.push_back(std::move(row.value()));
  }
  return out;
}

Result<SweepRow> Store::GetSweep(int64_t sweep_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return LoadSweep(sweep_id);
}

Result<std::vector<SweepRow>> Store::ListSweeps(int64_t offset, int64_t limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT id FROM sweeps ORDER BY id DESC LIMIT ? OFFSET ?");
  s.Bind(1, limit).Bind(2, offset);
  return LoadSweeps(s);
}

Result<std::vector<TrialRow>> Store::ListTrials(int64_t sweep_id, int64_t offset, int64_t limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, (std::string("SELECT ") + kTrialColumns +
               " FROM trials t WHERE t.sweep_id = ? ORDER BY t.idx LIMIT ? OFFSET ?").c_str());
  s.Bind(1, sweep_id).Bind(2, limit).Bind(3, offset);
  std::vector<TrialRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadTrial(s));
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

Result<TrialRow> Store::GetTrial(int64_t trial_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, (std::string("SELECT ") + kTrialColumns + " FROM trials t WHERE t.id = ?").c_str());
  s.Bind(1, trial_id);
  if (s.Step() != SQLITE_ROW) return Status::NotFound("trial " + std::to_string(trial_id) + ": no such trial");
  return ReadTrial(s);
}

Result<std::map<std::string, double>> Store::Metrics(int64_t trial_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT name, value FROM metrics WHERE trial_id = ? ORDER BY name");
  s.Bind(1, trial_id);
  std::map<std::string, double> out;
  while (s.Step() == SQLITE_ROW) out[s.Text(0)] = s.Real(1);
  return out;
}

Result<std::vector<CurvePoint>> Store::Curve(int64_t trial_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT step, " + CurveTermsSql() + " FROM curves WHERE trial_id = ? ORDER BY step");
  s.Bind(1, trial_id);
  std::vector<CurvePoint> out;
  while (s.Step() == SQLITE_ROW) {
    CurvePoint p;
    p.step = s.Int(0);
    int col = 1;
    for (const CurveTerm& t : kCurveTerms) p.*t.field = s.Real(col++);
    out.push_back(p);
  }
  return out;
}

Result<std::vector<Artifact>> Store::Artifacts(int64_t trial_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT name, mime, data FROM artifacts WHERE trial_id = ? ORDER BY name");
  s.Bind(1, trial_id);
  std::vector<Artifact> out;
  while (s.Step() == SQLITE_ROW) out.push_back({s.Text(0), s.Text(1), s.Text(2)});
  return out;
}

Result<int64_t> Store::CountFinishedAttempts(int64_t trial_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT COUNT(*) FROM attempts WHERE trial_id = ? AND outcome IS NOT NULL");
  s.Bind(1, trial_id);
  if (s.Step() != SQLITE_ROW) return s.Error();
  return s.Int(0);
}

// ---------------------------------------------------------------- adaptive sweeps

Status Store::RecordEvaluation(int64_t trial_id, int64_t step, const std::map<std::string, double>& metrics,
                               const std::vector<Artifact>& pictures) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  Stmt ins(*stmts_, "INSERT OR IGNORE INTO evals (trial_id, step, name, value) SELECT id, ?, ?, ? FROM trials WHERE id = ?");
  int64_t added = 0;
  for (const auto& [name, value] : metrics) {
    ins.Reset();
    ins.Bind(1, step).Bind(2, name).Bind(3, value).Bind(4, trial_id);
    if (Status s = ins.Run(); !s.ok()) return s;
    added += sqlite3_changes(db_);
  }
  // The latest evaluation's pictures replace an earlier one's (an event of
  // an earlier step, delivered again after a resume, changes nothing), and
  // none replaces the final evaluation's.
  Stmt pic(*stmts_,
           "INSERT INTO artifacts (trial_id, name, mime, data, step) SELECT ?1, ?2, ?3, ?4, ?5 "
           "WHERE EXISTS (SELECT 1 FROM trials WHERE id = ?1) "
           "AND NOT EXISTS (SELECT 1 FROM artifacts WHERE trial_id = ?1 AND step IS NULL) "
           "ON CONFLICT (trial_id, name) DO UPDATE SET mime = excluded.mime, data = excluded.data, step = excluded.step "
           "WHERE artifacts.step IS NOT NULL AND artifacts.step < excluded.step");
  for (const Artifact& a : pictures) {
    pic.Reset();
    pic.Bind(1, trial_id).Bind(2, a.name).Bind(3, a.mime).BindBlob(4, a.data).Bind(5, step);
    if (Status s = pic.Run(); !s.ok()) return s;
    added += sqlite3_changes(db_);
  }
  if (added > 0) {
    Stmt sweep(*stmts_, "SELECT sweep_id FROM trials WHERE id = ?");
    sweep.Bind(1, trial_id);
    if (sweep.Step() == SQLITE_ROW) Touch(sweep.Int(0));
  }
  Status committed = tx.Commit();
  Publish();
  return committed;
}

Status Store::RecordCurvePoints(int64_t trial_id, int64_t round, const std::vector<CurvePoint>& points) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  // Only the current round's points: a late event of a retried round adds nothing.
  constexpr int kTerms = static_cast<int>(std::size(kCurveTerms));
  Stmt ins(*stmts_, "INSERT OR IGNORE INTO curves (trial_id, step, " + CurveTermsSql() + ") SELECT id, ?" +
                    CurveTermsBinds() + " FROM trials WHERE id = ? AND round = ?");
  for (const CurvePoint& p : points) {
    ins.Reset();
    ins.Bind(1, p.step);
    BindCurveTerms(ins, 2, p);
    ins.Bind(2 + kTerms, trial_id).Bind(3 + kTerms, round);
    if (Status s = ins.Run(); !s.ok()) return s;
  }
  return tx.Commit();
}

Result<std::optional<Store::AttemptEnd>> Store::EndAttempt(const TrialResult& r, const char* outcome) {
  Stmt trial(*stmts_, "SELECT status, round, ticket, sweep_id FROM trials WHERE id = ?");
  trial.Bind(1, r.trial_id);
  const int rc = trial.Step();
  if (rc == SQLITE_DONE) return std::optional<AttemptEnd>();  // unknown trial (e.g. a wiped file)
  if (rc != SQLITE_ROW) return trial.Error();
  AttemptEnd end;
  end.status = trial.Text(0);
  end.current = trial.Int(1) == r.round && trial.Int(2) == r.ticket;
  end.sweep_id = trial.Int(3);
  // The same event delivered again (after a pause or a preemption the trial
  // may be in a state its event starts from again): recorded once.
  Stmt seen(*stmts_, "SELECT outcome IS NOT NULL AND outcome != 'error' FROM attempts "
                 "WHERE trial_id = ? AND round = ? AND ticket = ? AND delivery = ?");
  seen.Bind(1, r.trial_id).Bind(2, r.round).Bind(3, r.ticket).Bind(4, r.delivery);
  if (seen.Step() == SQLITE_ROW && seen.Int(0)) return std::optional<AttemptEnd>();
  Stmt attempt(*stmts_, "INSERT INTO attempts (trial_id, round, ticket, delivery, worker, started_at, finished_at, outcome, error) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '') ON CONFLICT (trial_id, round, ticket, delivery) DO UPDATE SET "
                    "worker = excluded.worker, finished_at = excluded.finished_at, outcome = excluded.outcome, error = ''");
  attempt.Bind(1, r.trial_id).Bind(2, r.round).Bind(3, r.ticket).Bind(4, r.delivery).Bind(5, r.worker);
  attempt.Bind(6, r.started_at).Bind(7, r.finished_at).Bind(8, std::string(outcome));
  if (Status s = attempt.Run(); !s.ok()) return s;
  if (Status s = RecordCurvePoints(r.trial_id, r.round, r.curve); !s.ok()) return s;
  return std::optional<AttemptEnd>(std::move(end));
}

Result<bool> Store::RecordPause(const TrialResult& r, int64_t step, int64_t rung, double value) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  auto end = EndAttempt(r, "paused");
  if (!end.ok()) return end.status();
  if (!end.value()) return false;
  const auto& [status, current, sweep_id] = *end.value();
  if (Status s = RecordEvaluation(r.trial_id, step, r.metrics); !s.ok()) return s;
  bool moved = false;
  if (current && TransitionAllowed(TrialEvent::kPause, status)) {
    Stmt upd(*stmts_, MoveTrials(TrialEvent::kPause, "steps_done = ?, worker = ''", "id = ? AND round = ? AND ticket = ?"));
    upd.Bind(1, step).Bind(2, r.trial_id).Bind(3, r.round).Bind(4, r.ticket);
    if (Status s = upd.Run(); !s.ok()) return s;
    moved = sqlite3_changes(db_) > 0;
    Stmt ins(*stmts_, "INSERT OR IGNORE INTO rungs (trial_id, rung, step, value, at) VALUES (?, ?, ?, ?, ?)");
    ins.Bind(1, r.trial_id).Bind(2, rung).Bind(3, step).Bind(4, value).Bind(5, r.finished_at);
    if (Status s = ins.Run(); !s.ok()) return s;
  }
  if (Status s = tx.Commit(); !s.ok()) return s;
  Touch(sweep_id);
  Publish();
  return moved;
}

Result<bool> Store::RecordPreempted(const TrialResult& r, int64_t step) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  auto end = EndAttempt(r, "preempted");
  if (!end.ok()) return end.status();
  if (!end.value()) return false;
  const auto& [status, current, sweep_id] = *end.value();
  bool moved = false;
  if (current && TransitionAllowed(TrialEvent::kPreempt, status)) {
    Stmt upd(*stmts_, MoveTrials(TrialEvent::kPreempt, "steps_done = MAX(steps_done, ?), worker = ''",
                                 "id = ? AND round = ? AND ticket = ?"));
    upd.Bind(1, step).Bind(2, r.trial_id).Bind(3, r.round).Bind(4, r.ticket);
    if (Status s = upd.Run(); !s.ok()) return s;
    moved = sqlite3_changes(db_) > 0;
  }
  if (Status s = tx.Commit(); !s.ok()) return s;
  Touch(sweep_id);
  Publish();
  return moved;
}

Status Store::SetQuota(const std::string& user, std::optional<int64_t> max_running, const std::string& set_by,
                       double now) {
  if (max_running && (*max_running < 0 || *max_running > kMaxQuota)) {
    return Status::InvalidArgument("max_running: " + std::to_string(*max_running) + " is outside [0, " +
                                   std::to_string(kMaxQuota) + "] (0: no cap for this user)");
  }
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (!max_running) {
    Stmt del(*stmts_, "DELETE FROM quotas WHERE user = ?");
    del.Bind(1, user);
    if (Status s = del.Run(); !s.ok()) return s;
    if (sqlite3_changes(db_) == 0) return Status::NotFound("quota: " + user + " has none (the default applies)");
  } else {
    Stmt put(*stmts_, "INSERT INTO quotas (user, max_running, set_by, set_at) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT (user) DO UPDATE SET max_running = excluded.max_running, set_by = excluded.set_by, "
                  "set_at = excluded.set_at");
    put.Bind(1, user).Bind(2, *max_running).Bind(3, set_by).Bind(4, now);
    if (Status s = put.Run(); !s.ok()) return s;
  }
  Publish();
  return Status::OK();
}

std::string OwnerQuotaSql(const std::string& owner) {
  return "COALESCE((SELECT q.max_running FROM quotas q WHERE q.user = " + owner + "), -1)";
}

Result<std::vector<QuotaRow>> Store::Quotas() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT user, max_running, set_by, set_at FROM quotas ORDER BY user");
  std::vector<QuotaRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back({s.Text(0), s.Int(1), s.Text(2), s.Real(3)});
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

Result<std::vector<RunningTrial>> Store::QueuedTrials() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT t.id, t.ticket, t.sweep_id, t.device_class, sw.priority "
              "FROM trials t JOIN sweeps sw ON sw.id = t.sweep_id WHERE t.status = 'queued'");
  std::vector<RunningTrial> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    out.push_back({s.Int(0), s.Int(1), s.Int(2), s.Text(3), s.Int(4), 0.0, /*queued=*/true});
  }
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

Result<std::vector<RunningTrial>> Store::RunningTrials() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT t.id, t.ticket, t.sweep_id, t.device_class, sw.priority, "
              "  COALESCE((SELECT MAX(a.started_at) FROM attempts a WHERE a.trial_id = t.id AND a.round = t.round "
              "            AND a.ticket = t.ticket), t.started_at, 0) "
              "FROM trials t JOIN sweeps sw ON sw.id = t.sweep_id "
              "WHERE t.status = 'running' AND t.worker != 'external'");
  std::vector<RunningTrial> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    out.push_back({s.Int(0), s.Int(1), s.Int(2), s.Text(3), s.Int(4), s.Real(5)});
  }
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

namespace {

// One scheduler move of one trial (an UPDATE from the state table), with the
// sweep noted for readers; returns whether it moved.
template <typename BindFn>
Result<bool> MoveOne(StmtCache& db, TrialEvent event, const std::string& set, BindFn bind, int64_t trial_id,
                     const std::function<void(int64_t)>& touched) {
  Stmt s(db, MoveTrials(event, set, "id = ?1", " RETURNING sweep_id"));
  s.Bind(1, trial_id);
  bind(s);
  bool moved = false;
  if (Status st = StepReturning(s, [&](int64_t sweep_id) { moved = true, touched(sweep_id); }); !st.ok()) return st;
  return moved;
}

}  // namespace

Result<bool> Store::Release(int64_t trial_id, int64_t target_steps) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto moved = MoveOne(*stmts_, TrialEvent::kRelease, "target_steps = ?2", [&](Stmt& s) { s.Bind(2, target_steps); },
                       trial_id, [&](int64_t sweep) { Touch(sweep); });
  Publish();
  return moved;
}

Result<bool> Store::Promote(int64_t trial_id, int64_t from_rung, int64_t target_steps, double now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  auto moved = MoveOne(*stmts_, TrialEvent::kPromote, "target_steps = ?2", [&](Stmt& s) { s.Bind(2, target_steps); },
                       trial_id, [&](int64_t sweep) { Touch(sweep); });
  if (!moved.ok() || !moved.value()) return moved;
  Stmt mark(*stmts_, "UPDATE rungs SET promoted = ? WHERE trial_id = ? AND rung = ? AND promoted IS NULL");
  mark.Bind(1, now).Bind(2, trial_id).Bind(3, from_rung);
  if (Status s = mark.Run(); !s.ok()) return s;
  if (Status s = tx.Commit(); !s.ok()) return s;
  Publish();
  return true;
}

Result<bool> Store::StopPaused(int64_t trial_id, double now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  auto moved = MoveOne(*stmts_, TrialEvent::kStop, "finished_at = ?2", [&](Stmt& s) { s.Bind(2, now); }, trial_id,
                       [&](int64_t sweep) { Touch(sweep); });
  if (!moved.ok() || !moved.value()) return moved;
  // It never resumes: its checkpoint can go.
  Stmt discard(*stmts_, "INSERT OR REPLACE INTO discards (trial_id, round) SELECT id, round FROM trials WHERE id = ?");
  discard.Bind(1, trial_id);
  if (Status s = discard.Run(); !s.ok()) return s;
  if (Status s = tx.Commit(); !s.ok()) return s;
  Publish();
  return true;
}

Result<std::vector<std::pair<TrialRow, int64_t>>> Store::Discards(int64_t limit) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, std::string("SELECT ") + kTrialColumns + ", d.round FROM discards d JOIN trials t ON t.id = d.trial_id "
              "ORDER BY d.trial_id LIMIT ?");
  s.Bind(1, limit);
  std::vector<std::pair<TrialRow, int64_t>> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back({ReadTrial(s), s.Int(21)});  // d.round, after kTrialColumns' 21 columns
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

Status Store::DropDiscards(const std::vector<int64_t>& trial_ids) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  Stmt del(*stmts_, "DELETE FROM discards WHERE trial_id = ?");
  for (int64_t id : trial_ids) {
    del.Reset();
    del.Bind(1, id);
    if (Status s = del.Run(); !s.ok()) return s;
  }
  return tx.Commit();
}

Result<std::vector<int64_t>> Store::AddSearchTrials(int64_t sweep_id, const std::vector<TrialSpec>& trials, bool ask,
                                                    double now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction tx(db_);
  if (!tx.begun().ok()) return tx.begun();
  Stmt trial(*stmts_, "INSERT INTO trials (sweep_id, idx, name, variant, config, overrides, point, total_steps, status, "
                  "worker, started_at, device_class, needs) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, json_remove(?6, '$.\"run.seed\"'), ?7, ?8, ?9, ?10, ?11, ?12)");
  std::vector<int64_t> ids;
  for (const TrialSpec& t : trials) {
    trial.Reset();
    trial.Bind(1, sweep_id).Bind(2, t.index).Bind(3, t.name).Bind(4, t.variant);
    trial.Bind(5, ask ? std::string("{}") : ConfigToJson(t.config).dump()).Bind(6, t.overrides.dump());
    trial.Bind(7, ask ? int64_t{0} : t.config.optim.steps);
    trial.Bind(8, std::string(Transition(ask ? TrialEvent::kAsk : TrialEvent::kHold).to));
    trial.Bind(9, std::string(ask ? "external" : "")).Bind(10, ask ? now : 0.0);
    trial.Bind(11, QueueOf(t.needs)).Bind(12, NeedsToJson(t.needs).dump());
    if (Status s = trial.Run(); !s.ok()) return s;
    ids.push_back(sqlite3_last_insert_rowid(db_));
  }
  if (Status s = tx.Commit(); !s.ok()) return s;
  Touch(sweep_id);
  Publish();
  return ids;
}

Status Store::Tell(int64_t sweep_id, int64_t trial_id, const std::string& metric, double value, bool failed,
                   double now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt t(*stmts_, "SELECT status, round FROM trials WHERE id = ? AND sweep_id = ?");
  t.Bind(1, trial_id).Bind(2, sweep_id);
  if (t.Step() != SQLITE_ROW) {
    return Status::NotFound("trial " + std::to_string(trial_id) + " is not a trial of sweep " +
                            std::to_string(sweep_id));
  }
  const std::string status = t.Text(0);
  if (status != Transition(TrialEvent::kAsk).to) {
    return Status::FailedPrecondition("trial " + std::to_string(trial_id) + " is " + status +
                                      ", not running: only a trial that ask handed out is told, once");
  }
  TrialResult r;
  r.trial_id = trial_id, r.round = t.Int(1), r.ticket = 0, r.delivery = 1, r.worker = "external";
  r.ok = !failed;
  if (failed) r.error = "told failed";
  else r.metrics[metric] = value;
  r.finished_at = now;
  auto changed = RecordResult(r);
  if (!changed.ok()) return changed.status();
  if (!changed.value()) return Status::FailedPrecondition("trial " + std::to_string(trial_id) + " was told already");
  return Status::OK();
}

Status Store::Settle(int64_t sweep_id, double now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "UPDATE sweeps SET settled = ? WHERE id = ? AND settled IS NULL");
  s.Bind(1, now).Bind(2, sweep_id);
  if (Status st = s.Run(); !st.ok()) return st;
  Touch(sweep_id);
  Publish();
  return Status::OK();
}

Result<std::vector<SweepRow>> Store::UnsettledSweeps() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT id FROM sweeps WHERE adaptive = 1 AND canceled = 0 AND settled IS NULL ORDER BY id");
  return LoadSweeps(s);
}

Result<std::vector<ScheduledTrial>> Store::Scheduled(int64_t sweep_id, const std::string& objective) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT t.id, t.idx, t.status, t.overrides, t.target_steps, t.steps_done, "
              "(SELECT m.value FROM metrics m WHERE m.trial_id = t.id AND m.name = ?2), "
              "(SELECT m.value IS NULL FROM metrics m WHERE m.trial_id = t.id AND m.name = ?2) "
              "FROM trials t WHERE t.sweep_id = ?1 ORDER BY t.idx, t.id");
  s.Bind(1, sweep_id).Bind(2, objective);
  std::vector<ScheduledTrial> out;
  std::map<int64_t, size_t> at;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    ScheduledTrial t;
    t.id = s.Int(0), t.index = s.Int(1), t.status = s.Text(2);
    t.overrides = json::parse(s.Text(3), nullptr, false);
    t.target_steps = s.Int(4), t.steps_done = s.Int(5);
    t.objective = t.status == "succeeded" ? s.Real(6) : std::numeric_limits<double>::quiet_NaN();
    at[t.id] = out.size();
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return s.Error();
  Stmt r(*stmts_, "SELECT r.trial_id, r.rung, r.value, r.promoted IS NOT NULL FROM rungs r JOIN trials t ON t.id = r.trial_id "
              "WHERE t.sweep_id = ? ORDER BY r.trial_id, r.rung");
  r.Bind(1, sweep_id);
  while ((rc = r.Step()) == SQLITE_ROW) {
    auto it = at.find(r.Int(0));
    if (it == at.end()) continue;
    ScheduledTrial& t = out[it->second];
    const size_t rung = static_cast<size_t>(std::max<int64_t>(0, r.Int(1)));
    if (t.rung_values.size() <= rung) t.rung_values.resize(rung + 1, std::numeric_limits<double>::quiet_NaN());
    t.rung_values[rung] = r.Real(2);
    if (rung + 1 == t.rung_values.size()) t.promoted = r.Int(3) != 0;
  }
  if (rc != SQLITE_DONE) return r.Error();
  return out;
}

Result<Store::TrialDemand> Store::Demand(const std::string& queue, double gpu_memory_gb) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // Whether queue name Q is asked for: every one (?1 empty), ?1 itself, or
  // with ?2 > 0 one of ?1's memory queues up to ?2 GB (common/resources.h).
  auto asked = [](const std::string& q) {
    return "(?1 = '' OR " + q + " = ?1 OR (?2 > 0 AND " + q + " LIKE ?1 || '@%' AND CAST(substr(" + q +
           ", length(?1) + 2) AS INTEGER) <= ?2))";
  };
  // A search's suggestions not made yet have no row: they count in the queue
  // of the sweep's first trial (its "resources" and base config), else cpu.
  Stmt s(*stmts_, "SELECT "
              "(SELECT COUNT(*) FROM trials WHERE status IN ('queued', 'running') AND worker != 'external' "
              "  AND " + asked("device_class") + "), "
              "(SELECT COUNT(*) FROM trials WHERE status IN ('pending', 'waiting') AND " + asked("device_class") + "), "
              "(SELECT COALESCE(SUM(MAX(0, planned - (SELECT COUNT(*) FROM trials t WHERE t.sweep_id = s.id))), 0) "
              " FROM sweeps s WHERE planned > 0 AND canceled = 0 AND settled IS NULL "
              " AND COALESCE(json_extract(spec, '$.search.external'), 0) = 0 AND " +
              asked("COALESCE((SELECT device_class FROM trials t WHERE t.sweep_id = s.id ORDER BY t.id LIMIT 1), 'cpu')") +
              ")");
  s.Bind(1, queue).Bind(2, gpu_memory_gb);
  if (s.Step() != SQLITE_ROW) return s.Error();
  return TrialDemand{s.Int(0), s.Int(1) + s.Int(2)};
}

Result<std::vector<std::pair<int64_t, std::map<std::string, double>>>> Store::Evaluations(int64_t trial_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT step, name, value FROM evals WHERE trial_id = ? ORDER BY step, name");
  s.Bind(1, trial_id);
  std::vector<std::pair<int64_t, std::map<std::string, double>>> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    if (out.empty() || out.back().first != s.Int(0)) out.push_back({s.Int(0), {}});
    out.back().second[s.Text(1)] = s.Real(2);
  }
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

Status Store::SetPriority(int64_t sweep_id, int64_t priority, std::optional<bool> preempt) {
  if (priority < -kMaxPriority || priority > kMaxPriority) {
    return Status::InvalidArgument("priority: " + std::to_string(priority) + " is outside [-" +
                                   std::to_string(kMaxPriority) + ", " + std::to_string(kMaxPriority) + "]");
  }
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // ?3 NULL: preempt stays as it is.
  Stmt s(*stmts_, "UPDATE sweeps SET priority = ?1, preempt = COALESCE(?3, preempt) WHERE id = ?2");
  s.Bind(1, priority).Bind(2, sweep_id);
  if (preempt) s.Bind(3, int64_t{*preempt});
  if (Status st = s.Run(); !st.ok()) return st;
  if (sqlite3_changes(db_) == 0) return Status::NotFound("sweep " + std::to_string(sweep_id) + ": no such sweep");
  Touch(sweep_id, /*requested=*/true);
  Publish();
  return Status::OK();
}

namespace {

TokenRow ReadToken(const Stmt& s) {
  TokenRow t;
  t.id = s.Int(0);
  t.user = s.Text(1);
  t.role = s.Text(2);
  t.digest = s.Text(3);
  t.created_at = s.Real(4);
  t.created_by = s.Text(5);
  t.revoked_at = s.Null(6) ? 0 : s.Real(6);
  return t;
}

constexpr const char* kTokenColumns = "id, user, role, digest, created_at, created_by, revoked_at";

}  // namespace

Result<int64_t> Store::CreateToken(const std::string& user, const std::string& role, const std::string& digest,
                                   const std::string& created_by, double now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "INSERT INTO tokens (user, role, digest, created_at, created_by) VALUES (?, ?, ?, ?, ?)");
  s.Bind(1, user).Bind(2, role).BindBlob(3, digest).Bind(4, now).Bind(5, created_by);
  const int rc = s.Step();
  if (rc == SQLITE_CONSTRAINT) {
    // UNIQUE (digest) or the CHECK on the role.
    if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE) {
      return Status::AlreadyExists("token: this token is stored already");
    }
    return Status::InvalidArgument("token: role \"" + role + "\" is not viewer, member or admin");
  }
  if (rc != SQLITE_DONE) return s.Error();
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

Result<TokenRow> Store::FindToken(const std::string& digest) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, std::string("SELECT ") + kTokenColumns + " FROM tokens WHERE digest = ?");
  s.BindBlob(1, digest);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("no such token");
  if (rc != SQLITE_ROW) return s.Error();
  return ReadToken(s);
}

Result<std::vector<TokenRow>> Store::ListTokens() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, std::string("SELECT ") + kTokenColumns + " FROM tokens ORDER BY id");
  std::vector<TokenRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadToken(s));
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

Status Store::RevokeToken(int64_t id, double now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
  s.Bind(1, now).Bind(2, id);
  if (Status st = s.Run(); !st.ok()) return st;
  if (sqlite3_changes(db_) == 1) return Status::OK();
  Stmt exists(*stmts_, "SELECT 1 FROM tokens WHERE id = ?");
  exists.Bind(1, id);
  const int rc = exists.Step();
  if (rc == SQLITE_ROW) return Status::FailedPrecondition("token " + std::to_string(id) + " is revoked already");
  if (rc == SQLITE_DONE) return Status::NotFound("token " + std::to_string(id) + ": no such token");
  return exists.Error();
}

Result<int64_t> Store::AppendAudit(const AuditRow& row) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "INSERT INTO audit (at, user, role, action, target, source, code, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  s.Bind(1, row.at).Bind(2, row.user).Bind(3, row.role).Bind(4, row.action).Bind(5, row.target);
  s.Bind(6, row.source).Bind(7, row.code).Bind(8, row.detail);
  if (Status st = s.Run(); !st.ok()) return st;
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

Result<std::vector<AuditRow>> Store::ListAudit(int64_t offset, int64_t limit, const std::string& user) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Stmt s(*stmts_, "SELECT id, at, user, role, action, target, source, code, detail FROM audit "
              "WHERE ?1 = '' OR user = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3");
  s.Bind(1, user).Bind(2, limit).Bind(3, offset);
  std::vector<AuditRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    AuditRow a;
    a.id = s.Int(0);
    a.at = s.Real(1);
    a.user = s.Text(2);
    a.role = s.Text(3);
    a.action = s.Text(4);
    a.target = s.Text(5);
    a.source = s.Text(6);
    a.code = s.Text(7);
    a.detail = s.Text(8);
    out.push_back(std::move(a));
  }
  if (rc != SQLITE_DONE) return s.Error();
  return out;
}

}  // namespace sic
