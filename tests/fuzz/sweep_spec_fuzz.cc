// libFuzzer target: any byte string given to the sweep spec parser must give
// either a spec or an error, never a crash, a hang or an unbounded allocation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/sweep_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sic::SpecLimits limits;
  limits.max_bytes = 1 << 16;
  limits.max_trials = 64;  // keeps each input fast; the bound itself is under test
  auto spec = sic::ParseSweepSpec(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (spec.ok() && static_cast<int64_t>(spec->trials.size()) > limits.max_trials) __builtin_trap();
  return 0;
}
