// One CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma,
// a quote or a newline; as it is otherwise. Header-only: sicctl uses it
// without linking the store.
#pragma once

#include <string>

namespace sic {

inline std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace sic
