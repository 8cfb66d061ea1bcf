#include "common/resources.h"

#include <algorithm>
#include <cmath>

#include "sic/json_parse.h"

namespace sic {

bool IsDeviceClass(std::string_view name) {
  if (name.empty() || name.size() > kMaxDeviceClassChars || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Status ParseResources(const nlohmann::json& block, ResourceSpec& out) {
  if (!block.is_object()) return Status::InvalidArgument("resources: must be an object, e.g. {\"device\": \"cuda\"}");
  out = ResourceSpec();
  for (auto it = block.begin(); it != block.end(); ++it) {
    const std::string& k = it.key();
    const nlohmann::json& v = it.value();
    if (k == "device") {
      if (!v.is_string() || !IsDeviceClass(v.get_ref<const std::string&>())) {
        return Status::InvalidArgument("resources.device: must be a device class: 1-32 of a-z, 0-9 and '-', "
                                       "starting with a letter (e.g. \"cpu\", \"cuda\", \"cuda-a100\")");
      }
      out.device_class = v.get<std::string>();
    } else if (k == "gpu_memory_gb") {
      if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0 ||
          v.get<double>() > kMaxGpuMemoryGb) {
        return Status::InvalidArgument("resources.gpu_memory_gb: must be a number in [0, 100000]");
      }
      out.gpu_memory_gb = v.get<double>();
    } else {
      return Status::InvalidArgument(ShownText("resources." + k, 64) + ": unknown key (device, gpu_memory_gb)");
    }
  }
  if (out.gpu_memory_gb > 0 && out.device_class == "cpu") {
    return Status::InvalidArgument("resources.gpu_memory_gb: a cpu trial needs no GPU memory");
  }
  return Status::OK();
}

Needs NeedsOf(const Config& config, const ResourceSpec& resources) {
  Needs n;
  if (!resources.device_class.empty()) {
    n.device_class = resources.device_class;
  } else {
    // Asking for GPU memory means asking for a GPU.
    const bool gpu = config.run.device.rfind("cuda", 0) == 0 || resources.gpu_memory_gb > 0;
    n.device_class = gpu ? "cuda" : "cpu";
  }
  n.gpu_memory_gb = resources.gpu_memory_gb;
  return n;
}

nlohmann::json NeedsToJson(const Needs& needs) {
  nlohmann::json j = {{"device", needs.device_class}};
  if (needs.gpu_memory_gb > 0) j["gpu_memory_gb"] = needs.gpu_memory_gb;
  return j;
}

std::string QueueOf(const Needs& needs) {
  if (needs.gpu_memory_gb <= 0) return needs.device_class;
  return needs.device_class + "@" + std::to_string(static_cast<int64_t>(std::ceil(needs.gpu_memory_gb)));
}

std::optional<QueueName> ParseQueueName(std::string_view name) {
  const size_t at = name.find('@');
  QueueName q;
  q.device_class = std::string(name.substr(0, at));
  if (!IsDeviceClass(q.device_class)) return std::nullopt;
  if (at == std::string_view::npos) return q;
  const std::string_view digits = name.substr(at + 1);
  // kMaxGpuMemoryGb has 6 digits; no leading zero, so one amount has one name.
  if (digits.empty() || digits.size() > 6 || digits[0] == '0') return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    q.gpu_memory_gb = q.gpu_memory_gb * 10 + (c - '0');
  }
  return q;
}

bool Serves(const std::vector<std::string>& classes, double gpu_memory_gb, std::string_view queue) {
  const auto q = ParseQueueName(queue);
  if (!q) return false;
  if (q->gpu_memory_gb > 0 && gpu_memory_gb < static_cast<double>(q->gpu_memory_gb)) return false;
  if (classes.empty()) return q->device_class == "cpu";
  for (const std::string& c : classes) {
    if (c == q->device_class) return true;
  }
  return false;
}

std::vector<std::string> ClaimOrder(const std::vector<std::string>& classes, double gpu_memory_gb,
                                    const std::vector<std::string>& existing) {
  std::vector<std::string> out;
  for (const std::string& c : classes) {
    std::vector<std::pair<int64_t, std::string>> tiers;
    for (const std::string& e : existing) {
      const auto q = ParseQueueName(e);
      if (q && q->device_class == c && q->gpu_memory_gb > 0 && static_cast<double>(q->gpu_memory_gb) <= gpu_memory_gb) {
        tiers.push_back({q->gpu_memory_gb, e});
      }
    }
    std::sort(tiers.begin(), tiers.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (auto& t : tiers) out.push_back(std::move(t.second));
    out.push_back(c);
  }
  return out;
}

std::string DescribeQueue(std::string_view queue) {
  const auto q = ParseQueueName(queue);
  if (!q || q->gpu_memory_gb == 0) return "class " + std::string(queue);
  return "class " + q->device_class + " with " + std::to_string(q->gpu_memory_gb) + " GB per GPU";
}

}  // namespace sic
