// TrialRunner: one trial in-process on the science core: train (resuming from
// the checkpoint in `dir` when there is one), then evaluate when the config
// asks for it, and collect what the store keeps (final losses, evaluation
// headline numbers, a downsampled learning curve, the pictures).
//
// With hooks.stop_at_step (a rung of an adaptive sweep) it trains only to that
// step, checkpoints, runs the quick evaluation (config probe.*, sic/config.h)
// and returns `paused`; the checkpoint in `dir` continues it later, on any
// worker that shares the directory. With probe.every it runs the quick
// evaluation every that many steps and reports each through on_evaluation.
// Metrics of both are named as the final evaluation's: "eval.<L>m.<path>".
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
  // Not a hook but the plan: 0 trains to optim.steps; a step below it is a
  // rung, where the trial pauses (TrialJob.stop_at_step).
  int64_t stop_at_step = 0;
  std::function<void(const CurvePoint&)> on_curve;  // each learning-curve line as it is logged
  // Each periodic quick evaluation (probe.every), with its step, metrics and
  // pictures (none when the worker is built without Cairo); the one at
  // stop_at_step is not reported here but in the paused run's metrics.
  std::function<void(int64_t step, const std::map<std::string, double>& metrics,
                     const std::vector<Artifact>& pictures)>
      on_evaluation;
  // A fault the trial got past, in one line for the worker's log (a checkpoint
  // that could not be read, set aside: the trial trained again from step 0).
  std::function<void(const std::string&)> on_notice;
};

struct TrialRun {
  bool stopped = false;  // by should_stop; the checkpoint in dir resumes it
  // At hooks.stop_at_step: checkpointed; metrics are "steps", the losses
  // there ("loss.*", "lr") and the quick evaluation's "eval.*".
  bool paused = false;
  // The checkpoint in dir is already past hooks.stop_at_step: this job is out
  // of date (a later job of the trial has run). Nothing ran or was written.
  bool stale = false;
  int64_t step = 0;  // the step it ended at
  std::map<std::string, double> metrics;
  std::vector<CurvePoint> curve;  // finished runs: the whole curve, thinned
  std::vector<Artifact> artifacts;
};

using TrialFn = std::function<Result<TrialRun>(const Config&, const std::string& dir, const TrialHooks&)>;

// The real thing (LibTorch).
Result<TrialRun> RunTrial(const Config& config, const std::string& dir, const TrialHooks& hooks);

// CUDA devices this process can use (torch::cuda::device_count()); 0 on a
// build or machine without CUDA.
int CudaDeviceCount();

// Re-executes with the tuned BLAS/OpenMP environment (sic/runtime.h); call
// first in main.
void PrepareTrialRuntime(char** argv);

}  // namespace sic
