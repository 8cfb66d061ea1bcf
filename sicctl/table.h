// Table: rows of cells printed as an aligned text table, CSV or JSON (an
// array of objects keyed by the header), for sicctl's --format.
// Thread-safety: none needed (plain data).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace sic {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // "table", "csv" or "json"; cells that parse as numbers stay numbers in JSON.
  void Print(std::ostream& out, const std::string& format) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace sic
