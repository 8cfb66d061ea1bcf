// What the evaluation of one arena produces, and how it is written to disk,
// without LibTorch (sic/evaluate.h fills it by running the network):
//   ratemaps.npy      (units, bins, bins) float32, mean activation, NaN = unvisited
//   occupancy.npy     (bins, bins) float64, samples per bin
//   scores.json       the `sic analyze --json` object (sic/analysis.h)
//   summary.json      the arena's headline numbers (ArenaSummaryJson)
//   distance.json     the generalisation curve (sic/distance_curve.h)
//   module_power.npy  (modules, P, P) float32, mean Fourier power per module,
//                     k = 0 at the centre (only when there are modules)
// Rate-map rows are y, columns x, over [-L/2, L/2]^2 (sic/ratemap.h).
//
// Thread-safety: plain data and functions without shared state.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "sic/analysis.h"
#include "sic/config.h"
#include "sic/distance_curve.h"
#include "sic/ratemap.h"
#include "sic/status.h"

namespace sic {

struct WalkSummary {
  int64_t trajectories = 0;
  int64_t steps = 0;            // network inputs per trajectory
  int64_t steps_per_input = 0;  // walk steps summed into one input
  double mean_input_step = 0;   // metres, measured over all inputs
  int64_t samples = 0;          // states binned into the rate maps
  int64_t zero_states = 0;      // states where NormReLU's input was all <= 0
};

struct ArenaReport {
  double arena_size = 0;  // metres
  int64_t bins = 0;
  WalkSummary walk;
  RateMaps maps;
  DistanceCurve distance;
  PopulationAnalysis analysis;
  double simulate_seconds = 0, analyze_seconds = 0;
};

// Bins per side for an arena: eval.bins, or arena / eval.bin_size rounded.
int64_t EvalBins(const EvalConfig& eval, double arena_size);
// Walk steps per network input: eval.steps_per_input, or (0) the number that
// makes the mean input step match training: the training walk's own
// aggregation, or for uniform steps E|v| = v_max (sqrt(2) + asinh(1)) / 3
// (~11.5 cm) over the walk's mean step speed_scale sqrt(pi / 2) dt (sic-method 5.1).
int64_t EvalStepsPerInput(const Config& config);
AnalysisOptions EvalAnalysisOptions(const EvalConfig& eval, double arena_size, int threads);

// "arena_2m", "arena_2.5m": the per-arena output directory name.
std::string ArenaDirName(double arena_size);

nlohmann::ordered_json ArenaSummaryJson(const ArenaReport& report);
nlohmann::ordered_json DistanceCurveJson(const DistanceCurve& curve);

// Writes the files listed above into `dir` (created if needed).
Status WriteArenaReport(const ArenaReport& report, const std::string& dir);

// Writes JSON atomically (temporary file, then rename).
Status WriteJsonFile(const std::string& path, const nlohmann::ordered_json& json);

}  // namespace sic
