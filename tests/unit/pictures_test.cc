// Pictures of an evaluated arena (sic/pictures.h), from synthetic rate maps with
// three modules, so every panel has something to draw.
#include "sic/pictures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "tests/unit/synthetic_maps.h"

namespace sic {
namespace {
namespace fs = std::filesystem;

TEST(Pictures, DrawsEveryPanelOrSaysWhyNot) {
  const int64_t n = 40, per_module = 5;
  ArenaReport r;
  r.arena_size = 2.0;
  r.bins = n;
  r.maps.bins = n;
  r.maps.arena_size = 2.0;
  for (int k = 0; k < 3; ++k) {
    for (int i = 0; i < per_module; ++i) {
      auto m = testing::HexLattice(n, 6.0 * std::pow(1.4, k), 10 + 15 * k, i * 1.3, i * 2.1);
      testing::Unvisit(m, n, 0.05, 10 * k + i);
      r.maps.rates.insert(r.maps.rates.end(), m.begin(), m.end());
      ++r.maps.units;
    }
  }
  r.maps.occupancy.assign(n * n, 3.0);
  DistanceCurveAccumulator curve(0.05, 1.5);
  for (int i = 0; i < 200; ++i) curve.Add(i * 0.007, 1 - std::exp(-i * 0.02));
  r.distance = curve.Finish();
  AnalysisOptions options;
  auto analysis = AnalyzeRateMaps(r.maps.rates.data(), r.maps.units, n, options);
  ASSERT_TRUE(analysis.ok());
  r.analysis = analysis.value();
  ASSERT_EQ(r.analysis.modules.size(), 3u);

  const fs::path dir = fs::temp_directory_path() / ("sic_pictures_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto written = DrawArenaPictures(r, dir.string());
  if (!PicturesAvailable()) {
    ASSERT_FALSE(written.ok());
    EXPECT_NE(written.status().message().find("Cairo"), std::string::npos);
  } else {
    ASSERT_TRUE(written.ok()) << written.status().message();
    EXPECT_EQ(written.value(), (std::vector<std::string>{"ratemaps.png", "autocorrelograms.png", "periods.png",
                                                          "distance.png", "module_power.png", "phases.png"}));
    for (const auto& name : written.value()) {
      EXPECT_GT(fs::file_size(dir / name), 1000u) << name;
    }
    // Without modules the module pictures go, also those an earlier evaluation left.
    r.analysis.modules.clear();
    auto again = DrawArenaPictures(r, dir.string());
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_EQ(again->size(), 4u);
    EXPECT_FALSE(fs::exists(dir / "module_power.png"));
    EXPECT_FALSE(fs::exists(dir / "phases.png"));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sic
