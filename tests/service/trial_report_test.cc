// The one codec of a trial's report: what the worker encodes the coordinator
// decodes unchanged, and the decoder refuses what a worker never sends.
#include <cmath>

#include <gtest/gtest.h>

#include "common/trial_report.h"
#include "proto/sweep.pb.h"

namespace sic {
namespace {

TrialResult Sample() {
  TrialResult r;
  r.trial_id = 7;
  r.round = 2;
  r.ticket = 41;
  r.delivery = 3;
  r.worker = "w1";
  r.ok = true;
  r.metrics = {{"loss.total", 0.5}, {"eval.2m.max_score60", std::nan("")}};
  r.curve = {{10, 2.0, 1, 1, 1, 1, 1e-3}, {20, 1.5, 0.5, 0.25, 0.125, 0.0625, 1e-4}};
  r.artifacts = {{"2m/ratemaps.png", "image/png", std::string("\x89PNG\0\1", 6)}};
  r.started_at = 101;
  r.finished_at = 102;
  return r;
}

TEST(QueueEventCodec, OutcomeRoundTrips) {
  const TrialResult r = Sample();
  auto e = DecodeWorkerEvent(EncodeOutcomeEvent(r, 103));
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->kind, EventKind::kOutcome);
  EXPECT_EQ(e->time, 103);
  const TrialResult& d = e->report;
  EXPECT_EQ(d.trial_id, 7);
  EXPECT_EQ(d.round, 2);
  EXPECT_EQ(d.ticket, 41);
  EXPECT_EQ(d.delivery, 3);
  EXPECT_EQ(d.worker, "w1");
  EXPECT_TRUE(d.ok);
  EXPECT_DOUBLE_EQ(d.metrics.at("loss.total"), 0.5);
  EXPECT_TRUE(std::isnan(d.metrics.at("eval.2m.max_score60")));
  ASSERT_EQ(d.curve.size(), 2u);
  EXPECT_EQ(d.curve[1].step, 20);
  EXPECT_DOUBLE_EQ(d.curve[1].coniso, 0.0625);
  EXPECT_DOUBLE_EQ(d.curve[1].lr, 1e-4);
  ASSERT_EQ(d.artifacts.size(), 1u);
  EXPECT_EQ(d.artifacts[0].data, std::string("\x89PNG\0\1", 6));
  EXPECT_EQ(d.started_at, 101);
  EXPECT_EQ(d.finished_at, 102);
}

TEST(QueueEventCodec, ProgressAndAttemptError) {
  v1::WorkerEvent e;
  e.set_trial_id(1);
  e.set_round(1);
  e.set_delivery(1);
  e.set_ticket(5);
  e.set_worker("w");
  e.mutable_progress()->set_step(20);
  e.mutable_progress()->set_total_steps(40);
  auto p = DecodeWorkerEvent(e.SerializeAsString());
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->kind, EventKind::kProgress);
  EXPECT_EQ(p->step, 20);
  EXPECT_EQ(p->total_steps, 40);
  EXPECT_EQ(p->report.ticket, 5);
  e.mutable_attempt_error()->set_error("boom");
  e.mutable_attempt_error()->set_finished_at(9);
  auto a = DecodeWorkerEvent(e.SerializeAsString());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, EventKind::kAttemptError);
  EXPECT_EQ(a->report.error, "boom");
  EXPECT_EQ(a->report.finished_at, 9);
}

// An event of `kind` for the attempt of Sample(), through EncodeEvent.
DecodedEvent Event(EventKind kind) {
  DecodedEvent d;
  d.kind = kind;
  d.time = 104;
  d.report.trial_id = 7;
  d.report.round = 2;
  d.report.ticket = 41;
  d.report.delivery = 3;
  d.report.worker = "w1";
  return d;
}

// Whether the decoder refuses an event as invalid (not merely fails).
bool Refused(const std::string& bytes) {
  auto e = DecodeWorkerEvent(bytes);
  return !e.ok() && e.status().IsInvalidArgument();
}
bool Refused(const DecodedEvent& d) { return Refused(EncodeEvent(d)); }

TEST(QueueEventCodec, PausedEvaluationAndProgressCurveRoundTrip) {
  DecodedEvent paused = Event(EventKind::kPaused);
  paused.step = 3000;
  paused.report.metrics = {{"steps", 3000}, {"loss.total", 0.75}, {"eval.2m.fraction_grid.0.3", 0.125},
                           {"eval.2m.max_score60", std::nan("")}};
  paused.report.curve = {{2990, 0.8, 1, 1, 1, 1, 1e-3}, {3000, 0.75, 1, 1, 1, 1, 1e-3}};
  paused.report.finished_at = 105;
  auto p = DecodeWorkerEvent(EncodeEvent(paused));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->kind, EventKind::kPaused);
  EXPECT_EQ(p->step, 3000);
  EXPECT_EQ(p->time, 104);
  EXPECT_EQ(p->report.ticket, 41);
  EXPECT_DOUBLE_EQ(p->report.metrics.at("eval.2m.fraction_grid.0.3"), 0.125);
  EXPECT_TRUE(std::isnan(p->report.metrics.at("eval.2m.max_score60")));
  ASSERT_EQ(p->report.curve.size(), 2u);
  EXPECT_EQ(p->report.curve[1].step, 3000);
  EXPECT_EQ(p->report.finished_at, 105);

  DecodedEvent evaluation = Event(EventKind::kEvaluation);
  evaluation.step = 1000;
  evaluation.report.metrics = {{"eval.2m.n_grid", 3}};
  auto e = DecodeWorkerEvent(EncodeEvent(evaluation));
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->kind, EventKind::kEvaluation);
  EXPECT_EQ(e->step, 1000);
  EXPECT_EQ(e->report.metrics, evaluation.report.metrics);

  DecodedEvent progress = Event(EventKind::kProgress);
  progress.step = 1010;
  progress.total_steps = 9000;
  progress.report.curve = {{1000, 0.9, 0.5, 0.25, 0.125, 0.0625, 1e-3}, {1010, 0.8, 0, 0, 0, 0, 1e-3}};
  auto g = DecodeWorkerEvent(EncodeEvent(progress));
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->kind, EventKind::kProgress);
  EXPECT_EQ(g->total_steps, 9000);
  ASSERT_EQ(g->report.curve.size(), 2u);
  EXPECT_DOUBLE_EQ(g->report.curve[0].coniso, 0.0625);
  EXPECT_EQ(EncodeEvent(g.value()), EncodeEvent(progress));
}

TEST(QueueEventCodec, RefusesPausedAndEvaluationOutsideTheLimits) {
  for (EventKind kind : {EventKind::kPaused, EventKind::kEvaluation}) {
    DecodedEvent good = Event(kind);
    good.step = 10;
    good.report.metrics = {{"loss.total", 1}};
    EXPECT_FALSE(Refused(good));
    DecodedEvent c = good;
    c.step = 0;
    EXPECT_TRUE(Refused(c)) << "no step";
    c.step = -5;
    EXPECT_TRUE(Refused(c)) << "negative step";
    c = good;
    c.report.metrics[""] = 1;
    EXPECT_TRUE(Refused(c)) << "empty metric name";
    c = good;
    c.report.metrics[std::string(ReportLimits::kMaxNameBytes + 1, 'm')] = 1;
    EXPECT_TRUE(Refused(c)) << "long metric name";
    c = good;
    for (size_t i = 0; i <= ReportLimits::kMaxMetrics; ++i) c.report.metrics["m" + std::to_string(i)] = 1;
    EXPECT_TRUE(Refused(c)) << "too many metrics";
    c = good;
    c.report.trial_id = 0;
    EXPECT_TRUE(Refused(c)) << "no trial";
  }
  for (EventKind kind : {EventKind::kPaused, EventKind::kProgress}) {
    DecodedEvent c = Event(kind);
    c.step = 10;
    c.report.curve.assign(ReportLimits::kMaxCurvePoints + 1, CurvePoint{5});
    EXPECT_TRUE(Refused(c)) << "too many curve points";
    c.report.curve = {{0, 1, 1, 1, 1, 1, 1}};
    EXPECT_TRUE(Refused(c)) << "a curve point at step 0";
    c.report.curve = {{5, 1, 1, 1, 1, 1, 1}};
    EXPECT_FALSE(Refused(c));
  }
}

// A Preempted event: its step is where its checkpoint is (0 when preempted
// before the first step); a negative step, a curve point at step 0, too many
// points or a missing trial are refused like any other kind's.
TEST(QueueEventCodec, PreemptedRoundTripsAndIsRefusedOutsideTheLimits) {
  DecodedEvent preempted = Event(EventKind::kPreempted);
  preempted.step = 959;
  preempted.report.curve = {{950, 0.8, 1, 1, 1, 1, 1e-3}};
  preempted.report.finished_at = 105;
  auto p = DecodeWorkerEvent(EncodeEvent(preempted));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->kind, EventKind::kPreempted);
  EXPECT_EQ(p->step, 959);
  EXPECT_EQ(p->report.ticket, 41);
  ASSERT_EQ(p->report.curve.size(), 1u);
  EXPECT_EQ(p->report.finished_at, 105);
  EXPECT_EQ(EncodeEvent(p.value()), EncodeEvent(preempted));

  DecodedEvent c = preempted;
  c.step = 0;
  EXPECT_FALSE(Refused(c)) << "preempted before its first step";
  c.step = -1;
  EXPECT_TRUE(Refused(c)) << "negative step";
  c = preempted;
  c.report.curve = {{0, 1, 1, 1, 1, 1, 1}};
  EXPECT_TRUE(Refused(c)) << "a curve point at step 0";
  c.report.curve.assign(ReportLimits::kMaxCurvePoints + 1, CurvePoint{5});
  EXPECT_TRUE(Refused(c)) << "too many curve points";
  c = preempted;
  c.report.trial_id = 0;
  EXPECT_TRUE(Refused(c)) << "no trial";
}

TEST(QueueEventCodec, RefusesWhatNoWorkerSends) {
  EXPECT_TRUE(Refused("garbage \xff\xff"));
  v1::WorkerEvent no_kind;
  no_kind.set_trial_id(1);
  no_kind.set_round(1);
  no_kind.set_delivery(1);
  no_kind.set_worker("w");
  EXPECT_TRUE(Refused(no_kind.SerializeAsString()));  // unknown kind
  auto with = [&](auto change) {
    TrialResult c = Sample();
    change(c);
    return EncodeOutcomeEvent(c, 1);
  };
  EXPECT_FALSE(Refused(with([](TrialResult&) {})));
  EXPECT_TRUE(Refused(with([](TrialResult& c) { c.trial_id = 0; })));
  EXPECT_TRUE(Refused(with([](TrialResult& c) { c.round = -1; })));
  EXPECT_TRUE(Refused(with([](TrialResult& c) { c.delivery = 0; })));
  EXPECT_TRUE(Refused(with([](TrialResult& c) { c.ticket = -2; })));
  EXPECT_TRUE(Refused(with([](TrialResult& c) { c.worker = ""; })));
  EXPECT_TRUE(Refused(with([](TrialResult& c) { c.worker = std::string(257, 'w'); })));
  EXPECT_TRUE(Refused(with([](TrialResult& c) { c.metrics[""] = 1; })));
  EXPECT_TRUE(Refused(with([](TrialResult& c) { c.error = std::string(ReportLimits::kMaxErrorBytes + 1, 'e'); })));
  EXPECT_TRUE(Refused(with([](TrialResult& c) {
    for (size_t i = 0; i <= ReportLimits::kMaxMetrics; ++i) c.metrics["m" + std::to_string(i)] = 1;
  })));
  EXPECT_TRUE(Refused(with([](TrialResult& c) { c.curve.resize(ReportLimits::kMaxCurvePoints + 1); })));
  EXPECT_TRUE(Refused(with([](TrialResult& c) { c.artifacts.resize(ReportLimits::kMaxArtifacts + 1, {"a", "b", ""}); })));
  EXPECT_TRUE(Refused(with([](TrialResult& c) { c.artifacts[0].data.resize(ReportLimits::kMaxArtifactBytes + 1); })));
}

}  // namespace
}  // namespace sic
