#include "coordinator/feed.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/log.h"
#include "coordinator/sampler.h"
#include "coordinator/scheduler.h"

namespace sic {
namespace {

using nlohmann::json;

// How the scheduler sees each status (the statuses are common/trial_state.h's).
SchedTrial::State StateOf(const std::string& status) {
  static const std::map<std::string, SchedTrial::State> table = {
      {"waiting", SchedTrial::kWaiting},  {"pending", SchedTrial::kActive},  {"queued", SchedTrial::kActive},
      {"running", SchedTrial::kActive},   {"paused", SchedTrial::kPaused},   {"succeeded", SchedTrial::kSucceeded},
      {"stopped", SchedTrial::kStopped},  {"failed", SchedTrial::kFailed},   {"canceled", SchedTrial::kCanceled},
  };
  auto it = table.find(status);
  return it == table.end() ? SchedTrial::kActive : it->second;
}

std::vector<SchedTrial> ToSched(const ScheduleSpec& schedule, const std::vector<ScheduledTrial>& trials) {
  std::vector<SchedTrial> out;
  out.reserve(trials.size());
  for (const ScheduledTrial& t : trials) {
    SchedTrial s;
    s.id = t.id;
    s.order = t.index;
    s.state = StateOf(t.status);
    s.rung_values = t.rung_values;
    s.promoted = t.promoted;
    // A trial that trained to the end has reached the last rung; its value
    // there is its final objective (no worker pauses at max_steps).
    if (s.state == SchedTrial::kSucceeded && s.rung_values.size() < schedule.rungs.size()) {
      s.rung_values.resize(schedule.rungs.size(), std::nan(""));
      s.rung_values.back() = t.objective;
    }
    out.push_back(std::move(s));
  }
  return out;
}

int64_t SeedsOf(const SweepSpec& spec) { return std::max<int64_t>(1, static_cast<int64_t>(spec.seeds.size())); }

// The step a trial starts toward: rung 0 of a schedule, else the end (0).
int64_t FirstTarget(const SweepSpec& spec) {
  return spec.schedule.method == ScheduleSpec::kNone ? 0 : spec.schedule.rungs.front();
}

// A fixed pseudo-random rank of a trial in its sweep (splitmix64's finalizer).
uint64_t ShuffleKey(int64_t sweep_id, int64_t index) {
  uint64_t z = static_cast<uint64_t>(sweep_id) * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(index);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool Searching(const SweepSpec& spec) { return spec.has_search && !spec.search.external; }

// Suggestions made so far: the trials of suggestion n have indices n*seeds .. n*seeds+seeds-1.
int64_t Made(const SweepSpec& spec, const std::vector<ScheduledTrial>& trials) {
  int64_t made = 0;
  for (const ScheduledTrial& t : trials) made = std::max(made, t.index / SeedsOf(spec) + 1);
  return made;
}

double Mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? std::nan("") : sum / static_cast<double>(v.size());
}

// A search's history for the sampler: one observation per suggestion, its
// seeds' trials together (the objective is their mean).
std::vector<Observation> History(const SweepSpec& spec, const std::vector<ScheduledTrial>& trials) {
  std::map<int64_t, std::vector<const ScheduledTrial*>> groups;
  for (const ScheduledTrial& t : trials) groups[t.index / SeedsOf(spec)].push_back(&t);
  std::vector<Observation> out;
  for (const auto& [number, members] : groups) {
    Observation o;
    o.params = members.front()->overrides;
    o.params.erase("run.seed");
    bool failed = false, active = false, all_done = true;
    size_t depth = SIZE_MAX;
    bool stopped = false;
    std::vector<double> finals;
    for (const ScheduledTrial* t : members) {
      const SchedTrial::State state = StateOf(t->status);
      failed = failed || state == SchedTrial::kFailed || state == SchedTrial::kCanceled;
      active = active || state == SchedTrial::kWaiting || state == SchedTrial::kActive;
      all_done = all_done && state == SchedTrial::kSucceeded;
      stopped = stopped || state == SchedTrial::kStopped;
      finals.push_back(t->objective);
      depth = std::min(depth, t->rung_values.size());
    }
    if (failed) {
      o.state = Observation::kFailed;
    } else if (all_done) {
      o.state = Observation::kComplete;
      o.value = Mean(finals);
    } else if (active || depth == 0) {
      o.state = Observation::kPending;  // the constant liar
    } else {
      o.state = stopped ? Observation::kStopped : Observation::kPaused;
      o.depth = static_cast<int>(depth) - 1;
      std::vector<double> at;
      for (const ScheduledTrial* t : members) at.push_back(t->rung_values[depth - 1]);
      o.value = Mean(at);
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

Feed::Feed(Store& store, std::function<Result<int64_t>()> free_slots, FeedOptions options)
    : store_(store), free_slots_(std::move(free_slots)), options_(options) {}

Feed::~Feed() { Stop(); }

void Feed::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Feed::Stop() {
  stop_ = true;
  Wake();
  if (thread_.joinable()) thread_.join();
}

void Feed::Wake() {
  std::lock_guard<std::mutex> lock(wake_mu_);
  woken_ = true;
  cv_.notify_all();
}

void Feed::Loop() {
  bool failing = false;
  while (!stop_) {
    Status s = Pass();
    if (!s.ok() && !failing) Log("feed: " + s.message() + " (retrying)");
    if (s.ok() && failing) Log("feed: working again");
    failing = !s.ok();
    std::unique_lock<std::mutex> lock(wake_mu_);
    cv_.wait_for(lock, std::chrono::duration<double>(options_.period_s), [this] { return woken_ || stop_.load(); });
    woken_ = false;
  }
}

Result<std::shared_ptr<const SweepSpec>> Feed::SpecOf(const SweepRow& row) {
  std::lock_guard<std::mutex> lock(specs_mu_);
  auto it = specs_.find(row.id);
  if (it != specs_.end()) return it->second;
  // The stored spec passed these checks at submit; parsing it again gives the
  // same rungs, params and base (limits as wide as they can be: it is ours).
  SpecLimits wide;
  wide.max_bytes = SIZE_MAX / 2;
  wide.max_trials = INT64_MAX / 4;
  wide.max_expanded_bytes = INT64_MAX / 4;
  auto spec = ParseSweepSpec(row.spec.dump(), wide);
  if (!spec.ok()) return spec.status().Prefixed("sweep " + std::to_string(row.id) + ": stored spec: ");
  spec->trials.clear();  // the store has them
  spec->trials.shrink_to_fit();
  auto parsed = std::make_shared<const SweepSpec>(std::move(spec.value()));
  specs_[row.id] = parsed;
  return parsed;
}

void Feed::ForgetSpec(int64_t sweep_id) {
  std::lock_guard<std::mutex> lock(specs_mu_);
  specs_.erase(sweep_id);
}

Status Feed::Pass() {
  std::lock_guard<std::mutex> lock(mu_);
  auto sweeps = store_.UnsettledSweeps();
  if (!sweeps.ok()) return sweeps.status();
  int64_t fed = 0;
  for (const SweepRow& row : sweeps.value()) {
    auto count = [&](const char* status) {
      auto it = row.counts.find(status);
      return it == row.counts.end() ? int64_t{0} : it->second;
    };
    fed += count("pending") + count("queued");
  }
  auto free = free_slots_ ? free_slots_() : Result<int64_t>(int64_t{0});
  int64_t budget = options_.ahead + (free.ok() ? std::max<int64_t>(0, free.value()) : 0) - fed;
  // Round-robin over the sweeps, one decision each per turn, until the
  // budget is spent or no sweep has anything to feed. A sweep with nothing
  // left to do is settled on the way (that needs no budget).
  std::vector<const SweepRow*> open;
  for (const SweepRow& row : sweeps.value()) open.push_back(&row);
  int64_t fed_now = 0;
  do {
    std::vector<const SweepRow*> still;
    for (const SweepRow* row : open) {
      auto spec = SpecOf(*row);
      if (!spec.ok()) {
        Log("feed: " + spec.status().message());
        continue;
      }
      if (spec.value()->has_search && spec.value()->search.external) continue;  // Ask feeds it
      auto stepped = Step(*row, *spec.value(), budget > 0);
      if (!stepped.ok()) return stepped.status();
      if (stepped.value()) {
        --budget;
        ++fed_now;
        still.push_back(row);
      }
    }
    open.swap(still);
  } while (budget > 0 && !open.empty());
  if (fed_now > 0 && on_fed_) on_fed_();
  return Status::OK();
}

Result<bool> Feed::Step(const SweepRow& row, const SweepSpec& spec, bool may_feed) {
  auto trials = store_.Scheduled(row.id, spec.objective.metric);
  if (!trials.ok()) return trials.status();
  const std::vector<SchedTrial> sched = ToSched(spec.schedule, trials.value());
  const ScheduleSpec& schedule = spec.schedule;
  bool waiting = false;
  for (const SchedTrial& t : sched) waiting = waiting || t.state == SchedTrial::kWaiting;
  const bool can_start_new = waiting || (Searching(spec) && Made(spec, trials.value()) < spec.search.trials);
  const double now = NowSeconds();

  if (schedule.method == ScheduleSpec::kMedian) {
    // Every paused trial is judged at once: stop (no budget needed) or continue.
    for (const SchedTrial& t : sched) {
      if (t.state != SchedTrial::kPaused || t.promoted || t.rung_values.empty()) continue;
      const int rung = static_cast<int>(t.rung_values.size()) - 1;
      auto verdict = OnRung(schedule, sched, t.id, rung);
      if (!verdict.ok()) return verdict.status();
      if (verdict.value() == RungVerdict::kStop) {
        if (auto s = store_.StopPaused(t.id, now); !s.ok()) return s.status();
      } else if (may_feed && static_cast<size_t>(rung + 1) < schedule.rungs.size()) {
        auto moved = store_.Promote(t.id, rung, schedule.rungs[static_cast<size_t>(rung) + 1], now);
        if (!moved.ok()) return moved.status();
        return true;
      }
    }
  }
  if (schedule.method == ScheduleSpec::kAsha && may_feed) {
    auto decided = NextAsha(schedule, sched, can_start_new);
    if (!decided.ok()) return decided.status();
    const Decision& d = decided.value();
    if (d.kind == Decision::kPromote && static_cast<size_t>(d.rung + 1) < schedule.rungs.size()) {
      auto moved = store_.Promote(d.trial_id, d.rung, schedule.rungs[static_cast<size_t>(d.rung) + 1], now);
      if (!moved.ok()) return moved.status();
      return moved.value();
    }
    if (d.kind == Decision::kStartNew) return StartNew(row, spec, trials.value());
  } else if (schedule.method != ScheduleSpec::kAsha && may_feed && can_start_new) {
    return StartNew(row, spec, trials.value());
  }
  // Nothing fed: is the sweep's schedule over? Then the paused trials end here.
  bool busy = can_start_new;
  for (const SchedTrial& t : sched) busy = busy || t.state == SchedTrial::kActive;
  if (busy || (schedule.method == ScheduleSpec::kAsha && !ScheduleDone(schedule, sched, can_start_new))) return false;
  if (schedule.method == ScheduleSpec::kMedian) {
    for (const SchedTrial& t : sched) {
      if (t.state == SchedTrial::kPaused && !t.promoted) return false;  // judged next pass
    }
  }
  for (const SchedTrial& t : sched) {
    if (t.state != SchedTrial::kPaused) continue;
    if (auto s = store_.StopPaused(t.id, now); !s.ok()) return s.status();
  }
  if (Status s = store_.Settle(row.id, now); !s.ok()) return s;
  ForgetSpec(row.id);
  Log("feed: sweep " + std::to_string(row.id) + " settled: nothing left to run or promote");
  return false;
}

Result<bool> Feed::StartNew(const SweepRow& row, const SweepSpec& spec, const std::vector<ScheduledTrial>& trials) {
  // Waiting trials start in a shuffled order, the same for every pass and
  // restart: ASHA's early promotions depend on which configurations report
  // first, and a grid's order (all small learning rates first, say) would
  // bias them (bench/asha_replay.cc measured it).
  const ScheduledTrial* next = nullptr;
  for (const ScheduledTrial& t : trials) {
    if (t.status != "waiting") continue;
    if (!next || ShuffleKey(row.id, t.index) < ShuffleKey(row.id, next->index)) next = &t;
  }
  if (next) {
    auto moved = store_.Release(next->id, FirstTarget(spec));
    if (!moved.ok()) return moved.status();
    return moved.value();
  }
  if (!Searching(spec)) return false;
  const int64_t number = Made(spec, trials);
  if (number >= spec.search.trials) return false;
  auto params = NextParams(spec, trials, number);
  if (!params.ok()) return params.status();
  auto made = SearchTrials(spec, number, params.value());
  if (!made.ok()) return made.status().Prefixed("sweep " + std::to_string(row.id) + ": suggestion " +
                                                std::to_string(number) + ": ");
  auto ids = store_.AddSearchTrials(row.id, made.value(), /*ask=*/false, NowSeconds());
  if (!ids.ok()) return ids.status();
  auto moved = store_.Release(ids->front(), FirstTarget(spec));
  if (!moved.ok()) return moved.status();
  return true;
}

Result<json> Feed::NextParams(const SweepSpec& spec, const std::vector<ScheduledTrial>& trials, int64_t number) {
  return Suggest(SamplerOptionsFor(spec.search, spec.objective), spec.search.params, History(spec, trials), number);
}

Result<std::pair<int64_t, double>> Feed::RungOf(int64_t sweep_id, int64_t step,
                                                const std::map<std::string, double>& metrics) {
  auto row = store_.GetSweep(sweep_id);
  if (!row.ok()) return row.status();
  auto spec = SpecOf(row.value());
  if (!spec.ok()) return spec.status();
  const ScheduleSpec& schedule = spec.value()->schedule;
  // The rung at `step`; a step between rungs (a job fed under other rungs)
  // counts as the deepest rung it passed.
  int64_t rung = 0;
  for (size_t k = 0; k < schedule.rungs.size(); ++k) {
    if (schedule.rungs[k] <= step) rung = static_cast<int64_t>(k);
  }
  auto it = metrics.find(schedule.metric);
  return std::make_pair(rung, it == metrics.end() ? std::nan("") : it->second);
}

Result<Suggestion> Feed::Ask(int64_t sweep_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto row = store_.GetSweep(sweep_id);
  if (!row.ok()) return row.status();
  const std::string name = "sweep " + std::to_string(sweep_id);
  if (row->canceled) return Status::FailedPrecondition(name + " is canceled");
  auto spec = SpecOf(row.value());
  if (!spec.ok()) return spec.status();
  const SweepSpec& s = *spec.value();
  if (!s.has_search || !s.search.external) {
    return Status::FailedPrecondition(name + " is not an external search (\"search\": {..., \"external\": true})");
  }
  auto trials = store_.Scheduled(sweep_id, s.objective.metric);
  if (!trials.ok()) return trials.status();
  const int64_t number = Made(s, trials.value());
  if (number >= s.search.trials) {
    return Status::FailedPrecondition(name + ": all " + std::to_string(s.search.trials) + " trials have been asked");
  }
  auto params = NextParams(s, trials.value(), number);
  if (!params.ok()) return params.status();
  auto made = SearchTrials(s, number, params.value());
  if (!made.ok()) return made.status();
  auto ids = store_.AddSearchTrials(sweep_id, made.value(), /*ask=*/true, NowSeconds());
  if (!ids.ok()) return ids.status();
  if (number + 1 == s.search.trials) {
    // Every suggestion is made: the sweep is done once each is told.
    if (Status st = store_.Settle(sweep_id, NowSeconds()); !st.ok()) return st;
    ForgetSpec(sweep_id);
  }
  return Suggestion{ids->front(), number, params.value()};
}

}  // namespace sic
