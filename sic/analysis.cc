#include "sic/analysis.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <functional>
#include <thread>

#include "sic/fields.h"
#include "sic/phases.h"

namespace sic {
namespace {

// Runs body(i) for i in [0, count) on `threads` threads (0 = one per core).
void ParallelFor(int64_t count, int threads, const std::function<void(int64_t)>& body) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<int64_t>(threads, std::max<int64_t>(count, 1)));
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i = next++; i < count; i = next++) body(i);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

double Median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// null for NaN/inf, which JSON cannot hold.
nlohmann::ordered_json Number(double x) { return std::isfinite(x) ? nlohmann::ordered_json(x) : nullptr; }

// True when the finite bins of `map` all hold one value (or there are none).
bool ConstantMap(const float* map, int64_t area) {
  bool seen = false;
  float first = 0;
  for (int64_t i = 0; i < area; ++i) {
    if (!std::isfinite(map[i])) continue;
    if (!seen) first = map[i];
    if (seen && map[i] != first) return false;
    seen = true;
  }
  return true;
}

// Max, median and mean of the scores of the units that have one.
void SummariseScores(PopulationAnalysis& out) {
  std::vector<double> scores;
  for (const auto& r : out.units) {
    if (!r.silent) scores.push_back(r.score);
  }
  out.silent = static_cast<int64_t>(out.units.size() - scores.size());
  const double nan = std::nan("");
  out.max_score = scores.empty() ? nan : *std::max_element(scores.begin(), scores.end());
  out.median_score = Median(scores);
  double sum = 0;
  for (double x : scores) sum += x;
  out.mean_score = scores.empty() ? nan : sum / static_cast<double>(scores.size());
}

std::string ThresholdKey(double t) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%g", t);
  return buf;
}

}  // namespace

Result<PopulationAnalysis> AnalyzeRateMaps(const float* maps, int64_t units, int64_t bins,
                                           const AnalysisOptions& options) {
  if (bins < 4) return Status::Error("rate maps need at least 4 x 4 bins, got " + std::to_string(bins));
  if (units < 1) return Status::Error("no rate maps to analyse");
  if (!(options.arena_size > 0) || !std::isfinite(options.arena_size)) {
    return Status::Error("arena size must be a positive number of metres");
  }
  PopulationAnalysis out;
  out.options = options;
  out.bins = bins;
  out.bin_size = options.arena_size / static_cast<double>(bins);
  out.units.resize(units);

  const GridScorer scorer(bins, options.nan_as_zero);
  const FourierAnalyzer fourier(bins);
  out.power_size = fourier.size();
  const int64_t area = bins * bins;
  ParallelFor(units, options.threads, [&](int64_t u) {
    const float* map = maps + u * area;
    UnitAnalysis& r = out.units[u];
    std::vector<double> sac;
    r.scores = scorer.Score(map, &sac);
    // The scorer, like the reference, gives a constant map 0: a number that
    // would rank a dead unit above every active unit with a negative score.
    r.silent = ConstantMap(map, area);
    if (r.silent) {
      const double nan = std::nan("");
      r.scores.score60 = r.scores.score60_mean = r.scores.score90 = nan;
    }
    r.score = options.min_max ? r.scores.score60 : r.scores.score60_mean;
    r.lattice = FindLattice(sac.data(), bins);
    r.fourier = fourier.Analyze(map);
    r.n_fields = CountFields(map, bins);
    // A periodic pattern repeats: a map with one field (a ramp up to a wall or
    // a corner, a single blob) has no period, although the padded spectrum of
    // its edge peaks near two cycles per arena. Seen on lambda_coniso 1 runs,
    // whose corner and edge ramps the classes called square and hexagonal.
    if (r.n_fields < 2) r.fourier.pattern = "none";
    for (int64_t i = 0; i < area; ++i) r.visited_bins += std::isfinite(map[i]) ? 1 : 0;
    r.grid = r.score > options.grid_threshold && r.lattice.found;
  });

  for (double t : kReportThresholds) {
    int64_t above = 0;
    for (const auto& r : out.units) above += (r.score > t && r.lattice.found) ? 1 : 0;
    out.fraction_grid.push_back(static_cast<double>(above) / static_cast<double>(units));
  }
  SummariseScores(out);

  // Modules from the grid units.
  std::vector<int64_t> grid_units;
  std::vector<double> periods, orientations;
  for (int64_t u = 0; u < units; ++u) {
    if (!out.units[u].grid) continue;
    grid_units.push_back(u);
    periods.push_back(out.units[u].lattice.period);
    orientations.push_back(out.units[u].lattice.orientation_deg);
  }
  const std::vector<int> labels = ClusterModules(periods, orientations, options.modules);
  int n_modules = 0;
  for (int l : labels) n_modules = std::max(n_modules, l + 1);
  out.modules.resize(n_modules);
  for (size_t k = 0; k < grid_units.size(); ++k) {
    out.units[grid_units[k]].module = labels[k];
    if (labels[k] >= 0) out.modules[labels[k]].units.push_back(grid_units[k]);
  }
  const int64_t p = fourier.size();
  ParallelFor(n_modules, options.threads, [&](int64_t m) {
    ModuleSummary& mod = out.modules[m];
    mod.id = static_cast<int>(m);
    std::vector<double> ps, os, power(p * p, 0.0);
    for (int64_t u : mod.units) {
      ps.push_back(out.units[u].lattice.period);
      os.push_back(out.units[u].lattice.orientation_deg);
      const std::vector<double> pu = fourier.Power(maps + u * area);
      for (int64_t i = 0; i < p * p; ++i) power[i] += pu[i] / static_cast<double>(mod.units.size());
    }
    mod.period_bins = Median(ps);
    mod.orientation_deg = MeanOrientation60(os);
    mod.fourier = fourier.AnalyzePower(power.data());
    if (mod.fourier.wavevectors.size() >= 2) {  // each unit is in one module: no two writers
      const PhaseTiling tiling = ModulePhases(maps, bins, mod.units, mod.fourier.wavevectors[0], mod.fourier.wavevectors[1]);
      for (size_t i = 0; i < mod.units.size(); ++i) out.units[mod.units[i]].phase = tiling.phases[i];
      mod.phase_tiling = tiling.ratio;
      mod.phase_tiling_z = tiling.z;
    }
    mod.mean_power.resize(p * p);
    for (int64_t i = 0; i < p; ++i) {  // shift k = 0 to the centre for display
      for (int64_t j = 0; j < p; ++j) {
        mod.mean_power[((i + p / 2) % p) * p + (j + p / 2) % p] = static_cast<float>(power[i * p + j]);
      }
    }
  });
  for (int m = 0; m + 1 < n_modules; ++m) {
    out.period_ratios.push_back(out.modules[m + 1].period_bins / out.modules[m].period_bins);
  }
  std::vector<double> module_periods, module_orientations;
  for (const ModuleSummary& m : out.modules) {
    module_periods.push_back(m.period_bins);
    module_orientations.push_back(m.orientation_deg);
  }
  const std::vector<int> harmonic = HarmonicOf(module_periods, module_orientations);
  for (int m = 0; m < n_modules; ++m) out.modules[m].harmonic_of = harmonic[m];
  return out;
}

nlohmann::ordered_json AnalysisToJson(const PopulationAnalysis& a) {
  using Json = nlohmann::ordered_json;
  const double bin = a.bin_size;
  Json units = Json::array();
  for (size_t u = 0; u < a.units.size(); ++u) {
    const UnitAnalysis& r = a.units[u];
    const bool lat = r.lattice.found;
    // k1, the unit's strongest wave: its spacing (a band's stripe spacing) and its
    // direction, which tells apart bands or sheared lattices of one spacing.
    const bool wave = !r.fourier.wavevectors.empty();
    Json k1 = wave ? Number(bin / r.fourier.wavevectors[0].norm()) : Json(nullptr);
    Json k1_angle = wave ? Number(r.fourier.wavevectors[0].angle_deg()) : Json(nullptr);
    units.push_back(Json{{"index", u},
                         {"silent", r.silent},
                         {"score60", Number(r.scores.score60)},
                         {"score60_mean", Number(r.scores.score60_mean)},
                         {"score90", Number(r.scores.score90)},
                         {"period_m", lat ? Number(r.lattice.period * bin) : Json(nullptr)},
                         {"orientation_deg", lat ? Number(r.lattice.orientation_deg) : Json(nullptr)},
                         {"module", r.module},
                         {"period_bins", lat ? Number(r.lattice.period) : Json(nullptr)},
                         {"grid", r.grid},
                         {"mask60", r.scores.mask60},
                         {"n_fields", r.n_fields},
                         {"n_wavevectors", r.fourier.n_wavevectors},
                         {"pattern", r.fourier.pattern},
                         {"wave_period_m", k1},
                         {"wave_angle_deg", k1_angle},
                         {"phase", std::isfinite(r.phase[0]) && std::isfinite(r.phase[1])
                                       ? Json::array({r.phase[0], r.phase[1]})
                                       : Json(nullptr)},
                         {"visited_bins", r.visited_bins}});
  }
  Json modules = Json::array();
  for (const ModuleSummary& m : a.modules) {
    Json ks = Json::array();
    double mean_norm = 0;
    for (const Wavevector& k : m.fourier.wavevectors) {
      ks.push_back(Json::array({Number(k.kx / bin), Number(k.ky / bin)}));
      mean_norm += k.norm() / static_cast<double>(m.fourier.wavevectors.size());
    }
    modules.push_back(Json{{"id", m.id},
                           {"period_m", Number(m.period_bins * bin)},
                           {"orientation_deg", Number(m.orientation_deg)},
                           {"units", m.units.size()},
                           {"period_bins", Number(m.period_bins)},
                           {"members", m.units},
                           {"pattern", m.fourier.pattern},
                           {"wavevectors_per_m", ks},
                           {"period_from_k_m", mean_norm > 0 ? Number(2.0 / (std::sqrt(3.0) * mean_norm) * bin)
                                                              : Json(nullptr)},
                           {"phase_tiling", Number(m.phase_tiling)},
                           {"phase_tiling_z", Number(m.phase_tiling_z)},
                           {"harmonic_of", m.harmonic_of >= 0 ? Json(m.harmonic_of) : Json(nullptr)}});
  }
  Json fractions = Json::object();
  for (size_t t = 0; t < a.fraction_grid.size(); ++t) {
    fractions[ThresholdKey(kReportThresholds[t])] = a.fraction_grid[t];
  }
  Json ratios = Json::array();
  for (double r : a.period_ratios) ratios.push_back(Number(r));
  int64_t n_grid = 0;
  Json patterns = Json{{"grid", 0}, {"partial", 0}, {"square", 0}, {"oblique", 0}, {"band", 0}, {"none", 0}};
  for (const auto& r : a.units) {
    n_grid += r.grid ? 1 : 0;
    patterns[r.fourier.pattern] = patterns[r.fourier.pattern].get<int64_t>() + 1;
  }
  return Json{{"units", units},
              {"modules", modules},
              {"n_modules", a.modules.size()},
              {"n_modules_distinct", a.DistinctModules()},
              {"fraction_grid", fractions},
              {"period_ratios", ratios},
              {"n_units", a.units.size()},
              {"n_grid", n_grid},
              {"silent_units", a.silent},
              {"max_score60", Number(a.max_score)},
              {"median_score60", Number(a.median_score)},
              {"mean_score60", Number(a.mean_score)},
              {"patterns", patterns},
              {"arena_size_m", a.options.arena_size},
              {"bins", a.bins},
              {"grid_score", Json{{"form", a.options.min_max ? "min_max" : "mean"},
                                  {"nan_as_zero", a.options.nan_as_zero},
                                  {"threshold", a.options.grid_threshold}}}};
}

std::string AnalysisTable(const PopulationAnalysis& a) {
  std::string out;
  char line[256];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    out += line;
  };
  add("%zu units, %lld x %lld bins over %g m (%.1f cm bins); score60 = %s form, NaN bins %s\n", a.units.size(),
      static_cast<long long>(a.bins), static_cast<long long>(a.bins), a.options.arena_size, a.bin_size * 100,
      a.options.min_max ? "min-max" : "mean", a.options.nan_as_zero ? "as zeros (reference quirk)" : "excluded");
  add("%5s %8s %8s %8s %9s %7s %6s %5s %-8s %6s\n", "unit", "score60", "s60mean", "score90", "period_m", "orient",
      "fields", "waves", "pattern", "module");
  for (size_t u = 0; u < a.units.size(); ++u) {
    const UnitAnalysis& r = a.units[u];
    std::string period = "-", orient = "-", module = r.module >= 0 ? std::to_string(r.module) : "-";
    if (r.lattice.found) {
      char b[32];
      std::snprintf(b, sizeof b, "%.3f", r.lattice.period * a.bin_size);
      period = b;
      std::snprintf(b, sizeof b, "%.1f", r.lattice.orientation_deg);
      orient = b;
    }
    if (r.silent) {
      add("%5zu %8s %8s %8s %9s %7s %6s %5s %-8s %6s\n", u, "silent", "-", "-", "-", "-", "-", "-", "-", "-");
      continue;
    }
    add("%5zu %8.3f %8.3f %8.3f %9s %7s %6lld %5d %-8s %6s\n", u, r.scores.score60, r.scores.score60_mean,
        r.scores.score90, period.c_str(), orient.c_str(), static_cast<long long>(r.n_fields), r.fourier.n_wavevectors,
        r.fourier.pattern.c_str(), module.c_str());
  }
  add("modules: %zu (%lld distinct)\n", a.modules.size(), static_cast<long long>(a.DistinctModules()));
  for (const ModuleSummary& m : a.modules) {
    add("  module %d: %zu units, period %.3f m, orientation %.1f deg, phase tiling %.2f (z %.1f)", m.id,
        m.units.size(), m.period_bins * a.bin_size, m.orientation_deg, m.phase_tiling, m.phase_tiling_z);
    if (m.harmonic_of >= 0) add("; may be a harmonic of module %d", m.harmonic_of);
    out += "\n";
  }
  if (!a.period_ratios.empty()) {
    out += "period ratios:";
    for (double r : a.period_ratios) add(" %.3f", r);
    out += "\n";
  }
  add("score60 over the %lld active units: max %.3f, median %.3f, mean %.3f; %lld silent (no score)\n",
      static_cast<long long>(static_cast<int64_t>(a.units.size()) - a.silent), a.max_score, a.median_score,
      a.mean_score, static_cast<long long>(a.silent));
  out += "fraction of grid units (of all units):";
  for (size_t t = 0; t < a.fraction_grid.size(); ++t) add(" >%g: %.3f", kReportThresholds[t], a.fraction_grid[t]);
  out += "\n";
  return out;
}

}  // namespace sic
