#include "coordinator/route_table.h"

#include <algorithm>

namespace sic {
namespace {

// "/a/b/c" -> {"a", "b", "c"}; "/" -> {""}; keeps empty segments.
std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  if (path.empty() || path[0] != '/') return out;
  size_t start = 1;
  while (true) {
    const size_t end = path.find('/', start);
    out.push_back(path.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

RouteTable::RouteTable(std::vector<Row> rows) : rows_(std::move(rows)) {
  for (const Row& row : rows_) {
    Compiled c;
    for (const std::string& s : Segments(row.pattern)) {
      const bool param = s.size() > 2 && s.front() == '{' && s.back() == '}';
      if (param && s.size() > 5 && s.compare(s.size() - 4, 4, "...}") == 0) c.rest = true;
      c.segments.push_back(param ? "" : s);
    }
    compiled_.push_back(std::move(c));
  }
}

RouteTable::Match RouteTable::Find(const std::string& method, const std::string& path) const {
  Match out;
  const std::vector<std::string> segments = Segments(path);
  if (segments.empty() || std::any_of(segments.begin(), segments.end(), [](const std::string& s) { return s.empty(); })) {
    return out;  // not a path, or "//", or a trailing "/"
  }
  std::vector<std::string> allowed;
  for (size_t r = 0; r < compiled_.size(); ++r) {
    const Compiled& c = compiled_[r];
    const size_t n = c.segments.size();
    if (c.rest ? segments.size() < n : segments.size() != n) continue;
    std::vector<std::string> params;
    bool match = true;
    for (size_t i = 0; i < n && match; ++i) {
      if (!c.segments[i].empty()) {
        match = segments[i] == c.segments[i];
      } else if (c.rest && i + 1 == n) {
        std::string rest;
        for (size_t j = i; j < segments.size(); ++j) rest += (j > i ? "/" : "") + PercentDecode(segments[j], false);
        params.push_back(std::move(rest));
      } else {
        params.push_back(PercentDecode(segments[i], false));
      }
    }
    if (!match) continue;
    if (rows_[r].method == method) {
      out.kind = Match::kFound;
      out.row = static_cast<int>(r);
      out.params = std::move(params);
      return out;
    }
    if (std::find(allowed.begin(), allowed.end(), rows_[r].method) == allowed.end()) allowed.push_back(rows_[r].method);
  }
  if (!allowed.empty()) {
    out.kind = Match::kMethodNotAllowed;
    for (const std::string& m : allowed) out.allow += (out.allow.empty() ? "" : ", ") + m;
  }
  return out;
}

std::string PercentDecode(const std::string& text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = HexDigit(text[i + 1]), lo = HexDigit(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += plus_is_space && c == '+' ? ' ' : c;
  }
  return out;
}

}  // namespace sic
