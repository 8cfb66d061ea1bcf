#include "worker/trial_runner.h"

#include <chrono>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <sstream>

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
    all.push_back({j["step"].get<int64_t>(), Get(j, "total"), Get(j, "sep"), Get(j, "inv"), Get(j, "cap"),
                   Get(j, "coniso"), Get(j, "lr")});
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
  if (j.is_number()) {
    out[prefix] = j.get<double>();
  } else if (j.is_boolean()) {
    out[prefix] = j.get<bool>() ? 1 : 0;
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) Flatten(it.value(), prefix + "." + it.key(), out);
  }
}

Result<TrialRun> TrainAndEvaluate(const Config& config, const std::string& dir, const TrialHooks& hooks) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Error(dir + ": cannot create: " + ec.message());
  const bool resume = fs::exists(CheckpointPath(dir));
  auto trainer = Trainer::Open(config, dir, resume);
  if (!trainer.ok()) return trainer.status();
  Trainer& t = *trainer.value();
  const int64_t resumed_from = resume ? t.step() : 0;

  TrainHooks train_hooks;
  train_hooks.should_stop = hooks.should_stop;
  train_hooks.on_progress = [&](const Progress& p) {
    if (hooks.on_progress) hooks.on_progress({p.step, p.total_steps, p.losses.total, p.lr, p.steps_per_sec});
  };
  auto outcome = t.Run(train_hooks);
  if (!outcome.ok()) return outcome.status();
  TrialRun run;
  if (outcome.value() == TrainOutcome::kStopped) {
    run.stopped = true;
    return run;
  }
  run.curve = ReadCurve(dir);
  run.metrics["steps"] = static_cast<double>(t.step());
  // Where this attempt picked up: >0 shows a taken-over trial resumed from its checkpoint.
  run.metrics["resumed_from_step"] = static_cast<double>(resumed_from);
  if (!run.curve.empty()) {
    const CurvePoint& last = run.curve.back();
    run.metrics["loss.total"] = last.total;
    run.metrics["loss.sep"] = last.sep;
    run.metrics["loss.inv"] = last.inv;
    run.metrics["loss.cap"] = last.cap;
    run.metrics["loss.coniso"] = last.coniso;
    run.metrics["lr"] = last.lr;
  }
  if (config.eval.enabled) {
    auto device = ParseDevice(config.run.device);
    if (!device.ok()) return device.status();
    EvalHooks eval_hooks;
    if (PicturesAvailable()) eval_hooks.draw = DrawArenaPictures;
    const std::string eval_dir = dir + "/eval";
    auto summary = RunEvaluation(t.model(), config, device.value(), eval_dir, t.step(), eval_hooks);
    if (!summary.ok()) return Status::Error("evaluation: " + summary.status().message());
    for (const auto& arena : summary.value()["arenas"]) {
      if (!arena.contains("arena_size_m")) continue;
      std::ostringstream name;
      name << "eval." << arena["arena_size_m"].get<double>() << "m";
      Flatten(arena, name.str(), run.metrics);
    }
    // Pictures, small ones only, named by their path under eval/.
    uintmax_t total = 0;
    for (const auto& entry : fs::recursive_directory_iterator(eval_dir, ec)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".png") continue;
      const uintmax_t size = entry.file_size();
      if (size > kMaxPictureBytes || total + size > kMaxPicturesTotal) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      total += size;
      run.artifacts.push_back({fs::relative(entry.path(), eval_dir).string(), "image/png", std::move(bytes)});
    }
  }
  return run;
}

}  // namespace

void PrepareTrialRuntime(char** argv) { ReexecWithTunedRuntime(argv); }

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
