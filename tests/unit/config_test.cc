// Config parsing, printing and overrides: defaults are the paper's, round trips
// are exact, and every kind of bad input is refused with the key named.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>

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
  EXPECT_DOUBLE_EQ(c.loss.coniso_max_step, 0.0);  // sigma_x
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
  EXPECT_EQ(ErrorOf({{"loss", {{"coniso_max_step", -0.1}}}}),
            "loss.coniso_max_step: -0.1 is out of range (must be in [0, 100])");
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

// Every string field has a length limit, checked before the value is copied or
// scanned, and the error names the key and the limit.
TEST(Config, StringFieldsAreBoundedNamingKeyAndLimit) {
  EXPECT_EQ(ErrorOf({{"eval", {{"arenas", std::string(257, '2')}}}}),
            "eval.arenas: 257 characters is over the limit of 256");
  EXPECT_EQ(ErrorOf({{"run", {{"device", "cuda:" + std::string(28, '1')}}}}),
            "run.device: 33 characters is over the limit of 32");
  EXPECT_EQ(ErrorOf({{"run", {{"device", "cuda:" + std::string(27, '1')}}}}), "");
  // eval.arenas lists at most 16 arenas.
  std::string sixteen = "2", seventeen;
  for (int i = 1; i < 16; ++i) sixteen += ",2";
  seventeen = sixteen + ",2";
  EXPECT_EQ(ErrorOf({{"eval", {{"arenas", sixteen}}}}), "");
  EXPECT_EQ(ErrorOf({{"eval", {{"arenas", seventeen}}}}).rfind("eval.arenas: \"2,2,", 0), 0u);
  EXPECT_NE(ErrorOf({{"eval", {{"arenas", seventeen}}}}).find("names more than 16 arenas"), std::string::npos);
  EXPECT_EQ(ParseArenas(std::string(20000 * 2, ',')).status().message(), "40000 characters is over the limit of 256");
  EXPECT_EQ(ConfigAllowed("eval.arenas"), "a string of at most 256 characters");
}

// Errors quote at most a line's worth of what they were given: a 1 MB value or
// key never comes back whole, and never as more than one line.
TEST(Config, ErrorsQuoteBoundedOneLineExcerpts) {
  const std::string huge(1 << 20, 'x');
  for (const json& bad : {json{{"data", {{"velocity", huge}}}}, json{{"model", {{"n_units", huge}}}},
                          json{{"loss", {{huge, 1}}}}, json{{huge, 1}}, json{{"loss", huge}},
                          json{{"data", {{"velocity", "uni\nform"}}}}, json{{"run", {{"device", "cp\nu"}}}},
                          json{{"lo\nss", 1}}, json{{"loss", {{"lambda\r\n", 1}}}}}) {
    const std::string error = ErrorOf(bad);
    EXPECT_FALSE(error.empty());
    EXPECT_LT(error.size(), 400u) << error.substr(0, 400);
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
  EXPECT_EQ(ErrorOf({{"data", {{"velocity", "uni\nform"}}}}),
            "data.velocity: \"uni\\nform\" is not allowed (must be one of \"uniform\", \"walk\")");
  // A key's control characters are escaped, as a value's are.
  EXPECT_EQ(ErrorOf({{"loss", {{"lambda\tcap\n", 1}}}}), "loss.lambda\\tcap\\n: unknown key");
  Config c;
  EXPECT_EQ(ApplyOverride(c, "loss.x\x01", 1).message(), "loss.x\\x01: unknown key");
  // A long key or value is cut between characters, never inside one: the
  // message stays valid UTF-8 for the JSON bodies and logs it goes to.
  std::string accents;
  for (int i = 0; i < 300; ++i) accents += "\u00e9";  // two bytes each
  for (const json& bad : {json{{"loss", {{"x" + accents, 1}}}}, json{{"data", {{"velocity", "x" + accents}}}}}) {
    const std::string error = ErrorOf(bad);
    EXPECT_NE(error.find("..."), std::string::npos) << error;
    EXPECT_NO_THROW((void)json(error).dump()) << error;
  }
}

// No field takes a value JSON cannot carry (a sweep's random draw could make one).
TEST(Config, NonFiniteNumbersAreRefused) {
  Config c;
  EXPECT_EQ(ApplyOverride(c, "loss.lambda_cap", INFINITY).message(),
            "loss.lambda_cap: null is out of range (must be >= 0)");
  EXPECT_FALSE(ApplyOverride(c, "optim.grad_clip", NAN).ok());
  EXPECT_EQ(c.loss.lambda_cap, Config{}.loss.lambda_cap);
}

// ApplyOverride = SetField (the field alone) + CheckConfig (rules between fields).
TEST(Config, SetFieldDefersCrossFieldChecksToCheckConfig) {
  Config c;
  ASSERT_TRUE(SetField(c, "data.walk.arena_size", 0.05).ok());
  EXPECT_EQ(CheckConfig(c).message(), "data.walk.border: must be less than half of data.walk.arena_size");
  ASSERT_TRUE(SetField(c, "data.walk.border", 1.5).ok());
  EXPECT_EQ(CheckConfig(c).message(), "data.walk.border: must be less than half of data.walk.arena_size");
  ASSERT_TRUE(SetField(c, "data.walk.arena_size", 4.0).ok());
  EXPECT_EQ(CheckConfig(c).message(), "eval.arenas: arena 2 m is not wider than twice data.walk.border");
  ASSERT_TRUE(SetField(c, "eval.arenas", "4").ok());
  EXPECT_TRUE(CheckConfig(c).ok());
  EXPECT_EQ(SetField(c, "loss.lambda_cap", -1).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(SetField(c, "no.such", 1).message(), "no.such: unknown key");
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/sic_config_test_" + std::to_string(::getpid()) + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// A config file goes through the bounded JSON parser: depth is checked while
// parsing, so a deeply nested file is refused, not a stack overflow (copying,
// dumping or destroying a deep nlohmann value recurses once per level).
TEST(Config, FileNestingAndSizeAreBoundedWhileParsing) {
  const int depth = 500000;
  const std::string deep = WriteTemp("deep.json", "{\"model\": " + std::string(depth, '[') + std::string(depth, ']') + "}");
  auto r = ConfigFromFile(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), deep + ": nested deeper than 32 levels");
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  std::remove(deep.c_str());

  const std::string big = WriteTemp("big.json", "{\"name\": \"" + std::string(2 << 20, 'x') + "\"}");
  r = ConfigFromFile(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(r.status().message(), big + ": 1048577 bytes is over the limit of 1048576");
  std::remove(big.c_str());

  const std::string ok = WriteTemp("ok.json", R"({"loss": {"lambda_cap": 0.25}})");
  r = ConfigFromFile(ok);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->loss.lambda_cap, 0.25);
  std::remove(ok.c_str());
}

TEST(Config, ProbeBlockReplacesFourEvalSettings) {
  Config c;
  EXPECT_EQ(c.probe.every, 0) << "off by default";
  Config quick = ProbeEvalConfig(c);
  EXPECT_EQ(quick.eval.arenas, "2") << "the first of eval.arenas";
  EXPECT_EQ(quick.eval.trajectories, 200);
  EXPECT_EQ(quick.eval.steps, 300);
  EXPECT_EQ(quick.eval.bin_size, c.eval.bin_size);

  auto parsed = ConfigFromJson(nlohmann::json::parse(
      R"({"probe": {"every": 1000, "arenas": "2.5", "trajectories": 50, "steps": 100}, "eval": {"seed": 4}})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  quick = ProbeEvalConfig(parsed.value());
  EXPECT_EQ(parsed->probe.every, 1000);
  EXPECT_EQ(quick.eval.arenas, "2.5");
  EXPECT_EQ(quick.eval.trajectories, 50);
  EXPECT_EQ(quick.eval.steps, 100);
  EXPECT_EQ(quick.eval.seed, 4) << "everything else is eval's";

  auto bad = ConfigFromJson(nlohmann::json::parse(R"({"probe": {"arenas": "two"}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("probe.arenas: ", 0), 0u) << bad.status().message();
  EXPECT_FALSE(ConfigFromJson(nlohmann::json::parse(R"({"probe": {"every": -1}})")).ok());
  EXPECT_FALSE(ConfigFromJson(nlohmann::json::parse(R"({"probe": {"trajectories": 0}})")).ok());
}

TEST(Config, KeysListEveryField) {
  const auto keys = ConfigKeys();
  EXPECT_NE(std::find(keys.begin(), keys.end(), "loss.lambda_coniso"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "optim.plateau.interval"), keys.end());
  EXPECT_EQ(ConfigToJson(Config{}).flatten().size(), keys.size());
}

}  // namespace
}  // namespace sic
