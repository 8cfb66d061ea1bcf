// CSV cells (RFC 4180) that a spreadsheet opens as data, never as a formula.
// Header-only: sicctl uses it without linking the store.
//
// CsvText(s): a text cell. Quoted, with quotes doubled, when it holds a comma,
//   a quote, a newline or a carriage return. A text that a spreadsheet would
//   run as a formula (it starts with '=', '+', '-', '@', a tab or a carriage
//   return; OWASP "CSV Injection") is neutralised: a single quote is put in
//   front and the cell is quoted ("=1+1" -> "'=1+1").
// CsvNumber(s): a cell that holds a number as text ("-0.25", "1e-05"):
//   written as it is, so that a negative number stays a number. Anything that
//   is not wholly a decimal number is written as CsvText.
//
// Which to use is the caller's knowledge of the column: names, errors,
// workers and string overrides are text; metrics, counts and times are numbers.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdlib>
#include <string>

namespace sic {

inline std::string CsvText(const std::string& s) {
  const bool formula = !s.empty() && std::string("=+-@\t\r").find(s[0]) != std::string::npos;
  if (!formula && s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = formula ? "\"'" : "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Whether `s` is wholly a decimal number: an optional sign, digits with at
// most one '.', and an optional exponent ("-1.5e-3"); not "nan", "inf", "0x1".
inline bool IsCsvNumber(const std::string& s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  bool dot = false;
  for (; i < s.size(); ++i) {
    if (s[i] >= '0' && s[i] <= '9') ++digits;
    else if (s[i] == '.' && !dot) dot = true;
    else break;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

inline std::string CsvNumber(const std::string& s) { return IsCsvNumber(s) ? s : CsvText(s); }

}  // namespace sic
