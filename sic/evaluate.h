// Evaluation of a trained SIC network (sic-method 5.1-5.5): in each square
// arena of config.eval, eval.trajectories smooth wall-bounded walks (sic/walk.h,
// seeded by eval.seed on kEvalWalkStream) all start at the centre, where g0
// stands for the origin of training, and drive the network from g0; every state
// g_t is binned at its position into rate maps, and its distance from g0 into
// the generalisation curve. The maps are then analysed (sic/analysis.h) and
// written (sic/eval_report.h) under OUT/arena_<L>m/, with OUT/summary.json over
// all arenas.
//
// Thread-safety: one evaluation per model at a time (the model is only read,
// but LibTorch modules are not documented as safe for concurrent forwards).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "sic/config.h"
#include "sic/eval_report.h"
#include "sic/model.h"
#include "sic/status.h"

namespace sic {

struct EvalHooks {
  // Progress lines ("arena 2 m: 1000 walks x 500 inputs ...").
  std::function<void(const std::string&)> log;
  // Draws the arena's pictures into the directory and returns the files written
  // (sic/pictures.h); unset = no pictures.
  std::function<Result<std::vector<std::string>>(const ArenaReport&, const std::string&)> draw;
};

// Runs the walks of one arena and bins the states; report.analysis is left empty.
Result<ArenaReport> SimulateArena(SicNet& model, const Config& config, double arena_size, torch::Device device);

// Every arena of config.eval: simulate, analyse (with `threads` threads, 0 =
// all cores), write. Returns what it writes to out_dir/summary.json; `step`
// (the checkpoint's) is recorded there.
Result<nlohmann::ordered_json> RunEvaluation(SicNet& model, const Config& config, torch::Device device,
                                             const std::string& out_dir, int64_t step, const EvalHooks& hooks = {});

}  // namespace sic
