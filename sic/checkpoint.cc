#include "sic/checkpoint.h"

#include <algorithm>
#include <filesystem>

namespace sic {

Result<LoadedModel> LoadModelFromCheckpoint(const std::string& path, torch::Device device) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Status::Error(path + ": no such checkpoint file");
  LoadedModel out;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, torch::kCPU);
    c10::IValue format, config;
    if (!archive.try_read("format", format) || !format.isInt()) {
      return Status::Error(path + ": not a sic checkpoint (no \"format\" entry)");
    }
    if (format.toInt() != kCheckpointFormat) {
      return Status::Error(path + ": checkpoint format " + std::to_string(format.toInt()) +
                           " is not supported (this build reads format " +
                           std::to_string(kCheckpointFormat) + ")");
    }
    if (!archive.try_read("config", config) || !config.isString()) {
      return Status::Error(path + ": checkpoint has no config");
    }
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(config.toStringRef());
    } catch (const nlohmann::json::exception& e) {
      return Status::Error(path + ": stored config is not JSON: " + e.what());
    }
    auto parsed = ConfigFromJson(json);
    if (!parsed.ok()) return Status::Error(path + ": stored config: " + parsed.status().message());
    out.config = parsed.value();

    out.model = SicNet(out.config.model);
    torch::serialize::InputArchive model_archive;
    if (!archive.try_read("model", model_archive)) return Status::Error(path + ": checkpoint has no model");
    out.model->load(model_archive);
    torch::Tensor counters;
    if (archive.try_read("counters", counters) && counters.numel() > 0) out.step = counters[0].item<int64_t>();
  } catch (const std::exception& e) {
    return Status::Error(path + ": cannot read checkpoint: " + FirstLine(e.what()));
  }
  out.model->to(device);
  out.model->eval();
  return out;
}

}  // namespace sic
