// libFuzzer target: any byte string given to the sweep spec parser must give
// either a spec or a one-line error (valid UTF-8), never a crash, a hang, undefined behaviour
// or an unbounded allocation. The limits are the coordinator's defaults, except
// the trial count, kept small so that each input stays fast (the count bound
// itself is under test; the byte budget scales with it, as below).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/sweep_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sic::SpecLimits limits;  // max_bytes: the real 1 MiB
  limits.max_trials = 64;
  limits.max_expanded_bytes = 64 * 8192;  // per trial: the 64 MiB default / 8192 trials
  auto spec = sic::ParseSweepSpec(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (spec.ok()) {
    if (static_cast<int64_t>(spec->trials.size()) > limits.max_trials) __builtin_trap();
  } else {
    const std::string& m = spec.status().message();
    // One line, a line's worth, and a caller's fault (never kUnknown or kInternal).
    if (m.empty() || m.size() > 1024 || m.find('\n') != std::string::npos) __builtin_trap();
    // Valid UTF-8: a strict dump throws on anything else.
    try {
      (void)nlohmann::json(m).dump();
    } catch (const nlohmann::json::exception&) {
      __builtin_trap();
    }
    if (!spec.status().IsInvalidArgument() && spec.status().code() != sic::Status::Code::kResourceExhausted) {
      __builtin_trap();
    }
  }
  return 0;
}
