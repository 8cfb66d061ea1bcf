// Times one SIC optimizer step (accumulating optim.accumulate micro-batches) of
// the C++ trainer, and where its time goes. Run through bench/train_step, which
// also times the straightforward PyTorch step and prints the ratio.
//
//   bench_train_step --units N --batch B --seq T [--steps K] [--threads K] [--device D]
// Prints one JSON object: ms per step (median), per-phase ms, runtime info.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "sic/data.h"
#include "sic/losses.h"
#include "sic/model.h"
#include "sic/runtime.h"
#include "sic/trainer.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (name == argv[i]) return argv[i + 1];
  }
  return fallback;
}

int64_t Flag(int argc, char** argv, const std::string& name, int64_t fallback) {
  return std::stoll(Flag(argc, argv, name, std::to_string(fallback)));
}

}  // namespace

int main(int argc, char** argv) {
  sic::ReexecWithTunedRuntime(argv);
  sic::Config config;
  config.model.n_units = Flag(argc, argv, "--units", 128);
  config.data.batch_size = Flag(argc, argv, "--batch", 130);
  config.data.seq_len = Flag(argc, argv, "--seq", 60);
  config.run.threads = Flag(argc, argv, "--threads", 0);
  config.run.device = Flag(argc, argv, "--device", std::string("cpu"));
  const int64_t steps = Flag(argc, argv, "--steps", 5);
  const int64_t warmup = Flag(argc, argv, "--warmup", 1);
  config.optim.steps = steps + warmup;

  // Whole optimizer steps through the Trainer, exactly as `sic train` runs them.
  auto trainer = sic::Trainer::Open(config, "", false);
  if (!trainer.ok()) {
    std::fprintf(stderr, "bench_train_step: %s\n", trainer.status().message().c_str());
    return 1;
  }
  std::vector<double> step_ms;
  for (int64_t i = 0; i < warmup + steps; ++i) {
    const auto t0 = Clock::now();
    auto r = trainer.value()->Step();
    const auto t1 = Clock::now();
    if (!r.ok()) {
      std::fprintf(stderr, "bench_train_step: %s\n", r.status().message().c_str());
      return 1;
    }
    if (i >= warmup) step_ms.push_back(Ms(t0, t1));
  }

  // The same work split into phases, one micro-batch at a time.
  auto& model = trainer.value()->model();
  const torch::Device device(config.run.device);
  sic::BatchSampler sampler(config.data, 1, device, torch::kFloat32);
  std::map<std::string, std::vector<double>> phases;
  // On a GPU, wait for the device at each mark so that phases are real.
  auto mark = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
    return Clock::now();
  };
  for (int64_t i = 0; i < warmup + steps; ++i) {
    model->zero_grad();
    const auto t0 = mark();
    const sic::Batch batch = sampler.Sample(i);
    const auto t1 = mark();
    const auto W = model->RecurrentMatrices(batch.distinct);
    const auto t2 = mark();
    const auto states = model->forward(batch);  // includes the MLP again; subtract below
    const auto t3 = mark();
    const auto g_all = sic::WithInitialState(model->InitialState(), states);
    const auto terms = sic::ComputeLosses(g_all, batch.velocities, config.loss);
    const auto t4 = mark();
    terms.total.backward();
    const auto t5 = mark();
    if (i < warmup) continue;
    phases["data"].push_back(Ms(t0, t1));
    phases["mlp_forward"].push_back(Ms(t1, t2));
    phases["recurrence_forward"].push_back(Ms(t2, t3) - Ms(t1, t2));
    phases["losses_value_and_pair_grad"].push_back(Ms(t3, t4));
    phases["backward"].push_back(Ms(t4, t5));
  }

  nlohmann::json out = {
      {"units", config.model.n_units},
      {"batch", config.data.batch_size},
      {"seq", config.data.seq_len},
      {"accumulate", config.optim.accumulate},
      {"threads", trainer.value()->runtime().threads},
      {"device", trainer.value()->runtime().device},
      {"blas", trainer.value()->runtime().blas},
      {"torch", trainer.value()->runtime().torch_version},
      {"step_ms", Median(step_ms)},
  };
  // The settings ReexecWithTunedRuntime chose; the script gives the baseline the same.
  for (const char* name : {"OPENBLAS_CORETYPE", "OMP_WAIT_POLICY"}) {
    if (const char* value = std::getenv(name)) out["env"][name] = value;
  }
  for (const auto& [name, ms] : phases) out["micro_batch_ms"][name] = Median(ms);
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
