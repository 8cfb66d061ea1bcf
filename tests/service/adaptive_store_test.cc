// The store's moves for adaptive sweeps (schema 6): a scheduled sweep's
// trials wait, are released, pause at rungs, are promoted or stopped, each
// move recorded once; evaluations once per step; live curve points; a
// search's trials made one suggestion at a time, and ask/tell.
#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "common/store.h"
#include "tests/service/store_fixture.h"

namespace sic {
namespace {

constexpr const char* kAsha = R"({"name": "a", "base": {"optim": {"steps": 900}},
  "grid": {"optim.lr": [0.001, 0.002, 0.003]},
  "objective": {"metric": "loss.total", "direction": "min"},
  "schedule": {"method": "asha", "min_steps": 100, "reduction_factor": 3}})";

class AdaptiveStoreTest : public StoreTest {
 protected:
  // The trial's job as the enqueue pump hands it out: its ticket.
  TrialRow Enqueue(int64_t trial) {
    auto taken = store_->TakePending(100, 200);
    EXPECT_TRUE(taken.ok()) << taken.status().message();
    for (const TrialRow& t : taken.value()) {
      EXPECT_TRUE(store_->MarkQueued({t.id}).ok());
      if (t.id == trial) return t;
    }
    ADD_FAILURE() << "trial " << trial << " was not pending";
    return {};
  }
  TrialResult Attempt(const TrialRow& job, int64_t delivery, double loss) {
    TrialResult r;
    r.trial_id = job.id, r.round = job.round, r.ticket = job.ticket, r.delivery = delivery;
    r.worker = "w";
    r.metrics = {{"loss.total", loss}};
    r.curve = {{50, loss + 1, 0, 0, 0, 0, 1e-3}, {100, loss, 0, 0, 0, 0, 1e-3}};
    r.started_at = 201, r.finished_at = 202;
    return r;
  }
};

TEST_F(AdaptiveStoreTest, ScheduledTrialsWaitAndEachMoveIsRecordedOnce) {
  const int64_t sweep = Submit(kAsha);
  auto trials = store_->ListTrials(sweep, 0, 10).value();
  ASSERT_EQ(trials.size(), 3u);
  for (const TrialRow& t : trials) EXPECT_EQ(t.status, "waiting");
  EXPECT_TRUE(store_->PendingTrials(10)->empty());  // nothing is fed at submit

  const int64_t id = trials[0].id;
  EXPECT_TRUE(store_->Release(id, 100).value());
  EXPECT_FALSE(store_->Release(id, 100).value());  // once
  TrialRow job = Enqueue(id);
  EXPECT_EQ(job.target_steps, 100);
  ASSERT_TRUE(store_->RecordStart(Attempt(job, 1, 2.0), 201).ok());

  // A pause from a stale ticket (an older job of the trial) moves nothing.
  TrialResult stale = Attempt(job, 1, 2.0);
  stale.ticket = job.ticket + 1000;
  EXPECT_FALSE(store_->RecordPause(stale, 100, 0, 2.0).value());
  EXPECT_EQ(store_->GetTrial(id)->status, "running");

  EXPECT_TRUE(store_->RecordPause(Attempt(job, 1, 2.0), 100, 0, 2.0).value());
  EXPECT_FALSE(store_->RecordPause(Attempt(job, 1, 2.5), 100, 0, 2.5).value());  // redelivered event
  TrialRow paused = store_->GetTrial(id).value();
  EXPECT_EQ(paused.status, "paused");
  EXPECT_EQ(paused.steps_done, 100);
  EXPECT_EQ(paused.rung, 0);
  auto evals = store_->Evaluations(id).value();
  ASSERT_EQ(evals.size(), 1u);
  EXPECT_EQ(evals[0].first, 100);
  EXPECT_DOUBLE_EQ(evals[0].second.at("loss.total"), 2.0);  // the first copy stays
  EXPECT_EQ(store_->Curve(id)->size(), 2u);

  auto sched = store_->Scheduled(sweep, "loss.total").value();
  ASSERT_EQ(sched[0].rung_values.size(), 1u);
  EXPECT_DOUBLE_EQ(sched[0].rung_values[0], 2.0);
  EXPECT_FALSE(sched[0].promoted);

  EXPECT_TRUE(store_->Promote(id, 0, 300, 210).value());
  EXPECT_FALSE(store_->Promote(id, 0, 300, 211).value());  // a promotion is recorded once
  EXPECT_TRUE(store_->Scheduled(sweep, "loss.total")->at(0).promoted);
  TrialRow promoted = Enqueue(id);
  EXPECT_EQ(promoted.target_steps, 300);
  EXPECT_GT(promoted.ticket, job.ticket);
  // The job paused at rung 0 arrives again after the promotion: ignored.
  EXPECT_FALSE(store_->RecordPause(Attempt(job, 2, 2.0), 100, 0, 2.0).value());
  EXPECT_EQ(store_->GetTrial(id)->status, "queued");

  // Another trial pauses and is stopped for good; cancel takes waiting ones.
  ASSERT_TRUE(store_->Release(trials[1].id, 100).value());
  TrialRow second = Enqueue(trials[1].id);
  ASSERT_TRUE(store_->RecordPause(Attempt(second, 1, 3.0), 100, 0, 3.0).value());
  EXPECT_TRUE(store_->StopPaused(trials[1].id, 220).value());
  EXPECT_FALSE(store_->StopPaused(trials[1].id, 221).value());
  EXPECT_EQ(store_->GetTrial(trials[1].id)->status, "stopped");
  EXPECT_EQ(store_->CancelSweep(sweep, 230).value(), 2);  // the queued one and the waiting one
  EXPECT_EQ(store_->GetTrial(trials[2].id)->status, "canceled");
  EXPECT_EQ(store_->GetTrial(trials[1].id)->status, "stopped");
  EXPECT_TRUE(store_->GetSweep(sweep)->done());
}

TEST_F(AdaptiveStoreTest, LiveCurveSurvivesTheResultAndALateRoundAddsNothing) {
  const int64_t sweep = Submit(R"({"seeds": 1})");
  TrialRow job = Enqueue(store_->ListTrials(sweep, 0, 1)->at(0).id);
  ASSERT_TRUE(store_->RecordCurvePoints(job.id, 1, {{10, 3, 0, 0, 0, 0, 1}, {20, 2.5, 0, 0, 0, 0, 1}}).ok());
  ASSERT_TRUE(store_->RecordCurvePoints(job.id, 7, {{30, 9, 0, 0, 0, 0, 1}}).ok());  // not this round
  ASSERT_TRUE(store_->RecordEvaluation(job.id, 20, {{"eval.2m.max_score60", 0.4}}).ok());
  ASSERT_TRUE(store_->RecordEvaluation(job.id, 20, {{"eval.2m.max_score60", 0.9}}).ok());  // same step again
  EXPECT_EQ(store_->Curve(job.id)->size(), 2u);
  TrialResult done = Attempt(job, 1, 1.0);
  done.ok = true;
  done.curve = {{100, 1.0, 0, 0, 0, 0, 1}};  // the outcome's thinned curve joins the streamed one
  ASSERT_TRUE(store_->RecordResult(done).value());
  auto curve = store_->Curve(job.id).value();
  ASSERT_EQ(curve.size(), 3u);
  EXPECT_EQ(curve.back().step, 100);
  auto evals = store_->Evaluations(job.id).value();
  ASSERT_EQ(evals.size(), 1u);
  EXPECT_DOUBLE_EQ(evals[0].second.at("eval.2m.max_score60"), 0.4);
}

// The pictures of evaluations during training: the latest step's are kept
// (an earlier step delivered again after a resume changes nothing), the final
// evaluation's replace them, and no late probe replaces those.
TEST_F(AdaptiveStoreTest, ProbePicturesKeepTheLatestUntilTheFinalOnesReplaceThem) {
  const int64_t sweep = Submit(R"({"seeds": 1})");
  TrialRow job = Enqueue(store_->ListTrials(sweep, 0, 1)->at(0).id);
  auto picture = [&](const std::string& name) -> std::string {
    const std::vector<Artifact> stored = store_->Artifacts(job.id).value();
    for (const Artifact& a : stored) {
      if (a.name == name) return a.data;
    }
    return "";
  };
  const std::map<std::string, double> m = {{"eval.2m.max_score60", 0.1}};
  ASSERT_TRUE(store_->RecordEvaluation(job.id, 20, m, {{"arena_2m/ratemaps.png", "image/png", "at 20"}}).ok());
  EXPECT_EQ(picture("arena_2m/ratemaps.png"), "at 20");
  ASSERT_TRUE(store_->RecordEvaluation(job.id, 40, m, {{"arena_2m/ratemaps.png", "image/png", "at 40"}}).ok());
  ASSERT_TRUE(store_->RecordEvaluation(job.id, 20, m, {{"arena_2m/ratemaps.png", "image/png", "at 20"}}).ok());
  EXPECT_EQ(picture("arena_2m/ratemaps.png"), "at 40") << "an earlier step delivered again";
  TrialResult done = Attempt(job, 1, 1.0);
  done.ok = true;
  done.artifacts = {{"arena_2m/ratemaps.png", "image/png", "final"}};
  ASSERT_TRUE(store_->RecordResult(done).value());
  ASSERT_TRUE(store_->RecordEvaluation(job.id, 60, m, {{"arena_2m/ratemaps.png", "image/png", "at 60"},
                                                       {"arena_2m/periods.png", "image/png", "at 60"}}).ok());
  EXPECT_EQ(picture("arena_2m/ratemaps.png"), "final") << "a late probe after the final evaluation";
  EXPECT_EQ(store_->Artifacts(job.id)->size(), 1u);
  ASSERT_TRUE(store_->RecordEvaluation(job.id + 1000, 60, m, {{"x.png", "image/png", "no such trial"}}).ok());
}

TEST_F(AdaptiveStoreTest, SearchTrialsAreMadePerSuggestionAndToldOnce) {
  const int64_t sweep = Submit(R"({"name": "b", "objective": {"metric": "value", "direction": "min"},
      "search": {"method": "tpe", "trials": 3, "external": true, "params": {"x": {"uniform": [-5, 10]}}}})");
  EXPECT_EQ(store_->GetSweep(sweep)->total, 3);  // planned, none made yet
  EXPECT_FALSE(store_->GetSweep(sweep)->done());
  auto spec = ParseSweepSpec(store_->GetSweep(sweep)->spec.dump());
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  auto made = SearchTrials(spec.value(), 0, {{"x", 1.5}});
  ASSERT_TRUE(made.ok()) << made.status().message();
  auto ids = store_->AddSearchTrials(sweep, made.value(), /*ask=*/true, 300).value();
  ASSERT_EQ(ids.size(), 1u);
  TrialRow t = store_->GetTrial(ids[0]).value();
  EXPECT_EQ(t.status, "running");
  EXPECT_EQ(t.overrides["x"], 1.5);

  EXPECT_EQ(store_->Tell(sweep + 1, ids[0], "value", 0.25, false, 301).code(), Status::Code::kNotFound);
  ASSERT_TRUE(store_->Tell(sweep, ids[0], "value", 0.25, false, 301).ok());
  EXPECT_EQ(store_->Tell(sweep, ids[0], "value", 0.5, false, 302).code(), Status::Code::kFailedPrecondition);
  EXPECT_DOUBLE_EQ(store_->Metrics(ids[0])->at("value"), 0.25);
  EXPECT_DOUBLE_EQ(store_->Scheduled(sweep, "value")->at(0).objective, 0.25);

  EXPECT_FALSE(store_->GetSweep(sweep)->done());  // 2 suggestions not made yet
  ASSERT_TRUE(store_->Settle(sweep, 303).ok());
  EXPECT_TRUE(store_->GetSweep(sweep)->done());
  EXPECT_TRUE(store_->UnsettledSweeps()->empty());
}

}  // namespace
}  // namespace sic

namespace sic {
namespace {

TEST_F(AdaptiveStoreTest, StoppedAndCanceledPausedTrialsAreDiscardedOnce) {
  const int64_t sweep = Submit(kAsha);
  auto trials = store_->ListTrials(sweep, 0, 10).value();
  for (int k = 0; k < 2; ++k) {
    ASSERT_TRUE(store_->Release(trials[k].id, 100).value());
    TrialRow job = Enqueue(trials[k].id);
    ASSERT_TRUE(store_->RecordPause(Attempt(job, 1, 2.0 + k), 100, 0, 2.0 + k).value());
  }
  ASSERT_TRUE(store_->StopPaused(trials[0].id, 300).value());
  ASSERT_TRUE(store_->CancelSweep(sweep, 301).ok());  // trial 1 is paused: canceled, discarded
  auto discards = store_->Discards(10).value();
  ASSERT_EQ(discards.size(), 2u);
  EXPECT_EQ(discards[0].first.id, trials[0].id);
  EXPECT_EQ(discards[0].second, 1);  // the round of the directory
  ASSERT_TRUE(store_->DropDiscards({trials[0].id, trials[1].id}).ok());
  EXPECT_TRUE(store_->Discards(10)->empty());
}

}  // namespace
}  // namespace sic

namespace sic {
namespace {

// Preemption (schema 10): a sweep's "preempt" reaches the dispatcher's
// counts and the running trials carry their sweep's priority; a Preempted
// event of the current job puts the trial back to pending once, keeps its
// curve and steps, and the next job resumes it under a new ticket.
TEST_F(AdaptiveStoreTest, APreemptedTrialGoesBackToPendingOnceAndIsFedAgain) {
  const int64_t low = Submit(R"({"name": "low", "seeds": 2})");
  const int64_t high = Submit(R"({"name": "high", "priority": 5, "preempt": true})");
  auto trials = store_->ListTrials(low, 0, 10).value();
  const int64_t id = trials[0].id;
  TrialRow job = Enqueue(id);
  ASSERT_TRUE(store_->RecordStart(Attempt(job, 1, 2.0), 201).ok());

  auto counts = store_->DispatchCounts(10).value();
  bool seen_high = false;
  for (const DispatchSweep& d : counts) {
    EXPECT_EQ(d.preempt, d.sweep_id == high) << d.sweep_id;
    seen_high = seen_high || d.sweep_id == high;
  }
  EXPECT_TRUE(seen_high);
  auto running = store_->RunningTrials().value();
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0].trial_id, id);
  EXPECT_EQ(running[0].ticket, job.ticket);
  EXPECT_EQ(running[0].priority, 0);
  EXPECT_DOUBLE_EQ(running[0].started_at, 201);

  // A stale ticket (an older job) moves nothing.
  TrialResult stale = Attempt(job, 1, 2.0);
  stale.ticket = job.ticket + 1000;
  EXPECT_FALSE(store_->RecordPreempted(stale, 100).value());
  EXPECT_EQ(store_->GetTrial(id)->status, "running");

  EXPECT_TRUE(store_->RecordPreempted(Attempt(job, 1, 2.0), 100).value());
  EXPECT_FALSE(store_->RecordPreempted(Attempt(job, 1, 2.0), 100).value());  // redelivered event
  TrialRow back = store_->GetTrial(id).value();
  EXPECT_EQ(back.status, "pending");
  EXPECT_EQ(back.steps_done, 100);
  EXPECT_EQ(back.worker, "");
  EXPECT_EQ(store_->Curve(id)->size(), 2u);
  EXPECT_TRUE(store_->RunningTrials()->empty());

  // Fed again: a new ticket, and a late Preempted of the old job changes nothing.
  TrialRow again = Enqueue(id);
  EXPECT_GT(again.ticket, job.ticket);
  EXPECT_FALSE(store_->RecordPreempted(Attempt(job, 2, 2.0), 100).value());
  EXPECT_EQ(store_->GetTrial(id)->status, "queued");
  // It finishes normally; its attempts say what happened.
  TrialResult done = Attempt(again, 1, 1.0);
  done.ok = true;
  EXPECT_TRUE(store_->RecordResult(done).value());
  EXPECT_EQ(store_->GetTrial(id)->status, "succeeded");

  // The flag can be changed with the priority, and left alone.
  ASSERT_TRUE(store_->SetPriority(high, 6, false).ok());
  EXPECT_FALSE(store_->GetSweep(high)->preempt);
  ASSERT_TRUE(store_->SetPriority(high, 7, true).ok());
  ASSERT_TRUE(store_->SetPriority(high, 8).ok());
  EXPECT_TRUE(store_->GetSweep(high)->preempt);
  EXPECT_EQ(store_->GetSweep(high)->priority, 8);
}

// A queued job given back before it started (it stood ahead of a preempting
// sweep's trials): QueuedTrials lists it, and its Preempted event puts the
// trial back to pending without touching steps_done.
TEST_F(AdaptiveStoreTest, AQueuedTrialGivenBackBeforeItStartsGoesBackToPending) {
  const int64_t low = Submit(R"({"name": "low", "seeds": 2, "priority": 3})");
  auto trials = store_->ListTrials(low, 0, 10).value();
  const int64_t id = trials[0].id;
  TrialRow job = Enqueue(id);
  auto queued = store_->QueuedTrials().value();
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].trial_id, id);
  EXPECT_EQ(queued[0].ticket, job.ticket);
  EXPECT_EQ(queued[0].sweep_id, low);
  EXPECT_EQ(queued[0].priority, 3);
  EXPECT_TRUE(queued[0].queued);
  EXPECT_TRUE(store_->RunningTrials()->empty()) << "a queued trial is no running one";

  TrialResult given_back = Attempt(job, 1, 0.0);
  given_back.curve.clear();  // as the worker sends it: nothing trained
  EXPECT_TRUE(store_->RecordPreempted(given_back, 0).value());
  TrialRow back = store_->GetTrial(id).value();
  EXPECT_EQ(back.status, "pending");
  EXPECT_EQ(back.steps_done, 0);
  EXPECT_TRUE(store_->QueuedTrials()->empty());
}

// A user's quota (schema 10) reaches the dispatcher's counts of each of
// their sweeps; removing it brings the default back.
TEST_F(AdaptiveStoreTest, AUsersQuotaIsStoredListedAndReadWithTheCounts) {
  auto spec = ParseSweepSpec(R"({"seeds": 2})");
  ASSERT_TRUE(spec.ok());
  const int64_t a = store_->CreateSweep(spec.value(), 100.0, "ann").value();
  const int64_t b = store_->CreateSweep(spec.value(), 100.0, "bob").value();
  ASSERT_TRUE(store_->SetQuota("ann", 3, "root", 200).ok());
  ASSERT_TRUE(store_->SetQuota("ann", 4, "root", 201).ok());  // replaced
  ASSERT_TRUE(store_->SetQuota("cat", 0, "root", 202).ok());
  EXPECT_EQ(store_->SetQuota("bob", -1, "root", 203).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->SetQuota("bob", Store::kMaxQuota + 1, "root", 203).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->SetQuota("bob", std::nullopt, "root", 203).code(), Status::Code::kNotFound);
  auto quotas = store_->Quotas().value();
  ASSERT_EQ(quotas.size(), 2u);
  EXPECT_EQ(quotas[0].user, "ann");
  EXPECT_EQ(quotas[0].max_running, 4);
  EXPECT_EQ(quotas[0].set_by, "root");
  EXPECT_DOUBLE_EQ(quotas[0].set_at, 201);
  EXPECT_EQ(quotas[1].user, "cat");
  auto caps = [&] {
    std::map<int64_t, int64_t> out;
    const std::vector<DispatchSweep> counts = store_->DispatchCounts(10).value();
    for (const DispatchSweep& d : counts) out[d.sweep_id] = d.user_cap;
    return out;
  };
  EXPECT_EQ(caps(), (std::map<int64_t, int64_t>{{a, 4}, {b, -1}}));
  // In flight too (the first query of DispatchCounts).
  Enqueue(store_->ListTrials(a, 0, 10)->at(0).id);
  EXPECT_EQ(caps()[a], 4);
  ASSERT_TRUE(store_->SetQuota("ann", std::nullopt, "root", 204).ok());
  EXPECT_EQ(caps()[a], -1);
  EXPECT_EQ(store_->Quotas()->size(), 1u);
}

}  // namespace
}  // namespace sic
