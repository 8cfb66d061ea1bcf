// bench_asha_replay: scheduler savings on real learning curves (issue 11).
//
//   bench_asha_replay CURVES.json [--workers 2,4] [--seed S] [--min-trials N]
//                     [--min-steps N] [--eta N] [--grace N]
//
// CURVES.json is what `bench/asha_replay.py record` wrote: the loss.total curve
// of every configuration of bench/asha_sweep.json trained to max_steps by the
// real `sic train`. The replay runs the sweep again through the real scheduler
// (coordinator/scheduler.h), with simulated workers that train at one step per
// time unit: a trial that reaches a rung reports the curve's value there (the
// mean loss.total over the log interval that ends at the rung step), and
// NextAsha/OnRung/ScheduleDone decide, exactly as the coordinator asks them.
//
// It prints, per worker count, ASHA's and the median rule's training steps
// against the full sweep's, the rank of their best final objective in the full
// sweep, the sweep's length in time; per rung, the Spearman rank correlation of
// the rung signal with the final objective; and a table per configuration.
// Objective: the final loss.total (min), the same value as the last rung's.
// Exit 0 unless the file is unreadable or the replay breaks an invariant.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "coordinator/scheduler.h"

namespace {

using sic::Decision;
using sic::RungVerdict;
using sic::SchedTrial;
using sic::ScheduleSpec;

struct Run {
  int config = 0;
  int seed = 0;
  std::string label;               // "lr=0.001 clip=0.1"
  std::map<int64_t, double> curve; // step -> loss.total (mean over the log interval ending there)
  int64_t last_step = 0;           // the run failed (diverged) when this is below max_steps

  // The value a worker reports at `step`: the curve line at that step, or
  // the last one before it; NaN when the run never got there.
  double At(int64_t step) const {
    if (step > last_step) return std::nan("");
    auto it = curve.upper_bound(step);
    if (it == curve.begin()) return std::nan("");
    return std::prev(it)->second;
  }
};

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "bench_asha_replay: %s\n", why.c_str());
  std::exit(1);
}

std::string Label(const nlohmann::json& overrides) {
  std::string out;
  for (auto it = overrides.begin(); it != overrides.end(); ++it) {
    std::string key = it.key();
    key = key.substr(key.rfind('.') + 1);
    std::ostringstream v;
    v << it.value().get<double>();
    out += (out.empty() ? "" : " ") + key + "=" + v.str();
  }
  return out;
}

// Average ranks (1 = best = smallest), ties sharing their mean rank.
std::vector<double> Ranks(const std::vector<double>& x) {
  std::vector<size_t> idx(x.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && x[idx[j + 1]] == x[idx[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[idx[k]] = 0.5 * double(i + j) + 1;
    i = j + 1;
  }
  return r;
}

// Spearman's rho over the pairs where both values are finite.
double Spearman(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> x, y;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isfinite(a[i]) && std::isfinite(b[i])) {
      x.push_back(a[i]);
      y.push_back(b[i]);
    }
  }
  if (x.size() < 3) return std::nan("");
  const std::vector<double> rx = Ranks(x), ry = Ranks(y);
  const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / rx.size();
  const double my = std::accumulate(ry.begin(), ry.end(), 0.0) / ry.size();
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

struct Outcome {
  int64_t steps = 0;     // training steps run, all trials
  int64_t makespan = 0;  // time until the sweep was done
  int promotions = 0, end_of_sweep_promotions = 0;
  std::vector<int> deepest;  // per configuration: the deepest rung reported, -1 none
  std::vector<std::string> final_state;
  double best = std::nan("");  // the best final objective among trials that reached max_steps
  int best_config = -1;
};

const char* StateName(SchedTrial::State s) {
  static const char* const kNames[] = {"waiting", "active", "paused", "succeeded", "stopped", "failed", "canceled"};
  return kNames[s];
}

// One sweep through the real scheduler, on `workers` simulated workers.
Outcome Replay(const ScheduleSpec& spec, const std::vector<const Run*>& runs, int workers) {
  const size_t n = runs.size();
  std::vector<SchedTrial> trials(n);
  for (size_t i = 0; i < n; ++i) {
    trials[i].id = static_cast<int64_t>(i) + 1;
    trials[i].order = static_cast<int64_t>(i);
  }
  std::vector<int64_t> at_step(n, 0);             // where each trial's checkpoint is
  std::multimap<int64_t, std::pair<size_t, int64_t>> events;  // time -> (trial, step it reaches)
  Outcome out;
  size_t next_new = 0;
  int free = workers;
  int64_t now = 0;
  for (;;) {
    while (free > 0) {
      auto d = sic::NextAsha(spec, trials, next_new < n);
      if (!d.ok()) Die(d.status().message());
      if (d->kind == Decision::kNone) break;
      size_t i;
      if (d->kind == Decision::kStartNew) {
        i = next_new++;
      } else {
        i = static_cast<size_t>(d->trial_id - 1);
        if (trials[i].state != SchedTrial::kPaused || trials[i].promoted) Die("promoted a trial that is not paused");
        trials[i].promoted = true;
        ++out.promotions;
        out.end_of_sweep_promotions += d->end_of_sweep;
      }
      trials[i].state = SchedTrial::kActive;
      // It trains to its next rung, or to where its run diverged.
      int64_t to = sic::NextRungStep(spec.rungs, at_step[i]);
      if (to < 0) Die("a trial past the last rung was started");
      const int64_t stop = std::min(to, runs[i]->last_step);
      out.steps += stop - at_step[i];
      events.emplace(now + (stop - at_step[i]), std::make_pair(i, to));
      --free;
    }
    if (events.empty()) break;
    const auto [time, what] = *events.begin();
    events.erase(events.begin());
    const auto [i, to] = what;
    now = time;
    ++free;
    SchedTrial& t = trials[i];
    if (runs[i]->last_step < to) {  // the run diverged before the rung: the trial failed
      at_step[i] = runs[i]->last_step;
      t.state = SchedTrial::kFailed;
      continue;
    }
    at_step[i] = to;
    const int rung = sic::RungAt(spec.rungs, to);
    if (rung != static_cast<int>(t.rung_values.size())) Die("a rung was skipped");
    t.rung_values.push_back(runs[i]->At(to));
    t.promoted = false;
    auto v = sic::OnRung(spec, trials, t.id, rung);
    if (!v.ok()) Die(v.status().message());
    switch (v.value()) {
      case RungVerdict::kPause: t.state = SchedTrial::kPaused; break;
      case RungVerdict::kStop: t.state = SchedTrial::kStopped; break;
      case RungVerdict::kFinish: t.state = SchedTrial::kSucceeded; break;
      case RungVerdict::kContinue: {  // the median rule: on to the next rung, same worker
        const int64_t next = sic::NextRungStep(spec.rungs, to);
        const int64_t stop = std::min(next, runs[i]->last_step);
        out.steps += stop - to;
        events.emplace(now + (stop - to), std::make_pair(i, next));
        --free;
        break;
      }
    }
  }
  if (!sic::ScheduleDone(spec, trials, false)) Die("the replay ended but the schedule is not done");
  out.makespan = now;
  for (size_t i = 0; i < n; ++i) {
    SchedTrial& t = trials[i];
    if (t.state == SchedTrial::kPaused) t.state = SchedTrial::kStopped;  // what the coordinator does at the end
    out.deepest.push_back(static_cast<int>(t.rung_values.size()) - 1);
    out.final_state.push_back(StateName(t.state));
    if (t.rung_values.size() == spec.rungs.size() && std::isfinite(t.rung_values.back()) &&
        (out.best_config < 0 || t.rung_values.back() < out.best)) {
      out.best = t.rung_values.back();
      out.best_config = static_cast<int>(i);
    }
  }
  return out;
}

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    const int v = std::atoi(item.c_str());
    if (v < 1 || v > 1024) Die("--workers: '" + item + "' is not a count in [1, 1024]");
    out.push_back(v);
  }
  return out;
}


// The recorded sweep of one seed: its runs by configuration, the full sweep's
// final objective, ranks and steps.
struct Sweep {
  int seed = 0;
  std::vector<const Run*> runs;
  std::vector<double> final_obj;  // NaN: diverged
  std::vector<double> rank;       // 1 = best; a diverged run ranks last
  int64_t full_steps = 0;
};

Sweep MakeSweep(int seed, const std::vector<Run>& all, int64_t max_steps) {
  Sweep s;
  s.seed = seed;
  for (const Run& r : all) {
    if (r.seed == seed) s.runs.push_back(&r);
  }
  std::sort(s.runs.begin(), s.runs.end(), [](const Run* a, const Run* b) { return a->config < b->config; });
  std::vector<double> sortable;
  for (const Run* r : s.runs) {
    s.final_obj.push_back(r->At(max_steps));
    sortable.push_back(std::isfinite(s.final_obj.back()) ? s.final_obj.back() : HUGE_VAL);
    s.full_steps += std::min(r->last_step, max_steps);
  }
  s.rank = Ranks(sortable);
  return s;
}

// Every rung step must be a logged step: the value there is what a worker
// reports at the rung, not an older line.
void CheckRungsLogged(const ScheduleSpec& spec, const std::vector<Run>& all) {
  for (const Run& r : all) {
    for (int64_t step : spec.rungs) {
      if (step <= r.last_step && !r.curve.count(step)) {
        Die("rung step " + std::to_string(step) + " is not a logged step of the recorded curves (config " +
            std::to_string(r.config) + "); use rungs that are multiples of the recording's log_every");
      }
    }
  }
}

struct Score {
  Outcome o;
  double frac = 0;
  int best_rank = -1;
  bool pass = false;
};

Score Evaluate(const ScheduleSpec& spec, const Sweep& sweep, int workers) {
  Score s;
  s.o = Replay(spec, sweep.runs, workers);
  s.frac = double(s.o.steps) / double(sweep.full_steps);
  s.best_rank = s.o.best_config >= 0 ? static_cast<int>(sweep.rank[s.o.best_config]) : -1;
  s.pass = s.frac <= 0.4 && s.best_rank >= 1 && s.best_rank <= 3;
  return s;
}

// The same sweep started in `orders` random orders (creation order = start
// order), as a search would propose them: the median share of the steps and
// how often the best final objective is in the full sweep's top 3.
struct OrderStats {
  double median_frac = 0;
  int top3 = 0, orders = 0;
};

OrderStats Shuffled(const ScheduleSpec& spec, const Sweep& sweep, int workers, int orders) {
  std::mt19937_64 rng(20201);
  std::vector<size_t> perm(sweep.runs.size());
  std::iota(perm.begin(), perm.end(), 0);
  std::vector<double> fracs;
  OrderStats st;
  for (int k = 0; k < orders; ++k) {
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<const Run*> runs;
    for (size_t i : perm) runs.push_back(sweep.runs[i]);
    const Outcome o = Replay(spec, runs, workers);
    fracs.push_back(double(o.steps) / double(sweep.full_steps));
    if (o.best_config >= 0 && sweep.rank[perm[static_cast<size_t>(o.best_config)]] <= 3) ++st.top3;
  }
  std::sort(fracs.begin(), fracs.end());
  st.median_frac = fracs[fracs.size() / 2];
  st.orders = orders;
  return st;
}

std::string Rungs(const ScheduleSpec& spec) {
  std::string out;
  for (int64_t r : spec.rungs) out += (out.empty() ? "" : ",") + std::to_string(r);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_asha_replay CURVES.json [--workers 1,2,4] [--seed S] [--min-trials N] "
                         "[--min-steps N] [--eta N] [--grace N]\n");
    return 2;
  }
  std::vector<int> workers{1, 2, 4};
  int table_seed = 0;
  int64_t min_trials = -1, min_steps = -1, eta = -1, grace = -1;
  for (int a = 2; a < argc; ++a) {
    const std::string flag = argv[a];
    if (a + 1 >= argc) Die(flag + " needs a value");
    const std::string value = argv[++a];
    if (flag == "--workers") workers = ParseList(value);
    else if (flag == "--seed") table_seed = std::atoi(value.c_str());
    else if (flag == "--min-trials") min_trials = std::atoll(value.c_str());
    else if (flag == "--min-steps") min_steps = std::atoll(value.c_str());
    else if (flag == "--eta") eta = std::atoll(value.c_str());
    else if (flag == "--grace") grace = std::atoll(value.c_str());
    else Die("unknown flag " + flag);
  }
  std::ifstream file(argv[1]);
  if (!file) Die(std::string("cannot read ") + argv[1]);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(file);
  } catch (const std::exception& e) {
    Die(std::string(argv[1]) + ": " + e.what());
  }

  // The schedule of the recorded spec, the flags overriding it.
  const nlohmann::json& sj = doc.at("schedule");
  ScheduleSpec asha;
  asha.method = ScheduleSpec::kAsha;
  asha.min_steps = min_steps > 0 ? min_steps : sj.at("min_steps").get<int64_t>();
  asha.max_steps = sj.at("max_steps").get<int64_t>();
  asha.reduction_factor = eta > 0 ? eta : sj.value("reduction_factor", int64_t{3});
  asha.min_trials = min_trials >= 0 ? min_trials : sj.value("min_trials", int64_t{3});
  asha.grace_steps = grace >= 0 ? grace : sj.value("grace_steps", int64_t{0});
  asha.maximize = doc.at("objective").at("direction") == "max";
  if (asha.maximize) Die("this replay minimises loss.total; the recorded objective says max");
  auto rungs = sic::RungSteps(asha.min_steps, asha.max_steps, asha.reduction_factor, asha.grace_steps);
  if (!rungs.ok()) Die(rungs.status().message());
  asha.rungs = rungs.value();
  ScheduleSpec median = asha;
  median.method = ScheduleSpec::kMedian;

  std::vector<Run> all;
  std::vector<int> seeds;
  for (const nlohmann::json& r : doc.at("runs")) {
    Run run;
    run.config = r.at("config").get<int>();
    run.seed = r.at("seed").get<int>();
    run.label = Label(r.at("overrides"));
    const auto& steps = r.at("steps");
    const auto& total = r.at("total");
    for (size_t k = 0; k < steps.size() && k < total.size(); ++k) {
      run.curve[steps[k].get<int64_t>()] = total[k].is_number() ? total[k].get<double>() : std::nan("");
    }
    run.last_step = run.curve.empty() ? 0 : run.curve.rbegin()->first;
    if (std::find(seeds.begin(), seeds.end(), run.seed) == seeds.end()) seeds.push_back(run.seed);
    all.push_back(std::move(run));
  }
  std::sort(seeds.begin(), seeds.end());
  CheckRungsLogged(asha, all);
  std::vector<Sweep> sweeps;
  for (int seed : seeds) sweeps.push_back(MakeSweep(seed, all, asha.max_steps));
  for (const Sweep& s : sweeps) {
    if (s.runs.size() != sweeps[0].runs.size()) Die("the seeds have different numbers of configurations");
  }
  const size_t n = sweeps[0].runs.size();

  std::printf("ASHA replay on recorded curves: %zu configurations x %zu seed(s); objective: final loss.total (min)\n",
              n, sweeps.size());
  std::printf("rungs %s (eta %lld, min_trials %lld, grace %lld); rung signal: the curve's loss.total at the rung\n"
              "(the mean over the log interval that ends there); full sweep: %lld training steps per seed\n\n",
              Rungs(asha).c_str(), static_cast<long long>(asha.reduction_factor),
              static_cast<long long>(asha.min_trials), static_cast<long long>(asha.grace_steps),
              static_cast<long long>(sweeps[0].full_steps));

  // Which rung signal to trust: Spearman of the value at a step with the final
  // objective, at the schedule's rungs (rung index) and at other logged steps (-).
  std::vector<int64_t> steps = asha.rungs;
  for (int64_t st = sweeps[0].runs[0]->curve.begin()->first; st < asha.max_steps; st *= 2) steps.push_back(st);
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  std::printf("Spearman(loss.total at the step, final loss.total), per seed\n%-6s %-7s", "rung", "step");
  for (const Sweep& s : sweeps) std::printf("  seed %-3d", s.seed);
  std::printf("\n");
  for (int64_t st : steps) {
    const int k = sic::RungAt(asha.rungs, st);
    std::printf("%-6s %-7lld", k >= 0 ? std::to_string(k).c_str() : "-", static_cast<long long>(st));
    for (const Sweep& s : sweeps) {
      std::vector<double> at(n);
      for (size_t i = 0; i < n; ++i) at[i] = s.runs[i]->At(st);
      std::printf("  %+7.3f ", Spearman(at, s.final_obj));
    }
    std::printf("\n");
  }
  for (size_t a = 1; a < sweeps.size(); ++a) {
    std::printf("final objective, seed %d vs. seed %d (its seed noise): %+.3f\n", sweeps[0].seed, sweeps[a].seed,
                Spearman(sweeps[0].final_obj, sweeps[a].final_obj));
  }

  constexpr int kOrders = 100;
  std::printf("\n%-5s %-7s %-7s %9s %8s %9s %9s  %s\n", "seed", "method", "workers", "steps", "of full", "time",
              "of full/W", "rank of its best final objective in the full sweep; target: <= 40% of the steps and top 3");
  std::vector<Score> table;  // ASHA on table_seed, per worker count
  for (const Sweep& sw : sweeps) {
    for (int w : workers) {
      for (const ScheduleSpec* s : {&asha, &median}) {
        const Score sc = Evaluate(*s, sw, w);
        const double full_time = std::ceil(double(n) / w) * double(asha.max_steps);
        std::printf("%-5d %-7s %-7d %9lld %7.1f%% %9lld %8.1f%%  %2d (%.4g)", sw.seed,
                    s == &asha ? "asha" : "median", w, static_cast<long long>(sc.o.steps), 100 * sc.frac,
                    static_cast<long long>(sc.o.makespan), 100 * double(sc.o.makespan) / full_time, sc.best_rank,
                    sc.o.best);
        if (s == &asha) {
          const OrderStats os = Shuffled(*s, sw, w, kOrders);
          std::printf(" %s   random orders: %.1f%%, top 3 in %d/%d", sc.pass ? "PASS" : "MISS", 100 * os.median_frac,
                      os.top3, os.orders);
        }
        std::printf("%s\n", sc.o.end_of_sweep_promotions ? "  (end-of-sweep promotion)" : "");
        if (s == &asha && sw.seed == table_seed) table.push_back(sc);
      }
    }
  }

  // How the figures move with the schedule (2 workers).
  std::printf("\nASHA with other schedules, 2 workers. Grid order (as the service feeds a grid): steps of the\n"
              "full sweep, rank of the best; %d random start orders (as a search proposes): median steps,\n"
              "orders whose best is in the full sweep's top 3\n%-26s %-6s",
              kOrders, "rungs", "min_tr");
  for (const Sweep& s : sweeps) std::printf("  seed %-32d", s.seed);
  std::printf("\n");
  for (int64_t first : {int64_t{90}, int64_t{270}}) {
    for (int64_t e : {int64_t{2}, int64_t{3}}) {
      for (int64_t mt : {int64_t{3}, int64_t{9}}) {
        ScheduleSpec s = asha;
        s.min_steps = first;
        s.reduction_factor = e;
        s.min_trials = mt;
        s.grace_steps = 0;
        auto r = sic::RungSteps(first, s.max_steps, e, 0);
        if (!r.ok()) Die(r.status().message());
        s.rungs = r.value();
        bool logged = true;
        for (int64_t step : s.rungs) logged = logged && sweeps[0].runs[0]->curve.count(step);
        if (!logged) continue;
        std::printf("%-26s %-6lld", Rungs(s).c_str(), static_cast<long long>(mt));
        for (const Sweep& sw : sweeps) {
          const Score sc = Evaluate(s, sw, 2);
          const OrderStats os = Shuffled(s, sw, 2, kOrders);
          std::printf("  %5.1f%% rank %-2d %-3s %5.1f%% %3d/%d", 100 * sc.frac, sc.best_rank, sc.pass ? "ok" : "",
                      100 * os.median_frac, os.top3, os.orders);
        }
        std::printf("\n");
      }
    }
  }

  const Sweep* ts = nullptr;
  for (const Sweep& s : sweeps) {
    if (s.seed == table_seed) ts = &s;
  }
  if (!ts) Die("no run of seed " + std::to_string(table_seed));
  std::printf("\nseed %d per configuration, best first (ASHA: the deepest rung reached, 0-based; the final state)\n",
              table_seed);
  std::printf("%-6s %-26s %10s %5s", "config", "overrides", "final", "rank");
  for (int w : workers) std::printf("  asha W=%-4d", w);
  std::printf("\n");
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ts->rank[a] < ts->rank[b]; });
  for (size_t i : order) {
    std::printf("%-6d %-26s %10.4g %5.0f", ts->runs[i]->config, ts->runs[i]->label.c_str(), ts->final_obj[i],
                ts->rank[i]);
    for (const Score& sc : table) std::printf("  %d %-9s", sc.o.deepest[i], sc.o.final_state[i].c_str());
    std::printf("\n");
  }
  return 0;
}
