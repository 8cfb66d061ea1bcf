// The eval section of the config (sic/config.h): defaults from sic-method 5,
// arena lists, ranges and cross-field checks that name the key.
#include <gtest/gtest.h>

#include "sic/config.h"
#include "sic/eval_report.h"

namespace sic {
namespace {

TEST(EvalConfig, DefaultsFollowTheMethod) {
  const Config c;
  EXPECT_TRUE(c.eval.enabled);
  EXPECT_EQ(ParseArenas(c.eval.arenas).value(), (std::vector<double>{2, 3, 4}));
  EXPECT_EQ(EvalBins(c.eval, 2.0), 50);  // ~4 cm bins
  EXPECT_EQ(EvalBins(c.eval, 3.0), 75);
  EXPECT_DOUBLE_EQ(c.eval.grid_threshold, 0.3);
  EXPECT_FALSE(c.eval.nan_as_zero);
  EXPECT_TRUE(c.eval.min_max);
  const auto json = ConfigToJson(c);
  EXPECT_EQ(json["eval"]["arenas"], "2,3,4");
}

TEST(EvalConfig, ArenaListsParseAndBadOnesNameTheKey) {
  EXPECT_EQ(ParseArenas(" 2, 2.5 ,4").value(), (std::vector<double>{2, 2.5, 4}));
  for (const char* bad : {"", "2,,3", "2,x", "-1", "0", "2;3", "1e9"}) {
    EXPECT_FALSE(ParseArenas(bad).ok()) << bad;
    auto c = ConfigFromJson({{"eval", {{"arenas", bad}}}});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().message().rfind("eval.arenas: ", 0), 0u) << c.status().message();
  }
  auto list = ConfigFromJson({{"eval", {{"arenas", nlohmann::json::array({2, 3})}}}});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().message(), "eval.arenas: must be a string, got [2,3]");
}

TEST(EvalConfig, BinsAndRangesAreChecked) {
  Config c;
  EXPECT_EQ(ApplyOverride(c, "eval.bins", 4).message(),
            "eval.bins: arena 2 m would get 4 bins per side (must be 8..1000)");
  EXPECT_EQ(ApplyOverride(c, "eval.bin_size", 1.0).message(),
            "eval.bin_size: arena 2 m would get 2 bins per side (must be 8..1000)");
  EXPECT_TRUE(ApplyOverride(c, "eval.bins", 20).ok());
  EXPECT_EQ(EvalBins(c.eval, 4.0), 20);
  EXPECT_FALSE(ApplyOverride(c, "eval.trajectories", 0).ok());
  EXPECT_FALSE(ApplyOverride(c, "eval.grid_threshold", 3.0).ok());
  EXPECT_EQ(ApplyOverride(c, "eval.arenas", "0.05").message(),
            "eval.arenas: arena 0.05 m is not wider than twice data.walk.border");
  EXPECT_TRUE(ApplyOverride(c, "eval.enabled", false).ok());
  EXPECT_FALSE(c.eval.enabled);
}

}  // namespace
}  // namespace sic
