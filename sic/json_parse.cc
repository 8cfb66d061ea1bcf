#include "sic/json_parse.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sic {
namespace {

// Thrown from the parser callback to stop at once; caught below.
struct TooDeep {};

// The length of the valid UTF-8 character at s[i] (1 to 4), or 0 where the
// bytes there start none: the well-formed sequences of Unicode's table 3-7,
// which is what nlohmann's parser accepts and its strict dump requires.
size_t Utf8Length(std::string_view s, size_t i) {
  auto in = [&](size_t k, unsigned lo, unsigned hi) {
    return i + k < s.size() && static_cast<unsigned char>(s[i + k]) >= lo && static_cast<unsigned char>(s[i + k]) <= hi;
  };
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return in(1, 0x80, 0xBF) ? 2 : 0;
  if (c == 0xE0) return in(1, 0xA0, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
  if (c == 0xED) return in(1, 0x80, 0x9F) && in(2, 0x80, 0xBF) ? 3 : 0;
  if (c == 0xF0) return in(1, 0x90, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  if (c == 0xF4) return in(1, 0x80, 0x8F) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  return 0;
}

// The longest prefix of valid UTF-8 `s` of at most `max_bytes` that ends on a
// character boundary (never before a continuation byte).
size_t Utf8Prefix(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s.size();
  size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace

Result<nlohmann::json> ParseJson(std::string_view text, const JsonLimits& limits, const std::string& what) {
  if (text.size() > limits.max_bytes) {
    return Status::ResourceExhausted(what + ": " + std::to_string(text.size()) + " bytes is over the limit of " +
                                     std::to_string(limits.max_bytes));
  }
  const int max_depth = limits.max_depth;
  bool overflow = false;
  // Called as each object or array opens with the depth it opens at (0 for
  // the root), before its contents are read; and for each number parsed.
  auto check = [max_depth, &overflow](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if ((event == nlohmann::json::parse_event_t::object_start ||
         event == nlohmann::json::parse_event_t::array_start) && depth >= max_depth) {
      throw TooDeep{};
    }
    if (event == nlohmann::json::parse_event_t::value && parsed.is_number_float() &&
        !std::isfinite(parsed.get<double>())) {
      overflow = true;
    }
    return true;
  };
  try {
    nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), check);
    if (overflow) return Status::InvalidArgument(what + ": a number is too large for a double");
    return value;
  } catch (const TooDeep&) {
    return Status::InvalidArgument(what + ": nested deeper than " + std::to_string(max_depth) + " levels");
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for huge numbers
    return Status::InvalidArgument(what + ": malformed JSON: " + ShownText(FirstLine(e.what()), 256));
  }
}

std::string ShownText(std::string_view text, size_t max_bytes) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t n = Utf8Length(text, i);
    if (i + std::max<size_t>(n, 1) > max_bytes) break;
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (n > 1 || (n == 1 && c >= 0x20 && c != 0x7f)) {
      out.append(text.substr(i, n));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {  // another control character, or a byte that starts no valid character
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
    i += std::max<size_t>(n, 1);
  }
  if (i < text.size()) out += "...";
  return out;
}

std::string ShownValue(const nlohmann::json& value) {
  const std::string s = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const size_t n = Utf8Prefix(s, 64);
  return n < s.size() ? s.substr(0, Utf8Prefix(s, 60)) + "..." : s;
}

}  // namespace sic
