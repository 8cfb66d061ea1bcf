// Evaluation as the `sic` tool runs it, shared by `sic eval` and by `sic train`
// at the end of training: RunEvaluation (sic/evaluate.h) with progress lines on
// stderr as "sic <command>: ...", pictures when this build has Cairo (a single
// note when it has not), and a short per-arena summary on stdout.
#pragma once

#include <string>

#include <torch/torch.h>

#include "sic/config.h"
#include "sic/model.h"
#include "sic/status.h"

namespace sic {

Status EvaluateToDir(SicNet& model, const Config& config, torch::Device device, int64_t step,
                     const std::string& out_dir, const std::string& command);

}  // namespace sic
