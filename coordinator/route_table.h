// RouteTable: which route answers a request, from a fixed table of
// {method, pattern} rows (in the manner of Redis's command table), so that
// 404, 405 and the Allow header all come from the same rows.
//
// A pattern is a path of '/'-separated segments: a literal ("sweeps"), a
// parameter ("{id}": any one non-empty segment) or, last, a rest parameter
// ("{name...}": one or more segments). A request path matches when it has the
// same segments: the raw path as sent, split on '/' before any percent
// decoding (so "%2F" never separates segments), with no empty segment (so
// "//" and a trailing "/" do not match). Literals compare with the raw
// segment; parameters are percent-decoded, and a rest parameter is its decoded
// segments joined by '/'.
//
// Thread-safety: immutable after construction; Match may be called concurrently.
#pragma once

#include <string>
#include <vector>

namespace sic {

class RouteTable {
 public:
  struct Row {
    std::string method;   // "GET", "POST"
    std::string pattern;  // "/api/v1/sweeps/{id}/trials"
  };

  struct Match {
    enum Kind { kFound, kMethodNotAllowed, kNotFound } kind = kNotFound;
    int row = -1;                     // kFound: the index of the row that answers
    std::vector<std::string> params;  // kFound: decoded parameters, in pattern order
    std::string allow;                // kMethodNotAllowed: "GET, POST" (rows' methods, in table order)
  };

  explicit RouteTable(std::vector<Row> rows);

  // `path`: the request target before any '?', exactly as sent.
  Match Find(const std::string& method, const std::string& path) const;

  const std::vector<Row>& rows() const { return rows_; }

 private:
  struct Compiled {
    std::vector<std::string> segments;  // literals; "" for a parameter
    bool rest = false;                  // the last segment takes the rest of the path
  };
  std::vector<Row> rows_;
  std::vector<Compiled> compiled_;
};

// "%2F" -> "/", and "+" -> " " when `plus_is_space` (query strings). A '%'
// not followed by two hex digits stays as it is.
std::string PercentDecode(const std::string& text, bool plus_is_space);

}  // namespace sic
