// rest_load: the data side of bench/rest_api.
//   seed DB --trials N --pending K --curve-points P
//       one sweep of N trials written through the real Store (CreateSweep,
//       RecordStart, RecordResult in batches), all but K of them finished
//       with the metric names a real trial reports and a P-point curve.
//   ingest --redis HOST:PORT --password PW --db DB --sweep ID --rate R
//       finishes the sweep's unfinished trials by adding real worker events
//       (progress, then outcome) to <prefix>:results at R outcomes/s, so the
//       coordinator ingests them the way it ingests a live sweep.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/log.h"
#include "common/queue.h"
#include "common/results_reader.h"
#include "common/store.h"
#include "proto/sweep.pb.h"
#include "worker/worker.h"

namespace {

using sic::Status;

// What an evaluated trial reported (worker/trial_runner.cc), one 2 m arena, when
// the figures in docs/rest-api.md were measured; a trial now also reports
// eval.2m.patterns.oblique. Kept at 38 so that those figures stay comparable.
const char* const kMetricNames[] = {
    "eval.2m.arena_size_m", "eval.2m.bin_size_m", "eval.2m.bins", "eval.2m.coverage",
    "eval.2m.distance_near_m", "eval.2m.distance_plateau", "eval.2m.fraction_grid.0.3",
    "eval.2m.fraction_grid.0.8", "eval.2m.fraction_grid.1.15", "eval.2m.grid_score.nan_as_zero",
    "eval.2m.grid_score.threshold", "eval.2m.max_score60", "eval.2m.median_score60", "eval.2m.n_grid",
    "eval.2m.n_modules", "eval.2m.n_units", "eval.2m.patterns.band", "eval.2m.patterns.grid",
    "eval.2m.patterns.none", "eval.2m.patterns.partial", "eval.2m.patterns.square", "eval.2m.seconds.analyze",
    "eval.2m.seconds.simulate", "eval.2m.silent_units", "eval.2m.walk.mean_input_step_m", "eval.2m.walk.samples",
    "eval.2m.walk.steps", "eval.2m.walk.steps_per_input", "eval.2m.walk.trajectories", "eval.2m.walk.zero_states",
    "loss.cap", "loss.coniso", "loss.inv", "loss.sep", "loss.total", "lr", "resumed_from_step", "steps"};

std::map<std::string, double> Metrics(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  std::map<std::string, double> m;
  for (const char* name : kMetricNames) m[name] = u(rng);
  return m;
}

std::vector<sic::CurvePoint> Curve(std::mt19937_64& rng, int points) {
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<sic::CurvePoint> curve;
  for (int k = 1; k <= points; ++k) {
    const double t = 1.0 / k;
    curve.push_back({k * 100, t + u(rng) * 0.1, t, t, -t, t, 1e-3});
  }
  return curve;
}

int Seed(const std::string& db, int64_t trials, int64_t pending, int curve_points) {
  // 5 variants x 100 grid points x trials/500 seeds.
  const int64_t seeds = std::max<int64_t>(1, trials / 500);
  const std::string spec = R"({"name": "bench", "description": "rest_api benchmark",
    "base": {"optim": {"steps": 20000}},
    "ablations": {"no_sep": {"loss.lambda_sep": 0}, "no_inv": {"loss.lambda_inv": 0},
                  "no_cap": {"loss.lambda_cap": 0}, "no_permutation": {"data.trajectories": "identical"}},
    "grid": {"loss.lambda_coniso": [0, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 2, 3, 5],
             "loss.sigma_g": [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6]},
    "seeds": )" + std::to_string(seeds) + "}";
  sic::SpecLimits limits;
  limits.max_trials = 1000000;
  limits.max_expanded_bytes = INT64_MAX;  // a benchmark's own spec: only the trial count matters here
  auto sweep = sic::ParseSweepSpec(spec, limits);
  if (!sweep.ok()) return std::cerr << sweep.status().message() << "\n", 1;
  auto store = sic::Store::Open(db);
  if (!store.ok()) return std::cerr << store.status().message() << "\n", 1;
  auto id = store.value()->CreateSweep(sweep.value(), sic::NowSeconds());
  if (!id.ok()) return std::cerr << id.status().message() << "\n", 1;
  auto rows = store.value()->PendingTrials(1 << 30);
  if (!rows.ok()) return std::cerr << rows.status().message() << "\n", 1;
  std::vector<int64_t> ids;
  for (const auto& t : rows.value()) ids.push_back(t.id);
  if (Status s = store.value()->MarkQueued(ids); !s.ok()) return std::cerr << s.message() << "\n", 1;
  std::mt19937_64 rng(1);
  const size_t finish = ids.size() - std::min<size_t>(ids.size(), pending);
  for (size_t begin = 0; begin < finish; begin += 500) {
    Status s = store.value()->Batch([&] {
      for (size_t i = begin; i < std::min(finish, begin + 500); ++i) {
        sic::TrialResult r;
        r.trial_id = ids[i];
        r.round = 1;
        r.delivery = 1;
        r.worker = "bench-" + std::to_string(i % 16);
        r.ok = true;
        r.metrics = Metrics(rng);
        r.curve = Curve(rng, curve_points);
        r.started_at = sic::NowSeconds() - 3600;
        r.finished_at = sic::NowSeconds();
        (void)store.value()->RecordStart(r.trial_id, 1, 1, r.worker, r.started_at);
        (void)store.value()->RecordResult(r);
      }
    });
    if (!s.ok()) return std::cerr << s.message() << "\n", 1;
  }
  std::cout << id.value() << "\n";
  return 0;
}

int Ingest(const std::string& redis_address, const std::string& password, const std::string& prefix,
           const std::string& db, int64_t sweep_id, double rate) {
  sic::RedisOptions redis;
  redis.password = password;
  if (Status s = sic::ParseRedisAddress(redis_address, redis); !s.ok()) return std::cerr << s.message() << "\n", 2;
  auto reader = sic::ResultsReader::Open(db);
  if (!reader.ok()) return std::cerr << reader.status().message() << "\n", 1;
  sic::TrialQuery q;
  q.statuses = {"pending", "queued", "running"};
  auto ids = reader.value()->TrialOrder(sweep_id, q);
  if (!ids.ok()) return std::cerr << ids.status().message() << "\n", 1;
  sic::Queue queue(redis, prefix);
  std::mt19937_64 rng(2);
  const auto start = std::chrono::steady_clock::now();
  int64_t sent = 0;
  for (int64_t id : ids.value()) {
    sic::v1::WorkerEvent start_event;
    start_event.set_trial_id(id);
    start_event.set_round(1);
    start_event.set_delivery(1);
    start_event.set_worker("ingest");
    start_event.set_time(sic::NowSeconds());
    start_event.mutable_progress()->set_step(1);
    start_event.mutable_progress()->set_total_steps(20000);
    sic::v1::WorkerEvent done = start_event;
    auto* o = done.mutable_outcome();
    sic::TrialRun run;
    run.metrics = Metrics(rng);
    run.curve = Curve(rng, 200);
    sic::FillOutcome(run, o);  // what a worker sends
    o->set_started_at(sic::NowSeconds() - 1);
    o->set_finished_at(sic::NowSeconds());
    for (const auto* e : {&start_event, &done}) {
      if (auto r = queue.AddResult(e->SerializeAsString()); !r.ok()) {
        return std::cerr << r.status().message() << "\n", 1;
      }
    }
    ++sent;
    // Hold the rate: the next outcome is due at sent / rate seconds.
    std::this_thread::sleep_until(start + std::chrono::duration<double>(sent / rate));
  }
  std::cerr << "rest_load: sent " << sent << " results\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rest_load: seeds and feeds the REST API benchmark's database"};
  app.require_subcommand(1);
  std::string db, redis = "127.0.0.1:6379", password, prefix = "sic";
  int64_t trials = 20000, pending = 2000, sweep = 1;
  int curve_points = 200;
  double rate = 20;
  auto* seed = app.add_subcommand("seed", "one sweep written through the real Store");
  seed->add_option("DB", db)->required();
  seed->add_option("--trials", trials)->capture_default_str();
  seed->add_option("--pending", pending, "trials left unfinished, for ingest")->capture_default_str();
  seed->add_option("--curve-points", curve_points)->capture_default_str();
  auto* ingest = app.add_subcommand("ingest", "finish the unfinished trials through sic:results");
  ingest->add_option("--db", db)->required();
  ingest->add_option("--redis", redis)->capture_default_str();
  ingest->add_option("--password", password);
  ingest->add_option("--prefix", prefix)->capture_default_str();
  ingest->add_option("--sweep", sweep)->capture_default_str();
  ingest->add_option("--rate", rate, "outcomes per second")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (seed->parsed()) return Seed(db, trials, pending, curve_points);
  return Ingest(redis, password, prefix, db, sweep, rate);
}
