#include "common/export.h"

#include <cmath>
#include <set>
#include <sstream>

#include "common/csv.h"

namespace sic {
namespace {

std::string Number(double v) {
  std::ostringstream out;
  out.precision(10);
  out << v;
  return out.str();
}

nlohmann::json Json(const ExportRow& row) {
  const TrialRow& t = row.trial;
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [k, v] : row.metrics) metrics[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
  return nlohmann::json({{"trial_id", t.id}, {"index", t.index}, {"name", t.name}, {"variant", t.variant},
                         {"status", t.status}, {"round", t.round}, {"attempts", t.attempts},
                         {"worker", t.worker}, {"error", t.error}, {"overrides", t.overrides},
                         {"metrics", metrics}, {"started_at", t.started_at}, {"finished_at", t.finished_at}});
}

}  // namespace

Result<std::string> FormatExport(const std::vector<ExportRow>& rows, const std::string& format) {
  if (format != "csv" && format != "json") {
    return Status::Error("format: \"" + format + "\" is not allowed (csv or json)");
  }
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const ExportRow& row : rows) out.push_back(Json(row));
    return out.dump(2) + "\n";
  }
  std::set<std::string> override_keys, metric_keys;
  for (const ExportRow& row : rows) {
    if (row.trial.overrides.is_object()) {
      for (auto it = row.trial.overrides.begin(); it != row.trial.overrides.end(); ++it) override_keys.insert(it.key());
    }
    for (const auto& [k, v] : row.metrics) metric_keys.insert(k);
  }
  std::ostringstream csv;
  csv << "trial_id,index,name,variant,status,round,attempts,worker,error";
  for (const auto& k : override_keys) csv << "," << CsvText(k);
  for (const auto& k : metric_keys) csv << "," << CsvText(k);
  csv << ",started_at,finished_at\n";
  for (const ExportRow& row : rows) {
    const TrialRow& t = row.trial;
    csv << t.id << "," << t.index << "," << CsvText(t.name) << "," << CsvText(t.variant) << "," << CsvText(t.status)
        << "," << t.round << "," << t.attempts << "," << CsvText(t.worker) << "," << CsvText(t.error);
    for (const auto& k : override_keys) {
      const auto& o = t.overrides;
      // A number stays a number (a negative lambda is data); strings and
      // anything else (true, [1, 2]) are text.
      std::string cell;
      if (o.contains(k)) cell = o[k].is_number() ? CsvNumber(o[k].dump()) : CsvText(o[k].is_string() ? o[k].get<std::string>() : o[k].dump());
      csv << "," << cell;
    }
    for (const auto& k : metric_keys) {
      auto it = row.metrics.find(k);
      csv << "," << (it == row.metrics.end() ? "" : Number(it->second));
    }
    csv << "," << Number(t.started_at) << "," << Number(t.finished_at) << "\n";
  }
  return csv.str();
}

}  // namespace sic
