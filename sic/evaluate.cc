#include "sic/evaluate.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "sic/rng.h"
#include "sic/walk.h"

namespace sic {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

// Walks simulated together: bounds the states kept per batch
// ([chunk, steps, N] floats) while keeping the matrix products large.
constexpr int64_t kTrajectoriesPerBatch = 256;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

Result<ArenaReport> SimulateArena(SicNet& model, const Config& config, double arena_size, torch::Device device) {
  const auto start_time = std::chrono::steady_clock::now();
  const EvalConfig& e = config.eval;
  WalkConfig walk = config.data.walk;
  walk.arena_size = arena_size;
  walk.steps_per_input = EvalStepsPerInput(config);
  if (walk.border * 2 >= arena_size) {
    return Status::Error("arena " + std::to_string(arena_size) + " m is not wider than twice data.walk.border");
  }
  ArenaReport report;
  report.arena_size = arena_size;
  report.bins = EvalBins(e, arena_size);
  const int64_t n_units = model->n_units, T = e.steps;
  report.walk = WalkSummary{e.trajectories, T, walk.steps_per_input, 0.0, 0, 0};

  RateMapAccumulator maps(n_units, report.bins, arena_size);
  DistanceCurveAccumulator curve(arena_size / static_cast<double>(report.bins), arena_size / std::sqrt(2.0));
  // Each arena size has its own walks, whichever other arenas are evaluated.
  const uint64_t arena_key = static_cast<uint64_t>(std::llround(arena_size * 1000)) << 32;
  double step_sum = 0;

  torch::NoGradGuard no_grad;
  const auto g0 = model->InitialState().detach();  // [N]
  for (int64_t first = 0; first < e.trajectories; first += kTrajectoriesPerBatch) {
    const int64_t B = std::min(kTrajectoriesPerBatch, e.trajectories - first);
    std::vector<WalkPath> paths;
    paths.reserve(B);
    auto velocities = torch::empty({T, B, 2}, torch::kFloat32);  // time-major: one slice per step
    auto v = velocities.accessor<float, 3>();
    for (int64_t b = 0; b < B; ++b) {
      Rng rng(static_cast<uint64_t>(e.seed), kEvalWalkStream, arena_key | static_cast<uint64_t>(first + b));
      paths.push_back(SmoothWalk(walk, T, Point{0.0, 0.0}, rng));
      for (int64_t t = 0; t < T; ++t) {
        const Point& in = paths.back().inputs[t];
        v[t][b][0] = static_cast<float>(in.x);
        v[t][b][1] = static_cast<float>(in.y);
        step_sum += std::hypot(in.x, in.y);
      }
    }
    const auto v_dev = velocities.to(device);
    auto g = g0.expand({B, n_units});
    std::vector<torch::Tensor> states;
    states.reserve(T);
    for (int64_t t = 0; t < T; ++t) {
      const auto W = model->RecurrentMatrices(v_dev[t]);  // [B, N, N]
      g = NormRelu(torch::bmm(W, g.unsqueeze(2)).squeeze(2), model->eps);
      states.push_back(g);
    }
    const auto all = torch::stack(states, 1);                                          // [B, T, N]
    const auto neural = (all - g0).norm(2, {-1}).to(torch::kCPU, torch::kFloat64);     // [B, T]
    report.walk.zero_states += (all.sum(-1) == 0).sum().item<int64_t>();
    const auto host = all.to(torch::kCPU, torch::kFloat32).contiguous();
    const float* h = host.data_ptr<float>();
    const auto d = neural.accessor<double, 2>();
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < T; ++t) {
        const Point& p = paths[b].positions[t + 1];
        maps.Add(p.x, p.y, h + (b * T + t) * n_units);
        curve.Add(std::hypot(p.x, p.y), d[b][t]);
      }
    }
    report.walk.samples += B * T;
  }
  report.walk.mean_input_step = step_sum / static_cast<double>(e.trajectories * T);
  report.maps = maps.Finish();
  report.distance = curve.Finish();
  report.simulate_seconds = Seconds(start_time);
  return report;
}

Result<Json> RunEvaluation(SicNet& model, const Config& config, torch::Device device, const std::string& out_dir,
                           int64_t step, const EvalHooks& hooks) {
  auto arenas = ParseArenas(config.eval.arenas);
  if (!arenas.ok()) return Status::Error("eval.arenas: " + arenas.status().message());
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Status::Error(out_dir + ": cannot create directory: " + ec.message());
  model->eval();
  auto log = [&](const std::string& line) {
    if (hooks.log) hooks.log(line);
  };
  Json summary_arenas = Json::array();
  for (double arena : arenas.value()) {
    char line[256];
    std::snprintf(line, sizeof line, "arena %g m: %lld walks x %lld inputs (%lld walk steps each), %lld x %lld bins",
                  arena, static_cast<long long>(config.eval.trajectories), static_cast<long long>(config.eval.steps),
                  static_cast<long long>(EvalStepsPerInput(config)), static_cast<long long>(EvalBins(config.eval, arena)),
                  static_cast<long long>(EvalBins(config.eval, arena)));
    log(line);
    Result<ArenaReport> report = Status::Error("");
    try {
      report = SimulateArena(model, config, arena, device);
    } catch (const std::exception& e) {
      const std::string what = e.what();
      return Status::Error("arena " + std::to_string(arena) + " m: " + what.substr(0, what.find('\n')));
    }
    if (!report.ok()) return report.status();
    ArenaReport& r = report.value();
    const auto t0 = std::chrono::steady_clock::now();
    auto analysis = AnalyzeRateMaps(r.maps.rates.data(), r.maps.units, r.bins,
                                    EvalAnalysisOptions(config.eval, arena, static_cast<int>(config.run.threads)));
    if (!analysis.ok()) return Status::Error("arena " + std::to_string(arena) + " m: " + analysis.status().message());
    r.analysis = std::move(analysis.value());
    r.analyze_seconds = Seconds(t0);
    const std::string dir = (fs::path(out_dir) / ArenaDirName(arena)).string();
    if (Status s = WriteArenaReport(r, dir); !s.ok()) return s;
    Json entry = ArenaSummaryJson(r);
    entry["dir"] = ArenaDirName(arena);
    if (hooks.draw) {
      auto pictures = hooks.draw(r, dir);
      entry["pictures"] = pictures.ok() ? Json(pictures.value()) : Json(pictures.status().message());
    }
    std::snprintf(line, sizeof line,
                  "arena %g m: %zu grid units (score60 > %g with a lattice), %zu modules, max score60 %.3f "
                  "[%.1f s walks, %.1f s analysis]",
                  arena, static_cast<size_t>(entry["n_grid"].get<int64_t>()), config.eval.grid_threshold,
                  r.analysis.modules.size(), entry["max_score60"].is_number() ? entry["max_score60"].get<double>() : std::nan(""),
                  r.simulate_seconds, r.analyze_seconds);
    log(line);
    summary_arenas.push_back(entry);
  }
  Json eval_config = ConfigToJson(config)["eval"];
  Json summary{{"step", step},
               {"units", model->n_units},
               {"eval", eval_config},
               {"steps_per_input", EvalStepsPerInput(config)},
               {"arenas", summary_arenas}};
  if (Status s = WriteJsonFile((fs::path(out_dir) / "summary.json").string(), summary); !s.ok()) return s;
  return summary;
}

}  // namespace sic
