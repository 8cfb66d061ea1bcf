#include "common/sweep_spec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "sic/json_parse.h"
#include "sic/rng.h"

namespace sic {
namespace {

using nlohmann::json;

// Random-search draws get their own stream so they never alias training data.
constexpr uint64_t kSweepRandomStream = 0x5357454550ULL;  // "SWEEP"

// A key from the spec as errors show it: a key may be any length until it is checked.
std::string ShownKey(const std::string& key) {
  constexpr size_t kShown = 2 * kSpecMaxKeyChars;  // "random.params." + any valid dotted key fits
  return key.size() > kShown ? key.substr(0, kShown) + "..." : key;
}

// A value as errors show it: its JSON, cut to a line's worth.
std::string ShownValue(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 64 ? s.substr(0, 60) + "..." : s;
}

Status Err(const std::string& key, const std::string& reason) {
  return Status::InvalidArgument(ShownKey(key) + ": " + reason);
}

// "<n> <what> is over the limit of <max>", or OK.
Status CheckCount(const std::string& key, size_t n, size_t max, const char* what) {
  if (n <= max) return Status::OK();
  return Err(key, std::to_string(n) + " " + what + " is over the limit of " + std::to_string(max));
}

bool IsName(const std::string& s) {
  if (s.empty() || s.size() > kSpecMaxNameChars) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool IsScalar(const json& v) { return v.is_number() || v.is_boolean() || v.is_string(); }

// A dotted key as a spec names it: bounded before it is stored or compared.
Status CheckKey(const std::string& context, const std::string& dotted) {
  if (dotted.size() <= kSpecMaxKeyChars) return Status::OK();
  return Err(context, "a key of " + std::to_string(dotted.size()) + " characters is over the limit of " +
                          std::to_string(kSpecMaxKeyChars));
}

// A string value a spec sets a field to (the field's own limit is checked later, per trial).
Status CheckString(const std::string& key, const json& v) {
  if (!v.is_string() || v.get_ref<const std::string&>().size() <= kSpecMaxStringChars) return Status::OK();
  return Err(key, "a string of " + std::to_string(v.get_ref<const std::string&>().size()) +
                      " characters is over the limit of " + std::to_string(kSpecMaxStringChars));
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
  bool has_random = false;
  int64_t n_samples = 0;
  uint64_t random_seed = 0;
  std::vector<ParamDist> params;                // sorted by key
  std::vector<json> samples;                       // one override object per random sample
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

Status ParseAblations(const json& node, Axes& axes) {
  if (!node.is_object()) return Err("ablations", "must be an object of name -> {dotted key: value}");
  if (node.empty()) return Err("ablations", "must name at least one ablation (or be left out)");
  if (Status s = CheckCount("ablations", node.size(), kSpecMaxAblations, "ablations"); !s.ok()) return s;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = "ablations." + it.key();
    if (!IsName(it.key())) {
      return Err(key, "names must be 1-64 characters of letters, digits, '_', '-' or '.'");
    }
    if (it.key() == "baseline") return Err(key, "the name is reserved (the baseline always runs)");
    if (!it.value().is_object() || it.value().empty()) {
      return Err(key, "must be a non-empty object of dotted key -> value");
    }
    if (Status s = CheckCount(key, it.value().size(), kSpecMaxOverrides, "keys"); !s.ok()) return s;
    for (auto kv = it.value().begin(); kv != it.value().end(); ++kv) {
      if (Status s = CheckKey(key, kv.key()); !s.ok()) return s;
      if (!IsScalar(kv.value())) return Err(key, kv.key() + ": must be a number, string or boolean");
      if (Status s = CheckString(key + "." + kv.key(), kv.value()); !s.ok()) return s;
      if (Status s = Claim(axes, kv.key(), key); !s.ok()) return s;
    }
    axes.variants.push_back({it.key(), it.value()});
  }
  return Status::OK();
}

Status ParseGrid(const json& node, Axes& axes) {
  if (!node.is_object()) return Err("grid", "must be an object of dotted key -> list of values");
  if (node.empty()) return Err("grid", "must name at least one key (or be left out)");
  if (Status s = CheckCount("grid", node.size(), kSpecMaxGridKeys, "keys"); !s.ok()) return s;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (Status s = CheckKey("grid", it.key()); !s.ok()) return s;
    const std::string key = "grid." + it.key();
    if (!it.value().is_array() || it.value().empty()) return Err(key, "must be a non-empty list of values");
    if (Status s = CheckCount(key, it.value().size(), kSpecMaxListValues, "values"); !s.ok()) return s;
    std::set<std::string> seen;
    for (const auto& v : it.value()) {
      if (!IsScalar(v)) return Err(key, "values must be numbers, strings or booleans, got " + ShownValue(v));
      if (Status s = CheckString(key, v); !s.ok()) return s;
      if (!seen.insert(v.dump()).second) return Err(key, "lists " + v.dump() + " twice");
    }
    if (Status s = Claim(axes, it.key(), key); !s.ok()) return s;
    axes.grid.emplace_back(it.key(), it.value());
  }
  return Status::OK();
}

bool IsFinite(const json& v) { return v.is_number() && std::isfinite(v.get<double>()); }

// An integer JSON number that fits int64_t (nlohmann keeps larger ones unsigned).
bool IsInt64(const json& v) {
  return v.is_number_integer() &&
         (!v.is_number_unsigned() || v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX));
}

// lo + offset, for offsets that keep it within [lo, INT64_MAX]: computed in
// unsigned arithmetic (which wraps, never overflows) and read back as two's complement.
int64_t OffsetFrom(int64_t lo, uint64_t offset) {
  const uint64_t u = static_cast<uint64_t>(lo) + offset;
  int64_t out;
  std::memcpy(&out, &u, sizeof out);
  return out;
}

// Checks one random parameter's distribution, once, before anything is drawn.
Result<ParamDist> ParseDistribution(const std::string& block, const std::string& dotted, const json& dist) {
  const std::string key = block + ".params." + dotted;
  if (!dist.is_object() || dist.size() != 1) {
    return Err(key, "must be one of {\"uniform\": [lo, hi]}, {\"log_uniform\": [lo, hi]}, "
                    "{\"int_uniform\": [lo, hi]}, {\"choice\": [values]}");
  }
  ParamDist d;
  d.key = dotted;
  const std::string& kind = dist.begin().key();
  const json& arg = dist.begin().value();
  const std::string at = key + "." + kind;
  if (kind == "choice") {
    if (!arg.is_array() || arg.empty()) return Err(at, "must be a non-empty list");
    if (Status s = CheckCount(at, arg.size(), kSpecMaxListValues, "values"); !s.ok()) return s;
    for (const auto& v : arg) {
      if (!IsScalar(v)) return Err(at, "values must be numbers, strings or booleans");
      if (Status s = CheckString(at, v); !s.ok()) return s;
    }
    d.kind = ParamDist::kChoice;
    d.choices = arg;
    return d;
  }
  if (kind != "uniform" && kind != "log_uniform" && kind != "int_uniform") {
    return Err(key, "unknown distribution \"" + ShownKey(kind) + "\" (uniform, log_uniform, int_uniform, choice)");
  }
  if (!arg.is_array() || arg.size() != 2 || !IsFinite(arg[0]) || !IsFinite(arg[1])) {
    return Err(at, "must be [lo, hi] with finite numbers");
  }
  if (kind == "int_uniform") {
    if (!IsInt64(arg[0]) || !IsInt64(arg[1])) return Err(at, "bounds must be 64-bit signed integers");
    const int64_t lo = arg[0].get<int64_t>(), hi = arg[1].get<int64_t>();
    if (lo > hi) return Err(at, "needs lo <= hi");
    d.kind = ParamDist::kIntUniform;
    d.int_lo = lo;
    d.span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);  // in [0, 2^64 - 1]
    return d;
  }
  d.lo = arg[0].get<double>();
  d.hi = arg[1].get<double>();
  if (!(d.lo < d.hi)) return Err(at, "needs lo < hi");
  if (!std::isfinite(d.hi - d.lo)) return Err(at, "hi - lo is too large for a double");
  if (kind == "uniform") {
    d.kind = ParamDist::kUniform;
    return d;
  }
  if (!(d.lo > 0)) return Err(at, "needs 0 < lo < hi");
  d.kind = ParamDist::kLogUniform;
  return d;
}

}  // namespace

nlohmann::json DrawParam(const ParamDist& d, Rng& rng) {
  switch (d.kind) {
    case ParamDist::kChoice: return d.choices[rng.Below(d.choices.size())];
    case ParamDist::kIntUniform: return OffsetFrom(d.int_lo, rng.Below(d.span + 1));  // span + 1 == 0: 2^64
    case ParamDist::kUniform: return std::min(d.hi, rng.Uniform(d.lo, d.hi));
    case ParamDist::kLogUniform: return std::exp(rng.Uniform(std::log(d.lo), std::log(d.hi)));
  }
  return json();
}

namespace {

// Checks `random`; the samples are drawn later, once the trial count is known to be in bounds.
Status ParseRandom(const json& node, const SpecLimits& limits, Axes& axes) {
  if (!node.is_object()) return Err("random", "must be an object with samples, seed and params");
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it.key() != "samples" && it.key() != "seed" && it.key() != "params") {
      return Err("random." + it.key(), "unknown key (samples, seed, params)");
    }
  }
  auto samples = node.find("samples");
  if (samples == node.end() || !IsInt64(*samples) || samples->get<int64_t>() < 1 ||
      samples->get<int64_t>() > limits.max_trials) {
    return Err("random.samples", "must be an integer in [1, " + std::to_string(limits.max_trials) + "]");
  }
  axes.n_samples = samples->get<int64_t>();
  if (auto seed = node.find("seed"); seed != node.end()) {
    if (!seed->is_number_integer() || (!seed->is_number_unsigned() && seed->get<int64_t>() < 0)) {
      return Err("random.seed", "must be a non-negative integer");
    }
    axes.random_seed = seed->get<uint64_t>();
  }
  auto params = node.find("params");
  if (params == node.end() || !params->is_object() || params->empty()) {
    return Err("random.params", "must be a non-empty object of dotted key -> distribution");
  }
  if (Status s = CheckCount("random.params", params->size(), kSpecMaxRandomParams, "parameters"); !s.ok()) return s;
  for (auto it = params->begin(); it != params->end(); ++it) {
    if (Status s = CheckKey("random.params", it.key()); !s.ok()) return s;
    if (Status s = Claim(axes, it.key(), "random.params." + it.key()); !s.ok()) return s;
    auto d = ParseDistribution("random", it.key(), it.value());
    if (!d.ok()) return d.status();
    axes.params.push_back(std::move(d.value()));
  }
  axes.has_random = true;
  return Status::OK();
}

// Sample i is a pure function of (random.seed, i): the same in every variant.
void DrawSamples(Axes& axes) {
  axes.samples.reserve(static_cast<size_t>(axes.n_samples));
  for (int64_t i = 0; i < axes.n_samples; ++i) {
    Rng rng(axes.random_seed, kSweepRandomStream, static_cast<uint64_t>(i));
    json sample = json::object();
    for (const ParamDist& d : axes.params) sample[d.key] = DrawParam(d, rng);
    axes.samples.push_back(std::move(sample));
  }
}

Status ParseSeeds(const json& node, const SpecLimits& limits, Axes& axes) {
  const int64_t max_count = std::min(limits.max_trials, kSpecMaxSeeds);
  if (node.is_number_integer()) {
    const int64_t n = IsInt64(node) ? node.get<int64_t>() : -1;
    if (n < 1 || n > max_count) {
      return Err("seeds", "a count must be in [1, " + std::to_string(max_count) + "]");
    }
    for (int64_t s = 0; s < n; ++s) axes.seeds.push_back(s);
  } else if (node.is_array() && !node.empty()) {
    if (Status s = CheckCount("seeds", node.size(), static_cast<size_t>(kSpecMaxSeeds), "seeds"); !s.ok()) return s;
    std::set<int64_t> seen;
    for (const auto& v : node) {
      if (!IsInt64(v) || v.get<int64_t>() < 0) return Err("seeds", "must be non-negative integers, got " + ShownValue(v));
      if (!seen.insert(v.get<int64_t>()).second) return Err("seeds", "lists " + v.dump() + " twice");
      axes.seeds.push_back(v.get<int64_t>());
    }
  } else {
    return Err("seeds", "must be a count (e.g. 3) or a non-empty list of seeds");
  }
  return Claim(axes, "run.seed", "seeds");
}

// a * b for a, b >= 0, or cap + 1 when the product is over cap (cap < INT64_MAX).
int64_t Times(int64_t a, int64_t b, int64_t cap) {
  int64_t product;
  if (__builtin_mul_overflow(a, b, &product) || product > cap) return cap + 1;
  return product;
}

int64_t DumpSize(const json& v) { return static_cast<int64_t>(v.dump().size()); }

// An upper estimate of the bytes one expanded trial holds: its config as JSON
// (what the store writes for it), its overrides (key and value, as JSON and as
// a map node) and its name (key and value again), plus a TrialSpec's own size.
// Every term is bounded by the spec's text, so this costs no more than reading it.
int64_t BytesPerTrial(const Config& base, const Axes& axes) {
  constexpr int64_t kPerOverride = 96;  // a map node, a json value, separators
  int64_t bytes = static_cast<int64_t>(sizeof(TrialSpec)) + DumpSize(ConfigToJson(base));
  int64_t variant = 0;
  for (const Variant& v : axes.variants) {
    int64_t b = static_cast<int64_t>(v.name.size());
    for (auto kv = v.overrides.begin(); kv != v.overrides.end(); ++kv) {
      b += kPerOverride + static_cast<int64_t>(kv.key().size()) + DumpSize(kv.value());
    }
    variant = std::max(variant, b);
  }
  bytes += variant;
  for (const auto& [key, values] : axes.grid) {
    int64_t widest = 0;
    for (const auto& v : values) widest = std::max(widest, DumpSize(v));
    bytes += kPerOverride + 2 * (static_cast<int64_t>(key.size()) + widest) + 2;
  }
  if (axes.has_random) {
    bytes += 32;  // "/sample=N"
    for (const ParamDist& d : axes.params) {
      int64_t widest = 24;  // a number as JSON
      if (d.kind == ParamDist::kChoice) {
        for (const auto& v : d.choices) widest = std::max(widest, DumpSize(v));
      }
      bytes += kPerOverride + static_cast<int64_t>(d.key.size()) + widest;
    }
  }
  if (!axes.seeds.empty()) bytes += kPerOverride + 2 * 32;  // run.seed, "/seed=N"
  return bytes;
}

std::string Shown(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// One override of one trial: the spec key that sets it (for errors), the dotted key, the value.
struct Setter {
  const std::string* context;
  const std::string* key;
  const json* value;
};

// The spec key to blame for an invalid trial config: the overrides again, one
// at a time with every check, the first that breaks the config named. Only
// runs on the error path.
Status Culprit(const Config& base, const std::vector<Setter>& setters) {
  Config config = base;
  for (const Setter& s : setters) {
    if (Status st = ApplyOverride(config, *s.key, *s.value); !st.ok()) return Err(*s.context, st.message());
  }
  return Status::Internal("spec: a trial's config is invalid but no override is at fault");
}

Result<SweepSpec> FromJson(json spec, const SpecLimits& limits) {
  if (!spec.is_object()) {
    return Status::InvalidArgument(std::string("spec: must be a JSON object, got ") + spec.type_name());
  }
  SweepSpec out;
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
      if (!v.is_string() || v.get_ref<const std::string&>().size() > kSpecMaxDescriptionChars) {
        s = Err("description", "must be a string of at most " + std::to_string(kSpecMaxDescriptionChars) + " characters");
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
    } else if (k == "random") {
      s = ParseRandom(v, limits, axes);
    } else if (k == "seeds") {
      s = ParseSeeds(v, limits, axes);
    } else {
      s = Err(k, "unknown key (name, description, base, ablations, grid, random, seeds)");
    }
    if (!s.ok()) return s;
  }

  // Bound the trial count and the bytes they take before drawing samples or building any config.
  const int64_t cap = std::clamp<int64_t>(limits.max_trials, 0, INT64_MAX - 1);
  int64_t count = static_cast<int64_t>(axes.variants.size());
  for (const auto& [key, values] : axes.grid) count = Times(count, static_cast<int64_t>(values.size()), cap);
  if (axes.has_random) count = Times(count, axes.n_samples, cap);
  count = Times(count, std::max<int64_t>(1, static_cast<int64_t>(axes.seeds.size())), cap);
  if (count > cap) {
    return Status::ResourceExhausted("spec: expands to more than " + std::to_string(cap) + " trials (the limit)");
  }
  const int64_t per_trial = BytesPerTrial(base, axes);
  const int64_t total = Times(per_trial, count, INT64_MAX - 1);
  if (total > limits.max_expanded_bytes) {
    return Status::ResourceExhausted("spec: " + std::to_string(count) + " trials of about " +
                                     std::to_string(per_trial) + " bytes each expand to about " +
                                     std::to_string(total) + " bytes, over the limit of " +
                                     std::to_string(limits.max_expanded_bytes));
  }
  if (axes.has_random) DrawSamples(axes);

  // What each override is called in errors, and grid values as names show them: once, not per trial.
  std::vector<std::string> variant_context;
  for (const Variant& v : axes.variants) variant_context.push_back("ablations." + v.name);
  std::vector<std::string> grid_context;
  std::vector<std::vector<std::string>> grid_shown;
  for (const auto& [key, values] : axes.grid) {
    grid_context.push_back("grid." + key);
    grid_shown.emplace_back();
    for (const auto& v : values) grid_shown.back().push_back("/" + key + "=" + Shown(v));
  }
  std::vector<std::string> random_context;
  for (const ParamDist& d : axes.params) random_context.push_back("random.params." + d.key);
  static const std::string kSeedsContext = "seeds", kSeedKey = "run.seed";

  // Expand: variants x grid points x samples x seeds, seeds fastest. Each trial's
  // fields are set and its config checked once (CheckConfig), not once per key.
  const size_t n_samples = axes.has_random ? axes.samples.size() : 1;
  const size_t n_seeds = axes.seeds.empty() ? 1 : axes.seeds.size();
  size_t n_points = 1;
  for (const auto& [key, values] : axes.grid) n_points *= values.size();  // <= count, checked above
  out.trials.reserve(static_cast<size_t>(count));
  std::vector<Setter> setters;
  std::vector<size_t> digits(axes.grid.size());
  std::vector<json> seed_values;
  for (int64_t seed : axes.seeds) seed_values.emplace_back(seed);
  for (size_t v = 0; v < axes.variants.size(); ++v) {
    const Variant& variant = axes.variants[v];
    for (size_t point = 0; point < n_points; ++point) {
      size_t rest = point;  // mixed-radix digits, last grid key fastest
      for (size_t g = axes.grid.size(); g-- > 0;) {
        digits[g] = rest % axes.grid[g].second.size();
        rest /= axes.grid[g].second.size();
      }
      for (size_t sample = 0; sample < n_samples; ++sample) {
        for (size_t seed = 0; seed < n_seeds; ++seed) {
          setters.clear();
          for (auto kv = variant.overrides.begin(); kv != variant.overrides.end(); ++kv) {
            setters.push_back({&variant_context[v], &kv.key(), &kv.value()});
          }
          for (size_t g = 0; g < axes.grid.size(); ++g) {
            setters.push_back({&grid_context[g], &axes.grid[g].first, &axes.grid[g].second[digits[g]]});
          }
          if (axes.has_random) {
            const json& drawn = axes.samples[sample];
            for (size_t p = 0; p < axes.params.size(); ++p) {
              setters.push_back({&random_context[p], &axes.params[p].key, &drawn[axes.params[p].key]});
            }
          }
          if (!axes.seeds.empty()) setters.push_back({&kSeedsContext, &kSeedKey, &seed_values[seed]});

          TrialSpec trial;
          trial.index = static_cast<int64_t>(out.trials.size());
          trial.variant = variant.name;
          trial.config = base;
          bool valid = true;
          for (const Setter& s : setters) valid = valid && SetField(trial.config, *s.key, *s.value).ok();
          if (!valid || !CheckConfig(trial.config).ok()) return Culprit(base, setters);
          trial.overrides = json::object();
          for (const Setter& s : setters) trial.overrides[*s.key] = *s.value;

          std::string name = variant.name;
          for (size_t g = 0; g < axes.grid.size(); ++g) name += grid_shown[g][digits[g]];
          if (axes.has_random) name += "/sample=" + std::to_string(sample);
          if (!axes.seeds.empty()) name += "/seed=" + std::to_string(axes.seeds[seed]);
          trial.name = std::move(name);
          out.trials.push_back(std::move(trial));
        }
      }
    }
  }
  out.spec = std::move(spec);
  return out;
}

}  // namespace

Result<SweepSpec> ParseSweepSpec(std::string_view text, const SpecLimits& limits) {
  JsonLimits json_limits;
  json_limits.max_bytes = limits.max_bytes;
  json_limits.max_depth = kSpecMaxDepth;
  auto spec = ParseJson(text, json_limits, "spec");
  if (!spec.ok()) return spec.status();
  return FromJson(std::move(spec.value()), limits);
}

std::string DescribeTrials(const SweepSpec& sweep) {
  std::ostringstream out;
  for (const auto& t : sweep.trials) out << t.index << " " << t.name << "\n";
  return out.str();
}

}  // namespace sic
