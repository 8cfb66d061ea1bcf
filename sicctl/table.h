// Table: rows of cells printed as an aligned text table, CSV or JSON (an
// array of objects keyed by the header, or one object per line), for
// sicctl's --format.
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
  // "table", "csv" or "json" (an array); cells that parse as numbers stay
  // numbers in JSON. "jsonl": one compact object per row and line, for output
  // that grows (sicctl watch). `header` false leaves out the header line of
  // table and csv (a row appended to what was printed before).
  void Print(std::ostream& out, const std::string& format, bool header = true) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace sic
