#include "common/sweep_spec.h"

#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "sic/rng.h"

namespace sic {
namespace {

using nlohmann::json;

// Random-search draws get their own stream so they never alias training data.
constexpr uint64_t kSweepRandomStream = 0x5357454550ULL;  // "SWEEP"
constexpr size_t kMaxNameLength = 64;

Status Err(const std::string& key, const std::string& reason) {
  return Status::Error(key + ": " + reason);
}

bool IsName(const std::string& s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// One named override set: "baseline" or an ablation.
struct Variant {
  std::string name;
  json overrides;  // dotted key -> scalar
};

// Everything the spec varies, before the product is taken.
struct Axes {
  std::vector<Variant> variants;
  std::vector<std::pair<std::string, json>> grid;  // key -> non-empty array, sorted by key
  std::vector<json> samples;                       // one override object per random sample
  bool has_random = false;
  std::vector<int64_t> seeds;                      // empty: keep base run.seed
  std::map<std::string, std::string> owner;        // dotted key -> spec key that sets it
};

// Records that `spec_key` sets `dotted`; one setter per dotted key.
Status Claim(Axes& axes, const std::string& dotted, const std::string& spec_key) {
  auto [it, inserted] = axes.owner.emplace(dotted, spec_key);
  if (!inserted && it->second.rfind("ablations.", 0) == 0 && spec_key.rfind("ablations.", 0) == 0) {
    return Status::OK();  // several ablations may each set the same key
  }
  if (!inserted) {
    return Err(spec_key, dotted + " is also set by " + it->second + " (set each key in one place)");
  }
  return Status::OK();
}

bool IsScalar(const json& v) { return v.is_number() || v.is_boolean() || v.is_string(); }

Status ParseAblations(const json& node, Axes& axes) {
  if (!node.is_object()) return Err("ablations", "must be an object of name -> {dotted key: value}");
  if (node.empty()) return Err("ablations", "must name at least one ablation (or be left out)");
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = "ablations." + it.key();
    if (!IsName(it.key())) {
      return Err(key, "names must be 1-64 characters of letters, digits, '_', '-' or '.'");
    }
    if (it.key() == "baseline") return Err(key, "the name is reserved (the baseline always runs)");
    if (!it.value().is_object() || it.value().empty()) {
      return Err(key, "must be a non-empty object of dotted key -> value");
    }
    for (auto kv = it.value().begin(); kv != it.value().end(); ++kv) {
      if (!IsScalar(kv.value())) return Err(key, kv.key() + ": must be a number, string or boolean");
      if (Status s = Claim(axes, kv.key(), key); !s.ok()) return s;
    }
    axes.variants.push_back({it.key(), it.value()});
  }
  return Status::OK();
}

Status ParseGrid(const json& node, Axes& axes) {
  if (!node.is_object()) return Err("grid", "must be an object of dotted key -> list of values");
  if (node.empty()) return Err("grid", "must name at least one key (or be left out)");
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = "grid." + it.key();
    if (!it.value().is_array() || it.value().empty()) return Err(key, "must be a non-empty list of values");
    std::set<std::string> seen;
    for (const auto& v : it.value()) {
      if (!IsScalar(v)) return Err(key, "values must be numbers, strings or booleans, got " + v.dump());
      if (!seen.insert(v.dump()).second) return Err(key, "lists " + v.dump() + " twice");
    }
    if (Status s = Claim(axes, it.key(), key); !s.ok()) return s;
    axes.grid.emplace_back(it.key(), it.value());
  }
  return Status::OK();
}

bool IsFinite(const json& v) { return v.is_number() && std::isfinite(v.get<double>()); }

// Draws one value of a random parameter; `rng` advances.
Result<json> Draw(const std::string& key, const json& dist, Rng& rng) {
  if (!dist.is_object() || dist.size() != 1) {
    return Err(key, "must be one of {\"uniform\": [lo, hi]}, {\"log_uniform\": [lo, hi]}, "
                    "{\"int_uniform\": [lo, hi]}, {\"choice\": [values]}");
  }
  const std::string kind = dist.begin().key();
  const json& arg = dist.begin().value();
  if (kind == "choice") {
    if (!arg.is_array() || arg.empty()) return Err(key + ".choice", "must be a non-empty list");
    for (const auto& v : arg) {
      if (!IsScalar(v)) return Err(key + ".choice", "values must be numbers, strings or booleans");
    }
    return arg[rng.Below(arg.size())];
  }
  const std::string at = key + "." + kind;
  if (kind != "uniform" && kind != "log_uniform" && kind != "int_uniform") {
    return Err(key, "unknown distribution \"" + kind + "\" (uniform, log_uniform, int_uniform, choice)");
  }
  if (!arg.is_array() || arg.size() != 2 || !IsFinite(arg[0]) || !IsFinite(arg[1])) {
    return Err(at, "must be [lo, hi] with finite numbers");
  }
  if (kind == "int_uniform") {
    if (!arg[0].is_number_integer() || !arg[1].is_number_integer()) return Err(at, "bounds must be integers");
    const int64_t lo = arg[0].get<int64_t>(), hi = arg[1].get<int64_t>();
    if (lo > hi || hi - lo > (int64_t{1} << 53)) return Err(at, "needs lo <= hi (and a span under 2^53)");
    return json(lo + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(hi - lo) + 1)));
  }
  const double lo = arg[0].get<double>(), hi = arg[1].get<double>();
  if (!(lo < hi)) return Err(at, "needs lo < hi");
  if (kind == "uniform") return json(rng.Uniform(lo, hi));
  if (!(lo > 0)) return Err(at, "needs 0 < lo < hi");
  return json(std::exp(rng.Uniform(std::log(lo), std::log(hi))));
}

Status ParseRandom(const json& node, const SpecLimits& limits, Axes& axes) {
  if (!node.is_object()) return Err("random", "must be an object with samples, seed and params");
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it.key() != "samples" && it.key() != "seed" && it.key() != "params") {
      return Err("random." + it.key(), "unknown key (samples, seed, params)");
    }
  }
  if (!node.contains("samples") || !node["samples"].is_number_integer() ||
      node["samples"].get<int64_t>() < 1 || node["samples"].get<int64_t>() > limits.max_trials) {
    return Err("random.samples", "must be an integer in [1, " + std::to_string(limits.max_trials) + "]");
  }
  uint64_t seed = 0;
  if (node.contains("seed")) {
    if (!node["seed"].is_number_integer() || node["seed"].get<int64_t>() < 0) {
      return Err("random.seed", "must be a non-negative integer");
    }
    seed = node["seed"].get<uint64_t>();
  }
  if (!node.contains("params") || !node["params"].is_object() || node["params"].empty()) {
    return Err("random.params", "must be a non-empty object of dotted key -> distribution");
  }
  const json& params = node["params"];
  for (auto it = params.begin(); it != params.end(); ++it) {
    if (Status s = Claim(axes, it.key(), "random.params." + it.key()); !s.ok()) return s;
  }
  const int64_t samples = node["samples"].get<int64_t>();
  for (int64_t i = 0; i < samples; ++i) {
    Rng rng(seed, kSweepRandomStream, static_cast<uint64_t>(i));
    json sample = json::object();
    for (auto it = params.begin(); it != params.end(); ++it) {
      auto value = Draw("random.params." + it.key(), it.value(), rng);
      if (!value.ok()) return value.status();
      sample[it.key()] = std::move(value.value());
    }
    axes.samples.push_back(std::move(sample));
  }
  axes.has_random = true;
  return Status::OK();
}

Status ParseSeeds(const json& node, const SpecLimits& limits, Axes& axes) {
  if (node.is_number_integer()) {
    const int64_t n = node.get<int64_t>();
    if (n < 1 || n > limits.max_trials) {
      return Err("seeds", "a count must be in [1, " + std::to_string(limits.max_trials) + "]");
    }
    for (int64_t s = 0; s < n; ++s) axes.seeds.push_back(s);
  } else if (node.is_array() && !node.empty()) {
    std::set<int64_t> seen;
    for (const auto& v : node) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0) return Err("seeds", "must be non-negative integers, got " + v.dump());
      if (!seen.insert(v.get<int64_t>()).second) return Err("seeds", "lists " + v.dump() + " twice");
      axes.seeds.push_back(v.get<int64_t>());
    }
  } else {
    return Err("seeds", "must be a count (e.g. 3) or a non-empty list of seeds");
  }
  return Claim(axes, "run.seed", "seeds");
}

// Overflow-safe product that saturates just above `cap`.
int64_t Times(int64_t a, int64_t b, int64_t cap) {
  if (a == 0 || b == 0) return 0;
  return a > (cap + 1) / b ? cap + 1 : a * b;
}

std::string Shown(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

Result<SweepSpec> ParseSweepSpec(std::string_view text, const SpecLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status::Error("spec: " + std::to_string(text.size()) + " bytes is over the limit of " +
                         std::to_string(limits.max_bytes));
  }
  json spec;
  try {
    spec = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {  // parse_error, and out_of_range for huge numbers
    return Status::Error(std::string("spec: malformed JSON: ") + e.what());
  }
  return ParseSweepSpecJson(spec, limits);
}

Result<SweepSpec> ParseSweepSpecJson(const json& spec, const SpecLimits& limits) {
  if (!spec.is_object()) return Status::Error(std::string("spec: must be a JSON object, got ") + spec.type_name());
  SweepSpec out;
  out.spec = spec;
  out.name = "sweep";
  Axes axes;
  axes.variants.push_back({"baseline", json::object()});
  Config base;
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    Status s;
    if (k == "name") {
      if (!v.is_string() || !IsName(v.get<std::string>())) {
        s = Err("name", "must be 1-64 characters of letters, digits, '_', '-' or '.'");
      } else {
        out.name = v.get<std::string>();
      }
    } else if (k == "description") {
      if (!v.is_string() || v.get<std::string>().size() > 4096) {
        s = Err("description", "must be a string of at most 4096 characters");
      } else {
        out.description = v.get<std::string>();
      }
    } else if (k == "base") {
      auto config = ConfigFromJson(v);
      if (!config.ok()) s = Err("base", config.status().message());
      else base = config.value();
    } else if (k == "ablations") {
      s = ParseAblations(v, axes);
    } else if (k == "grid") {
      s = ParseGrid(v, axes);
    } else if (k == "seeds") {
      s = ParseSeeds(v, limits, axes);
    } else if (k != "random") {  // random last: its sample count is checked against the rest
      s = Err(k, "unknown key (name, description, base, ablations, grid, random, seeds)");
    }
    if (!s.ok()) return s;
  }
  // Bound the trial count before drawing samples or building any config.
  const int64_t cap = limits.max_trials;
  int64_t count = static_cast<int64_t>(axes.variants.size());
  for (const auto& [key, values] : axes.grid) count = Times(count, static_cast<int64_t>(values.size()), cap);
  count = Times(count, std::max<int64_t>(1, static_cast<int64_t>(axes.seeds.size())), cap);
  if (spec.contains("random")) {
    const json& r = spec["random"];
    if (r.is_object() && r.contains("samples") && r["samples"].is_number_integer() &&
        r["samples"].get<int64_t>() > 0) {
      count = Times(count, r["samples"].get<int64_t>(), cap);
    }
  }
  if (count > cap) {
    return Status::Error("spec: expands to more than " + std::to_string(cap) + " trials (the limit)");
  }
  if (spec.contains("random")) {
    if (Status s = ParseRandom(spec["random"], limits, axes); !s.ok()) return s;
  }

  // Expand: variants x grid points x samples x seeds, seeds fastest.
  const size_t n_samples = axes.has_random ? axes.samples.size() : 1;
  const size_t n_seeds = axes.seeds.empty() ? 1 : axes.seeds.size();
  size_t n_points = 1;
  for (const auto& [key, values] : axes.grid) n_points *= values.size();
  for (const Variant& variant : axes.variants) {
    for (size_t point = 0; point < n_points; ++point) {
      for (size_t sample = 0; sample < n_samples; ++sample) {
        for (size_t seed = 0; seed < n_seeds; ++seed) {
          TrialSpec trial;
          trial.index = static_cast<int64_t>(out.trials.size());
          trial.variant = variant.name;
          trial.config = base;
          trial.overrides = json::object();
          std::string name = variant.name;
          auto apply = [&](const std::string& context, const std::string& key, const json& value) {
            if (Status s = ApplyOverride(trial.config, key, value); !s.ok()) return Err(context, s.message());
            trial.overrides[key] = value;
            return Status::OK();
          };
          for (auto kv = variant.overrides.begin(); kv != variant.overrides.end(); ++kv) {
            if (Status s = apply("ablations." + variant.name, kv.key(), kv.value()); !s.ok()) return s;
          }
          size_t rest = point;  // mixed-radix digits, last grid key fastest
          std::vector<size_t> digits(axes.grid.size());
          for (size_t g = axes.grid.size(); g-- > 0;) {
            digits[g] = rest % axes.grid[g].second.size();
            rest /= axes.grid[g].second.size();
          }
          for (size_t g = 0; g < axes.grid.size(); ++g) {
            const auto& [key, values] = axes.grid[g];
            if (Status s = apply("grid." + key, key, values[digits[g]]); !s.ok()) return s;
            name += "/" + key + "=" + Shown(values[digits[g]]);
          }
          if (axes.has_random) {
            const json& drawn = axes.samples[sample];
            for (auto kv = drawn.begin(); kv != drawn.end(); ++kv) {
              if (Status s = apply("random.params." + kv.key(), kv.key(), kv.value()); !s.ok()) return s;
            }
            name += "/sample=" + std::to_string(sample);
          }
          if (!axes.seeds.empty()) {
            if (Status s = apply("seeds", "run.seed", axes.seeds[seed]); !s.ok()) return s;
            name += "/seed=" + std::to_string(axes.seeds[seed]);
          }
          trial.name = std::move(name);
          out.trials.push_back(std::move(trial));
        }
      }
    }
  }
  return out;
}

std::string DescribeTrials(const SweepSpec& sweep) {
  std::ostringstream out;
  for (const auto& t : sweep.trials) out << t.index << " " << t.name << "\n";
  return out.str();
}

}  // namespace sic
