// The sampler of a "search" sweep: the parameters of its next trial, as a pure
// function of the search space, the trials so far and the trial's number.
//
//   random: every parameter drawn with DrawParam from Rng(seed, kSamplerRandomStream, number).
//   tpe:    the Tree-structured Parzen Estimator as Optuna 3.1's TPESampler with
//           multivariate=True, constant_liar=True and its other defaults, with
//           the two corrections later Optuna made to its kernels (below):
//     - the first n_startup_trials suggestions (until that many usable, not
//       pending, observations exist) are the random ones above;
//     - usable observations are ranked best first: complete trials by value,
//       then paused and stopped-early ones, deeper rung first, then by value
//       (Optuna's ranking of pruned trials by last step, then value); the best
//       gamma(n) = min(ceil(0.1 n), 25) of the n non-pending ones are "below"
//       (good), the rest and every pending trial (the constant liar) "above";
//     - each group is a Parzen estimator: one kernel per observation plus a
//       prior kernel (centred in the range, the range as bandwidth, weight
//       prior_weight); Optuna's default weights (ones for n < 25, else a linear
//       ramp over the oldest n - 25 and ones for the newest 25) in trial order;
//     - multivariate: one joint kernel per observation (a product over the
//       parameters); univariate (multivariate=false): each parameter alone,
//       with its own estimators and candidates;
//     - bandwidth per parameter: the larger gap from the observation to its
//       sorted neighbours (the range's ends outermost; the lowest and highest
//       take their inner gap), magic-clipped to [range / min(100, n + 2), range];
//     - numeric kernels are normals truncated to the range; log_uniform works
//       in log space; int_uniform is a continuous kernel on [lo - 0.5, hi + 0.5]
//       rounded to an integer, its density the kernel's mass over [x - 0.5, x + 0.5]
//       (Optuna's IntDistribution, step 1); choice kernels put weight 1 on the
//       observed category plus prior_weight / (n + 1) on every category;
//     - n_ei_candidates points are drawn from "below"; the one that maximises
//       log l(x) - log g(x) is the suggestion (first on a tie).
//   Where it differs from Optuna 3.1:
//     - the two later corrections: a truncated normal's log density includes
//       -log(sigma) (3.1 omits it, which inflates the wide prior kernel by
//       (range / sigma)^d; fixed in Optuna 3.5), and multivariate kernels take
//       the neighbour bandwidths above (3.1 gives every kernel
//       0.2 n^(-1/(d+4)) x range; Optuna replaced it in 2026). Measured with
//       bench/sampler.py (100 seeds, in-process), against this sampler with
//       3.1's formulas, in median trials to a target: Branin to 0.5: 57 vs 92;
//       Hartmann-6 to -3.0: 57 vs 75; the lambda ridge to 0.02: 51 vs 52,
//       to 0.05: 36 vs 31 (3.1's explores more, so it is quicker to a loose target);
//     - a NaN value ranks after every observation with a value (Optuna fails
//       such a trial instead, so a diverging region would not be learnt);
//     - draws come from sic::Rng per trial number, so the suggestion for a
//       number is reproducible on its own (Optuna's sampler holds one
//       generator across the study): the suggestions differ from Optuna's
//       draw for draw, not in distribution.
//
// Observations whose params do not fit the space (a key missing, a value of
// the wrong type or out of range) are skipped, as are failed trials.
// Cost: O(n_ei_candidates x |history| x |space|) time per suggestion, plus
// the sort; O(|history| x |space|) memory. The caller bounds the history (a
// sweep's trial limit). Measured on the 2-core VM: 10,000 trials of 6
// uniform parameters well under 0.1 s; of 16 int parameters (an erfc pair per
// kernel and candidate) about 1 s.
//
// Thread-safety: a pure function of its arguments (no global state).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/sweep_spec.h"

namespace sic {

// One earlier trial of the search, as the store knows it, in trial order.
struct Observation {
  nlohmann::json params;  // object: key -> value, as Suggest or DrawParam gave them
  enum State {
    kComplete,  // value is the objective
    kPaused,    // waiting at a rung: value is that rung's signal, depth the rung
    kStopped,   // stopped early at rung `depth` with `value`
    kPending,   // queued or running: no value yet (the constant liar)
    kFailed,    // ignored
  };
  State state = kComplete;
  double value = std::numeric_limits<double>::quiet_NaN();  // NaN ranks worst
  int depth = 0;  // rung reached (paused, stopped); ignored for complete
};

struct SamplerOptions {
  SearchSpec::Method method = SearchSpec::kTpe;
  uint64_t seed = 0;
  bool maximize = true;
  int n_startup_trials = 10;     // clamped to >= 0
  int n_ei_candidates = 24;      // clamped to [1, kSamplerMaxCandidates]
  double prior_weight = 1.0;     // must be finite and > 0, else 1
  bool multivariate = true;
  bool constant_liar = true;     // false: pending trials are ignored
};

inline constexpr int kSamplerMaxCandidates = 1024;

// A spec's search as sampler options: its method and seed, the objective's
// direction, Optuna's defaults for the rest.
SamplerOptions SamplerOptionsFor(const SearchSpec& search, const Objective& objective);

// The streams of sic::Rng the sampler draws from (distinct from the spec's own).
inline constexpr uint64_t kSamplerRandomStream = 0x5341525dULL;  // random suggestions, TPE's startup
inline constexpr uint64_t kSamplerTpeStream = 0x54504531ULL;     // TPE's candidates

// The suggestion for trial `number` (0-based) of a search over `space`: an
// object with one value per parameter, of the type DrawParam gives (a double
// in [lo, hi], an integer in int_lo + [0, span], one of the choices).
// Deterministic: the same arguments give the same suggestion.
nlohmann::json Suggest(const SamplerOptions& options, const std::vector<ParamDist>& space,
                       const std::vector<Observation>& history, int64_t number);

}  // namespace sic
