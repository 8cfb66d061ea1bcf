// Early stopping: the scheduler's decisions as pure functions of a snapshot of
// one sweep's trials. The coordinator reads the snapshot from SQLite, asks, and
// records the answer; nothing here keeps state, so a coordinator restarted at
// any point asks again and gets the same answer from the same snapshot.
//
// ASHA with pause and promotion (Li et al., "A System for Massively Parallel
// Hyperparameter Tuning", MLSys 2020, Algorithm 2). Rungs r_0 < ... < r_last =
// max_steps (RungSteps). A trial that reaches a rung below the last *pauses*:
// it checkpoints and frees its worker. When a worker is free, the scheduler
// scans the rungs top-down, from the highest below the last, and promotes the
// best paused trial of rung k that is in the top floor(n_k / eta) of that rung
// and was not promoted from it before (n_k: the finite values at rung k, of
// every trial that reached it). A promoted trial resumes from its checkpoint on
// any worker. With no promotion it starts a new configuration, if any is left.
//
// Guards:
//   - min_trials: no promotion out of rung k before n_k >= min_trials (with few
//     values the top 1/eta is noise; the median rule needs as many values);
//   - grace_steps: no rung below it (RungSteps skips them), so nothing is
//     paused or cut before it;
//   - NaN (or inf): worst for that trial only: never promoted, stopped by the
//     median rule, and never part of n_k, a rank or a median;
//   - ties: the better value first, then the older trial (creation order), then
//     the smaller id: every decision is deterministic.
//   - the end of a sweep: when nothing runs or waits, no configuration is left
//     and no promotion is due, but no trial has reached max_steps yet (e.g. 26
//     configurations with eta 3 leave 2 trials at the third rung, whose top
//     1/3 is empty), the best paused trial of the highest rung that has one is
//     promoted (min_trials aside; never a NaN), one at a time, until a trial
//     reaches max_steps: the sweep ends with its best configuration trained.
//     When nothing is left to do at all (ScheduleDone), the paused trials become
//     stopped, final.
//
// Median rule (the median stopping rule of Google Vizier, Golovin et al. 2017,
// in the form of Optuna's MedianPruner): a trial that reaches a rung is stopped
// when its value there is worse than the median of the other trials' values at
// that rung (>= min_trials of them, finite, whatever their state), else it
// continues; a value equal to the median continues. It compares with what has
// been reported so far, so its verdicts depend on the order trials arrive in.
//
// What differs from Ray Tune's ASHA and Optuna's pruners: they stop for good (a
// cut trial is never resumed; Ray issues #44256, #32634; Optuna "does not
// support suspending or resuming ongoing trials"), so they must decide at the
// rung, from the values recorded so far, whether a trial goes on. Here a trial
// that is not (yet) in its rung's top 1/eta stays paused and promotable while
// the sweep runs: a later, larger rung population can still promote it, and a
// rung with too few values to judge makes its trials wait, not gamble.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <vector>

#include "common/sweep_spec.h"
#include "sic/status.h"

namespace sic {

// The most rungs a schedule has (eta >= 2 and steps < 2^63 give at most 63).
inline constexpr size_t kMaxRungs = 64;

// RungSteps (the rung steps of a schedule) lives with the spec: common/sweep_spec.h.

// The index of the rung at `step`, or -1 when `step` is not a rung step.
int RungAt(const std::vector<int64_t>& rungs, int64_t step);

// The first rung step after `step`, or -1 when `step` >= the last rung: where
// a trial that is at `step` reports (and pauses) next.
int64_t NextRungStep(const std::vector<int64_t>& rungs, int64_t step);

// One trial as the scheduler sees it. The coordinator builds it from the store.
struct SchedTrial {
  enum State {
    kWaiting,    // not started yet (a configuration still to run)
    kActive,     // pending, queued or running
    kPaused,     // at a rung, checkpointed, no worker
    kSucceeded,  // reached max_steps
    kStopped,    // cut by the median rule, or paused when the sweep ended
    kFailed,
    kCanceled,
  };
  int64_t id = 0;
  int64_t order = 0;               // creation order; ties go to the older (smaller) one
  State state = kWaiting;
  std::vector<double> rung_values; // the rung signal at rungs 0..k reported so far (NaN allowed);
                                   // values past the schedule's last rung are ignored
  bool promoted = false;           // already promoted from its deepest reported rung
};

struct Decision {
  enum Kind { kNone, kPromote, kStartNew };
  Kind kind = kNone;
  int64_t trial_id = -1;  // kPromote: the trial to resume
  int rung = -1;          // kPromote: the rung it is promoted from (it runs on to rung + 1)
  bool end_of_sweep = false;  // kPromote: by the end-of-sweep rule, not the top 1/eta
};

// What a free worker should do next: promote (ASHA only), start a new
// configuration when `can_start_new` (a configuration is left to start, a
// waiting trial or a search's next suggestion), or nothing. For the median rule
// and no schedule it never promotes. InvalidArgument for a malformed schedule
// (rungs not ascending and positive, eta < 2, min_trials < 0, too many rungs).
// Trial ids are unique; the snapshot is bounded by the sweep's trial limit.
Result<Decision> NextAsha(const ScheduleSpec& spec, const std::vector<SchedTrial>& trials, bool can_start_new);

// What a trial that just reported rung `rung` does: ASHA pauses below the last
// rung (stops a NaN there: it is never promoted); the median rule stops or continues; every method finishes at the last
// rung; no schedule continues. NotFound for an unknown trial, InvalidArgument
// for a rung it has not reported or a malformed schedule.
enum class RungVerdict { kPause, kContinue, kStop, kFinish };
Result<RungVerdict> OnRung(const ScheduleSpec& spec, const std::vector<SchedTrial>& trials, int64_t trial_id,
                           int rung);

// True when the sweep is over: no trial is waiting or active, and NextAsha
// would do nothing. The paused trials then become stopped (final). False for a
// malformed schedule.
bool ScheduleDone(const ScheduleSpec& spec, const std::vector<SchedTrial>& trials, bool can_start_new);

const char* RungVerdictName(RungVerdict v);  // "pause", "continue", "stop", "finish"

}  // namespace sic
