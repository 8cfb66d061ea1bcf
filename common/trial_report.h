// TrialReport: what a worker says about one attempt of a trial, as types and
// as the one protobuf codec for it (proto/sweep.proto, WorkerEvent). The
// worker encodes with it, the coordinator decodes with it: a field is mapped
// in one place, never by hand twice.
//
// DecodeWorkerEvent is the coordinator's boundary with the results stream,
// whose bytes anyone who can write to Redis controls: it accepts only an
// event of a known kind, with positive ids and sizes within ReportLimits, and
// answers InvalidArgument (naming what is wrong) for anything else. It never
// allocates more than a bounded multiple of its input.
//
// The types are plain data; this header includes neither LibTorch, SQLite nor
// the generated protobuf code (only trial_report.cc does).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sic/status.h"

namespace sic {

namespace v1 {
class Evaluation;
class Paused;
class Preempted;
class Progress;
class TrialOutcome;
class WorkerEvent;
}  // namespace v1

struct CurvePoint {
  int64_t step = 0;
  double total = 0, sep = 0, inv = 0, cap = 0, coniso = 0, lr = 0;
};

// The learning curve's terms, in one place: a CurvePoint's fields by name.
// The store's curve columns, the REST curve's keys, the keys of curve.jsonl
// and the final metrics ("loss.<term>", and "lr") are all these names; code
// that handles every term loops over this table rather than spelling them.
struct CurveTerm {
  const char* name;
  double CurvePoint::*field;
  bool is_loss;  // reported as metric "loss.<name>" (else as "<name>")
};
inline constexpr CurveTerm kCurveTerms[] = {
    {"total", &CurvePoint::total, true}, {"sep", &CurvePoint::sep, true},       {"inv", &CurvePoint::inv, true},
    {"cap", &CurvePoint::cap, true},     {"coniso", &CurvePoint::coniso, true}, {"lr", &CurvePoint::lr, false},
};
// "total, sep, inv, cap, coniso, lr": the terms as an SQL column list.
std::string CurveTermsSql();
// The metric a term's last value is reported as: "loss.total", ..., "lr".
std::string CurveMetricName(const CurveTerm& term);

struct Artifact {
  std::string name, mime;
  std::string data;  // bytes
};

// The outcome of one attempt, as a worker reports it. An attempt is
// (trial, round, ticket, delivery): the ticket is the store's number for the
// job (one per enqueue), the delivery Redis's count of that job's deliveries.
struct TrialResult {
  int64_t trial_id = 0, round = 0, ticket = 0, delivery = 0;
  std::string worker;
  bool ok = false;
  std::string error;                       // why it failed (ok == false)
  std::map<std::string, double> metrics;   // final losses, grid scores, ...
  std::vector<CurvePoint> curve;           // downsampled learning curve
  std::vector<Artifact> artifacts;         // e.g. rate-map PNGs
  double started_at = 0, finished_at = 0;
};

// What DecodeWorkerEvent accepts. The worker stays far inside them (500 curve
// points, a few PNGs of tens of KiB, one-line errors).
struct ReportLimits {
  static constexpr size_t kMaxEventBytes = 64u << 20;     // a whole serialized event
  static constexpr size_t kMaxNameBytes = 256;            // worker, metric, artifact names, mime
  static constexpr size_t kMaxErrorBytes = 16u << 10;     // error text
  static constexpr size_t kMaxMetrics = 4096;
  static constexpr size_t kMaxCurvePoints = 4096;
  static constexpr size_t kMaxArtifacts = 64;
  static constexpr size_t kMaxArtifactBytes = 16u << 20;  // one artifact's data
};

enum class EventKind {
  kProgress,      // training goes on; carries the curve points logged since the last one
  kAttemptError,  // this delivery failed; the trial goes back to the queue
  kOutcome,       // the attempt's final result (ok or failed)
  kPaused,        // reached TrialJob.stop_at_step: checkpointed, worker released
  kEvaluation,    // a periodic quick evaluation (config probe.every)
  kPreempted,     // asked to make room (<prefix>:preempt): checkpointed, worker released
};

// One validated results-stream event. `report` always carries the attempt
// (trial_id, round, ticket, delivery) and worker; besides, by kind:
//   kProgress:     step, total_steps; report.curve = the new curve points
//   kAttemptError: report.error, report.finished_at
//   kOutcome:      every field of report
//   kPaused:       step (> 0); report.metrics ("steps", "loss.*", "lr",
//                  "eval.<L>m.*"), report.curve (points not yet sent),
//                  report.finished_at
//   kEvaluation:   step (> 0); report.metrics ("eval.<L>m.*"), report.artifacts
//                  (its pictures; maybe none)
//   kPreempted:    step (>= 0: where its checkpoint is); report.curve (points
//                  not yet sent), report.finished_at
// Curve points of kProgress, kPaused and kPreempted have steps > 0. A point may come
// again, with the same values, after a resume: its step identifies it.
struct DecodedEvent {
  EventKind kind = EventKind::kProgress;
  double time = 0;                    // when the worker sent it
  TrialResult report;
  int64_t step = 0, total_steps = 0;  // kProgress; step also kPaused, kEvaluation, kPreempted
};

Result<DecodedEvent> DecodeWorkerEvent(std::string_view bytes);
// The trial an event that DecodeWorkerEvent refused says it is about, when
// its bytes parse at all (0 otherwise): for the dead letter's record.
int64_t PeekTrialId(std::string_view bytes);

// The outcome message of a finished attempt: ok, error, metrics, curve,
// artifacts and times of `result` (its attempt ids go in the WorkerEvent).
void EncodeOutcome(const TrialResult& result, v1::TrialOutcome* out);
// The same for a successful run's parts, without copying them into a TrialResult.
void EncodeOutcome(const std::map<std::string, double>& metrics, const std::vector<CurvePoint>& curve,
                   const std::vector<Artifact>& artifacts, v1::TrialOutcome* out);
// A whole outcome event (attempt ids, worker, time and the outcome), as the
// worker sends it; for tests, benchmarks and fuzz seeds.
std::string EncodeOutcomeEvent(const TrialResult& result, double time);

// The worker's encoders of the other kinds, into a WorkerEvent whose attempt
// ids it sets itself.
void EncodeCurve(const std::vector<CurvePoint>& curve, v1::Progress* out);  // appends
void EncodePaused(int64_t step, const std::map<std::string, double>& metrics, const std::vector<CurvePoint>& curve,
                  double finished_at, v1::Paused* out);
void EncodePreempted(int64_t step, const std::vector<CurvePoint>& curve, double finished_at, v1::Preempted* out);
void EncodeEvaluation(int64_t step, const std::map<std::string, double>& metrics,
                      const std::vector<Artifact>& pictures, v1::Evaluation* out);
// Any event as DecodeWorkerEvent would return it, encoded back (the fields
// its kind carries; the inverse of DecodeWorkerEvent for what it accepts).
std::string EncodeEvent(const DecodedEvent& event);

}  // namespace sic
