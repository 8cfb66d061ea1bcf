#include "sic/eval_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "sic/file_writer.h"
#include "sic/npy.h"

namespace sic {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

Json Number(double x) { return std::isfinite(x) ? Json(x) : Json(nullptr); }

}  // namespace

int64_t EvalBins(const EvalConfig& eval, double arena_size) {
  if (eval.bins > 0) return eval.bins;
  return std::max<int64_t>(1, std::llround(arena_size / eval.bin_size));
}

int64_t EvalStepsPerInput(const Config& config) {
  if (config.eval.steps_per_input > 0) return config.eval.steps_per_input;
  const WalkConfig& w = config.data.walk;
  if (config.data.velocity == "walk") return w.steps_per_input;
  const double training_step = config.data.v_max * (std::sqrt(2.0) + std::asinh(1.0)) / 3.0;
  const double walk_step = w.speed_scale * std::sqrt(M_PI / 2.0) * w.dt;
  return std::max<int64_t>(1, std::llround(training_step / walk_step));
}

AnalysisOptions EvalAnalysisOptions(const EvalConfig& eval, double arena_size, int threads) {
  AnalysisOptions o;
  o.arena_size = arena_size;
  o.nan_as_zero = eval.nan_as_zero;
  o.min_max = eval.min_max;
  o.grid_threshold = eval.grid_threshold;
  o.modules.bandwidth = eval.module_bandwidth;
  o.threads = threads;
  return o;
}

std::string ArenaDirName(double arena_size) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "arena_%gm", arena_size);
  return buf;
}

Json DistanceCurveJson(const DistanceCurve& c) {
  Json distance = Json::array(), mean = Json::array(), std = Json::array();
  for (size_t b = 0; b < c.mean.size(); ++b) {
    distance.push_back((static_cast<double>(b) + 0.5) * c.bin_width);
    mean.push_back(Number(c.mean[b]));
    std.push_back(Number(c.std[b]));
  }
  return Json{{"bin_width_m", c.bin_width}, {"distance_m", distance}, {"neural_mean", mean},
              {"neural_std", std}, {"count", c.count}};
}

Json ArenaSummaryJson(const ArenaReport& r) {
  const PopulationAnalysis& a = r.analysis;
  const Json scores = AnalysisToJson(a);
  int64_t visited = 0;
  for (double o : r.maps.occupancy) visited += o > 0 ? 1 : 0;
  Json modules = Json::array();
  for (const auto& m : scores["modules"]) {
    modules.push_back(Json{{"id", m["id"]}, {"period_m", m["period_m"]}, {"orientation_deg", m["orientation_deg"]},
                           {"units", m["units"]}, {"wavevectors_per_m", m["wavevectors_per_m"]},
                           {"phase_tiling", m["phase_tiling"]}, {"phase_tiling_z", m["phase_tiling_z"]},
                           {"harmonic_of", m["harmonic_of"]}});
  }
  // The two largest modules (by units; a tie goes to the shorter period) that
  // are no other's harmonic, so a sweep can compare networks on single
  // numbers: the largest one's period and phase tiling, and the ratio of the
  // two periods, longer over shorter (a harmonic's ratio is the lattice's
  // geometry, sqrt(3) or 2, not a second module's).
  const ModuleSummary *first = nullptr, *second = nullptr;
  for (const ModuleSummary& m : a.modules) {
    if (m.harmonic_of >= 0) continue;
    if (!first || m.units.size() > first->units.size()) {
      second = first, first = &m;
    } else if (!second || m.units.size() > second->units.size()) {
      second = &m;
    }
  }
  const Json period = first ? Number(first->period_bins * a.bin_size) : Json(nullptr);
  const Json phase_tiling = first ? Number(first->phase_tiling) : Json(nullptr);
  const Json period_ratio = second ? Number(std::max(first->period_bins, second->period_bins) /
                                            std::min(first->period_bins, second->period_bins))
                                   : Json(nullptr);
  // The plateau of the distance curve: mean over spatial distances beyond 0.5 m.
  double far_sum = 0, far_n = 0;
  for (size_t b = 0; b < r.distance.mean.size(); ++b) {
    if ((static_cast<double>(b) + 0.5) * r.distance.bin_width > 0.5 && r.distance.count[b] > 0) {
      far_sum += r.distance.mean[b] * static_cast<double>(r.distance.count[b]);
      far_n += static_cast<double>(r.distance.count[b]);
    }
  }
  return Json{
      {"arena_size_m", r.arena_size},
      {"bins", r.bins},
      {"bin_size_m", r.arena_size / static_cast<double>(r.bins)},
      {"walk",
       Json{{"trajectories", r.walk.trajectories},
            {"steps", r.walk.steps},
            {"steps_per_input", r.walk.steps_per_input},
            {"mean_input_step_m", Number(r.walk.mean_input_step)},
            {"samples", r.walk.samples},
            {"zero_states", r.walk.zero_states}}},
      {"coverage", static_cast<double>(visited) / static_cast<double>(r.bins * r.bins)},
      {"n_units", r.maps.units},
      {"silent_units", a.silent},  // constant rate maps: no score, left out of max/median/mean
      {"grid_score", scores["grid_score"]},
      {"max_score60", Number(a.max_score)},  // over the units that are not silent
      {"median_score60", Number(a.median_score)},
      {"mean_score60", Number(a.mean_score)},
      {"n_grid", scores["n_grid"]},
      {"fraction_grid", scores["fraction_grid"]},
      {"patterns", scores["patterns"]},
      {"n_modules", scores["n_modules"]},
      {"n_modules_distinct", scores["n_modules_distinct"]},
      {"modules", modules},
      {"period_m", period},
      {"phase_tiling", phase_tiling},
      {"period_ratio", period_ratio},
      {"period_ratios", scores["period_ratios"]},
      {"distance_near_m", r.distance.mean.empty() ? Json(nullptr) : Number(r.distance.mean[0])},
      {"distance_plateau", far_n > 0 ? Number(far_sum / far_n) : Json(nullptr)},
      {"seconds", Json{{"simulate", r.simulate_seconds}, {"analyze", r.analyze_seconds}}},
  };
}

Status WriteJsonFile(const std::string& path, const Json& json) {
  return WriteFileAtomically(path, json.dump(2) + "\n");
}

Status WriteArenaReport(const ArenaReport& r, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Error(dir + ": cannot create directory: " + ec.message());
  auto path = [&](const char* name) { return (fs::path(dir) / name).string(); };
  const int64_t n = r.bins;
  if (Status s = WriteNpy(path("ratemaps.npy"), NpyArray::FromFloat32({r.maps.units, n, n}, r.maps.rates.data()));
      !s.ok()) {
    return s;
  }
  if (Status s = WriteNpy(path("occupancy.npy"), NpyArray::FromFloat64({n, n}, r.maps.occupancy.data())); !s.ok()) {
    return s;
  }
  const auto& modules = r.analysis.modules;
  if (!modules.empty()) {
    const int64_t p = r.analysis.power_size;
    std::vector<float> power;
    for (const auto& m : modules) power.insert(power.end(), m.mean_power.begin(), m.mean_power.end());
    if (Status s = WriteNpy(path("module_power.npy"),
                            NpyArray::FromFloat32({static_cast<int64_t>(modules.size()), p, p}, power.data()));
        !s.ok()) {
      return s;
    }
  } else {
    fs::remove(path("module_power.npy"), ec);  // from an earlier run into the same directory
  }
  if (Status s = WriteJsonFile(path("scores.json"), AnalysisToJson(r.analysis)); !s.ok()) return s;
  if (Status s = WriteJsonFile(path("distance.json"), DistanceCurveJson(r.distance)); !s.ok()) return s;
  return WriteJsonFile(path("summary.json"), ArenaSummaryJson(r));
}

}  // namespace sic
