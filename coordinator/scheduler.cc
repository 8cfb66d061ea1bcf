#include "coordinator/scheduler.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace sic {
namespace {

// A rung's finite values, best first: (value, order, id), ties to the older.
struct Entry {
  double value;
  int64_t order;
  int64_t id;
  const SchedTrial* trial;
};

bool Better(const Entry& a, const Entry& b, bool maximize) {
  if (a.value != b.value) return maximize ? a.value > b.value : a.value < b.value;
  if (a.order != b.order) return a.order < b.order;
  return a.id < b.id;
}

bool Finite(double v) { return std::isfinite(v); }

// The finite values every trial reported at `rung` (whatever its state now:
// a value once reached is part of the rung), best first.
std::vector<Entry> RankedAt(const ScheduleSpec& spec, const std::vector<SchedTrial>& trials, size_t rung) {
  std::vector<Entry> out;
  for (const SchedTrial& t : trials) {
    if (t.rung_values.size() > rung && Finite(t.rung_values[rung])) {
      out.push_back(Entry{t.rung_values[rung], t.order, t.id, &t});
    }
  }
  std::sort(out.begin(), out.end(), [&](const Entry& a, const Entry& b) { return Better(a, b, spec.maximize); });
  return out;
}

// The deepest rung a trial reported, within the schedule; -1 for none.
int Deepest(const SchedTrial& t, size_t n_rungs) {
  return static_cast<int>(std::min(t.rung_values.size(), n_rungs)) - 1;
}

// A paused trial that may leave rung k: it is there, was not promoted from it,
// and its value there is finite.
bool Promotable(const SchedTrial& t, int k, size_t n_rungs) {
  return t.state == SchedTrial::kPaused && !t.promoted && Deepest(t, n_rungs) == k && Finite(t.rung_values[k]);
}

Status CheckSchedule(const ScheduleSpec& spec) {
  if (spec.method != ScheduleSpec::kNone && spec.method != ScheduleSpec::kAsha &&
      spec.method != ScheduleSpec::kMedian) {
    return Status::InvalidArgument("schedule.method: unknown method " + std::to_string(spec.method));
  }
  if (spec.method == ScheduleSpec::kNone) return Status::OK();
  if (spec.rungs.empty() || spec.rungs.size() > kMaxRungs) {
    return Status::InvalidArgument("schedule: " + std::to_string(spec.rungs.size()) + " rungs (must be 1 to " +
                                   std::to_string(kMaxRungs) + ")");
  }
  for (size_t i = 0; i < spec.rungs.size(); ++i) {
    if (spec.rungs[i] <= 0 || (i > 0 && spec.rungs[i] <= spec.rungs[i - 1])) {
      return Status::InvalidArgument("schedule: rung steps must be positive and ascending (rung " +
                                     std::to_string(i) + " is " + std::to_string(spec.rungs[i]) + ")");
    }
  }
  if (spec.reduction_factor < 2) {
    return Status::InvalidArgument("schedule.reduction_factor: " + std::to_string(spec.reduction_factor) +
                                   " is out of range (must be >= 2)");
  }
  if (spec.min_trials < 0) {
    return Status::InvalidArgument("schedule.min_trials: " + std::to_string(spec.min_trials) +
                                   " is out of range (must be >= 0)");
  }
  return Status::OK();
}

bool Busy(const std::vector<SchedTrial>& trials) {
  return std::any_of(trials.begin(), trials.end(), [](const SchedTrial& t) {
    return t.state == SchedTrial::kWaiting || t.state == SchedTrial::kActive;
  });
}

}  // namespace

int RungAt(const std::vector<int64_t>& rungs, int64_t step) {
  const auto it = std::lower_bound(rungs.begin(), rungs.end(), step);
  return it != rungs.end() && *it == step ? static_cast<int>(it - rungs.begin()) : -1;
}

int64_t NextRungStep(const std::vector<int64_t>& rungs, int64_t step) {
  const auto it = std::upper_bound(rungs.begin(), rungs.end(), step);
  return it == rungs.end() ? -1 : *it;
}

Result<Decision> NextAsha(const ScheduleSpec& spec, const std::vector<SchedTrial>& trials, bool can_start_new) {
  if (Status st = CheckSchedule(spec); !st.ok()) return st;
  Decision d;
  if (spec.method == ScheduleSpec::kAsha) {
    const size_t n_rungs = spec.rungs.size();
    // Top-down over the rungs below the last (Algorithm 2's get_job): the
    // deepest promotable trial goes first, it is the closest to a result.
    for (int k = static_cast<int>(n_rungs) - 2; k >= 0; --k) {
      const std::vector<Entry> ranked = RankedAt(spec, trials, static_cast<size_t>(k));
      const auto n_k = static_cast<int64_t>(ranked.size());
      if (n_k < spec.min_trials) continue;
      const int64_t top = n_k / spec.reduction_factor;
      for (int64_t i = 0; i < top; ++i) {
        if (Promotable(*ranked[i].trial, k, n_rungs)) {
          d.kind = Decision::kPromote;
          d.trial_id = ranked[i].id;
          d.rung = k;
          return d;
        }
      }
    }
    if (!can_start_new && !Busy(trials)) {
      // The end of the sweep: nothing runs, nothing is left to start, and no
      // trial is due. Unless one has reached max_steps already, the best
      // paused trial of the highest rung goes on, guards or not, so that the
      // sweep's best configuration is trained to the end.
      const bool reached_last = std::any_of(trials.begin(), trials.end(), [&](const SchedTrial& t) {
        return t.rung_values.size() >= n_rungs;
      });
      for (int k = static_cast<int>(n_rungs) - 2; k >= 0 && !reached_last; --k) {
        for (const Entry& e : RankedAt(spec, trials, static_cast<size_t>(k))) {
          if (Promotable(*e.trial, k, n_rungs)) {
            d.kind = Decision::kPromote;
            d.trial_id = e.id;
            d.rung = k;
            d.end_of_sweep = true;
            return d;
          }
        }
      }
    }
  }
  if (can_start_new) d.kind = Decision::kStartNew;
  return d;
}

Result<RungVerdict> OnRung(const ScheduleSpec& spec, const std::vector<SchedTrial>& trials, int64_t trial_id,
                           int rung) {
  if (Status st = CheckSchedule(spec); !st.ok()) return st;
  const auto it = std::find_if(trials.begin(), trials.end(), [&](const SchedTrial& t) { return t.id == trial_id; });
  if (it == trials.end()) return Status::NotFound("trial " + std::to_string(trial_id) + " is not in the sweep");
  if (spec.method == ScheduleSpec::kNone) return RungVerdict::kContinue;
  const size_t n_rungs = spec.rungs.size();
  if (rung < 0 || static_cast<size_t>(rung) >= n_rungs || it->rung_values.size() <= static_cast<size_t>(rung)) {
    return Status::InvalidArgument("trial " + std::to_string(trial_id) + " has not reported rung " +
                                   std::to_string(rung) + " (it reported " +
                                   std::to_string(std::min(it->rung_values.size(), n_rungs)) + " of " +
                                   std::to_string(n_rungs) + ")");
  }
  if (static_cast<size_t>(rung) + 1 == n_rungs) return RungVerdict::kFinish;
  // ASHA: a NaN can never be promoted, so its trial stops now instead of
  // keeping a checkpoint until the end of the sweep.
  if (spec.method == ScheduleSpec::kAsha) {
    return Finite(it->rung_values[rung]) ? RungVerdict::kPause : RungVerdict::kStop;
  }

  // The median rule. RungSteps leaves out rungs below grace_steps; a spec
  // built by hand may not, so the guard is applied here too.
  if (spec.rungs[rung] < spec.grace_steps) return RungVerdict::kContinue;
  std::vector<double> others;
  for (const SchedTrial& t : trials) {
    if (t.id != trial_id && t.rung_values.size() > static_cast<size_t>(rung) && Finite(t.rung_values[rung])) {
      others.push_back(t.rung_values[rung]);
    }
  }
  if (static_cast<int64_t>(others.size()) < spec.min_trials || others.empty()) return RungVerdict::kContinue;
  const double v = it->rung_values[rung];
  if (!Finite(v)) return RungVerdict::kStop;
  std::sort(others.begin(), others.end());
  const size_t n = others.size();
  const double median = n % 2 ? others[n / 2] : 0.5 * (others[n / 2 - 1] + others[n / 2]);
  const bool worse = spec.maximize ? v < median : v > median;
  return worse ? RungVerdict::kStop : RungVerdict::kContinue;
}

bool ScheduleDone(const ScheduleSpec& spec, const std::vector<SchedTrial>& trials, bool can_start_new) {
  if (Busy(trials)) return false;
  const Result<Decision> next = NextAsha(spec, trials, can_start_new);
  return next.ok() && next->kind == Decision::kNone;
}

const char* RungVerdictName(RungVerdict v) {
  switch (v) {
    case RungVerdict::kPause: return "pause";
    case RungVerdict::kContinue: return "continue";
    case RungVerdict::kStop: return "stop";
    case RungVerdict::kFinish: return "finish";
  }
  return "?";
}

}  // namespace sic
