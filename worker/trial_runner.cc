#include "worker/trial_runner.h"

#include <chrono>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <sstream>

#include <torch/cuda.h>

#include "sic/evaluate.h"
#include "sic/pictures.h"
#include "sic/runtime.h"
#include "sic/trainer.h"

namespace sic {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxCurvePoints = 500;
constexpr uintmax_t kMaxPictureBytes = 2 << 20, kMaxPicturesTotal = 16 << 20;

double Get(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

// curve.jsonl, every line, then thinned to at most kMaxCurvePoints (last kept).
std::vector<CurvePoint> ReadCurve(const std::string& dir) {
  std::vector<CurvePoint> all;
  std::ifstream in(dir + "/curve.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("step")) continue;
    CurvePoint p;
    p.step = j["step"].get<int64_t>();
    for (const CurveTerm& t : kCurveTerms) p.*t.field = Get(j, t.name);
    all.push_back(p);
  }
  if (all.size() <= kMaxCurvePoints) return all;
  std::vector<CurvePoint> out;
  const double stride = static_cast<double>(all.size()) / static_cast<double>(kMaxCurvePoints - 1);
  for (size_t k = 0; k + 1 < kMaxCurvePoints; ++k) out.push_back(all[static_cast<size_t>(k * stride)]);
  out.push_back(all.back());
  return out;
}

// Numeric leaves of an evaluation summary's arenas as "eval.<L>m.<path>"
// (arrays are per-unit detail, left in the files).
void Flatten(const nlohmann::ordered_json& j, const std::string& prefix, std::map<std::string, double>& out) {
  if (j.is_null()) {
    out[prefix] = std::nan("");
  } else if (j.is_number()) {
    out[prefix] = j.get<double>();
  } else if (j.is_boolean()) {
    out[prefix] = j.get<bool>() ? 1 : 0;
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) Flatten(it.value(), prefix + "." + it.key(), out);
  }
}

// The arenas of an evaluation summary (sic/evaluate.h) as metrics
// "eval.<L>m.<path>". A null (an undefined number, e.g. max_score60 when every
// unit is silent) becomes NaN, so the metric exists and ranks as undefined.
std::map<std::string, double> ArenaMetrics(const nlohmann::ordered_json& summary) {
  std::map<std::string, double> out;
  for (const auto& arena : summary["arenas"]) {
    if (!arena.contains("arena_size_m")) continue;
    std::ostringstream name;
    name << "eval." << arena["arena_size_m"].get<double>() << "m";
    Flatten(arena, name.str(), out);
  }
  return out;
}

// The losses of the last curve line as metrics, and the step count.
void AddLossMetrics(const std::vector<CurvePoint>& curve, int64_t step, std::map<std::string, double>& metrics) {
  metrics["steps"] = static_cast<double>(step);
  if (curve.empty()) return;
  for (const CurveTerm& t : kCurveTerms) metrics[CurveMetricName(t)] = curve.back().*t.field;
}

// The pictures an evaluation drew under `root`, small ones only, named by
// their path there ("arena_2m/ratemaps.png").
std::vector<Artifact> Pictures(const std::string& root) {
  std::vector<Artifact> out;
  uintmax_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(root, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".png") continue;
    const uintmax_t size = entry.file_size();
    if (size > kMaxPictureBytes || total + size > kMaxPicturesTotal) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    total += size;
    out.push_back({fs::relative(entry.path(), root).string(), "image/png", std::move(bytes)});
  }
  return out;
}

EvalHooks DrawingHooks(bool draw = true) {
  EvalHooks hooks;
  if (draw && PicturesAvailable()) hooks.draw = DrawArenaPictures;
  return hooks;
}

struct ProbeRun {
  std::map<std::string, double> metrics;
  std::vector<Artifact> pictures;
};

// The quick evaluation (config probe.*) of the model at `step`, into dir/probe
// (replacing the previous probe's files): its metrics and, when asked, pictures.
Result<ProbeRun> Probe(SicNet& model, const Config& config, const std::string& dir, int64_t step, bool pictures) {
  auto device = ParseDevice(config.run.device);
  if (!device.ok()) return device.status();
  const std::string probe_dir = dir + "/probe";
  std::error_code ec;
  fs::remove_all(probe_dir, ec);  // no picture of an earlier probe passes for this one's
  auto summary = RunEvaluation(model, ProbeEvalConfig(config), device.value(), probe_dir, step, DrawingHooks(pictures));
  if (!summary.ok()) return Status::Error("probe at step " + std::to_string(step) + ": " + summary.status().message());
  return ProbeRun{ArenaMetrics(summary.value()), Pictures(probe_dir)};
}

// The final evaluation into dir/eval: its metrics and its small pictures.
Status FinalEvaluation(Trainer& t, const Config& config, const std::string& dir, TrialRun& run) {
  auto device = ParseDevice(config.run.device);
  if (!device.ok()) return device.status();
  const std::string eval_dir = dir + "/eval";
  auto summary = RunEvaluation(t.model(), config, device.value(), eval_dir, t.step(), DrawingHooks());
  if (!summary.ok()) return Status::Error("evaluation: " + summary.status().message());
  for (const auto& [name, value] : ArenaMetrics(summary.value())) run.metrics[name] = value;
  run.artifacts = Pictures(eval_dir);
  return Status::OK();
}

// The trainer's hooks for the trial's: progress, curve lines, probes (the one
// at the stop step kept in *at_stop, the others reported).
TrainHooks TrainerHooks(const Config& config, const std::string& dir, const TrialHooks& hooks,
                        std::map<std::string, double>* at_stop) {
  TrainHooks h;
  h.should_stop = hooks.should_stop;
  h.stop_at_step = hooks.stop_at_step;
  h.on_progress = [&hooks](const Progress& p) {
    if (hooks.on_progress) hooks.on_progress({p.step, p.total_steps, p.losses.total, p.lr, p.steps_per_sec});
  };
  h.on_curve = [&hooks](const CurveLine& l) {
    const StepLosses& m = l.losses;
    if (hooks.on_curve) hooks.on_curve({l.step, m.total, m.sep, m.inv, m.cap, m.coniso, l.lr});
  };
  h.on_probe = [&config, dir, &hooks, at_stop](int64_t step, SicNet& model) -> Status {
    // The probe at a rung travels in Paused, which carries no pictures: none drawn.
    auto probe = Probe(model, config, dir, step, /*pictures=*/step != hooks.stop_at_step);
    if (!probe.ok()) return probe.status();
    if (step == hooks.stop_at_step) {
      *at_stop = std::move(probe.value().metrics);
    } else if (hooks.on_evaluation) {
      hooks.on_evaluation(step, probe.value().metrics, probe.value().pictures);
    }
    return Status::OK();
  };
  return h;
}

Result<TrialRun> TrainAndEvaluate(const Config& config, const std::string& dir, const TrialHooks& hooks) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Error(dir + ": cannot create: " + ec.message());
  const bool resume = fs::exists(CheckpointPath(dir));
  // A torn checkpoint would fail every later delivery of the trial alike: it
  // is set aside and the trial trains again (the queue heals itself).
  auto trainer = Trainer::Open(config, dir, resume, Trainer::Unreadable::kRestart);
  if (!trainer.ok()) return trainer.status();
  Trainer& t = *trainer.value();
  if (!t.set_aside().empty() && hooks.on_notice) hooks.on_notice(t.set_aside());
  const int64_t resumed_from = resume ? t.step() : 0;
  TrialRun run;
  const bool rung = hooks.stop_at_step > 0 && hooks.stop_at_step < config.optim.steps;
  if (rung && t.step() > hooks.stop_at_step) {
    run.stale = true;
    run.step = t.step();
    return run;
  }
  std::map<std::string, double> at_stop;
  auto outcome = t.Run(TrainerHooks(config, dir, hooks, &at_stop));
  if (!outcome.ok()) return outcome.status();
  run.step = t.step();
  if (outcome.value() == TrainOutcome::kStopped) {
    run.stopped = true;
    return run;
  }
  const std::vector<CurvePoint> curve = ReadCurve(dir);
  AddLossMetrics(curve, t.step(), run.metrics);
  // Where this attempt picked up: >0 shows a taken-over trial resumed from its checkpoint.
  run.metrics["resumed_from_step"] = static_cast<double>(resumed_from);
  if (outcome.value() == TrainOutcome::kPaused) {
    run.paused = true;
    for (const auto& [name, value] : at_stop) run.metrics[name] = value;
    return run;
  }
  run.curve = curve;
  if (config.eval.enabled) {
    if (Status s = FinalEvaluation(t, config, dir, run); !s.ok()) return s;
  }
  return run;
}

}  // namespace

void PrepareTrialRuntime(char** argv) { ReexecWithTunedRuntime(argv); }

int CudaDeviceCount() { return static_cast<int>(torch::cuda::device_count()); }

Result<TrialRun> RunTrial(const Config& config, const std::string& dir, const TrialHooks& hooks) {
  // LibTorch and std::filesystem report some failures by throwing (c10::Error
  // from a device or an allocation, filesystem_error from a folder that
  // changes while it is read): the trial fails with them, not the worker.
  try {
    return TrainAndEvaluate(config, dir, hooks);
  } catch (const std::exception& e) {
    return Status::Internal("trial failed: " + FirstLine(e.what()));
  }
}

}  // namespace sic
