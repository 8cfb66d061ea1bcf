#include "common/resources.h"

#include <cmath>

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
      return Status::InvalidArgument("resources." + k + ": unknown key (device, gpu_memory_gb)");
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

}  // namespace sic
