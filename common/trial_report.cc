#include "common/trial_report.h"

#include "proto/sweep.pb.h"

namespace sic {

std::string CurveTermsSql() {
  std::string out;
  for (const CurveTerm& t : kCurveTerms) out += std::string(out.empty() ? "" : ", ") + t.name;
  return out;
}

std::string CurveMetricName(const CurveTerm& term) {
  return term.is_loss ? std::string("loss.") + term.name : std::string(term.name);
}
namespace {

Status Invalid(const std::string& what) { return Status::InvalidArgument("worker event: " + what); }

Status CheckSize(const char* what, size_t size, size_t limit) {
  if (size <= limit) return Status::OK();
  return Invalid(std::string(what) + " has " + std::to_string(size) + " bytes or entries (limit " +
                 std::to_string(limit) + ")");
}

Status CheckName(const char* what, const std::string& name) {
  if (name.empty()) return Invalid(std::string(what) + " is empty");
  return CheckSize(what, name.size(), ReportLimits::kMaxNameBytes);
}

template <typename Points>
void DecodeCurve(const Points& points, std::vector<CurvePoint>& out) {
  out.reserve(points.size());
  for (const auto& p : points) out.push_back({p.step(), p.total(), p.sep(), p.inv(), p.cap(), p.coniso(), p.lr()});
}

template <typename Points>
void FillCurve(const std::vector<CurvePoint>& curve, Points* out) {
  for (const CurvePoint& p : curve) {
    v1::CurvePoint* c = out->Add();
    c->set_step(p.step);
    c->set_total(p.total);
    c->set_sep(p.sep);
    c->set_inv(p.inv);
    c->set_cap(p.cap);
    c->set_coniso(p.coniso);
    c->set_lr(p.lr);
  }
}

template <typename Metrics>
Status DecodeMetrics(const Metrics& metrics, std::map<std::string, double>& out) {
  if (Status s = CheckSize("metrics", metrics.size(), ReportLimits::kMaxMetrics); !s.ok()) return s;
  for (const auto& [name, value] : metrics) {
    if (Status s = CheckName("metric name", name); !s.ok()) return s;
    out[name] = value;
  }
  return Status::OK();
}

// A live curve (progress, paused): bounded, every step > 0.
template <typename Points>
Status DecodeLiveCurve(const Points& points, std::vector<CurvePoint>& out) {
  if (Status s = CheckSize("curve", points.size(), ReportLimits::kMaxCurvePoints); !s.ok()) return s;
  for (const auto& p : points) {
    if (p.step() <= 0) return Invalid("curve point with step " + std::to_string(p.step()) + " (must be > 0)");
  }
  DecodeCurve(points, out);
  return Status::OK();
}

Status CheckStep(int64_t step) {
  if (step > 0) return Status::OK();
  return Invalid("step " + std::to_string(step) + " (must be > 0)");
}

// An outcome's or an evaluation's pictures: bounded in count, names and size.
template <typename Artifacts>
Status DecodeArtifacts(const Artifacts& artifacts, std::vector<Artifact>& out) {
  using L = ReportLimits;
  if (Status s = CheckSize("artifacts", artifacts.size(), L::kMaxArtifacts); !s.ok()) return s;
  out.reserve(artifacts.size());
  for (const auto& a : artifacts) {
    if (Status s = CheckName("artifact name", a.name()); !s.ok()) return s;
    if (Status s = CheckSize("artifact mime", a.mime().size(), L::kMaxNameBytes); !s.ok()) return s;
    if (Status s = CheckSize("artifact data", a.data().size(), L::kMaxArtifactBytes); !s.ok()) return s;
    out.push_back({a.name(), a.mime(), a.data()});
  }
  return Status::OK();
}

template <typename Artifacts>
void FillArtifacts(const std::vector<Artifact>& artifacts, Artifacts* out) {
  for (const Artifact& a : artifacts) {
    v1::Artifact* o = out->Add();
    o->set_name(a.name);
    o->set_mime(a.mime);
    o->set_data(a.data);
  }
}

Status DecodeOutcome(const v1::TrialOutcome& o, TrialResult& r) {
  using L = ReportLimits;
  if (Status s = CheckSize("error", o.error().size(), L::kMaxErrorBytes); !s.ok()) return s;
  if (Status s = CheckSize("curve", o.curve_size(), L::kMaxCurvePoints); !s.ok()) return s;
  r.ok = o.ok();
  r.error = o.error();
  r.started_at = o.started_at();
  r.finished_at = o.finished_at();
  if (Status s = DecodeMetrics(o.metrics(), r.metrics); !s.ok()) return s;
  DecodeCurve(o.curve(), r.curve);
  return DecodeArtifacts(o.artifacts(), r.artifacts);
}

}  // namespace

Result<DecodedEvent> DecodeWorkerEvent(std::string_view bytes) {
  if (Status s = CheckSize("event", bytes.size(), ReportLimits::kMaxEventBytes); !s.ok()) return s;
  v1::WorkerEvent e;
  if (!e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return Invalid("not a WorkerEvent message");
  DecodedEvent out;
  TrialResult& r = out.report;
  r.trial_id = e.trial_id();
  r.round = e.round();
  r.ticket = e.ticket();
  r.delivery = e.delivery();
  if (r.trial_id <= 0 || r.round <= 0 || r.delivery <= 0 || r.ticket < 0) {
    return Invalid("bad attempt (trial " + std::to_string(r.trial_id) + ", round " + std::to_string(r.round) +
                   ", ticket " + std::to_string(r.ticket) + ", delivery " + std::to_string(r.delivery) + ")");
  }
  if (Status s = CheckName("worker", e.worker()); !s.ok()) return s;
  r.worker = e.worker();
  out.time = e.time();
  switch (e.kind_case()) {
    case v1::WorkerEvent::kProgress:
      out.kind = EventKind::kProgress;
      out.step = e.progress().step();
      out.total_steps = e.progress().total_steps();
      if (Status s = DecodeLiveCurve(e.progress().curve(), r.curve); !s.ok()) return s;
      return out;
    case v1::WorkerEvent::kPaused:
      out.kind = EventKind::kPaused;
      out.step = e.paused().step();
      if (Status s = CheckStep(out.step); !s.ok()) return s;
      if (Status s = DecodeMetrics(e.paused().metrics(), r.metrics); !s.ok()) return s;
      if (Status s = DecodeLiveCurve(e.paused().curve(), r.curve); !s.ok()) return s;
      r.finished_at = e.paused().finished_at();
      return out;
    case v1::WorkerEvent::kPreempted:
      out.kind = EventKind::kPreempted;
      out.step = e.preempted().step();
      if (out.step < 0) return Invalid("step " + std::to_string(out.step) + " is negative");
      if (Status s = DecodeLiveCurve(e.preempted().curve(), r.curve); !s.ok()) return s;
      r.finished_at = e.preempted().finished_at();
      return out;
    case v1::WorkerEvent::kEvaluation:
      out.kind = EventKind::kEvaluation;
      out.step = e.evaluation().step();
      if (Status s = CheckStep(out.step); !s.ok()) return s;
      if (Status s = DecodeMetrics(e.evaluation().metrics(), r.metrics); !s.ok()) return s;
      if (Status s = DecodeArtifacts(e.evaluation().artifacts(), r.artifacts); !s.ok()) return s;
      return out;
    case v1::WorkerEvent::kAttemptError:
      out.kind = EventKind::kAttemptError;
      if (Status s = CheckSize("error", e.attempt_error().error().size(), ReportLimits::kMaxErrorBytes); !s.ok()) {
        return s;
      }
      r.error = e.attempt_error().error();
      r.finished_at = e.attempt_error().finished_at();
      return out;
    case v1::WorkerEvent::kOutcome:
      out.kind = EventKind::kOutcome;
      if (Status s = DecodeOutcome(e.outcome(), r); !s.ok()) return s;
      return out;
    case v1::WorkerEvent::KIND_NOT_SET:
      break;
  }
  return Invalid("unknown kind (none of progress, outcome, attempt_error, paused, evaluation, preempted)");
}

int64_t PeekTrialId(std::string_view bytes) {
  if (bytes.size() > ReportLimits::kMaxEventBytes) return 0;
  v1::WorkerEvent e;
  if (!e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return 0;
  return e.trial_id() > 0 ? e.trial_id() : 0;
}

void EncodeOutcome(const std::map<std::string, double>& metrics, const std::vector<CurvePoint>& curve,
                   const std::vector<Artifact>& artifacts, v1::TrialOutcome* o) {
  o->set_ok(true);
  for (const auto& [k, v] : metrics) (*o->mutable_metrics())[k] = v;
  FillCurve(curve, o->mutable_curve());
  FillArtifacts(artifacts, o->mutable_artifacts());
}

void EncodeOutcome(const TrialResult& r, v1::TrialOutcome* o) {
  EncodeOutcome(r.metrics, r.curve, r.artifacts, o);
  o->set_ok(r.ok);
  o->set_error(r.error);
  o->set_started_at(r.started_at);
  o->set_finished_at(r.finished_at);
}

void EncodeCurve(const std::vector<CurvePoint>& curve, v1::Progress* out) { FillCurve(curve, out->mutable_curve()); }

void EncodePaused(int64_t step, const std::map<std::string, double>& metrics, const std::vector<CurvePoint>& curve,
                  double finished_at, v1::Paused* out) {
  out->set_step(step);
  for (const auto& [k, v] : metrics) (*out->mutable_metrics())[k] = v;
  FillCurve(curve, out->mutable_curve());
  out->set_finished_at(finished_at);
}

void EncodePreempted(int64_t step, const std::vector<CurvePoint>& curve, double finished_at, v1::Preempted* out) {
  out->set_step(step);
  FillCurve(curve, out->mutable_curve());
  out->set_finished_at(finished_at);
}

void EncodeEvaluation(int64_t step, const std::map<std::string, double>& metrics,
                      const std::vector<Artifact>& pictures, v1::Evaluation* out) {
  out->set_step(step);
  for (const auto& [k, v] : metrics) (*out->mutable_metrics())[k] = v;
  FillArtifacts(pictures, out->mutable_artifacts());
}

std::string EncodeEvent(const DecodedEvent& d) {
  const TrialResult& r = d.report;
  v1::WorkerEvent e;
  e.set_trial_id(r.trial_id);
  e.set_round(r.round);
  e.set_ticket(r.ticket);
  e.set_delivery(r.delivery);
  e.set_worker(r.worker);
  e.set_time(d.time);
  switch (d.kind) {
    case EventKind::kProgress:
      e.mutable_progress()->set_step(d.step);
      e.mutable_progress()->set_total_steps(d.total_steps);
      EncodeCurve(r.curve, e.mutable_progress());
      break;
    case EventKind::kAttemptError:
      e.mutable_attempt_error()->set_error(r.error);
      e.mutable_attempt_error()->set_finished_at(r.finished_at);
      break;
    case EventKind::kOutcome:
      EncodeOutcome(r, e.mutable_outcome());
      break;
    case EventKind::kPaused:
      EncodePaused(d.step, r.metrics, r.curve, r.finished_at, e.mutable_paused());
      break;
    case EventKind::kEvaluation:
      EncodeEvaluation(d.step, r.metrics, r.artifacts, e.mutable_evaluation());
      break;
    case EventKind::kPreempted:
      EncodePreempted(d.step, r.curve, r.finished_at, e.mutable_preempted());
      break;
  }
  return e.SerializeAsString();
}

std::string EncodeOutcomeEvent(const TrialResult& r, double time) {
  DecodedEvent d;
  d.kind = EventKind::kOutcome;
  d.time = time;
  d.report = r;
  return EncodeEvent(d);
}

}  // namespace sic
