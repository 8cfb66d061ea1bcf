#include "sic/config.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <variant>

#include "sic/json_parse.h"

namespace sic {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// One config field: where it lives and what values it accepts. The table below
// is the single source of truth for parsing, printing and overriding.
struct Field {
  const char* key;
  std::variant<int64_t*, double*, bool*, std::string*> target;
  double lo = -kInf, hi = kInf;  // numeric bounds
  bool lo_open = false, hi_open = false;
  std::vector<std::string> choices = {};  // for strings; empty = any
  size_t max_chars = 0;                   // for strings: the longest value accepted
};

Field Int(const char* key, int64_t& v, double lo, double hi = kInf) {
  return Field{key, &v, lo, hi};
}
Field Real(const char* key, double& v, double lo, double hi = kInf, bool lo_open = false,
           bool hi_open = false) {
  return Field{key, &v, lo, hi, lo_open, hi_open};
}
Field Positive(const char* key, double& v, double hi = kInf) {
  return Real(key, v, 0.0, hi, /*lo_open=*/true);
}
Field Flag(const char* key, bool& v) { return Field{key, &v}; }
Field Choice(const char* key, std::string& v, std::vector<std::string> choices) {
  size_t longest = 0;
  for (const auto& c : choices) longest = std::max(longest, c.size());
  return Field{key, &v, -kInf, kInf, false, false, std::move(choices), longest};
}
// Free text, checked by CheckConsistency; every string has a length limit.
Field Text(const char* key, std::string& v, size_t max_chars) {
  return Field{key, &v, -kInf, kInf, false, false, {}, max_chars};
}

std::vector<Field> Fields(Config& c) {
  return {
      Int("model.n_units", c.model.n_units, 1, 4096),
      Int("model.mlp_hidden", c.model.mlp_hidden, 1, 65536),
      Positive("model.norm_eps", c.model.norm_eps, 1e-3),
      Flag("model.learn_g0", c.model.learn_g0),

      Int("data.batch_size", c.data.batch_size, 1, 100000),
      Int("data.seq_len", c.data.seq_len, 1, 100000),
      Choice("data.velocity", c.data.velocity, {"uniform", "walk"}),
      Positive("data.v_max", c.data.v_max, 100.0),
      Choice("data.trajectories", c.data.trajectories, {"permuted", "identical", "independent"}),
      Positive("data.walk.arena_size", c.data.walk.arena_size, 1000.0),
      Positive("data.walk.dt", c.data.walk.dt, 10.0),
      Real("data.walk.rotation_std", c.data.walk.rotation_std, 0.0, 1000.0),
      Positive("data.walk.speed_scale", c.data.walk.speed_scale, 100.0),
      Real("data.walk.border", c.data.walk.border, 0.0, 10.0),
      Int("data.walk.steps_per_input", c.data.walk.steps_per_input, 1, 1000),

      Real("loss.lambda_sep", c.loss.lambda_sep, 0.0),
      Real("loss.lambda_inv", c.loss.lambda_inv, 0.0),
      Real("loss.lambda_cap", c.loss.lambda_cap, 0.0),
      Real("loss.lambda_coniso", c.loss.lambda_coniso, 0.0),
      Positive("loss.sigma_x", c.loss.sigma_x, 100.0),
      Positive("loss.sigma_g", c.loss.sigma_g, 100.0),
      Real("loss.coniso_max_step", c.loss.coniso_max_step, 0.0, 100.0),
      Choice("loss.reduction", c.loss.reduction, {"mean", "sum"}),
      Int("loss.pair_block", c.loss.pair_block, 16, 65536),

      Positive("optim.lr", c.optim.lr, 10.0),
      Real("optim.weight_decay", c.optim.weight_decay, 0.0, 10.0),
      Real("optim.beta1", c.optim.beta1, 0.0, 1.0, false, /*hi_open=*/true),
      Real("optim.beta2", c.optim.beta2, 0.0, 1.0, false, /*hi_open=*/true),
      Positive("optim.adam_eps", c.optim.adam_eps, 1.0),
      Real("optim.grad_clip", c.optim.grad_clip, 0.0),
      Int("optim.accumulate", c.optim.accumulate, 1, 1024),
      Int("optim.steps", c.optim.steps, 0, 1e12),
      Real("optim.plateau.factor", c.optim.plateau.factor, 0.0, 1.0, true, true),
      Int("optim.plateau.patience", c.optim.plateau.patience, 0, 1e9),
      Real("optim.plateau.threshold", c.optim.plateau.threshold, 0.0, 1.0),
      Int("optim.plateau.cooldown", c.optim.plateau.cooldown, 0, 1e9),
      Real("optim.plateau.min_lr", c.optim.plateau.min_lr, 0.0, 10.0),
      Int("optim.plateau.interval", c.optim.plateau.interval, 1, 1e9),

      Int("run.seed", c.run.seed, 0, 9.0e15),
      Text("run.device", c.run.device, kMaxDeviceChars),  // checked by CheckConsistency
      Int("run.threads", c.run.threads, 0, 1024),
      Int("run.checkpoint_every", c.run.checkpoint_every, 0, 1e12),
      Int("run.log_every", c.run.log_every, 1, 1e12),

      Flag("eval.enabled", c.eval.enabled),
      Text("eval.arenas", c.eval.arenas, kMaxArenasChars),  // checked by ParseArenas
      Positive("eval.bin_size", c.eval.bin_size, 100.0),
      Int("eval.bins", c.eval.bins, 0, 1000),
      Int("eval.trajectories", c.eval.trajectories, 1, 1e7),
      Int("eval.steps", c.eval.steps, 1, 1e7),
      Int("eval.steps_per_input", c.eval.steps_per_input, 0, 1000),
      Int("eval.seed", c.eval.seed, 0, 9.0e15),
      Real("eval.grid_threshold", c.eval.grid_threshold, -2.0, 2.0),
      Flag("eval.nan_as_zero", c.eval.nan_as_zero),
      Flag("eval.min_max", c.eval.min_max),
      Positive("eval.module_bandwidth", c.eval.module_bandwidth, 10.0),

      Int("probe.every", c.probe.every, 0, 1e12),
      Text("probe.arenas", c.probe.arenas, kMaxArenasChars),  // "" or checked by ParseArenas
      Int("probe.trajectories", c.probe.trajectories, 1, 1e7),
      Int("probe.steps", c.probe.steps, 1, 1e7),
  };
}

// A key from the input as errors show it (an unknown key may be any length).
std::string ShownKey(const std::string& key) { return sic::ShownText(key, kMaxKeyChars); }

std::string FormatNumber(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  std::ostringstream out;
  out << x;
  return out.str();
}

std::string DescribeAllowed(const Field& f) {
  if (!f.choices.empty()) {
    std::string s = "one of";
    for (size_t i = 0; i < f.choices.size(); ++i) s += (i ? ", \"" : " \"") + f.choices[i] + "\"";
    return s;
  }
  const bool has_lo = !std::isinf(f.lo), has_hi = !std::isinf(f.hi);
  if (has_lo && has_hi) {
    return std::string("in ") + (f.lo_open ? "(" : "[") + FormatNumber(f.lo) + ", " +
           FormatNumber(f.hi) + (f.hi_open ? ")" : "]");
  }
  if (has_lo) return std::string(f.lo_open ? "> " : ">= ") + FormatNumber(f.lo);
  if (has_hi) return std::string(f.hi_open ? "< " : "<= ") + FormatNumber(f.hi);
  return "any value";
}

bool InBounds(const Field& f, double x) {
  if (!std::isfinite(x)) return false;  // no field takes inf or NaN (JSON cannot carry them)
  if (f.lo_open ? !(x > f.lo) : !(x >= f.lo)) return false;
  if (f.hi_open ? !(x < f.hi) : !(x <= f.hi)) return false;
  return true;
}

// Checks `value` against `field` and stores it; leaves the target untouched on error.
Status Assign(const Field& field, const nlohmann::json& value) {
  const std::string key = field.key;
  auto out_of_range = [&] {
    return Status::InvalidArgument(key + ": " + ShownValue(value) + " is out of range (must be " + DescribeAllowed(field) + ")");
  };
  if (auto* p = std::get_if<int64_t*>(&field.target)) {
    if (!value.is_number_integer() && !value.is_number_unsigned()) {
      return Status::InvalidArgument(key + ": must be an integer, got " + ShownValue(value));
    }
    if (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t{1} << 62) return out_of_range();
    const int64_t v = value.get<int64_t>();
    if (!InBounds(field, static_cast<double>(v))) return out_of_range();
    **p = v;
  } else if (auto* p = std::get_if<double*>(&field.target)) {
    if (!value.is_number()) return Status::InvalidArgument(key + ": must be a number, got " + ShownValue(value));
    const double v = value.get<double>();
    if (!InBounds(field, v)) return out_of_range();
    **p = v;
  } else if (auto* p = std::get_if<bool*>(&field.target)) {
    if (!value.is_boolean()) return Status::InvalidArgument(key + ": must be true or false, got " + ShownValue(value));
    **p = value.get<bool>();
  } else if (auto* p = std::get_if<std::string*>(&field.target)) {
    if (!value.is_string()) return Status::InvalidArgument(key + ": must be a string, got " + ShownValue(value));
    const std::string& v = value.get_ref<const std::string&>();
    // Length first: a long value is refused before it is copied or compared
    // (a choice's is just not one of the choices, and is shown cut short).
    if (v.size() > field.max_chars && field.choices.empty()) {
      return Status::InvalidArgument(key + ": " + std::to_string(v.size()) + " characters is over the limit of " +
                                     std::to_string(field.max_chars));
    }
    if (!field.choices.empty()) {
      bool found = false;
      for (const auto& c : field.choices) found = found || (v.size() <= field.max_chars && c == v);
      if (!found) return Status::InvalidArgument(key + ": " + ShownValue(value) + " is not allowed (must be " +
                                                 DescribeAllowed(field) + ")");
    }
    **p = v;
  }
  return Status::OK();
}

nlohmann::json FieldValue(const Field& field) {
  return std::visit([](auto* p) { return nlohmann::json(*p); }, field.target);
}

// An arena list (eval.arenas or probe.arenas) against the walls and the bins.
Status CheckArenas(const Config& c, const std::string& list, const std::string& key) {
  auto arenas = ParseArenas(list);
  if (!arenas.ok()) return arenas.status().Prefixed(key + ": ");
  for (double a : arenas.value()) {
    if (c.data.walk.border * 2 >= a) {
      return Status::InvalidArgument(key + ": arena " + FormatNumber(a) + " m is not wider than twice data.walk.border");
    }
    const double bins = c.eval.bins > 0 ? static_cast<double>(c.eval.bins) : std::round(a / c.eval.bin_size);
    if (bins < 8 || bins > 1000) {
      return Status::InvalidArgument(std::string(c.eval.bins > 0 ? "eval.bins" : "eval.bin_size") + ": arena " +
                           FormatNumber(a) + " m would get " + FormatNumber(bins) + " bins per side (must be 8..1000)");
    }
  }
  return Status::OK();
}

// Cross-field rules that a single field's bounds cannot express.
Status CheckConsistency(const Config& c) {
  const std::string& d = c.run.device;
  const bool cuda = d == "cuda" || (d.rfind("cuda:", 0) == 0 && d.size() > 5 &&
                                    d.find_first_not_of("0123456789", 5) == std::string::npos);
  if (d != "cpu" && !cuda) {
    return Status::InvalidArgument("run.device: " + ShownValue(d) + " is not allowed (must be \"cpu\", \"cuda\" or \"cuda:K\")");
  }
  if (c.data.walk.border * 2 >= c.data.walk.arena_size) {
    return Status::InvalidArgument("data.walk.border: must be less than half of data.walk.arena_size");
  }
  if (Status s = CheckArenas(c, c.eval.arenas, "eval.arenas"); !s.ok()) return s;
  return c.probe.arenas.empty() ? Status::OK() : CheckArenas(c, c.probe.arenas, "probe.arenas");
}

Status ParseInto(Config& config, const nlohmann::json& json) {
  if (!json.is_object()) {
    return Status::InvalidArgument(std::string("config: must be a JSON object, got ") + json.type_name());
  }
  auto fields = Fields(config);
  // Walk the JSON tree; every leaf must be a known field, every object a known section.
  std::vector<std::pair<std::string, const nlohmann::json*>> stack = {{"", &json}};
  while (!stack.empty()) {
    auto [prefix, node] = stack.back();
    stack.pop_back();
    for (auto it = node->begin(); it != node->end(); ++it) {
      if (it.key().size() > kMaxKeyChars) {
        return Status::InvalidArgument(ShownKey(prefix.empty() ? it.key() : prefix + "." + it.key()) +
                                       ": unknown key (keys are at most " + std::to_string(kMaxKeyChars) + " characters)");
      }
      const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
      const Field* field = nullptr;
      bool is_section = false;
      for (const auto& f : fields) {
        if (key == f.key) field = &f;
        if (std::string(f.key).rfind(key + ".", 0) == 0) is_section = true;
      }
      if (field) {
        if (Status s = Assign(*field, it.value()); !s.ok()) return s;
      } else if (is_section) {
        if (!it.value().is_object()) {
          return Status::InvalidArgument(key + ": must be an object, got " + ShownValue(it.value()));
        }
        stack.emplace_back(key, &it.value());
      } else {
        return Status::InvalidArgument(ShownKey(key) + ": unknown key");
      }
    }
  }
  return CheckConsistency(config);
}

}  // namespace

Result<Config> ConfigFromJson(const nlohmann::json& json) {
  Config config;
  if (Status s = ParseInto(config, json); !s.ok()) return s;
  return config;
}

Result<Config> ConfigFromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open file");
  // Read at most one byte past the limit: enough for ParseJson to refuse it.
  const JsonLimits limits;
  std::string text(limits.max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  auto json = ParseJson(text, limits, path);
  if (!json.ok()) return json.status();
  auto config = ConfigFromJson(json.value());
  if (!config.ok()) return config.status().Prefixed(path + ": ");
  return config;
}

nlohmann::json ConfigToJson(const Config& config) {
  Config copy = config;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& f : Fields(copy)) {
    std::string pointer = std::string("/") + f.key;  // "loss.sigma_g" -> "/loss/sigma_g"
    for (auto& ch : pointer) ch = ch == '.' ? '/' : ch;
    out[nlohmann::json::json_pointer(pointer)] = FieldValue(f);
  }
  return out;
}

Status SetField(Config& config, const std::string& dotted_key, const nlohmann::json& value) {
  for (const auto& f : Fields(config)) {
    if (dotted_key == f.key) return Assign(f, value);
  }
  return Status::InvalidArgument(ShownKey(dotted_key) + ": unknown key");
}

Status CheckConfig(const Config& config) { return CheckConsistency(config); }

Status ApplyOverride(Config& config, const std::string& dotted_key, const nlohmann::json& value) {
  Config candidate = config;
  if (Status s = SetField(candidate, dotted_key, value); !s.ok()) return s;
  if (Status s = CheckConsistency(candidate); !s.ok()) return s;
  config = std::move(candidate);
  return Status::OK();
}

Result<std::vector<double>> ParseArenas(const std::string& arenas) {
  // Bounded before it is scanned or quoted back: at most kMaxArenasChars
  // characters and kMaxArenas arenas.
  if (arenas.size() > kMaxArenasChars) {
    return Status::InvalidArgument(std::to_string(arenas.size()) + " characters is over the limit of " +
                                   std::to_string(kMaxArenasChars));
  }
  std::vector<double> out;
  std::stringstream in(arenas);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto first = item.find_first_not_of(' '), last = item.find_last_not_of(' ');
    item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !(v > 0) || !(v <= 1000)) {
      return Status::InvalidArgument(ShownValue(arenas) + " is not a list of arena sides in metres (each in (0, 1000]), e.g. \"2,3,4\"");
    }
    if (out.size() == kMaxArenas) {
      return Status::InvalidArgument(ShownValue(arenas) + " names more than " + std::to_string(kMaxArenas) + " arenas");
    }
    out.push_back(v);
  }
  if (out.empty()) return Status::InvalidArgument(ShownValue(arenas) + " names no arena (e.g. \"2,3,4\")");
  return out;
}

std::string ConfigAllowed(const std::string& dotted_key) {
  Config c;
  for (const auto& f : Fields(c)) {
    if (dotted_key != f.key) continue;
    if (std::holds_alternative<bool*>(f.target)) return "true or false";
    if (dotted_key == "run.device") return "\"cpu\", \"cuda\" or \"cuda:K\"";
    if (std::holds_alternative<std::string*>(f.target) && f.choices.empty()) {
      return "a string of at most " + std::to_string(f.max_chars) + " characters";
    }
    const std::string allowed = DescribeAllowed(f);
    return std::holds_alternative<int64_t*>(f.target) ? "an integer " + allowed : allowed;
  }
  return "";
}

Config ProbeEvalConfig(const Config& config) {
  Config c = config;
  if (!config.probe.arenas.empty()) {
    c.eval.arenas = config.probe.arenas;
  } else {
    c.eval.arenas = config.eval.arenas.substr(0, config.eval.arenas.find(','));
  }
  c.eval.trajectories = config.probe.trajectories;
  c.eval.steps = config.probe.steps;
  return c;
}

std::vector<std::string> ConfigKeys() {
  Config c;
  std::vector<std::string> keys;
  for (const auto& f : Fields(c)) keys.push_back(f.key);
  return keys;
}

}  // namespace sic
