// Trainer: runs SIC training for one config (sic-method section 4): AdamW,
// gradient accumulation, global-norm clipping, ReduceLROnPlateau, and
// checkpoints that resume exactly (on CPU a stopped-and-resumed run ends
// bit-identical to an uninterrupted one: data are a function of the step, and
// model, optimizer, scheduler and curve state all live in the checkpoint).
//
// Files in the output directory (when one is given):
//   config.json     the effective config
//   curve.jsonl     one line per run.log_every steps: step, each loss, total,
//                   dead (see StepLosses), lr; means over those steps
//   checkpoint.pt   the latest checkpoint, replaced atomically
//
// Not thread-safe: one thread drives a Trainer. The hooks run on that thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sic/config.h"
#include "sic/model.h"
#include "sic/runtime.h"
#include "sic/status.h"

namespace sic {

struct StepLosses {
  double sep = 0, inv = 0, cap = 0, coniso = 0, total = 0;
  // Fraction of states g_1..g_T that are exactly 0 (every unit cut by the ReLU;
  // such a state stays 0 for the rest of its trajectory). sic-method 2.4.
  double dead = 0;
};

struct Progress {
  int64_t step = 0;         // optimizer steps done
  int64_t total_steps = 0;  // config.optim.steps
  StepLosses losses;        // of the last step
  double lr = 0;
  double steps_per_sec = 0;  // recent rate
};

// One line of curve.jsonl: means over the run.log_every steps up to `step`.
struct CurveLine {
  int64_t step = 0;
  StepLosses losses;
  double lr = 0;
};

struct TrainHooks {
  std::function<void(const Progress&)> on_progress;  // after every optimizer step
  std::function<bool()> should_stop;  // polled every step; true = checkpoint and return
  // A rung: when 0 < stop_at_step < optim.steps, the run checkpoints at that
  // step, calls on_probe and returns kPaused. Run again (on a Trainer opened
  // with resume) to continue: the continuation is bit-identical (CPU).
  int64_t stop_at_step = 0;
  // With the model and the step: every config.probe.every steps before the
  // last, and at stop_at_step; once per step, before that step's periodic
  // checkpoint (a kill during a probe is resumed before it) and after a rung's.
  // The model must be left as found (an evaluation only reads it). An error
  // ends the run with that error.
  std::function<Status(int64_t step, SicNet& model)> on_probe;
  std::function<void(const CurveLine&)> on_curve;  // each curve.jsonl line, as written
};

enum class TrainOutcome { kFinished, kStopped, kPaused };

class Trainer {
 public:
  // What Open does with a checkpoint it cannot read (torn or corrupted: a bad
  // disk, a file copied in half). One of another format or another config is
  // an error either way.
  enum class Unreadable {
    kFail,     // an error naming the file; `sic train --resume` leaves it to the user
    kRestart,  // renamed to checkpoint.pt.unreadable, and the run starts at step 0
  };
  // Builds model, optimizer and data for `config`. With an `out_dir`, writes its
  // files there; `resume` continues from out_dir/checkpoint.pt, and without it an
  // existing checkpoint is an error (nothing is overwritten).
  static Result<std::unique_ptr<Trainer>> Open(const Config& config, const std::string& out_dir,
                                               bool resume, Unreadable unreadable = Unreadable::kFail);
  // A new run in `out_dir` (which must hold none) that starts where another
  // stopped: from its checkpoint `from` (the file, or the run's directory) it
  // takes the network, the optimizer's moments, the step and the plateau
  // rule's history. Only model.* must match that run's config; the rest is
  // `config`'s: a lower learning rate once a lattice has formed, other loss
  // weights, more steps. The learning rate is config's when optim.lr differs
  // from that run's, else the run's own (as the plateau rule left it), so a
  // branch with the same config continues exactly as a resume would (CPU).
  // Writes out_dir/branch.json: {"from": the checkpoint, "step": N}.
  static Result<std::unique_ptr<Trainer>> Branch(const Config& config, const std::string& out_dir,
                                                 const std::string& from);
  ~Trainer();

  // Trains until config.optim.steps, hooks.stop_at_step, a hook asks to stop,
  // or a loss goes non-finite (an error naming the loss and step; the last
  // checkpoint is kept). A run already past hooks.stop_at_step is a
  // FailedPrecondition, with nothing trained or written.
  Result<TrainOutcome> Run(const TrainHooks& hooks = {});
  // One optimizer step (accumulating config.optim.accumulate micro-batches).
  Result<StepLosses> Step();
  Status SaveCheckpoint();

  int64_t step() const;
  double lr() const;
  const Config& config() const;
  const RuntimeInfo& runtime() const;
  // Unreadable::kRestart: that Open set a checkpoint aside and started at step
  // 0, and why, in one line for a log ("PATH: cannot read checkpoint: ...;
  // set aside as checkpoint.pt.unreadable, training again from step 0");
  // empty when it did not.
  const std::string& set_aside() const;
  SicNet& model();

 private:
  struct State;
  explicit Trainer(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

// Path of the checkpoint in a run directory.
std::string CheckpointPath(const std::string& out_dir);

}  // namespace sic
