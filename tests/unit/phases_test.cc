// ModulePhases (sic/phases.h): each unit's place in its module's unit cell,
// and the Clark-Evans ratio of how evenly the units tile it, on hexagonal
// lattices whose phases are known.
#include "sic/phases.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "sic/analysis.h"
#include "tests/unit/synthetic_maps.h"

namespace sic {
namespace {

constexpr int64_t kBins = 50;
constexpr double kPeriod = 12.0, kOrientation = 10.0;

// The generator's wavevectors (synthetic_maps.h): |k| = 2 / (sqrt(3) period)
// cycles per bin, 30 degrees off the lattice vectors, w = 0 and 1 of the three.
Wavevector LatticeK(int w) {
  const double k = 2.0 / (std::sqrt(3.0) * kPeriod), a = (kOrientation + 30 + 60 * w) * M_PI / 180.0;
  Wavevector v;
  v.kx = k * std::cos(a);
  v.ky = k * std::sin(a);
  return v;
}

// Units with peaks at t1 a1 + t2 a2 from the arena's centre, one per (t1, t2).
std::vector<float> UnitsAt(const std::vector<std::pair<double, double>>& places) {
  const LatticeBasis b = DualBasis(LatticeK(0), LatticeK(1));
  const double centre = (kBins - 1) / 2.0;
  std::vector<float> maps;
  for (const auto& [t1, t2] : places) {
    const double x = centre + t1 * b.a1x + t2 * b.a2x, y = centre + t1 * b.a1y + t2 * b.a2y;
    const std::vector<float> m = testing::HexLattice(kBins, kPeriod, kOrientation, y, x);
    maps.insert(maps.end(), m.begin(), m.end());
  }
  return maps;
}

std::vector<int64_t> Members(size_t n) {
  std::vector<int64_t> m(n);
  for (size_t i = 0; i < n; ++i) m[i] = static_cast<int64_t>(i);
  return m;
}

double CycleDistance(double a, double b) {
  const double d = a - b;
  return std::abs(d - std::round(d));
}

TEST(ModulePhases, TheCellIsDualToTheWavevectors) {
  const Wavevector k1 = LatticeK(0), k2 = LatticeK(1);
  const LatticeBasis b = DualBasis(k1, k2);
  ASSERT_TRUE(b.ok);
  EXPECT_NEAR(k1.kx * b.a1x + k1.ky * b.a1y, 1.0, 1e-12);
  EXPECT_NEAR(k2.kx * b.a1x + k2.ky * b.a1y, 0.0, 1e-12);
  EXPECT_NEAR(k1.kx * b.a2x + k1.ky * b.a2y, 0.0, 1e-12);
  EXPECT_NEAR(k2.kx * b.a2x + k2.ky * b.a2y, 1.0, 1e-12);
  // A hexagonal lattice's cell: two peaks a period apart at 60 degrees.
  EXPECT_NEAR(std::hypot(b.a1x, b.a1y), kPeriod, 1e-9);
  EXPECT_NEAR(b.area(), std::sqrt(3.0) / 2 * kPeriod * kPeriod, 1e-9);
  Wavevector parallel = k1;
  parallel.kx *= -2, parallel.ky *= -2;
  EXPECT_FALSE(DualBasis(k1, parallel).ok);
}

TEST(ModulePhases, FindEachUnitsPlaceInTheCell) {
  const std::vector<std::pair<double, double>> places = {{0, 0}, {0.25, 0}, {0, 0.5}, {0.3, 0.7}, {0.9, 0.1}};
  const std::vector<float> maps = UnitsAt(places);
  const PhaseTiling t = ModulePhases(maps.data(), kBins, Members(places.size()), LatticeK(0), LatticeK(1));
  ASSERT_EQ(t.phases.size(), places.size());
  // A peak at the centre has phase 0; one moved by t1 a1 + t2 a2 has (-t1, -t2).
  for (size_t i = 0; i < places.size(); ++i) {
    EXPECT_LT(CycleDistance(t.phases[i][0], -places[i].first), 0.02) << "unit " << i;
    EXPECT_LT(CycleDistance(t.phases[i][1], -places[i].second), 0.02) << "unit " << i;
    EXPECT_GE(t.phases[i][0], 0.0);
    EXPECT_LT(t.phases[i][0], 1.0);
  }
}

TEST(ModulePhases, AnEvenTilingScoresHighAndAClumpScoresLow) {
  std::vector<std::pair<double, double>> even, clump, random;
  std::mt19937 gen(3);
  std::uniform_real_distribution<double> uniform(0, 1), near(0, 0.04);
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 6; ++j) {
      even.push_back({i / 6.0, j / 6.0});  // a triangular lattice of phases on the hexagonal cell
      clump.push_back({near(gen), near(gen)});
      random.push_back({uniform(gen), uniform(gen)});
    }
  }
  auto tiling = [](const std::vector<std::pair<double, double>>& places) {
    const std::vector<float> maps = UnitsAt(places);
    return ModulePhases(maps.data(), kBins, Members(places.size()), LatticeK(0), LatticeK(1));
  };
  const PhaseTiling e = tiling(even), c = tiling(clump), r = tiling(random);
  EXPECT_GT(e.ratio, 1.9);  // 2.15 for a perfect triangular tiling
  EXPECT_GT(e.z, 5.0);
  EXPECT_LT(c.ratio, 0.5);
  EXPECT_LT(c.z, -3.0);
  EXPECT_GT(r.ratio, 0.6);  // about 1 for phases drawn at random
  EXPECT_LT(r.ratio, 1.4);
}

TEST(ModulePhases, NoRatioWithoutACellOrWithTooFewUnits) {
  const std::vector<float> maps = UnitsAt({{0, 0}, {0.5, 0}, {0, 0.5}});
  Wavevector parallel = LatticeK(0);
  parallel.kx *= 2, parallel.ky *= 2;
  const PhaseTiling collinear = ModulePhases(maps.data(), kBins, Members(3), LatticeK(0), parallel);
  EXPECT_TRUE(std::isnan(collinear.ratio));
  EXPECT_TRUE(std::isnan(collinear.phases[0][0]));
  const PhaseTiling two = ModulePhases(maps.data(), kBins, Members(2), LatticeK(0), LatticeK(1));
  EXPECT_TRUE(std::isnan(two.ratio));
  EXPECT_FALSE(std::isnan(two.phases[1][0]));
}

// The analysis runs it on every module: a phase per module unit, none for the
// others, and the module's ratio in the JSON of `sic analyze` and evaluations.
TEST(ModulePhases, AnalyzeRateMapsGivesEachModuleItsTiling) {
  std::vector<std::pair<double, double>> even;
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 5; ++j) even.push_back({i / 5.0, j / 5.0});
  }
  std::vector<float> maps = UnitsAt(even);
  const std::vector<float> noise = testing::Noise(kBins, 7);
  maps.insert(maps.end(), noise.begin(), noise.end());
  const int64_t units = static_cast<int64_t>(even.size()) + 1;
  auto result = AnalyzeRateMaps(maps.data(), units, kBins, AnalysisOptions{});
  ASSERT_TRUE(result.ok()) << result.status().message();
  const PopulationAnalysis& a = result.value();
  ASSERT_EQ(a.modules.size(), 1u);
  EXPECT_EQ(a.modules[0].units.size(), even.size());
  EXPECT_GT(a.modules[0].phase_tiling, 1.8);
  EXPECT_FALSE(std::isnan(a.units[0].phase[0]));
  EXPECT_TRUE(std::isnan(a.units[units - 1].phase[0]));  // the noise unit is in no module
  const nlohmann::ordered_json json = AnalysisToJson(a);
  EXPECT_GT(json["modules"][0]["phase_tiling"].get<double>(), 1.8);
  EXPECT_TRUE(json["units"][0]["phase"].is_array());
  EXPECT_TRUE(json["units"][units - 1]["phase"].is_null());
}

}  // namespace
}  // namespace sic
