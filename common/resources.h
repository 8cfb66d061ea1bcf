// Resources: what a trial needs to run, and which workers may claim it.
//
// A trial's device class names the queue it is fed to (Redis stream
// <prefix>:trials:<class>); a worker claims only from the classes it serves
// (sic-worker --class). The class comes from the trial's config (run.device
// "cpu" -> "cpu", "cuda" or "cuda:K" -> "cuda") unless the spec's
// "resources" block names one: {"device": "cuda", "gpu_memory_gb": 40}. A
// class is a pool's name, so a lab may run "cuda-a100" beside "cuda". Which
// device a trial runs on is the worker's choice, not the config's.
//
// Pure functions and values; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sic/config.h"
#include "sic/status.h"

namespace sic {

inline constexpr size_t kMaxDeviceClassChars = 32;
inline constexpr double kMaxGpuMemoryGb = 100000;

struct Needs {
  std::string device_class = "cpu";
  double gpu_memory_gb = 0;  // 0: any GPU of the class
};

// The spec's "resources" block: what it overrides (empty class: from the config).
struct ResourceSpec {
  std::string device_class;
  double gpu_memory_gb = 0;
};

// 1-32 characters of lower-case letters, digits and '-', starting with a letter.
bool IsDeviceClass(std::string_view name);

// Parses a spec's "resources" block; errors name the key ("resources.device: ...").
Status ParseResources(const nlohmann::json& block, ResourceSpec& out);

// A trial's needs: the spec's override, else derived from its config.
Needs NeedsOf(const Config& config, const ResourceSpec& resources);

// {"device": CLASS, "gpu_memory_gb": N} (the key left out when 0).
nlohmann::json NeedsToJson(const Needs& needs);

}  // namespace sic
