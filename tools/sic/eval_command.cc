// sic eval CHECKPOINT --out DIR [--arena 2,3,4] [--bins N] [--trajectories N]
//          [--steps N] [--steps-per-input K] [--seed N] [--device D] [--threads N]
#include <cstdio>
#include <string>

#include "sic/checkpoint.h"
#include "sic/evaluate.h"
#include "sic/pictures.h"
#include "sic/runtime.h"
#include "tools/sic/cli_args.h"
#include "tools/sic/commands.h"
#include "tools/sic/evaluation.h"

namespace sic {
namespace {

constexpr char kUsage[] =
    "usage: sic eval CHECKPOINT --out DIR [--arena 2,3,4] [--bins N] [--trajectories N] [--steps N] "
    "[--steps-per-input K] [--seed N] [--device D] [--threads N]";

int Fail(const std::string& message) {
  std::fprintf(stderr, "sic eval: %s\n", message.c_str());
  return 1;
}

}  // namespace

Status EvaluateToDir(SicNet& model, const Config& config, torch::Device device, int64_t step,
                     const std::string& out_dir, const std::string& command) {
  EvalHooks hooks;
  hooks.log = [&](const std::string& line) {
    std::fprintf(stderr, "sic %s: %s\n", command.c_str(), line.c_str());
    std::fflush(stderr);
  };
  if (PicturesAvailable()) {
    hooks.draw = DrawArenaPictures;
  } else {
    std::fprintf(stderr, "sic %s: pictures skipped (built without Cairo); numbers, .npy and .json are written\n",
                 command.c_str());
  }
  auto summary = RunEvaluation(model, config, device, out_dir, step, hooks);
  if (!summary.ok()) return summary.status();
  for (const auto& arena : summary.value()["arenas"]) {
    std::string modules;
    for (const auto& m : arena["modules"]) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s%.3f m (%d)", modules.empty() ? "" : ", ",
                    m["period_m"].is_number() ? m["period_m"].get<double>() : 0.0, m["units"].get<int>());
      modules += buf;
    }
    std::printf("%s: %lld/%lld grid units, %lld modules%s%s, fraction >0.3 %.3f, coverage %.2f\n",
                arena["dir"].get<std::string>().c_str(), static_cast<long long>(arena["n_grid"].get<int64_t>()),
                static_cast<long long>(arena["n_units"].get<int64_t>()),
                static_cast<long long>(arena["n_modules"].get<int64_t>()), modules.empty() ? "" : ": ",
                modules.c_str(), arena["fraction_grid"]["0.3"].get<double>(), arena["coverage"].get<double>());
  }
  std::printf("wrote %s/summary.json and one directory per arena\n", out_dir.c_str());
  std::fflush(stdout);
  return Status::OK();
}

int EvalCommand(const std::vector<std::string>& argv) {
  auto args = Args::Parse(argv,
                          {"--out", "--arena", "--bins", "--trajectories", "--steps", "--steps-per-input", "--seed",
                           "--device", "--threads"},
                          {});
  if (!args.ok()) return Fail(args.status().message());
  if (args->positional().size() != 1) return Fail(kUsage);
  const auto out = args->Value("--out");
  if (!out || out->empty()) return Fail("--out DIR is required");

  auto loaded = LoadModelFromCheckpoint(args->positional()[0], torch::kCPU);
  if (!loaded.ok()) return Fail(loaded.status().message());
  Config config = loaded->config;
  // Flags override the checkpoint's config, with the config's own checks.
  const std::pair<const char*, const char*> integers[] = {
      {"--bins", "eval.bins"},   {"--trajectories", "eval.trajectories"}, {"--steps", "eval.steps"},
      {"--steps-per-input", "eval.steps_per_input"}, {"--seed", "eval.seed"}, {"--threads", "run.threads"}};
  for (const auto& [flag, key] : integers) {
    if (!args->Has(flag)) continue;
    auto value = args->Integer(flag, 0);
    if (!value.ok()) return Fail(value.status().message());
    if (Status s = ApplyOverride(config, key, value.value()); !s.ok()) return Fail(flag + std::string(": ") + s.message());
  }
  for (const auto& [flag, key] : {std::pair<const char*, const char*>{"--arena", "eval.arenas"}, {"--device", "run.device"}}) {
    if (auto v = args->Value(flag)) {
      if (Status s = ApplyOverride(config, key, *v); !s.ok()) return Fail(flag + std::string(": ") + s.message());
    }
  }
  auto device = ParseDevice(config.run.device);
  if (!device.ok()) return Fail(device.status().message());
  const RuntimeInfo runtime = SetUpRuntime(static_cast<int>(config.run.threads), device.value());
  std::fprintf(stderr, "sic eval: %s\n", DescribeRuntime(runtime).c_str());
  if (!runtime.blas_warning.empty()) std::fprintf(stderr, "sic eval: warning: %s\n", runtime.blas_warning.c_str());
  loaded->model->to(device.value());
  if (Status s = EvaluateToDir(loaded->model, config, device.value(), loaded->step, *out, "eval"); !s.ok()) {
    return Fail(s.message());
  }
  return 0;
}

}  // namespace sic
