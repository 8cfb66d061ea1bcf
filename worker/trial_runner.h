// TrialRunner: one trial in-process on the science core: train (resuming from
// the checkpoint in `dir` when there is one), then evaluate when the config
// asks for it, and collect what the store keeps (final losses, evaluation
// headline numbers, a downsampled learning curve, the pictures).
//
// This header is torch-free so that the worker's queue logic, its tests and
// its benchmark build without LibTorch; trial_runner.cc is the worker's only
// LibTorch translation unit.
// Thread-safety: RunTrial may run in several threads at once (one trial each);
// LibTorch's thread count is process-wide, so give every trial the same
// run.threads.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/trial_report.h"
#include "sic/config.h"
#include "sic/status.h"

namespace sic {

struct TrialProgress {
  int64_t step = 0, total_steps = 0;
  double loss_total = 0, lr = 0, steps_per_sec = 0;
};

struct TrialHooks {
  std::function<void(const TrialProgress&)> on_progress;  // after every step
  std::function<bool()> should_stop;  // true: checkpoint and return `stopped`
};

struct TrialRun {
  bool stopped = false;  // by should_stop; the checkpoint in dir resumes it
  std::map<std::string, double> metrics;
  std::vector<CurvePoint> curve;
  std::vector<Artifact> artifacts;
};

using TrialFn = std::function<Result<TrialRun>(const Config&, const std::string& dir, const TrialHooks&)>;

// The real thing (LibTorch).
Result<TrialRun> RunTrial(const Config& config, const std::string& dir, const TrialHooks& hooks);

// Re-executes with the tuned BLAS/OpenMP environment (sic/runtime.h); call
// first in main.
void PrepareTrialRuntime(char** argv);

}  // namespace sic
