// ParseJson: the one way text from outside becomes a nlohmann::json here (a
// sweep spec over gRPC or REST, a config file, a job from Redis). It bounds
// the input before any work is done: the text's size, and the nesting depth,
// checked by the parser as it goes, so that no deep value is ever built.
// (nlohmann's parser is iterative, but copying, dumping and comparing a value
// recurse once per level: a 1 MB "[[[[...]]]]" would overflow the stack.)
// Numbers too large for a double are an error, not infinity.
//
// Thread-safety: a pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sic/status.h"

namespace sic {

struct JsonLimits {
  size_t max_bytes = 1 << 20;  // 1 MiB of text
  int max_depth = 32;          // nested objects and arrays; a spec needs 4
};

// The parsed value, or an InvalidArgument (malformed, too deep) or
// ResourceExhausted (too large) error whose message starts with `what`.
Result<nlohmann::json> ParseJson(std::string_view text, const JsonLimits& limits = {},
                                 const std::string& what = "JSON");

// How text from outside appears in an error message, which is one line of
// valid UTF-8 (it goes to logs, gRPC statuses and JSON bodies):
// ShownText: a key, a name or a parser's message as given, control
// characters and bytes that are not UTF-8 escaped (\n, \t, \xHH), cut after
// `max_bytes` of it at a character boundary and marked "...".
// ShownValue: a value as its JSON, cut to a line's worth.
std::string ShownText(std::string_view text, size_t max_bytes);
std::string ShownValue(const nlohmann::json& value);

}  // namespace sic
