// Loading a trained network from a checkpoint written by the Trainer
// (sic/trainer.h: archive keys "format", "config" (the config as a JSON
// string), "model", "optimizer", "counters", ...), for evaluation. Only the
// config, the model weights and the step are read; optimizer state is ignored.
//
// Thread-safety: LoadModelFromCheckpoint may run concurrently; the returned
// model belongs to the caller.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "sic/config.h"
#include "sic/model.h"
#include "sic/status.h"

namespace sic {

// The version of the checkpoint layout the Trainer writes and this reader reads.
constexpr int64_t kCheckpointFormat = 1;

struct LoadedModel {
  Config config;            // the run's config, as stored in the checkpoint
  SicNet model{nullptr};    // on the requested device, in eval mode
  int64_t step = 0;         // optimizer steps the weights have seen
};

// An error names the file and what is wrong (missing, not a checkpoint, an
// unsupported format, a config this build rejects, weights that do not fit).
Result<LoadedModel> LoadModelFromCheckpoint(const std::string& path, torch::Device device);

}  // namespace sic
