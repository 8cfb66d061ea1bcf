#include "worker/job.h"

#include <string>

#include "sic/json_parse.h"

namespace sic {
namespace {

// Where the name is printed (logs, sicctl tables), a control character
// could forge a line; the coordinator never makes such a name.
bool Printable(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

Result<DecodedJob> DecodeJob(std::string_view bytes, v1::TrialJob* ids, const JobLimits& limits) {
  if (ids) ids->Clear();
  if (bytes.size() > limits.max_bytes) {
    return Status::InvalidArgument("job: " + std::to_string(bytes.size()) + " bytes is over the limit of " +
                                     std::to_string(limits.max_bytes));
  }
  DecodedJob out;
  v1::TrialJob& job = out.job;
  if (!job.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::InvalidArgument("job: not a TrialJob message");
  }
  if (job.trial_id() <= 0) return Status::InvalidArgument("job: trial_id " + std::to_string(job.trial_id()) + " is not > 0");
  if (job.sweep_id() <= 0) return Status::InvalidArgument("job: sweep_id " + std::to_string(job.sweep_id()) + " is not > 0");
  if (job.round() <= 0) return Status::InvalidArgument("job: round " + std::to_string(job.round()) + " is not > 0");
  if (ids) {
    ids->set_trial_id(job.trial_id());
    ids->set_sweep_id(job.sweep_id());
    ids->set_round(job.round());
  }
  if (job.name().size() > limits.max_name_bytes) {
    return Status::InvalidArgument("job: name of " + std::to_string(job.name().size()) +
                                   " bytes is over the limit of " + std::to_string(limits.max_name_bytes));
  }
  if (!Printable(job.name())) return Status::InvalidArgument("job: name contains a control character");
  if (job.discard()) return out;  // nothing runs: the config is not needed
  JsonLimits json_limits;
  json_limits.max_bytes = limits.max_config_bytes;
  json_limits.max_depth = limits.max_config_depth;
  auto json = ParseJson(job.config_json(), json_limits, "job: config");
  if (!json.ok()) return Status::InvalidArgument(FirstLine(json.status().message()));
  auto config = ConfigFromJson(json.value());
  if (!config.ok()) {
    // One line of at most 300 characters: a refused value is quoted in it.
    const std::string& why = config.status().message();
    return Status::InvalidArgument(FirstLine(why.rfind("config: ", 0) == 0 ? "job: " + why : "job: config: " + why));
  }
  out.config = std::move(config.value());
  const int64_t stop = job.stop_at_step(), steps = out.config.optim.steps;
  if (stop < 0 || stop > steps) {
    return Status::InvalidArgument("job: stop_at_step " + std::to_string(stop) + " is out of range (must be in [0, " +
                                   std::to_string(steps) + "], optim.steps)");
  }
  out.pause_at = stop < steps ? stop : 0;
  return out;
}

}  // namespace sic
