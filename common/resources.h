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
// A trial that needs GPU memory goes to the queue "<class>@<GB>" (GB rounded
// up), which only workers of the class declaring at least that much memory per
// GPU claim from (sic-worker --gpu-memory-gb): a 24 GB worker never sees a
// trial that needs 40 GB, so it cannot fail it for lack of memory.
//
// Pure functions and values; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// The queue a trial with these needs is fed to: "cuda", or "cuda@40" for 40 GB
// per GPU (39.5 -> 40).
std::string QueueOf(const Needs& needs);

// A queue's name split: its class and the memory per GPU it asks for (0: none).
struct QueueName {
  std::string device_class;
  int64_t gpu_memory_gb = 0;
};
// A device class, optionally followed by '@' and 1-6 digits without a leading
// zero; nullopt for anything else (it would name another Redis key).
std::optional<QueueName> ParseQueueName(std::string_view name);
inline bool IsQueueName(std::string_view name) { return ParseQueueName(name).has_value(); }

// Whether a worker serving `classes` (empty: {"cpu"}, as workers older than
// classes) with `gpu_memory_gb` per GPU (0: not declared) claims from `queue`.
bool Serves(const std::vector<std::string>& classes, double gpu_memory_gb, std::string_view queue);

// The queues a worker claims from, in its order of preference: for each of its
// classes, the class's memory queues among `existing` that it serves (most
// memory first: only workers as large as that run them), then the class.
std::vector<std::string> ClaimOrder(const std::vector<std::string>& classes, double gpu_memory_gb,
                                    const std::vector<std::string>& existing);

// For people: "class cuda", "class cuda with 40 GB per GPU".
std::string DescribeQueue(std::string_view queue);

}  // namespace sic
