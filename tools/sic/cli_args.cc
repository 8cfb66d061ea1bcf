#include "tools/sic/cli_args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace sic {

Result<Args> Args::Parse(const std::vector<std::string>& argv, const std::set<std::string>& value_flags,
                         const std::set<std::string>& bool_flags) {
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) {
      args.positional_.push_back(a);
      continue;
    }
    std::string name = a, value;
    const auto eq = a.find('=');
    if (eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    if (bool_flags.count(name)) {
      if (eq != std::string::npos) return Status::Error(name + ": takes no value");
    } else if (value_flags.count(name)) {
      if (eq == std::string::npos) {
        if (i + 1 >= argv.size()) return Status::Error(name + ": needs a value");
        value = argv[++i];
      }
    } else {
      return Status::Error(name + ": unknown option");
    }
    args.values_[name] = value;
  }
  return args;
}

std::optional<std::string> Args::Value(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

Result<double> Args::Number(const std::string& flag, double fallback) const {
  auto v = Value(flag);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0' || errno != 0 || !std::isfinite(x)) {
    return Status::Error(flag + ": \"" + *v + "\" is not a number");
  }
  return x;
}

Result<int64_t> Args::Integer(const std::string& flag, int64_t fallback) const {
  auto v = Value(flag);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno != 0) return Status::Error(flag + ": \"" + *v + "\" is not an integer");
  return static_cast<int64_t>(x);
}

}  // namespace sic
