// Store: the coordinator's SQLite file (WAL), the system of record for sweeps,
// trials, attempts, metrics, learning curves and artifacts. The coordinator is
// its only writer; workers never touch it.
//
// Trial life cycle:  pending -> queued -> running -> succeeded | failed | canceled,
// exactly as the table in common/trial_state.h says: every UPDATE that moves
// a trial takes its `status IN (...)` list from that table.
//   pending: committed here, not yet added to the Redis stream. The coordinator
//            takes pending trials (TakePending gives each a new ticket),
//            enqueues them and then marks them queued; after a crash between
//            the two it enqueues them again with new tickets (a duplicate job
//            is harmless: results are idempotent, below).
//   round:   1 from creation, +1 for every `retry --failed`. A job carries its
//            round; results of an older round never change the trial. (Two jobs
//            of one round are duplicates: whichever result comes first counts.)
//   ticket:  the store's number for one enqueue of the trial, from a sequence
//            that never goes back, carried by the job and echoed by the worker.
// Idempotence: an attempt is (trial, round, ticket, delivery). RecordResult for
// an attempt that already has an outcome changes nothing, and only the first
// result of the trial's current round makes it final, so a redelivered or
// doubled result never makes a second row of metrics. The ticket keeps a job
// enqueued again after Redis lost its data (its delivery count restarts at 1)
// from colliding with an attempt recorded before.
//
// Schema migrations are versioned (PRAGMA user_version) and run on Open.
// Thread-safety: thread-safe; calls are serialized on one connection (a Batch
// holds it for all its calls).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/sweep_spec.h"
#include "common/trial_report.h"
#include "common/trial_state.h"
#include "sic/status.h"

struct sqlite3;

namespace sic {

class StmtCache;  // common/sqlite_stmt.h

class Stmt;

struct SweepRow {
  int64_t id = 0;
  std::string name, description;
  nlohmann::json spec;
  double created_at = 0;
  bool canceled = false;
  std::map<std::string, int64_t> counts;  // trial status -> number of trials
  int64_t total = 0;    // trials, counting a search's suggestions not yet made
  std::string owner;    // who submitted it ("" before users existed)
  int64_t priority = 0; // higher is fed first
  int64_t max_running = 0;  // cap on its queued + running trials (0: none)
  bool preempt = false;     // may preempt running trials of lower priority
  bool done() const;  // every trial final
};
// A search makes its trials one suggestion at a time: until it is canceled or
// settled, the `planned` ones not yet made count in `total` (as not final).
void AddUnmade(SweepRow& row, int64_t planned, bool settled);

struct TrialRow {
  int64_t id = 0, sweep_id = 0, index = 0;
  std::string name, variant, status, worker, error;
  nlohmann::json config, overrides;
  int64_t round = 1;      // enqueue round, see above
  int64_t attempts = 0;   // attempts seen in the current round
  int64_t ticket = 0;     // the latest enqueue's ticket (0: never enqueued since schema 4)
  double enqueued_at = 0; // when that ticket was issued
  int64_t target_steps = 0; // the current job pauses at this step (0: trains to optim.steps)
  int64_t steps_done = 0;   // steps trained: at its latest pause, or at the end
  int64_t rung = -1;        // the deepest rung it reached (-1: none)
  std::string device_class = "cpu";  // the queue it is fed to (common/resources.h)
  nlohmann::json needs;              // {"device": CLASS, "gpu_memory_gb": N}
  double started_at = 0, finished_at = 0;
};

// One sweep's trials of one device class that want a worker, and the
// sweep's standing: what the dispatcher (coordinator/dispatch.h) plans from.
struct DispatchSweep {
  int64_t sweep_id = 0;
  std::string device_class = "cpu";
  std::string owner;
  int64_t priority = 0;
  int64_t max_running = 0;  // 0: no cap
  int64_t pending = 0;      // of this class: not yet fed
  int64_t queued = 0, running = 0;  // of this class
  bool preempt = false;     // may preempt running trials of lower priority
  int64_t user_cap = -1;    // the owner's quota (Store::SetQuota); -1: none, the default cap applies
};

// SQL for the quota of the user in column `owner` (e.g. "s.owner"), -1 when
// they have none: the dispatcher's counts and the queue view read it alike.
std::string OwnerQuotaSql(const std::string& owner);

// A user's own cap on queued + running trials (Store::SetQuota).
struct QuotaRow {
  std::string user;
  int64_t max_running = 0;  // 0: no cap for this user
  std::string set_by;
  double set_at = 0;
};

// A running (or, with `queued`, a queued) trial as preemption sees it
// (Store::RunningTrials, Store::QueuedTrials).
struct RunningTrial {
  int64_t trial_id = 0, ticket = 0, sweep_id = 0;
  std::string device_class;
  int64_t priority = 0;     // its sweep's
  double started_at = 0;    // its current attempt's start; 0 while queued
  bool queued = false;      // its job waits in the stream, unclaimed or not yet started
};

// A queued or running trial and its current ticket, for the reconciler.
struct TrialTicket {
  int64_t trial_id = 0, ticket = 0, sweep_id = 0;
};

// A trial of an adaptive sweep as its scheduler sees it (Store::Scheduled).
struct ScheduledTrial {
  int64_t id = 0, index = 0;
  std::string status;
  nlohmann::json overrides;        // its parameters
  int64_t target_steps = 0, steps_done = 0;
  std::vector<double> rung_values; // the rung signal at rung 0, 1, ... (NaN allowed)
  bool promoted = false;           // promoted from its deepest rung already
  double objective = 0;            // its objective metric when succeeded, else NaN
};

// A results-stream entry that could not be recorded (see Pumps).
struct DeadLetter {
  std::string entry_id;
  int64_t trial_id = 0, sweep_id = 0;  // 0: unknown
  std::string error;
  int64_t payload_bytes = 0;
  double at = 0;
};

// A user's token as the store keeps it: its SHA-256 digest, never the token.
struct TokenRow {
  int64_t id = 0;
  std::string user;
  std::string role;        // "viewer", "member" or "admin"
  std::string digest;      // SHA-256 of the token, 32 bytes
  double created_at = 0;
  std::string created_by;  // the user who created it
  double revoked_at = 0;   // 0: live
};

// One row of the append-only audit log: who did what to what, when, from
// where, and the answer's status code name ("OK", "PERMISSION_DENIED").
struct AuditRow {
  int64_t id = 0;  // assigned by AppendAudit
  double at = 0;
  std::string user, role, action, target, source, code, detail;
};

// A TrialRow's columns of `trials t` and how to read them from a statement
// that selected them first, for code that reads the file on a connection of
// its own (ResultsReader).
extern const char* const kTrialColumns;
TrialRow ReadTrial(const Stmt& s);

// How far a sweep's data has moved, in two counters: `requested` moves with
// what users ask for (a new sweep, cancel, retry), `ingested` with what
// workers report (trials queued, started, finished). Readers may serve a
// slightly old view across ingested changes, never across requested ones.
struct SweepGeneration {
  uint64_t requested = 0, ingested = 0;
  bool operator==(const SweepGeneration& o) const { return requested == o.requested && ingested == o.ingested; }
  bool operator!=(const SweepGeneration& o) const { return !(*this == o); }
};

// Process-wide SQLite settings for many concurrent connections (the writer
// and the REST readers): turns off SQLite's memory statistics, whose global
// mutex every allocation of every connection would otherwise take. Call once,
// before any connection is opened; later calls do nothing.
void ConfigureSqliteProcess();

class Store {
 public:
  static constexpr int kSchemaVersion = 10;

  // Opens (creating if needed) and migrates the file.
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int schema_version();

  // Runs the store calls made by `calls` in one transaction: one fsync for
  // many events. Each call still succeeds or fails alone (a savepoint), but
  // none is durable until Batch returns OK; on an error none is.
  Status Batch(const std::function<void()>& calls);

  // Stores a sweep of `owner` and all its trials (pending) in one transaction.
  Result<int64_t> CreateSweep(const SweepSpec& sweep, double now, const std::string& owner = "");

  // Trials waiting to be enqueued (pending), oldest first.
  Result<std::vector<TrialRow>> PendingTrials(int64_t limit);
  // The same, each given a new ticket (committed before this returns): enqueue
  // each as (id, round, ticket), then MarkQueued.
  Result<std::vector<TrialRow>> TakePending(int64_t limit, double now);
  Status MarkQueued(const std::vector<int64_t>& trial_ids);
  // Every (sweep, device class) with a pending, queued or running trial
  // (not an external search's), by sweep, in one snapshot; pending counted
  // up to `pending_cap` only (the most any class could be fed now). Cost:
  // the trials in flight plus a few index seeks per sweep, whatever is pending.
  Result<std::vector<DispatchSweep>> DispatchCounts(int64_t pending_cap);
  // Up to `count` pending trials of `sweep_id` and `device_class` with ids
  // above `after_id`, oldest first, each given a new ticket (as
  // TakePending). A taken trial stays pending until MarkQueued: a caller
  // taking twice from one sweep before that passes the last id it took.
  Result<std::vector<TrialRow>> TakeFed(int64_t sweep_id, const std::string& device_class, int64_t count, double now,
                                        int64_t after_id = 0);

  // A worker started (or resumed) an attempt (trial_id, round, ticket,
  // delivery, worker of `attempt`). Ignored for final trials and older rounds;
  // repeated calls for one attempt are harmless.
  Status RecordStart(const TrialResult& attempt, double now);
  Status RecordStart(int64_t trial_id, int64_t round, int64_t delivery, const std::string& worker, double now) {
    TrialResult a;
    a.trial_id = trial_id, a.round = round, a.delivery = delivery, a.worker = worker;
    return RecordStart(a, now);
  }
  // One delivery failed and will be retried: its attempt row gets the error
  // and finished_at of `attempt` (outcome "error"); the trial is unchanged.
  Status RecordAttemptError(const TrialResult& attempt);
  // Records an attempt's outcome. Returns whether it changed the trial (false
  // for duplicates, stale rounds and trials already final).
  Result<bool> RecordResult(const TrialResult& result);

  // Queued and running trials go back to pending, to be enqueued again (after
  // Redis lost its streams). Returns how many.
  Result<int64_t> RequeueUnfinished();
  // The reconciler's view: queued and running trials whose ticket was issued
  // before `before`, by id after `after_id`, at most `limit` (a page).
  Result<std::vector<TrialTicket>> EnqueuedBefore(double before, int64_t after_id, int64_t limit);
  // A queued or running trial whose job Redis lost goes back to pending, if
  // its ticket is still `ticket` (not enqueued again meanwhile). Returns
  // whether it moved.
  Result<bool> Reconcile(int64_t trial_id, int64_t ticket);
  // The device classes of trials not yet final, and "cpu", sorted: the
  // classes whose queues (Redis streams) the coordinator keeps.
  Result<std::vector<std::string>> DeviceClasses();

  // Every trial of the sweep not yet final becomes canceled. Returns how many.
  Result<int64_t> CancelSweep(int64_t sweep_id, double now);
  // Failed trials of the sweep go back to pending for a new round. Returns how
  // many. FailedPrecondition for a canceled sweep: workers skip its jobs, so
  // retried trials would wait forever (submit the spec again instead).
  Result<int64_t> RetryFailed(int64_t sweep_id);

  // ---- adaptive sweeps (early stopping, searches): the scheduler's moves.
  // Each is one transaction whose UPDATE names the states it may start from
  // (common/trial_state.h), so a move is recorded once however often it is
  // asked for; each returns whether it moved the trial.

  // A worker's evaluation during training: stored once per (trial, step);
  // later copies of the same step change nothing. Its pictures replace those
  // of an earlier evaluation (the trial keeps the latest, with their step)
  // and never the final evaluation's.
  Status RecordEvaluation(int64_t trial_id, int64_t step, const std::map<std::string, double>& metrics,
                          const std::vector<Artifact>& pictures = {});
  // Learning-curve points of the trial's current round, as they come while it
  // runs (a point already stored is kept).
  Status RecordCurvePoints(int64_t trial_id, int64_t round, const std::vector<CurvePoint>& points);
  // A worker paused the attempt at `step` (checkpointed, worker released):
  // the attempt gets outcome "paused", its metrics are stored as the
  // evaluation at `step`, and, when the attempt is the trial's current job
  // (round and ticket), the trial becomes paused with rung `rung` at `value`.
  // Returns whether the trial moved (false for duplicates and stale jobs).
  Result<bool> RecordPause(const TrialResult& attempt, int64_t step, int64_t rung, double value);
  // The scheduler: a waiting trial starts, to pause at target_steps.
  Result<bool> Release(int64_t trial_id, int64_t target_steps);
  // A paused trial goes on from rung `from_rung` to target_steps (marks the rung promoted).
  Result<bool> Promote(int64_t trial_id, int64_t from_rung, int64_t target_steps, double now);
  // A paused trial ends here (stopped early); its checkpoint is to be discarded.
  Result<bool> StopPaused(int64_t trial_id, double now);
  // Trials whose checkpoint directories no worker needs any more (stopped, or
  // canceled while paused), with the round of the directory: the enqueue pump
  // queues a discard job for each, then drops them.
  Result<std::vector<std::pair<TrialRow, int64_t>>> Discards(int64_t limit);
  Status DropDiscards(const std::vector<int64_t>& trial_ids);
  // New trials of a search (its suggestion's trials, sweep.trials' shape),
  // waiting for the scheduler, or (ask) running and handed out. Returns their ids.
  Result<std::vector<int64_t>> AddSearchTrials(int64_t sweep_id, const std::vector<TrialSpec>& trials, bool ask,
                                               double now);
  // An external search's objective for a trial that Ask handed out
  // (NotFound: not a trial of the sweep; FailedPrecondition: already told).
  Status Tell(int64_t sweep_id, int64_t trial_id, const std::string& metric, double value, bool failed, double now);
  // The sweep's scheduler has nothing left to do (a search has made all its
  // trials, every paused trial is stopped).
  Status Settle(int64_t sweep_id, double now);
  // Adaptive sweeps not canceled and not settled, oldest first.
  Result<std::vector<SweepRow>> UnsettledSweeps();
  // Every trial of an adaptive sweep with its rungs, in index order;
  // `objective` names the metric that ScheduledTrial::objective reads.
  Result<std::vector<ScheduledTrial>> Scheduled(int64_t sweep_id, const std::string& objective);
  // Trials that want a worker, for autoscaling: `fed` are queued or running
  // (not external ones); `unfed` wait for the dispatcher (pending) or the
  // adaptive feed (waiting, and a search's suggestions not made yet). Of one
  // queue, or of all (""); with `gpu_memory_gb` > 0 also of the queue's
  // memory queues up to that size (what a pool whose workers declare that
  // much memory claims: "cuda" and "cuda@40" for 80).
  struct TrialDemand {
    int64_t fed = 0, unfed = 0;
  };
  Result<TrialDemand> Demand(const std::string& queue = "", double gpu_memory_gb = 0);
  // A trial's evaluations during training, by step.
  Result<std::vector<std::pair<int64_t, std::map<std::string, double>>>> Evaluations(int64_t trial_id);

  // A results-stream entry that could not be recorded; the sweep is looked up
  // from the trial when not given.
  Status RecordDeadLetter(const DeadLetter& letter);
  // Newest first; sweep_id 0: of every sweep.
  Result<std::vector<DeadLetter>> DeadLetters(int64_t sweep_id, int64_t limit);

  // A sweep's priority (common/sweep_spec.h: [-kMaxPriority, kMaxPriority];
  // InvalidArgument outside). NotFound for no such sweep. Readers see it at
  // once (a requested change); the caller wakes the feed.
  // `preempt`, when given, sets whether the sweep may preempt running trials
  // of lower priority.
  Status SetPriority(int64_t sweep_id, int64_t priority, std::optional<bool> preempt = std::nullopt);
  // Every running trial fed by the dispatcher (not an external search's),
  // with its sweep's priority: what preemption chooses from. Few rows (about
  // the workers' slots), read by the status index.
  Result<std::vector<RunningTrial>> RunningTrials();
  // The queued trials (status 'queued'), with their current tickets.
  Result<std::vector<RunningTrial>> QueuedTrials();

  // ---- quotas: a user's own cap on queued + running trials, overriding the
  // coordinator's --max-running-per-user for that user (0: no cap for them;
  // in [0, kMaxQuota], InvalidArgument outside). nullopt removes it (NotFound
  // when there was none). The dispatcher reads it with DispatchCounts.
  static constexpr int64_t kMaxQuota = 1000000;
  Status SetQuota(const std::string& user, std::optional<int64_t> max_running, const std::string& set_by, double now);
  Result<std::vector<QuotaRow>> Quotas();  // by user
  // A worker stopped the attempt at `step` because the coordinator asked it
  // to make room (checkpointed, worker released): the attempt gets outcome
  // "preempted", the curve points are stored, and, when the attempt is the
  // trial's current job (round and ticket), the trial goes back to pending
  // (state table: preempt) to be fed again and resume from its checkpoint.
  // Returns whether the trial moved (false for duplicates and stale jobs).
  Result<bool> RecordPreempted(const TrialResult& attempt, int64_t step);

  // ---- users: tokens (kept as digests) and the audit log.
  // A new token row; AlreadyExists when the digest is stored already.
  Result<int64_t> CreateToken(const std::string& user, const std::string& role, const std::string& digest,
                              const std::string& created_by, double now);
  // The token with this digest, revoked or not (the caller refuses revoked
  // ones); NotFound when there is none.
  Result<TokenRow> FindToken(const std::string& digest);
  // Every token, live and revoked, by id.
  Result<std::vector<TokenRow>> ListTokens();
  // Revokes a live token. NotFound: no such token; FailedPrecondition: it was
  // revoked already (the UPDATE names the live state, so a revoke counts once).
  Status RevokeToken(int64_t id, double now);
  // Appends one audit row; returns its id. Rows are never changed or deleted
  // (the schema's triggers refuse it).
  Result<int64_t> AppendAudit(const AuditRow& row);
  // A page of the audit log, newest first; `user` empty: every user.
  Result<std::vector<AuditRow>> ListAudit(int64_t offset, int64_t limit, const std::string& user);

  Result<std::vector<SweepRow>> ListSweeps(int64_t offset, int64_t limit);
  Result<SweepRow> GetSweep(int64_t sweep_id);
  Result<std::vector<TrialRow>> ListTrials(int64_t sweep_id, int64_t offset, int64_t limit);
  Result<TrialRow> GetTrial(int64_t trial_id);
  Result<std::map<std::string, double>> Metrics(int64_t trial_id);
  Result<std::vector<CurvePoint>> Curve(int64_t trial_id);
  Result<std::vector<Artifact>> Artifacts(int64_t trial_id);
  // Number of attempt rows with an outcome, for tests and `show`.
  Result<int64_t> CountFinishedAttempts(int64_t trial_id);

  // Moves after every committed write that changes what a reader sees of the
  // sweep (its trials, metrics, counts); live progress steps do not count.
  // Readers cache per (sweep, generation): read the generation first, then
  // the data. Fast; never waits for a transaction.
  SweepGeneration Generation(int64_t sweep_id) const;

 private:
  explicit Store(sqlite3* db);
  Status Migrate();
  Result<SweepRow> LoadSweep(int64_t sweep_id);  // caller holds mu_
  // What a Paused and a Preempted event both record, inside the caller's
  // transaction (caller holds mu_): the attempt's row with `outcome` and its
  // curve points. Returns the trial's status, whether the attempt is its
  // current job (round and ticket) and its sweep; nullopt (nothing written)
  // for an unknown trial or an attempt recorded already.
  struct AttemptEnd {
    std::string status;
    bool current = false;
    int64_t sweep_id = 0;
  };
  Result<std::optional<AttemptEnd>> EndAttempt(const TrialResult& attempt, const char* outcome);
  // Gives each trial a new ticket and enqueue time, in one transaction (caller holds mu_).
  Status IssueTickets(std::vector<TrialRow>& trials, double now);
  // The sweeps whose ids a statement selects, in its order; caller holds mu_.
  Result<std::vector<SweepRow>> LoadSweeps(Stmt& ids_query);
  // Adds (sign +1) or takes out (-1) the trial's metrics in its group's sums.
  Status AddToGroupStats(int64_t trial_id, int64_t sign);  // caller holds mu_
  // Notes a changed sweep; Publish bumps the generations of the noted sweeps
  // once no transaction is open (after the commit that made them visible).
  void Touch(int64_t sweep_id, bool requested = false);  // caller holds mu_
  void Publish();                // caller holds mu_

  std::recursive_mutex mu_;
  sqlite3* db_;
  std::unique_ptr<StmtCache> stmts_;  // db_'s prepared statements; guarded by mu_
  std::map<int64_t, bool> touched_;  // sweep -> requested change; guarded by mu_
  mutable std::mutex generations_mu_;
  std::map<int64_t, SweepGeneration> generations_;  // guarded by generations_mu_
  uint64_t every_sweep_requested_ = 0;              // guarded by generations_mu_
};

}  // namespace sic
