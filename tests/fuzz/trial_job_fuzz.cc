// libFuzzer target: any bytes a worker finds in <prefix>:trials:<class> must decode
// (worker/job.h) to either a job that keeps DecodeJob's promises or an
// InvalidArgument of one line, never a crash, a hang or an unbounded
// allocation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "worker/job.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sic::JobLimits limits;
  sic::v1::TrialJob ids;
  auto job = sic::DecodeJob(std::string_view(reinterpret_cast<const char*>(data), size), &ids, limits);
  if (job.ok()) {
    const auto& j = job->job;
    if (j.trial_id() <= 0 || j.sweep_id() <= 0 || j.round() <= 0) __builtin_trap();
    if (j.name().size() > limits.max_name_bytes) __builtin_trap();
    if (ids.trial_id() != j.trial_id() || ids.round() != j.round()) __builtin_trap();
    // A rung lies strictly inside the training; a discard trains nothing.
    if (job->pause_at < 0 || (job->pause_at > 0 && job->pause_at >= job->config.optim.steps)) __builtin_trap();
    if (!j.discard() && (j.stop_at_step() < 0 || j.stop_at_step() > job->config.optim.steps)) __builtin_trap();
    // The config a worker would train round-trips through its JSON form.
    auto again = sic::ConfigFromJson(sic::ConfigToJson(job->config));
    if (!again.ok() || sic::ConfigToJson(again.value()) != sic::ConfigToJson(job->config)) __builtin_trap();
  } else {
    const std::string& m = job.status().message();
    if (!job.status().IsInvalidArgument() || m.empty() || m.find('\n') != std::string::npos) __builtin_trap();
    // Ids are handed back only when they are all valid.
    if (ids.trial_id() != 0 && (ids.trial_id() <= 0 || ids.sweep_id() <= 0 || ids.round() <= 0)) __builtin_trap();
  }
  return 0;
}
