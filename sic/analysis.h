// AnalyzeRateMaps: everything sic-method 5.2-5.4 asks of a population of rate
// maps, without LibTorch: per unit the grid scores (sic/gridscore.h), period and
// orientation (sic/lattice.h), Fourier pattern (sic/fourier.h) and field count
// (sic/fields.h); then the grid units, their modules (sic/modules.h) with median
// period, orientation, mean Fourier power and three lattice wavevectors, the
// ratios of successive module periods, the units' phases on their module's
// lattice and how evenly they tile its unit cell (sic/phases.h), and the
// fraction of grid units at the 0.3, 0.8 and 1.15 thresholds.
//
// A unit is a grid unit at threshold t when its S60 (min-max form by default,
// options.min_max) exceeds t AND its autocorrelogram shows a ring of six peaks:
// a lone field or a band cell can score above 0.3 but has no such ring.
//
// A silent unit (its rate map constant over the visited bins, or no bin
// visited; in practice a unit the ReLU cuts off everywhere) has no score: its
// scores are NaN (null in JSON), it is never a grid unit, it is left out of
// the max, median and mean score, and it is counted in `silent`. The fraction
// of grid units is taken over ALL units, silent ones included (a network does
// not look better for having dead units).
//
// Maps are [units, n, n] float32, row = y, column = x, NaN = unvisited; they
// cover a square arena of side options.arena_size metres.
// Thread-safety: AnalyzeRateMaps may be called concurrently; it runs
// options.threads worker threads itself (0 = one per core).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sic/fourier.h"
#include "sic/gridscore.h"
#include "sic/lattice.h"
#include "sic/modules.h"
#include "sic/status.h"

namespace sic {

struct AnalysisOptions {
  double arena_size = 2.0;     // metres
  bool nan_as_zero = false;    // the reference quirk (sic/autocorr.h)
  bool min_max = true;         // S60 form used for thresholds: min-max, else mean
  double grid_threshold = 0.3;  // modules are built from grid units at this threshold
  ModuleOptions modules;
  int threads = 0;
};

// The fixed thresholds reported as "fraction_grid" (sic-method 5.2 step 9).
constexpr double kReportThresholds[] = {0.3, 0.8, 1.15};

struct UnitAnalysis {
  bool silent = false;  // constant map: scores and score are NaN
  GridScores scores;
  double score = 0;  // the S60 form options.min_max selects
  Lattice lattice;
  FourierPattern fourier;
  int64_t n_fields = 0;
  int64_t visited_bins = 0;
  bool grid = false;  // score > grid_threshold and lattice.found
  int module = -1;
  // Its place in its module's unit cell, fractions of the lattice basis
  // (sic/phases.h); NaN outside a module or when the module has no 2-D cell.
  std::array<double, 2> phase = {std::numeric_limits<double>::quiet_NaN(),
                                 std::numeric_limits<double>::quiet_NaN()};
};

struct ModuleSummary {
  int id = 0;
  std::vector<int64_t> units;
  double period_bins = 0;      // median over the units
  double orientation_deg = 0;  // circular mean modulo 60
  FourierPattern fourier;      // of mean_power; wavevectors in cycles per bin
  std::vector<float> mean_power;  // [size, size], k = 0 at (size/2, size/2)
  // How evenly the units' phases tile the unit cell: the Clark-Evans ratio
  // (1 random, 2.15 a perfect triangular tiling) and its z (sic/phases.h).
  double phase_tiling = std::numeric_limits<double>::quiet_NaN();
  double phase_tiling_z = std::numeric_limits<double>::quiet_NaN();
  // The id of a longer module whose lattice this one may only echo
  // (sic/modules.h: HarmonicOf), else -1.
  int harmonic_of = -1;
};

struct PopulationAnalysis {
  AnalysisOptions options;
  int64_t bins = 0;
  double bin_size = 0;      // metres
  int64_t power_size = 0;   // side of the Fourier power arrays
  std::vector<UnitAnalysis> units;
  std::vector<ModuleSummary> modules;
  std::vector<double> period_ratios;  // module k+1 over module k
  std::vector<double> fraction_grid;  // per kReportThresholds, over all units
  int64_t silent = 0;                 // units without a score
  // Of `score` over the units that have one (NaN when every unit is silent).
  double max_score = 0, median_score = 0, mean_score = 0;

  double ToMetres(double bins_value) const { return bins_value * bin_size; }
  // The modules that are no other's harmonic (ModuleSummary::harmonic_of).
  int64_t DistinctModules() const {
    int64_t n = 0;
    for (const ModuleSummary& m : modules) n += m.harmonic_of < 0 ? 1 : 0;
    return n;
  }
};

Result<PopulationAnalysis> AnalyzeRateMaps(const float* maps, int64_t units, int64_t bins,
                                           const AnalysisOptions& options);

// The `sic analyze --json` object (docs/analysis.md): "units", "modules",
// "n_modules", "fraction_grid" as the issue fixes them, plus extra keys.
nlohmann::ordered_json AnalysisToJson(const PopulationAnalysis& analysis);
// A readable table of the same.
std::string AnalysisTable(const PopulationAnalysis& analysis);

}  // namespace sic
