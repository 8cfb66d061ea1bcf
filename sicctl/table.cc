#include "sicctl/table.h"

#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/csv.h"

namespace sic {
namespace {

nlohmann::json Cell(const std::string& s) {
  if (s.empty()) return nullptr;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (*end == '\0' && s.find_first_not_of("0123456789.eE+-") == std::string::npos) {
    if (s.find_first_of(".eE") == std::string::npos) return std::strtoll(s.c_str(), nullptr, 10);
    return v;
  }
  return s;
}

}  // namespace

void Table::Print(std::ostream& out, const std::string& format, bool header) const {
  if (format == "json" || format == "jsonl") {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : rows_) {
      nlohmann::json obj = nlohmann::json::object();
      for (size_t i = 0; i < header_.size() && i < row.size(); ++i) obj[header_[i]] = Cell(row[i]);
      rows.push_back(obj);
    }
    if (format == "json") {
      out << rows.dump(2) << "\n";
    } else {
      for (const auto& obj : rows) out << obj.dump() << "\n";
    }
    return;
  }
  if (format == "csv") {
    if (header) {
      for (size_t i = 0; i < header_.size(); ++i) out << (i ? "," : "") << CsvText(header_[i]);
      out << "\n";
    }
    // A cell that is wholly a number is one ("-0.25"); any other is text, and
    // neutralised if a spreadsheet would run it as a formula.
    for (const auto& row : rows_) {
      for (size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << CsvNumber(row[i]);
      out << "\n";
    }
    return;
  }
  std::vector<size_t> width(header_.size());
  for (size_t i = 0; i < header_.size(); ++i) width[i] = header_[i].size();
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string& c = i < cells.size() ? cells[i] : "";
      s += c;
      if (i + 1 < width.size()) s += std::string(width[i] - c.size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << "\n";
  };
  if (header) line(header_);
  for (const auto& row : rows_) line(row);
}

}  // namespace sic
