// Sweep spec: the JSON a scientist submits (`sicctl sweep FILE`), parsed,
// validated and expanded into the deterministic list of trials it stands for.
//
//   {
//     "name": "ablations",                         optional; [A-Za-z0-9_.-], <= 64 chars
//     "description": "...",                         optional free text
//     "base": { ...training config... },            optional; defaults are the paper's
//     "ablations": {"no_cap": {"loss.lambda_cap": 0}, ...},   named override sets;
//                                                   "baseline" (no overrides) always runs
//     "grid": {"loss.lambda_inv": [0.1, 0.3]},      cartesian product over dotted keys
//     "random": {"samples": 8, "seed": 0,           samples drawn per variant
//                "params": {"optim.lr": {"log_uniform": [1e-5, 1e-3]},
//                           "loss.sigma_g": {"uniform": [0.1, 0.6]},
//                           "model.n_units": {"int_uniform": [32, 128]},
//                           "data.velocity": {"choice": ["uniform", "walk"]}}},
//     "seeds": 3  or  [0, 7, 42]                    replicates; sets run.seed
//   }
//
// Trials = variants (baseline + ablations) x grid points x random samples x seeds,
// enumerated in that nesting order (seeds fastest). Ablation names and grid keys
// are taken in sorted order, so the list depends only on the spec's content.
// Random samples are a pure function of (random.seed, sample index), identical
// in every variant, so that variants are compared on the same points.
// A dotted key may be set by only one of ablations / grid / random / seeds (a
// second setter would silently win; the spec is refused instead).
// Every trial's config is validated: an error names the spec key and the reason,
// e.g. `ablations.no_cap: loss.lambda_cap: -1 is out of range (must be >= 0)`.
//
// Everything is bounded before it costs anything (a spec comes from anyone who
// can reach the coordinator, and a dry run needs no token):
//   - the text: SpecLimits::max_bytes, and nesting depth while it is parsed
//     (sic/json_parse.h), so no deep value is ever built, copied or dumped;
//   - its shape: every string and every list has a length limit (kSpec* below,
//     and the config's own limits in sic/config.h), checked as it is read;
//   - its cost: the trial count and an estimate of the bytes the expanded
//     trials take are checked against SpecLimits before any trial is built.
// Errors: ResourceExhausted for the three SpecLimits (size, trials, bytes);
// InvalidArgument for everything else (malformed, too deep, a bound of the shape).
// Arithmetic on the spec's numbers is checked (no overflow, no division by 0).
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/resources.h"
#include "sic/config.h"
#include "sic/status.h"

namespace sic {

// The limits a deployment may tune (sic-coordinator's flags set them).
struct SpecLimits {
  size_t max_bytes = 1 << 20;                   // spec text
  int64_t max_trials = 10000;                   // after expansion
  int64_t max_expanded_bytes = int64_t{64} << 20;  // estimated bytes of all trials' configs,
                                                   // overrides and names
};

// The bounds on a spec's shape, fixed: each keeps one part of a spec (and the
// errors that quote it) small, whatever the limits above.
inline constexpr int kSpecMaxDepth = 16;               // nested objects and arrays (a spec needs 5)
inline constexpr size_t kSpecMaxNameChars = 64;        // name, each ablation's name
inline constexpr size_t kSpecMaxDescriptionChars = 4096;
inline constexpr size_t kSpecMaxKeyChars = kMaxKeyChars;  // a dotted key (128)
inline constexpr size_t kSpecMaxStringChars = 256;     // a string value in ablations, grid, choice
inline constexpr size_t kSpecMaxAblations = 256;
inline constexpr size_t kSpecMaxOverrides = 64;        // dotted keys in one ablation
inline constexpr size_t kSpecMaxGridKeys = 16;
inline constexpr size_t kSpecMaxListValues = 1000;     // values of one grid key, or of one choice
inline constexpr size_t kSpecMaxRandomParams = 64;
inline constexpr int64_t kSpecMaxSeeds = 10000;        // a seed count, or a seed list's length

class Rng;

// One parameter a random sample or a search draws, as the spec gives it
// (`{"uniform": [lo, hi]}`, `log_uniform`, `int_uniform`, `choice`), checked.
struct ParamDist {
  enum Kind { kUniform, kLogUniform, kIntUniform, kChoice };
  std::string key;        // dotted config key
  Kind kind = kUniform;
  double lo = 0, hi = 0;  // uniform, log_uniform: lo < hi, hi - lo finite (log_uniform: lo > 0)
  int64_t int_lo = 0;     // int_uniform: int_lo + [0, span], the span taken in
  uint64_t span = 0;      // unsigned arithmetic, so that it cannot overflow
  nlohmann::json choices; // choice: non-empty list of bounded scalars
};
// One value of `d`, uniform in its space (log space for log_uniform); `rng` advances.
nlohmann::json DrawParam(const ParamDist& d, Rng& rng);

// "objective": what a sweep is for: a stored metric and whether more is better.
struct Objective {
  std::string metric;     // any metric a trial stores, e.g. "eval.2m.fraction_grid.0.3", "loss.total"
  bool maximize = true;   // "direction": "max" | "min"
};

// "search": configurations proposed one at a time by a sampler (instead of a
// grid or random samples fixed at submit). Each suggestion is a trial (times
// the seeds, when "seeds" is given).
struct SearchSpec {
  enum Method { kTpe, kRandom };
  Method method = kTpe;
  int64_t trials = 0;             // suggestions in all
  uint64_t seed = 0;              // the sampler's seed: same seed, same suggestions for the same results
  bool external = false;          // driven only by ask/tell from outside; no worker runs its trials
  std::vector<ParamDist> params;  // sorted by key
};

// "schedule": early stopping. Rungs at min_steps * reduction_factor^k below
// max_steps, plus max_steps; rungs below grace_steps are skipped (nothing is
// cut before it).
struct ScheduleSpec {
  enum Method { kNone, kAsha, kMedian };
  Method method = kNone;
  int64_t min_steps = 0, max_steps = 0, grace_steps = 0;
  int64_t reduction_factor = 3;   // eta
  int64_t min_trials = 3;         // values at a rung before any trial there is cut or promoted
  std::string metric;             // the rung signal; default: the objective's metric
  bool maximize = true;           // default: the objective's direction
  bool direction_given = false;
  std::vector<int64_t> rungs;     // the rung steps, ascending, the last = max_steps
};

// The rung steps: min_steps * eta^k for k = 0, 1, ... while below max_steps,
// leaving out those below grace_steps, then max_steps. Ascending, the last is
// max_steps. InvalidArgument (naming the schedule key) unless
// 0 < min_steps <= max_steps, eta >= 2, grace_steps >= 0. Overflow-safe: a
// step is multiplied only when the product stays <= max_steps.
Result<std::vector<int64_t>> RungSteps(int64_t min_steps, int64_t max_steps, int64_t eta, int64_t grace_steps);

struct TrialSpec {
  int64_t index = 0;            // 0-based position in the sweep
  std::string name;             // e.g. "no_cap/loss.lambda_inv=0.3/seed=2"
  std::string variant;          // "baseline" or the ablation's name
  nlohmann::json overrides;     // every dotted key this trial changes from base
  Config config;                // base + overrides, validated
  Needs needs;                  // its device class and needs (common/resources.h)
};

inline constexpr int64_t kMaxPriority = 1000;  // a sweep's priority is in [-1000, 1000]

struct SweepSpec {
  std::string name;
  std::string description;
  nlohmann::json spec;          // the submitted JSON, as parsed
  std::vector<TrialSpec> trials;  // every trial; for a search, none (they are made one per suggestion)
  bool has_objective = false;
  Objective objective;
  bool has_search = false;
  SearchSpec search;
  ScheduleSpec schedule;        // method kNone when absent
  Config base;                  // the base config, schedule.max_steps applied
  std::vector<int64_t> seeds;   // the seeds list (empty: base run.seed)
  int64_t priority = 0;         // higher is fed first
  int64_t max_running = 0;      // cap on its queued + running trials (0: none)
  bool preempt = false;         // may preempt running trials of lower priority (coordinator/dispatch.h)
  ResourceSpec resources;       // what "resources" overrides
};

// Parses and expands a spec. Malformed JSON, unknown keys, wrong types,
// out-of-range values, empty lists, a broken bound and too many trials or bytes
// are errors. (There is no entry point taking a parsed json: text goes through
// ParseJson, which bounds the depth before any value exists.)
Result<SweepSpec> ParseSweepSpec(std::string_view text, const SpecLimits& limits = {});

// The trials of a search's suggestion number `number` (0-based): one per
// seed (index number * seeds + k, name "search=<number>[/seed=S]", variant
// "search"), each base + `params` (+ run.seed). For an external search, the
// params as given and no config. InvalidArgument when params break the config.
Result<std::vector<TrialSpec>> SearchTrials(const SweepSpec& sweep, int64_t number, const nlohmann::json& params);

// One line per trial, "index name", for `sicctl sweep --dry-run`.
std::string DescribeTrials(const SweepSpec& sweep);

}  // namespace sic
