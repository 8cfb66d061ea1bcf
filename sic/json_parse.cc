#include "sic/json_parse.h"

#include <cmath>

namespace sic {
namespace {

// Thrown from the parser callback to stop at once; caught below.
struct TooDeep {};

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
    return Status::InvalidArgument(what + ": malformed JSON: " + FirstLine(e.what()));
  }
}

}  // namespace sic
