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
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sic/config.h"
#include "sic/status.h"

namespace sic {

struct SpecLimits {
  size_t max_bytes = 1 << 20;     // spec text
  int64_t max_trials = 10000;     // after expansion
};

struct TrialSpec {
  int64_t index = 0;            // 0-based position in the sweep
  std::string name;             // e.g. "no_cap/loss.lambda_inv=0.3/seed=2"
  std::string variant;          // "baseline" or the ablation's name
  nlohmann::json overrides;     // every dotted key this trial changes from base
  Config config;                // base + overrides, validated
};

struct SweepSpec {
  std::string name;
  std::string description;
  nlohmann::json spec;          // the submitted JSON, as parsed
  std::vector<TrialSpec> trials;
};

// Parses and expands a spec. Malformed JSON, unknown keys, wrong types,
// out-of-range values, empty lists and too many trials are errors.
Result<SweepSpec> ParseSweepSpec(std::string_view text, const SpecLimits& limits = {});
Result<SweepSpec> ParseSweepSpecJson(const nlohmann::json& spec, const SpecLimits& limits = {});

// One line per trial, "index name", for `sicctl sweep --dry-run`.
std::string DescribeTrials(const SweepSpec& sweep);

}  // namespace sic
