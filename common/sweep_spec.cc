#include "common/sweep_spec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
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
  return sic::ShownText(key, 2 * kSpecMaxKeyChars);  // "random.params." + any valid dotted key fits
}

Status Err(const std::string& key, const std::string& reason) {
  return Status::InvalidArgument(ShownKey(key) + ": " + reason);
}

// "<n> <what> is over the limit of <max>", or OK.
Status CheckCount(const std::string& key, size_t n, size_t max, const char* what) {
  if (n <= max) return Status::OK();
  return Err(key, std::to_string(n) + " " + what + " is over the limit of " + std::to_string(max));
}

// The characters of a sweep's, an ablation's or a metric's name.
bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

bool IsName(const std::string& s) {
  return !s.empty() && s.size() <= kSpecMaxNameChars && std::all_of(s.begin(), s.end(), IsNameChar);
}

// An optional "seed" of `node` (block "random" or "search"): a non-negative integer.
Status ParseSeed(const std::string& block, const json& node, uint64_t* seed) {
  auto it = node.find("seed");
  if (it == node.end()) return Status::OK();
  if (!it->is_number_integer() || (!it->is_number_unsigned() && it->get<int64_t>() < 0)) {
    return Err(block + ".seed", "must be a non-negative integer");
  }
  *seed = it->get<uint64_t>();
  return Status::OK();
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

Result<std::vector<int64_t>> RungSteps(int64_t min_steps, int64_t max_steps, int64_t eta, int64_t grace_steps) {
  if (min_steps <= 0) {
    return Status::InvalidArgument("schedule.min_steps: " + std::to_string(min_steps) + " is out of range (must be > 0)");
  }
  if (max_steps < min_steps) {
    return Status::InvalidArgument("schedule.max_steps: " + std::to_string(max_steps) +
                                   " is below min_steps " + std::to_string(min_steps));
  }
  if (eta < 2) {
    return Status::InvalidArgument("schedule.reduction_factor: " + std::to_string(eta) +
                                   " is out of range (must be >= 2)");
  }
  if (grace_steps < 0) {
    return Status::InvalidArgument("schedule.grace_steps: " + std::to_string(grace_steps) +
                                   " is out of range (must be >= 0)");
  }
  std::vector<int64_t> rungs;
  // r * eta <= max_steps exactly when r <= max_steps / eta (integer division),
  // so the product is formed only when it cannot overflow.
  for (int64_t r = min_steps; r < max_steps;) {
    if (r >= grace_steps) rungs.push_back(r);
    if (r > max_steps / eta) break;
    r *= eta;
  }
  rungs.push_back(max_steps);
  return rungs;
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
  if (Status s = ParseSeed("random", node, &axes.random_seed); !s.ok()) return s;
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

// A metric's name as a spec gives it: what a trial stores ("eval.2m.max_score60",
// "loss.total") or, for an external search, any such name.
Status CheckMetricName(const std::string& key, const json& v) {
  if (!v.is_string() || v.get_ref<const std::string&>().empty() ||
      v.get_ref<const std::string&>().size() > kSpecMaxKeyChars) {
    return Err(key, "must be a metric name of 1-" + std::to_string(kSpecMaxKeyChars) + " characters");
  }
  const std::string& name = v.get_ref<const std::string&>();
  if (!std::all_of(name.begin(), name.end(), IsNameChar)) {
    return Err(key, "must be letters, digits, '_', '-' or '.', got " + ShownValue(v));
  }
  return Status::OK();
}

Result<bool> ParseDirection(const std::string& key, const json& v) {
  if (v == "max") return true;
  if (v == "min") return false;
  return Err(key, "must be \"max\" or \"min\", got " + ShownValue(v));
}

// Unknown keys of a block are errors that list the known ones.
Status OnlyKeys(const std::string& block, const json& node, std::initializer_list<const char*> known) {
  std::string list;
  for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
  if (!node.is_object()) return Err(block, "must be an object (" + list + ")");
  for (auto it = node.begin(); it != node.end(); ++it) {
    bool found = false;
    for (const char* k : known) found = found || it.key() == k;
    if (!found) return Err(block + "." + it.key(), "unknown key (" + list + ")");
  }
  return Status::OK();
}

Status ParseObjective(const json& node, SweepSpec& out) {
  if (Status s = OnlyKeys("objective", node, {"metric", "direction"}); !s.ok()) return s;
  auto metric = node.find("metric");
  if (metric == node.end()) return Err("objective.metric", "is required");
  if (Status s = CheckMetricName("objective.metric", *metric); !s.ok()) return s;
  out.objective.metric = metric->get<std::string>();
  if (auto d = node.find("direction"); d != node.end()) {
    auto max = ParseDirection("objective.direction", *d);
    if (!max.ok()) return max.status();
    out.objective.maximize = max.value();
  }
  out.has_objective = true;
  return Status::OK();
}

Result<int64_t> PositiveInt(const std::string& key, const json& v, int64_t lo, int64_t hi) {
  if (!IsInt64(v) || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return Err(key, "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return v.get<int64_t>();
}

// Checks `search`; its parameter keys are claimed like random's (a key has one setter).
Status ParseSearch(const json& node, const SpecLimits& limits, Axes& axes, SweepSpec& out) {
  if (Status s = OnlyKeys("search", node, {"method", "trials", "seed", "external", "params"}); !s.ok()) return s;
  SearchSpec& search = out.search;
  if (auto m = node.find("method"); m != node.end()) {
    if (*m == "tpe") search.method = SearchSpec::kTpe;
    else if (*m == "random") search.method = SearchSpec::kRandom;
    else return Err("search.method", "must be \"tpe\" or \"random\", got " + ShownValue(*m));
  }
  auto trials = node.find("trials");
  if (trials == node.end()) return Err("search.trials", "is required");
  auto n = PositiveInt("search.trials", *trials, 1, limits.max_trials);
  if (!n.ok()) return n.status();
  search.trials = n.value();
  if (Status s = ParseSeed("search", node, &search.seed); !s.ok()) return s;
  if (auto ext = node.find("external"); ext != node.end()) {
    if (!ext->is_boolean()) return Err("search.external", "must be true or false");
    search.external = ext->get<bool>();
  }
  auto params = node.find("params");
  if (params == node.end() || !params->is_object() || params->empty()) {
    return Err("search.params", "must be a non-empty object of name -> distribution");
  }
  if (Status s = CheckCount("search.params", params->size(), kSpecMaxRandomParams, "parameters"); !s.ok()) return s;
  for (auto it = params->begin(); it != params->end(); ++it) {
    if (Status s = CheckKey("search.params", it.key()); !s.ok()) return s;
    if (search.external) {
      // Driven from outside: a parameter is any name, not a config key.
      if (Status s = CheckMetricName("search.params", json(it.key())); !s.ok()) return s;
    } else if (Status s = Claim(axes, it.key(), "search.params." + it.key()); !s.ok()) {
      return s;
    }
    auto d = ParseDistribution("search", it.key(), it.value());
    if (!d.ok()) return d.status();
    search.params.push_back(std::move(d.value()));
  }
  out.has_search = true;
  return Status::OK();
}

Status ParseSchedule(const json& node, SweepSpec& out, std::optional<int64_t>& max_steps) {
  if (Status s = OnlyKeys("schedule", node, {"method", "min_steps", "max_steps", "reduction_factor", "grace_steps",
                                             "min_trials", "metric", "direction"});
      !s.ok()) {
    return s;
  }
  ScheduleSpec& sched = out.schedule;
  auto m = node.find("method");
  if (m == node.end()) return Err("schedule.method", "is required (\"asha\", \"median\" or \"none\")");
  if (*m == "asha") sched.method = ScheduleSpec::kAsha;
  else if (*m == "median") sched.method = ScheduleSpec::kMedian;
  else if (*m == "none") sched.method = ScheduleSpec::kNone;
  else return Err("schedule.method", "must be \"asha\", \"median\" or \"none\", got " + ShownValue(*m));
  constexpr int64_t kMaxSteps = 1000000000000;  // optim.steps' own bound is lower; this keeps products small
  struct IntField {
    const char* key;
    int64_t* into;
    int64_t lo, hi;
  } fields[] = {
      {"min_steps", &sched.min_steps, 1, kMaxSteps},
      {"grace_steps", &sched.grace_steps, 0, kMaxSteps},
      {"reduction_factor", &sched.reduction_factor, 2, 1000},
      {"min_trials", &sched.min_trials, 1, 100000},
  };
  sched.grace_steps = -1;  // not given: a default below
  for (const IntField& f : fields) {
    auto v = node.find(f.key);
    if (v == node.end()) continue;
    auto n = PositiveInt(std::string("schedule.") + f.key, *v, f.lo, f.hi);
    if (!n.ok()) return n.status();
    *f.into = n.value();
  }
  if (auto v = node.find("max_steps"); v != node.end()) {
    auto n = PositiveInt("schedule.max_steps", *v, 1, kMaxSteps);
    if (!n.ok()) return n.status();
    max_steps = n.value();
  }
  if (auto v = node.find("metric"); v != node.end()) {
    if (Status s = CheckMetricName("schedule.metric", *v); !s.ok()) return s;
    sched.metric = v->get<std::string>();
  }
  if (auto d = node.find("direction"); d != node.end()) {
    auto max = ParseDirection("schedule.direction", *d);
    if (!max.ok()) return max.status();
    sched.maximize = max.value();
    sched.direction_given = true;
  }
  if (sched.method != ScheduleSpec::kNone && sched.min_steps == 0) return Err("schedule.min_steps", "is required");
  return Status::OK();
}

// The objective, search and schedule together: defaults and the rules between them.
Status ResolveAdaptive(const json& spec, const Config& base, const Axes& axes, SweepSpec& out) {
  ScheduleSpec& sched = out.schedule;
  if (out.has_search) {
    if (!out.has_objective) return Err("search", "needs an \"objective\" (the metric the sampler optimises)");
    for (const char* other : {"grid", "random", "ablations"}) {
      if (spec.contains(other)) {
        return Err("search", std::string("cannot be combined with \"") + other +
                                 "\": a search proposes its own configurations (submit them as two sweeps)");
      }
    }
    if (out.search.external) {
      for (const char* other : {"base", "seeds", "schedule"}) {
        if (spec.contains(other)) {
          return Err("search.external", std::string("an external search trains nothing here: remove \"") +
                                            other + "\"");
        }
      }
    }
  }
  if (sched.method == ScheduleSpec::kNone) return Status::OK();
  if (sched.metric.empty()) {
    if (!out.has_objective) return Err("schedule.metric", "is required without an \"objective\"");
    sched.metric = out.objective.metric;
  }
  if (!sched.direction_given) sched.maximize = out.has_objective ? out.objective.maximize : true;
  if (!out.has_objective) {
    out.objective.metric = sched.metric;
    out.objective.maximize = sched.maximize;
  }
  sched.max_steps = base.optim.steps;
  if (axes.owner.count("optim.steps")) {
    return Err(axes.owner.at("optim.steps"), "optim.steps cannot vary in a sweep with a schedule (its rungs are "
                                             "steps of one training length)");
  }
  if (sched.min_steps >= sched.max_steps) {
    return Err("schedule.min_steps", std::to_string(sched.min_steps) + " must be below max_steps (" +
                                         std::to_string(sched.max_steps) + ")");
  }
  // Nothing is cut before grace_steps. Grid cells emerge late (docs/sweep-service.md,
  // "Early stopping": one module between 20k and 34k of 70k steps on examples/quick.json),
  // so an evaluation-based signal is not trusted before half of the training by default;
  // a loss signal is trusted from the first rung.
  if (sched.grace_steps < 0) sched.grace_steps = sched.metric.rfind("eval.", 0) == 0 ? sched.max_steps / 2 : 0;
  auto rungs = RungSteps(sched.min_steps, sched.max_steps, sched.reduction_factor, sched.grace_steps);
  if (!rungs.ok()) return rungs.status();
  sched.rungs = std::move(rungs.value());
  if (sched.rungs.size() < 2) {
    return Err("schedule", "no rung lies between max(min_steps, grace_steps) and max_steps (" +
                               std::to_string(sched.max_steps) + "): nothing would ever be stopped");
  }
  return Status::OK();
}

// A grid value as a trial's name shows it ("/key=value").
std::string Shown(const json& v) {
  return v.is_string() ? ShownText(v.get_ref<const std::string&>(), kSpecMaxStringChars) : v.dump();
}

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

// A search's sweep: no trials at submit (the scheduler makes them one
// suggestion at a time, through SearchTrials), but everything they can be is
// checked now: every parameter's bounds (and every choice) on the base config,
// and the trial count.
Result<SweepSpec> FinishSearch(json spec, const Config& base, const Axes& axes, const SpecLimits& limits,
                               SweepSpec out) {
  const int64_t n_seeds = std::max<int64_t>(1, static_cast<int64_t>(axes.seeds.size()));
  if (Times(out.search.trials, n_seeds, INT64_MAX - 1) > limits.max_trials) {
    return Status::ResourceExhausted("spec: search.trials x seeds is more than " +
                                     std::to_string(limits.max_trials) + " trials (the limit)");
  }
  if (!out.search.external) {
    for (const ParamDist& d : out.search.params) {
      std::vector<json> extremes;
      switch (d.kind) {
        case ParamDist::kChoice: extremes.assign(d.choices.begin(), d.choices.end()); break;
        case ParamDist::kIntUniform: extremes = {json(d.int_lo), OffsetFrom(d.int_lo, d.span)}; break;
        default: extremes = {json(d.lo), json(d.hi)}; break;
      }
      for (const json& v : extremes) {
        Config config = base;
        if (Status st = ApplyOverride(config, d.key, v); !st.ok()) return Err("search.params." + d.key, st.message());
      }
    }
  }
  out.base = base;
  out.seeds = axes.seeds;
  out.spec = std::move(spec);
  return out;
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
  std::optional<int64_t> schedule_max_steps;
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
    } else if (k == "objective") {
      s = ParseObjective(v, out);
    } else if (k == "search") {
      s = ParseSearch(v, limits, axes, out);
    } else if (k == "schedule") {
      s = ParseSchedule(v, out, schedule_max_steps);
    } else if (k == "priority") {
      if (!IsInt64(v) || v.get<int64_t>() < -kMaxPriority || v.get<int64_t>() > kMaxPriority) {
        s = Err("priority", "must be an integer in [-1000, 1000] (higher is fed first)");
      } else {
        out.priority = v.get<int64_t>();
      }
    } else if (k == "max_running") {
      if (!IsInt64(v) || v.get<int64_t>() < 0 || v.get<int64_t>() > 1000000) {
        s = Err("max_running", "must be an integer in [0, 1000000] (0: no cap)");
      } else {
        out.max_running = v.get<int64_t>();
      }
    } else if (k == "preempt") {
      if (!v.is_boolean()) {
        s = Err("preempt", "must be true or false (whether its trials may preempt running trials of lower priority)");
      } else {
        out.preempt = v.get<bool>();
      }
    } else if (k == "resources") {
      s = ParseResources(v, out.resources);
    } else {
      s = Err(k, "unknown key (name, description, base, ablations, grid, random, seeds, objective, search, schedule, "
                 "priority, max_running, preempt, resources)");
    }
    if (!s.ok()) return s;
  }
  if (schedule_max_steps) {
    // schedule.max_steps is the trials' training length: it sets base optim.steps.
    if (spec.contains("base") && spec["base"].is_object() && spec["base"].contains("optim") &&
        spec["base"]["optim"].is_object() && spec["base"]["optim"].contains("steps") &&
        base.optim.steps != *schedule_max_steps) {
      return Err("schedule.max_steps", std::to_string(*schedule_max_steps) + " differs from base optim.steps (" +
                                           std::to_string(base.optim.steps) + "): give one of them");
    }
    if (Status st = ApplyOverride(base, "optim.steps", *schedule_max_steps); !st.ok()) {
      return Err("schedule.max_steps", st.message());
    }
  }
  if (Status s = ResolveAdaptive(spec, base, axes, out); !s.ok()) return s;
  if (out.has_search) return FinishSearch(std::move(spec), base, axes, limits, std::move(out));

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
          trial.needs = NeedsOf(trial.config, out.resources);
          out.trials.push_back(std::move(trial));
        }
      }
    }
  }
  out.base = base;
  out.seeds = axes.seeds;
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

Result<std::vector<TrialSpec>> SearchTrials(const SweepSpec& sweep, int64_t number, const nlohmann::json& params) {
  if (!sweep.has_search || !params.is_object()) return Status::InvalidArgument("search: not a search's suggestion");
  const size_t n_seeds = std::max<size_t>(1, sweep.seeds.size());
  std::vector<TrialSpec> out;
  for (size_t k = 0; k < n_seeds; ++k) {
    TrialSpec trial;
    trial.index = number * static_cast<int64_t>(n_seeds) + static_cast<int64_t>(k);
    trial.variant = "search";
    trial.name = "search=" + std::to_string(number);
    trial.config = sweep.base;
    trial.overrides = params;
    if (!sweep.search.external) {
      for (auto it = params.begin(); it != params.end(); ++it) {
        if (Status s = SetField(trial.config, it.key(), it.value()); !s.ok()) return s.Prefixed("search.params.");
      }
      if (!sweep.seeds.empty()) {
        trial.overrides["run.seed"] = sweep.seeds[k];
        trial.config.run.seed = sweep.seeds[k];
        trial.name += "/seed=" + std::to_string(sweep.seeds[k]);
      }
      if (Status s = CheckConfig(trial.config); !s.ok()) return s.Prefixed("search: ");
    }
    trial.needs = NeedsOf(trial.config, sweep.resources);
    out.push_back(std::move(trial));
  }
  return out;
}

std::string DescribeTrials(const SweepSpec& sweep) {
  std::ostringstream out;
  for (const auto& t : sweep.trials) out << t.index << " " << t.name << "\n";
  return out.str();
}

}  // namespace sic
