// DecodeJob: the one way a worker turns the bytes of a <prefix>:trials:<class> entry
// into a trial to run. Those bytes come from Redis, so they are checked as
// input from outside: the protobuf TrialJob must parse, its ids must be > 0,
// its name must be short and printable, and its config must be JSON within
// sic::ParseJson's bounds (size, depth) that sic::ConfigFromJson accepts; its
// stop_at_step must lie in [0, optim.steps]. A discard job is not trained:
// its config is not read (it may be empty).
// Every refusal is an InvalidArgument whose message is one line naming what
// is wrong ("job: config: loss.sigma_g: -1 is out of range (must be > 0)").
//
// Torch-free, so the worker's queue logic, its tests and the fuzzer build
// without LibTorch.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include "proto/sweep.pb.h"
#include "sic/config.h"
#include "sic/status.h"

namespace sic {

struct JobLimits {
  size_t max_bytes = 2 << 20;       // the whole serialized job
  size_t max_name_bytes = 1024;     // TrialJob.name
  size_t max_config_bytes = 1 << 20;  // TrialJob.config_json (a config needs ~2 KB)
  int max_config_depth = 8;         // a config nests 3 levels
};

struct DecodedJob {
  v1::TrialJob job;  // as sent: ids > 0, name within limits, config_json as parsed below
  Config config;     // parsed from job.config_json and validated (default for a discard job)
  // The rung to pause at: job.stop_at_step when it is below optim.steps, else
  // 0 (train to the end).
  int64_t pause_at = 0;
};

// The decoded job, or why it is refused. With `ids`, whenever the protobuf
// parsed and its trial id, sweep id and round are all > 0, *ids holds those
// three (and nothing else), also when the job is then refused for its name or
// config: the caller can fail that trial by id instead of leaving it queued.
// Otherwise *ids is cleared.
Result<DecodedJob> DecodeJob(std::string_view bytes, v1::TrialJob* ids = nullptr,
                             const JobLimits& limits = {});

}  // namespace sic
