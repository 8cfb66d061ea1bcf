// Config parsing, printing and overrides: defaults are the paper's, round trips
// are exact, and every kind of bad input is refused with the key named.
#include <gtest/gtest.h>

#include "sic/config.h"

namespace sic {
namespace {

using nlohmann::json;

std::string ErrorOf(const json& j) {
  auto c = ConfigFromJson(j);
  return c.ok() ? "" : c.status().message();
}

TEST(Config, DefaultsAreThePaperValues) {
  const Config c;
  EXPECT_EQ(c.model.n_units, 128);
  EXPECT_EQ(c.data.batch_size, 130);
  EXPECT_EQ(c.data.seq_len, 60);
  EXPECT_DOUBLE_EQ(c.data.v_max, 0.15);
  EXPECT_DOUBLE_EQ(c.loss.lambda_sep, 1.0);
  EXPECT_DOUBLE_EQ(c.loss.lambda_inv, 0.1);
  EXPECT_DOUBLE_EQ(c.loss.lambda_cap, 0.5);
  EXPECT_DOUBLE_EQ(c.loss.sigma_x, 0.05);
  EXPECT_DOUBLE_EQ(c.loss.sigma_g, 0.4);
  EXPECT_DOUBLE_EQ(c.optim.lr, 2e-5);
  EXPECT_DOUBLE_EQ(c.optim.grad_clip, 0.1);
  EXPECT_EQ(c.optim.accumulate, 2);
  EXPECT_EQ(c.optim.steps, 2000000);
}

TEST(Config, EmptyObjectGivesDefaults) {
  auto c = ConfigFromJson(json::object());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(ConfigToJson(c.value()), ConfigToJson(Config{}));
}

TEST(Config, RoundTripsThroughJson) {
  auto c = ConfigFromJson(json::parse(R"({"model": {"n_units": 64}, "loss": {"lambda_cap": 0.0,
      "reduction": "sum"}, "data": {"trajectories": "identical", "walk": {"steps_per_input": 3}},
      "optim": {"plateau": {"patience": 4}}, "run": {"device": "cuda:1"}})"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->model.n_units, 64);
  EXPECT_EQ(c->loss.lambda_cap, 0.0);
  EXPECT_EQ(c->data.walk.steps_per_input, 3);
  EXPECT_EQ(c->optim.plateau.patience, 4);
  auto again = ConfigFromJson(ConfigToJson(c.value()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ConfigToJson(again.value()), ConfigToJson(c.value()));
  EXPECT_EQ(ConfigToJson(c.value())["loss"]["reduction"], "sum");
}

TEST(Config, RejectsUnknownKeysAtAnyDepth) {
  EXPECT_EQ(ErrorOf({{"modle", {{"n_units", 3}}}}), "modle: unknown key");
  EXPECT_EQ(ErrorOf({{"loss", {{"lamda_cap", 0.5}}}}), "loss.lamda_cap: unknown key");
  EXPECT_EQ(ErrorOf({{"optim", {{"plateau", {{"pateince", 1}}}}}}), "optim.plateau.pateince: unknown key");
}

TEST(Config, RejectsWrongTypes) {
  EXPECT_EQ(ErrorOf({{"model", {{"n_units", "128"}}}}), "model.n_units: must be an integer, got \"128\"");
  EXPECT_EQ(ErrorOf({{"model", {{"n_units", 1.5}}}}), "model.n_units: must be an integer, got 1.5");
  EXPECT_EQ(ErrorOf({{"loss", {{"sigma_g", true}}}}), "loss.sigma_g: must be a number, got true");
  EXPECT_EQ(ErrorOf({{"model", {{"learn_g0", 1}}}}), "model.learn_g0: must be true or false, got 1");
  EXPECT_EQ(ErrorOf({{"loss", 3}}), "loss: must be an object, got 3");
  EXPECT_EQ(ErrorOf(json::array()), "config: must be a JSON object, got array");
}

TEST(Config, RejectsOutOfRangeValuesNamingTheRange) {
  EXPECT_EQ(ErrorOf({{"loss", {{"lambda_cap", -0.5}}}}), "loss.lambda_cap: -0.5 is out of range (must be >= 0)");
  EXPECT_EQ(ErrorOf({{"loss", {{"sigma_g", 0}}}}), "loss.sigma_g: 0 is out of range (must be in (0, 100])");
  EXPECT_EQ(ErrorOf({{"data", {{"batch_size", 0}}}}), "data.batch_size: 0 is out of range (must be in [1, 100000])");
  EXPECT_EQ(ErrorOf({{"optim", {{"beta1", 1.0}}}}), "optim.beta1: 1.0 is out of range (must be in [0, 1))");
  EXPECT_EQ(ErrorOf({{"data", {{"trajectories", "shuffled"}}}}),
            "data.trajectories: \"shuffled\" is not allowed (must be one of \"permuted\", \"identical\", "
            "\"independent\")");
  EXPECT_EQ(ErrorOf({{"run", {{"device", "tpu"}}}}),
            "run.device: \"tpu\" is not allowed (must be \"cpu\", \"cuda\" or \"cuda:K\")");
}

TEST(Config, FileErrorsNameTheFile) {
  auto missing = ConfigFromFile("/nonexistent/sic.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "/nonexistent/sic.json: cannot open file");
}

TEST(Config, OverrideChecksAndLeavesConfigUnchangedOnError) {
  Config c;
  ASSERT_TRUE(ApplyOverride(c, "loss.lambda_cap", 0.0).ok());
  EXPECT_EQ(c.loss.lambda_cap, 0.0);
  EXPECT_EQ(ApplyOverride(c, "loss.lambda_cap", -1).message(), "loss.lambda_cap: -1 is out of range (must be >= 0)");
  EXPECT_EQ(c.loss.lambda_cap, 0.0);
  EXPECT_EQ(ApplyOverride(c, "loss", 1).message(), "loss: unknown key");
  EXPECT_EQ(ApplyOverride(c, "data.walk.arena_size", 0.05).message(),
            "data.walk.border: must be less than half of data.walk.arena_size");
}

TEST(Config, AllowedValuesAreDescribedAsErrorsDescribeThem) {
  EXPECT_EQ(ConfigAllowed("loss.lambda_cap"), ">= 0");
  EXPECT_EQ(ConfigAllowed("data.batch_size"), "an integer in [1, 100000]");
  EXPECT_EQ(ConfigAllowed("loss.reduction"), "one of \"mean\", \"sum\"");
  EXPECT_EQ(ConfigAllowed("model.learn_g0"), "true or false");
  EXPECT_EQ(ConfigAllowed("run.device"), "\"cpu\", \"cuda\" or \"cuda:K\"");
  EXPECT_EQ(ConfigAllowed("no.such.key"), "");
  for (const auto& key : ConfigKeys()) EXPECT_NE(ConfigAllowed(key), "") << key;
}

TEST(Config, KeysListEveryField) {
  const auto keys = ConfigKeys();
  EXPECT_NE(std::find(keys.begin(), keys.end(), "loss.lambda_coniso"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "optim.plateau.interval"), keys.end());
  EXPECT_EQ(ConfigToJson(Config{}).flatten().size(), keys.size());
}

}  // namespace
}  // namespace sic
