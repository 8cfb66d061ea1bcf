// The export table of a sweep (`sicctl export`, GET .../export): one row per
// trial with its overrides and metrics, as CSV (one column per override key
// and per metric, the union over trials) or as a JSON array.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/store.h"

namespace sic {

struct ExportRow {
  TrialRow trial;
  std::map<std::string, double> metrics;
};

// format is "csv" or "json"; anything else is an error naming the format.
Result<std::string> FormatExport(const std::vector<ExportRow>& rows, const std::string& format);

}  // namespace sic
