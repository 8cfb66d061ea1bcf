// The early-stopping scheduler's decisions (coordinator/scheduler.h): rung
// arithmetic, ASHA's promotion order, ties, guards, NaN, restarts, the median
// rule, the end of a sweep, and a whole simulated 27-configuration sweep.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "coordinator/scheduler.h"

namespace sic {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

std::vector<int64_t> Rungs(int64_t min, int64_t max, int64_t eta, int64_t grace) {
  auto r = RungSteps(min, max, eta, grace);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r.value() : std::vector<int64_t>{};
}

ScheduleSpec Asha(std::vector<int64_t> rungs, bool maximize = false, int64_t min_trials = 3) {
  ScheduleSpec s;
  s.method = ScheduleSpec::kAsha;
  s.rungs = std::move(rungs);
  s.min_steps = s.rungs.front();
  s.max_steps = s.rungs.back();
  s.reduction_factor = 3;
  s.min_trials = min_trials;
  s.maximize = maximize;
  return s;
}

ScheduleSpec Median(std::vector<int64_t> rungs, bool maximize = false, int64_t grace = 0) {
  ScheduleSpec s = Asha(std::move(rungs), maximize);
  s.method = ScheduleSpec::kMedian;
  s.grace_steps = grace;
  return s;
}

SchedTrial T(int64_t id, SchedTrial::State state, std::vector<double> values, bool promoted = false) {
  SchedTrial t;
  t.id = id;
  t.order = id;
  t.state = state;
  t.rung_values = std::move(values);
  t.promoted = promoted;
  return t;
}

Decision Next(const ScheduleSpec& s, const std::vector<SchedTrial>& trials, bool can_start_new) {
  auto d = NextAsha(s, trials, can_start_new);
  EXPECT_TRUE(d.ok()) << d.status().message();
  return d.ok() ? d.value() : Decision{};
}

RungVerdict Verdict(const ScheduleSpec& s, const std::vector<SchedTrial>& trials, int64_t id, int rung) {
  auto v = OnRung(s, trials, id, rung);
  EXPECT_TRUE(v.ok()) << v.status().message();
  return v.ok() ? v.value() : RungVerdict::kContinue;
}

// --- rung arithmetic -------------------------------------------------------

TEST(RungSteps, PowersOfEtaThenMax) {
  EXPECT_EQ(Rungs(1, 27, 3, 0), (std::vector<int64_t>{1, 3, 9, 27}));
  EXPECT_EQ(Rungs(90, 2430, 3, 0), (std::vector<int64_t>{90, 270, 810, 2430}));
  EXPECT_EQ(Rungs(1000, 16000, 2, 0), (std::vector<int64_t>{1000, 2000, 4000, 8000, 16000}));
  EXPECT_EQ(Rungs(5, 5, 3, 0), (std::vector<int64_t>{5}));
}

TEST(RungSteps, MaxNotAMultipleEndsWithMax) {
  EXPECT_EQ(Rungs(10, 100, 3, 0), (std::vector<int64_t>{10, 30, 90, 100}));
  EXPECT_EQ(Rungs(10, 29, 3, 0), (std::vector<int64_t>{10, 29}));
  EXPECT_EQ(Rungs(10, 31, 3, 0), (std::vector<int64_t>{10, 30, 31}));
}

TEST(RungSteps, GraceSkipsEarlierRungsAndKeepsOneAtGrace) {
  EXPECT_EQ(Rungs(10, 100, 3, 30), (std::vector<int64_t>{30, 90, 100}));
  EXPECT_EQ(Rungs(10, 100, 3, 31), (std::vector<int64_t>{90, 100}));
  EXPECT_EQ(Rungs(10, 100, 3, 100), (std::vector<int64_t>{100}));
  EXPECT_EQ(Rungs(10, 100, 3, 1000000), (std::vector<int64_t>{100}));
}

TEST(RungSteps, NoOverflowNearInt64Max) {
  const std::vector<int64_t> r = Rungs(1, kMax, 2, 0);
  ASSERT_EQ(r.size(), 64u);  // 2^0 .. 2^62, then max
  EXPECT_EQ(r[62], int64_t{1} << 62);
  EXPECT_EQ(r.back(), kMax);
  EXPECT_LE(r.size(), kMaxRungs);
  EXPECT_EQ(Rungs(kMax / 2 + 1, kMax, 3, 0), (std::vector<int64_t>{kMax / 2 + 1, kMax}));
  EXPECT_EQ(Rungs(kMax / 3, kMax, 3, 0), (std::vector<int64_t>{kMax / 3, kMax / 3 * 3, kMax}));
  EXPECT_EQ(Rungs(3, kMax, kMax, 0), (std::vector<int64_t>{3, kMax}));
}

TEST(RungSteps, BadArgumentsNameTheKey) {
  struct Case { int64_t min, max, eta, grace; const char* key; };
  for (const Case& c : {Case{0, 10, 3, 0, "min_steps"}, Case{-5, 10, 3, 0, "min_steps"},
                        Case{20, 10, 3, 0, "max_steps"}, Case{1, 10, 1, 0, "reduction_factor"},
                        Case{1, 10, 0, 0, "reduction_factor"}, Case{1, 10, -3, 0, "reduction_factor"},
                        Case{1, 10, 3, -1, "grace_steps"}}) {
    auto r = RungSteps(c.min, c.max, c.eta, c.grace);
    ASSERT_FALSE(r.ok()) << c.key;
    EXPECT_TRUE(r.status().IsInvalidArgument());
    EXPECT_NE(r.status().message().find(std::string("schedule.") + c.key), std::string::npos)
        << r.status().message();
  }
}

TEST(RungSteps, RungAtAndNextRungStep) {
  const std::vector<int64_t> r{90, 270, 810, 2430};
  EXPECT_EQ(RungAt(r, 90), 0);
  EXPECT_EQ(RungAt(r, 2430), 3);
  EXPECT_EQ(RungAt(r, 100), -1);
  EXPECT_EQ(RungAt(r, 0), -1);
  EXPECT_EQ(NextRungStep(r, 0), 90);
  EXPECT_EQ(NextRungStep(r, 90), 270);
  EXPECT_EQ(NextRungStep(r, 100), 270);
  EXPECT_EQ(NextRungStep(r, 2430), -1);
}

// --- ASHA promotion ---------------------------------------------------------

// Nine trials paused at rung 0 (values 1..9, minimised) and three of them
// promoted on and paused at rung 1.
std::vector<SchedTrial> TwoRungs() {
  std::vector<SchedTrial> t;
  for (int i = 1; i <= 9; ++i) t.push_back(T(i, SchedTrial::kPaused, {double(i)}));
  // 1, 2, 3 were promoted from rung 0 and reported rung 1 (3 is the best there).
  t[0] = T(1, SchedTrial::kPaused, {1, 30});
  t[1] = T(2, SchedTrial::kPaused, {2, 20});
  t[2] = T(3, SchedTrial::kPaused, {3, 10});
  return t;
}

TEST(Asha, PromotesFromTheHighestRungFirst) {
  const ScheduleSpec s = Asha({1, 3, 9, 27});
  std::vector<SchedTrial> t = TwoRungs();
  // Three more values at rung 0 make its top 4: trial 4 is due there too.
  for (int i = 10; i <= 12; ++i) t.push_back(T(i, SchedTrial::kPaused, {double(i)}));
  const Decision d = Next(s, t, true);
  EXPECT_EQ(d.kind, Decision::kPromote);
  EXPECT_EQ(d.trial_id, 3);  // best of rung 1 (n 3, top 1), before rung 0's candidates
  EXPECT_EQ(d.rung, 1);
  EXPECT_FALSE(d.end_of_sweep);
}

TEST(Asha, NextRungDownWhenTheHigherTopIsTaken) {
  const ScheduleSpec s = Asha({1, 3, 9, 27});
  std::vector<SchedTrial> t = TwoRungs();
  t[2].state = SchedTrial::kActive;  // 3 was promoted from rung 1 and runs
  t[2].promoted = true;
  // Rung 1's top 1 is taken; rung 0 (n 9, top 3 = 1, 2, 3) has all been promoted: none due.
  EXPECT_EQ(Next(s, t, true).kind, Decision::kStartNew);
  EXPECT_EQ(Next(s, t, false).kind, Decision::kNone);
  // A tenth, eleventh and twelfth value at rung 0 make the top 4: trial 4 is due.
  for (int i = 10; i <= 12; ++i) t.push_back(T(i, SchedTrial::kPaused, {double(i)}));
  const Decision d = Next(s, t, true);
  EXPECT_EQ(d.kind, Decision::kPromote);
  EXPECT_EQ(d.trial_id, 4);
  EXPECT_EQ(d.rung, 0);
}

TEST(Asha, OnlyTheTopThirdOfARungIsPromoted) {
  const ScheduleSpec s = Asha({1, 3, 9, 27});
  std::vector<SchedTrial> t;
  for (int i = 1; i <= 8; ++i) t.push_back(T(i, SchedTrial::kPaused, {double(i)}));
  // n 8, top floor(8/3) = 2: trials 1 and 2, and no other.
  std::vector<int64_t> promoted;
  for (int round = 0; round < 10; ++round) {
    const Decision d = Next(s, t, false);
    if (d.kind != Decision::kPromote || d.end_of_sweep) break;
    promoted.push_back(d.trial_id);
    for (SchedTrial& x : t) {
      if (x.id == d.trial_id) x.promoted = true;
    }
  }
  EXPECT_EQ(promoted, (std::vector<int64_t>{1, 2}));
}

TEST(Asha, DirectionComesFromTheSpec) {
  std::vector<SchedTrial> t;
  for (int i = 1; i <= 3; ++i) t.push_back(T(i, SchedTrial::kPaused, {double(i)}));
  EXPECT_EQ(Next(Asha({1, 3}, /*maximize=*/false), t, true).trial_id, 1);
  EXPECT_EQ(Next(Asha({1, 3}, /*maximize=*/true), t, true).trial_id, 3);
}

TEST(Asha, TiesGoToTheOlderTrialThenTheSmallerId) {
  const ScheduleSpec s = Asha({1, 3});
  std::vector<SchedTrial> t{T(5, SchedTrial::kPaused, {1.0}), T(6, SchedTrial::kPaused, {1.0}),
                            T(7, SchedTrial::kPaused, {1.0})};
  t[0].order = 3;
  t[1].order = 1;  // the oldest
  t[2].order = 2;
  EXPECT_EQ(Next(s, t, true).trial_id, 6);
  t[1].order = 3;  // now 7 is the oldest
  EXPECT_EQ(Next(s, t, true).trial_id, 7);
  t[2].order = 3;  // all equally old: the smallest id
  EXPECT_EQ(Next(s, t, true).trial_id, 5);
  t[0].rung_values[0] = 0.5;  // a better value beats age and id
  t[0].id = 9;
  EXPECT_EQ(Next(s, t, true).trial_id, 9);
  t[0].id = 5;
  t[0].rung_values[0] = 1.0;
  // Whatever the snapshot's row order.
  std::reverse(t.begin(), t.end());
  EXPECT_EQ(Next(s, t, true).trial_id, 5);
}

TEST(Asha, MinTrialsGuardHoldsPromotionBack) {
  std::vector<SchedTrial> t{T(1, SchedTrial::kPaused, {1.0}), T(2, SchedTrial::kPaused, {2.0})};
  ScheduleSpec s = Asha({1, 3}, false, /*min_trials=*/3);
  s.reduction_factor = 2;  // floor(2/2) = 1 would promote trial 1, but only 2 values are in
  EXPECT_EQ(Next(s, t, true).kind, Decision::kStartNew);
  t.push_back(T(3, SchedTrial::kActive, {}));  // still running: not a value
  EXPECT_EQ(Next(s, t, true).kind, Decision::kStartNew);
  t.back() = T(3, SchedTrial::kPaused, {3.0});
  EXPECT_EQ(Next(s, t, true).trial_id, 1);
  s.min_trials = 4;
  EXPECT_EQ(Next(s, t, true).kind, Decision::kStartNew);
  s.min_trials = 0;  // no guard: floor(n/eta) alone decides
  t.pop_back();
  EXPECT_EQ(Next(s, t, true).trial_id, 1);
}

TEST(Asha, ValuesOfTrialsNoLongerPausedStillCountInTheRung) {
  // A trial that went on, finished, failed or stopped reached the rung: its value
  // is part of n_k and of the ranking, but only a paused trial is promoted.
  const ScheduleSpec s = Asha({1, 3});
  std::vector<SchedTrial> t{T(1, SchedTrial::kFailed, {1.0}), T(2, SchedTrial::kSucceeded, {2.0, 2.0}, true),
                            T(3, SchedTrial::kPaused, {3.0}), T(4, SchedTrial::kPaused, {4.0}),
                            T(5, SchedTrial::kPaused, {5.0}), T(6, SchedTrial::kPaused, {6.0})};
  // n 6, top 2 = trials 1 and 2, neither promotable: trial 3 waits.
  EXPECT_EQ(Next(s, t, true).kind, Decision::kStartNew);
  t.push_back(T(7, SchedTrial::kPaused, {7.0}));
  t.push_back(T(8, SchedTrial::kPaused, {8.0}));
  t.push_back(T(9, SchedTrial::kPaused, {9.0}));  // n 9, top 3
  EXPECT_EQ(Next(s, t, true).trial_id, 3);
}

TEST(Asha, NaNIsNeverPromotedAndNotCounted) {
  const ScheduleSpec s = Asha({1, 3});
  std::vector<SchedTrial> t;
  for (int i = 1; i <= 5; ++i) t.push_back(T(i, SchedTrial::kPaused, {double(i)}));
  t.push_back(T(6, SchedTrial::kPaused, {kNaN}));
  t[0].promoted = true;
  // n is 5 (not 6): top 1 = trial 1, already promoted; trial 2 is not due.
  EXPECT_EQ(Next(s, t, true).kind, Decision::kStartNew);
  // A NaN is worst in either direction, and infinities are no better.
  for (bool maximize : {false, true}) {
    std::vector<SchedTrial> u{T(1, SchedTrial::kPaused, {kNaN}), T(2, SchedTrial::kPaused, {kNaN}),
                              T(3, SchedTrial::kPaused, {maximize ? 1.0 : 9.0}),
                              T(4, SchedTrial::kPaused, {std::numeric_limits<double>::infinity()}),
                              T(5, SchedTrial::kPaused, {2.0}), T(6, SchedTrial::kPaused, {5.0})};
    const Decision d = Next(Asha({1, 3}, maximize), u, true);  // n 3 (3, 5, 6), top 1
    EXPECT_EQ(d.trial_id, maximize ? 6 : 5);
  }
  // A rung of NaNs promotes nobody, not even at the end of the sweep.
  std::vector<SchedTrial> all_nan{T(1, SchedTrial::kPaused, {kNaN}), T(2, SchedTrial::kPaused, {kNaN}),
                                  T(3, SchedTrial::kPaused, {kNaN})};
  EXPECT_EQ(Next(s, all_nan, false).kind, Decision::kNone);
  EXPECT_TRUE(ScheduleDone(s, all_nan, false));
}

TEST(Asha, OnRungPausesFinishesAndStopsNaN) {
  const ScheduleSpec s = Asha({1, 3, 9});
  const std::vector<SchedTrial> t{T(1, SchedTrial::kActive, {1.0}), T(2, SchedTrial::kActive, {1.0, 2.0, 3.0}),
                                  T(3, SchedTrial::kActive, {kNaN}), T(4, SchedTrial::kActive, {1.0, 2.0, kNaN})};
  EXPECT_EQ(Verdict(s, t, 1, 0), RungVerdict::kPause);
  EXPECT_EQ(Verdict(s, t, 2, 1), RungVerdict::kPause);
  EXPECT_EQ(Verdict(s, t, 2, 2), RungVerdict::kFinish);
  EXPECT_EQ(Verdict(s, t, 3, 0), RungVerdict::kStop);
  EXPECT_EQ(Verdict(s, t, 4, 2), RungVerdict::kFinish);  // reached max_steps: finished, NaN or not
}

TEST(Asha, RestartInTheMiddleOfARungGivesTheSameDecision) {
  const ScheduleSpec s = Asha({1, 3, 9, 27});
  const std::vector<SchedTrial> snapshot = TwoRungs();
  const Decision first = Next(s, snapshot, true);
  // The coordinator dies before it records the promotion and, restarted, asks
  // again with the snapshot it reads back (rows in any order).
  std::vector<SchedTrial> again = snapshot;
  std::reverse(again.begin(), again.end());
  std::rotate(again.begin(), again.begin() + 4, again.end());
  const Decision second = Next(s, again, true);
  EXPECT_EQ(second.kind, first.kind);
  EXPECT_EQ(second.trial_id, first.trial_id);
  EXPECT_EQ(second.rung, first.rung);
}

TEST(Asha, APromotionRecordedIsNeverRepeated) {
  const ScheduleSpec s = Asha({1, 3, 9, 27});
  std::vector<SchedTrial> t = TwoRungs();
  const Decision d = Next(s, t, true);
  ASSERT_EQ(d.trial_id, 3);
  // Recorded, but the trial is still seen as paused (the coordinator died
  // between marking it promoted and queuing it): not promoted twice.
  t[2].promoted = true;
  Decision after = Next(s, t, true);
  EXPECT_NE(after.trial_id, 3);
  // Also once it runs, and from an earlier rung it already left.
  t[2].state = SchedTrial::kActive;
  after = Next(s, t, true);
  EXPECT_NE(after.trial_id, 3);
  EXPECT_EQ(after.kind, Decision::kStartNew);  // rung 0's top 3 (1, 2, 3) all went on
  // When it reports rung 2 and pauses there, the flag is about rung 2.
  t[2] = T(3, SchedTrial::kPaused, {3, 10, 7});
  EXPECT_EQ(Next(s, t, true).kind, Decision::kStartNew);  // n 1 at rung 2 < min_trials
}

TEST(Asha, EndOfSweepTrainsTheBestHighestTrialToMaxSteps) {
  const ScheduleSpec s = Asha({1, 3, 9, 27});
  // 26 configurations would leave 2 at rung 2 (floor(2/3) = 0): nothing is due.
  std::vector<SchedTrial> t{T(1, SchedTrial::kPaused, {1, 1, 5}, false), T(2, SchedTrial::kPaused, {2, 2, 4}),
                            T(3, SchedTrial::kStopped, {3, 3}), T(4, SchedTrial::kPaused, {4})};
  t[1].promoted = false;
  EXPECT_EQ(Next(s, t, true).kind, Decision::kStartNew);  // configurations left: no end yet
  t.push_back(T(5, SchedTrial::kActive, {}));
  EXPECT_EQ(Next(s, t, false).kind, Decision::kNone);  // a trial still runs
  EXPECT_FALSE(ScheduleDone(s, t, false));
  t.back().state = SchedTrial::kFailed;
  const Decision d = Next(s, t, false);
  EXPECT_EQ(d.kind, Decision::kPromote);
  EXPECT_EQ(d.trial_id, 2);
  EXPECT_EQ(d.rung, 2);
  EXPECT_TRUE(d.end_of_sweep);
  EXPECT_FALSE(ScheduleDone(s, t, false));
  // Once a trial has reached max_steps, the paused ones are stopped.
  t[1] = T(2, SchedTrial::kSucceeded, {2, 2, 4, 4});
  EXPECT_EQ(Next(s, t, false).kind, Decision::kNone);
  EXPECT_TRUE(ScheduleDone(s, t, false));
}

TEST(Asha, MalformedScheduleIsRefusedNotDividedByZero) {
  std::vector<SchedTrial> t{T(1, SchedTrial::kPaused, {1.0})};
  ScheduleSpec s = Asha({1, 3});
  s.reduction_factor = 0;
  EXPECT_TRUE(NextAsha(s, t, true).status().IsInvalidArgument());
  EXPECT_FALSE(ScheduleDone(s, t, false));
  s = Asha({3, 1});
  EXPECT_TRUE(NextAsha(s, t, true).status().IsInvalidArgument());
  s.rungs.clear();
  EXPECT_TRUE(OnRung(s, t, 1, 0).status().IsInvalidArgument());
  s = Asha({1, 3});
  s.min_trials = -1;
  EXPECT_TRUE(NextAsha(s, t, true).status().IsInvalidArgument());
  s = Asha({1, 3});
  EXPECT_TRUE(OnRung(s, t, 99, 0).status().IsNotFound());
  EXPECT_TRUE(OnRung(s, t, 1, 1).status().IsInvalidArgument());   // not reported yet
  EXPECT_TRUE(OnRung(s, t, 1, -1).status().IsInvalidArgument());
  EXPECT_TRUE(OnRung(s, t, 1, 64).status().IsInvalidArgument());
}

// --- median rule ------------------------------------------------------------

TEST(MedianRule, StopsWhatIsWorseThanTheOthersMedian) {
  const ScheduleSpec s = Median({10, 20, 40});
  std::vector<SchedTrial> t{T(1, SchedTrial::kActive, {1.0}), T(2, SchedTrial::kActive, {2.0}),
                            T(3, SchedTrial::kActive, {3.0}), T(4, SchedTrial::kActive, {2.5}),
                            T(5, SchedTrial::kActive, {2.0})};
  EXPECT_EQ(Verdict(s, t, 4, 0), RungVerdict::kStop);      // others 1, 2, 2, 3: median 2
  EXPECT_EQ(Verdict(s, t, 1, 0), RungVerdict::kContinue);  // others 2, 2, 2.5, 3: median 2.25
  EXPECT_EQ(Verdict(s, t, 5, 0), RungVerdict::kContinue);  // others 1, 2, 2.5, 3: median 2.25
  t[4].rung_values[0] = 2.25;
  EXPECT_EQ(Verdict(s, t, 5, 0), RungVerdict::kContinue);  // equal to the median: continues
  t[4].rung_values[0] = 2.0;
  EXPECT_EQ(Verdict(Median({10, 20, 40}, /*maximize=*/true), t, 1, 0), RungVerdict::kStop);
  EXPECT_EQ(Verdict(Median({10, 20, 40}, /*maximize=*/true), t, 4, 0), RungVerdict::kContinue);
}

TEST(MedianRule, NeedsMinTrialsFiniteOthersAndNaNStaysOut) {
  const ScheduleSpec s = Median({10, 20});
  std::vector<SchedTrial> t{T(1, SchedTrial::kActive, {1.0}), T(2, SchedTrial::kActive, {2.0}),
                            T(3, SchedTrial::kActive, {kNaN}), T(4, SchedTrial::kActive, {9.0})};
  EXPECT_EQ(Verdict(s, t, 4, 0), RungVerdict::kContinue);  // 2 finite others < min_trials 3
  EXPECT_EQ(Verdict(s, t, 3, 0), RungVerdict::kStop);      // 3 finite others: NaN is worst
  t.push_back(T(5, SchedTrial::kActive, {kNaN}));
  EXPECT_EQ(Verdict(s, t, 4, 0), RungVerdict::kContinue);  // a second NaN is not a value either
  t.push_back(T(6, SchedTrial::kSucceeded, {0.5, 0.5}));
  // Others 1, 2, 0.5: median 1; the NaNs would have pushed it to 2.
  EXPECT_EQ(Verdict(s, t, 4, 0), RungVerdict::kStop);
  t[3].rung_values[0] = 1.5;
  EXPECT_EQ(Verdict(s, t, 4, 0), RungVerdict::kStop);
  t[3].rung_values[0] = 1.0;
  EXPECT_EQ(Verdict(s, t, 4, 0), RungVerdict::kContinue);
}

TEST(MedianRule, NothingIsCutBeforeGraceAndTheLastRungFinishes) {
  std::vector<SchedTrial> t;
  for (int i = 1; i <= 5; ++i) t.push_back(T(i, SchedTrial::kActive, {double(i), double(i), double(i)}));
  const ScheduleSpec s = Median({10, 20, 40}, false, /*grace=*/20);  // a hand-made spec with rung 10 < grace
  EXPECT_EQ(Verdict(s, t, 5, 0), RungVerdict::kContinue);
  EXPECT_EQ(Verdict(s, t, 5, 1), RungVerdict::kStop);
  EXPECT_EQ(Verdict(s, t, 5, 2), RungVerdict::kFinish);
  // Through RungSteps the early rung is not there at all.
  EXPECT_EQ(Rungs(10, 40, 2, 20), (std::vector<int64_t>{20, 40}));
}

TEST(MedianRule, NeverPromotesAndIsDoneWhenNothingRuns) {
  const ScheduleSpec s = Median({10, 20});
  std::vector<SchedTrial> t{T(1, SchedTrial::kStopped, {5.0}), T(2, SchedTrial::kSucceeded, {1.0, 1.0}),
                            T(3, SchedTrial::kPaused, {1.0})};
  EXPECT_EQ(Next(s, t, true).kind, Decision::kStartNew);
  EXPECT_EQ(Next(s, t, false).kind, Decision::kNone);
  EXPECT_TRUE(ScheduleDone(s, t, false));
  EXPECT_FALSE(ScheduleDone(s, t, true));
  t.push_back(T(4, SchedTrial::kWaiting, {}));
  EXPECT_FALSE(ScheduleDone(s, t, false));
}

TEST(NoSchedule, ContinuesAndStartsNew) {
  ScheduleSpec s;  // kNone
  const std::vector<SchedTrial> t{T(1, SchedTrial::kActive, {1.0})};
  EXPECT_EQ(Verdict(s, t, 1, 0), RungVerdict::kContinue);
  EXPECT_EQ(Next(s, t, true).kind, Decision::kStartNew);
  EXPECT_FALSE(ScheduleDone(s, t, false));
}

// --- a whole sweep ----------------------------------------------------------

// Simulates an ASHA sweep of `qualities.size()` configurations on `workers`
// workers, one step per time unit. A configuration's rung value is its quality
// (minimised) plus a deterministic wobble that shrinks with the rung, so that
// early rungs rank it imperfectly. Returns each trial's deepest rung.
struct SimResult {
  std::vector<int> deepest;  // per configuration, -1 = never started
  int64_t steps = 0;
  int promotions = 0;
};

SimResult Simulate(const ScheduleSpec& s, const std::vector<double>& qualities, int workers) {
  const size_t n = qualities.size();
  std::vector<SchedTrial> trials(n);
  for (size_t i = 0; i < n; ++i) {
    trials[i].id = static_cast<int64_t>(i) + 100;
    trials[i].order = static_cast<int64_t>(i);
  }
  auto value = [&](size_t i, size_t rung) {
    const double wobble = std::sin(static_cast<double>(i * 7 + rung * 3)) / static_cast<double>(2 << rung);
    return qualities[i] + wobble;
  };
  std::multimap<int64_t, size_t> running;  // finish time -> trial index
  int64_t now = 0;
  SimResult r;
  size_t next_new = 0;
  int free = workers;
  bool ended = false;
  for (int round = 0; round < 1000 && !ended; ++round) {
    while (free > 0) {
      const Decision d = Next(s, trials, next_new < n);
      if (d.kind == Decision::kNone) break;
      size_t i;
      int64_t from;
      if (d.kind == Decision::kStartNew) {
        i = next_new++;
        from = 0;
      } else {
        i = static_cast<size_t>(d.trial_id - 100);
        trials[i].promoted = true;
        from = s.rungs[static_cast<size_t>(d.rung)];
        ++r.promotions;
      }
      trials[i].state = SchedTrial::kActive;
      const int64_t to = NextRungStep(s.rungs, from);
      running.emplace(now + to - from, i);
      r.steps += to - from;
      --free;
    }
    if (running.empty()) {
      ended = true;
      break;
    }
    const auto [t, i] = *running.begin();
    running.erase(running.begin());
    now = t;
    ++free;
    SchedTrial& x = trials[i];
    x.rung_values.push_back(value(i, x.rung_values.size()));
    x.promoted = false;
    const RungVerdict v = Verdict(s, trials, x.id, static_cast<int>(x.rung_values.size()) - 1);
    x.state = v == RungVerdict::kFinish ? SchedTrial::kSucceeded
              : v == RungVerdict::kStop ? SchedTrial::kStopped : SchedTrial::kPaused;
  }
  EXPECT_TRUE(ended) << "the sweep did not end within 1000 rung reports";
  EXPECT_TRUE(ScheduleDone(s, trials, false));
  for (SchedTrial& x : trials) {
    if (x.state == SchedTrial::kPaused) x.state = SchedTrial::kStopped;
  }
  for (const SchedTrial& x : trials) r.deepest.push_back(static_cast<int>(x.rung_values.size()) - 1);
  return r;
}

TEST(AshaSimulation, TwentySevenConfigurationsHalveToTheBest) {
  const ScheduleSpec s = Asha(Rungs(1, 27, 3, 0));  // 1, 3, 9, 27
  ASSERT_EQ(s.rungs.size(), 4u);
  // Qualities in a shuffled order (the best, 0, is configuration 17).
  std::vector<double> q(27);
  for (int i = 0; i < 27; ++i) q[i] = double((i * 10 + 7) % 27);
  const size_t best = std::min_element(q.begin(), q.end()) - q.begin();
  for (int workers : {1, 2, 4}) {
    SCOPED_TRACE(workers);
    const SimResult r = Simulate(s, q, workers);
    std::vector<int> at_least(4, 0);  // trials that reached rung k or higher
    for (int d : r.deepest) {
      for (int k = 0; k <= d; ++k) ++at_least[k];
    }
    // Synchronous successive halving would give 27/9/3/1; asynchronous
    // promotion decides on partial rungs, so a few more may go on.
    EXPECT_EQ(at_least[0], 27);
    EXPECT_GE(at_least[1], 9);
    EXPECT_LE(at_least[1], 12);
    EXPECT_GE(at_least[2], 3);
    EXPECT_LE(at_least[2], 5);
    EXPECT_GE(at_least[3], 1);
    EXPECT_LE(at_least[3], 2);
    EXPECT_EQ(r.deepest[best], 3) << "the best configuration reaches max_steps";
    EXPECT_LE(r.steps, 27 * 27 * 2 / 5) << "at most 40% of the full sweep's steps";
  }
}

}  // namespace
}  // namespace sic
