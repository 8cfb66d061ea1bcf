// Command-line arguments of one `sic` subcommand: positionals, and flags given as
// "--name value" or "--name=value". Unknown flags and bad numbers are errors that
// name the flag. (The science core builds with LibTorch and the JSON header only,
// so this small parser stands in for a CLI library here.)
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sic/status.h"

namespace sic {

class Args {
 public:
  // argv[0] is the first argument after the subcommand name.
  static Result<Args> Parse(const std::vector<std::string>& argv, const std::set<std::string>& value_flags,
                            const std::set<std::string>& bool_flags);

  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(const std::string& flag) const { return values_.count(flag) > 0; }
  std::optional<std::string> Value(const std::string& flag) const;
  // A numeric flag's value, or `fallback` when the flag is absent.
  Result<double> Number(const std::string& flag, double fallback) const;
  Result<int64_t> Integer(const std::string& flag, int64_t fallback) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;  // bool flags map to ""
};

}  // namespace sic
