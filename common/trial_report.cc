#include "common/trial_report.h"

#include "proto/sweep.pb.h"

namespace sic {
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

Status DecodeOutcome(const v1::TrialOutcome& o, TrialResult& r) {
  using L = ReportLimits;
  if (Status s = CheckSize("error", o.error().size(), L::kMaxErrorBytes); !s.ok()) return s;
  if (Status s = CheckSize("metrics", o.metrics_size(), L::kMaxMetrics); !s.ok()) return s;
  if (Status s = CheckSize("curve", o.curve_size(), L::kMaxCurvePoints); !s.ok()) return s;
  if (Status s = CheckSize("artifacts", o.artifacts_size(), L::kMaxArtifacts); !s.ok()) return s;
  r.ok = o.ok();
  r.error = o.error();
  r.started_at = o.started_at();
  r.finished_at = o.finished_at();
  for (const auto& [name, value] : o.metrics()) {
    if (Status s = CheckName("metric name", name); !s.ok()) return s;
    r.metrics[name] = value;
  }
  r.curve.reserve(o.curve_size());
  for (const auto& p : o.curve()) r.curve.push_back({p.step(), p.total(), p.sep(), p.inv(), p.cap(), p.coniso(), p.lr()});
  r.artifacts.reserve(o.artifacts_size());
  for (const auto& a : o.artifacts()) {
    if (Status s = CheckName("artifact name", a.name()); !s.ok()) return s;
    if (Status s = CheckSize("artifact mime", a.mime().size(), L::kMaxNameBytes); !s.ok()) return s;
    if (Status s = CheckSize("artifact data", a.data().size(), L::kMaxArtifactBytes); !s.ok()) return s;
    r.artifacts.push_back({a.name(), a.mime(), a.data()});
  }
  return Status::OK();
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
  return Invalid("unknown kind (neither progress, outcome nor attempt_error)");
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
  for (const CurvePoint& p : curve) {
    v1::CurvePoint* c = o->add_curve();
    c->set_step(p.step);
    c->set_total(p.total);
    c->set_sep(p.sep);
    c->set_inv(p.inv);
    c->set_cap(p.cap);
    c->set_coniso(p.coniso);
    c->set_lr(p.lr);
  }
  for (const Artifact& a : artifacts) {
    v1::Artifact* out = o->add_artifacts();
    out->set_name(a.name);
    out->set_mime(a.mime);
    out->set_data(a.data);
  }
}

void EncodeOutcome(const TrialResult& r, v1::TrialOutcome* o) {
  EncodeOutcome(r.metrics, r.curve, r.artifacts, o);
  o->set_ok(r.ok);
  o->set_error(r.error);
  o->set_started_at(r.started_at);
  o->set_finished_at(r.finished_at);
}

std::string EncodeOutcomeEvent(const TrialResult& r, double time) {
  v1::WorkerEvent e;
  e.set_trial_id(r.trial_id);
  e.set_round(r.round);
  e.set_ticket(r.ticket);
  e.set_delivery(r.delivery);
  e.set_worker(r.worker);
  e.set_time(time);
  EncodeOutcome(r, e.mutable_outcome());
  return e.SerializeAsString();
}

}  // namespace sic
