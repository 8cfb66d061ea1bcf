// Sweep specs: expansion is the documented product in a deterministic order,
// every bad spec is refused with the spec key named, and the limits hold.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/sweep_spec.h"

namespace sic {
namespace {

using nlohmann::json;

std::string ErrorOf(const std::string& text, const SpecLimits& limits = {}) {
  auto s = ParseSweepSpec(text, limits);
  return s.ok() ? "" : s.status().message();
}

TEST(SweepSpec, EmptySpecIsOneBaselineTrialWithDefaults) {
  auto s = ParseSweepSpec("{}");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->trials.size(), 1u);
  EXPECT_EQ(s->name, "sweep");
  EXPECT_EQ(s->trials[0].name, "baseline");
  EXPECT_EQ(s->trials[0].overrides, json::object());
  EXPECT_EQ(ConfigToJson(s->trials[0].config), ConfigToJson(Config{}));
}

TEST(SweepSpec, ExpandsVariantsTimesGridTimesSeedsInOrder) {
  auto s = ParseSweepSpec(R"({
    "name": "t", "base": {"optim": {"steps": 7}},
    "ablations": {"no_cap": {"loss.lambda_cap": 0}},
    "grid": {"loss.lambda_inv": [0.1, 0.3], "data.seq_len": [10, 20]},
    "seeds": [5, 9]})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->trials.size(), 2u * 2 * 2 * 2);
  // Grid keys sorted (data.seq_len before loss.lambda_inv), last key and seeds fastest.
  EXPECT_EQ(s->trials[0].name, "baseline/data.seq_len=10/loss.lambda_inv=0.1/seed=5");
  EXPECT_EQ(s->trials[1].name, "baseline/data.seq_len=10/loss.lambda_inv=0.1/seed=9");
  EXPECT_EQ(s->trials[2].name, "baseline/data.seq_len=10/loss.lambda_inv=0.3/seed=5");
  EXPECT_EQ(s->trials[8].name, "no_cap/data.seq_len=10/loss.lambda_inv=0.1/seed=5");
  const TrialSpec& last = s->trials.back();
  EXPECT_EQ(last.index, 15);
  EXPECT_EQ(last.variant, "no_cap");
  EXPECT_DOUBLE_EQ(last.config.loss.lambda_cap, 0.0);
  EXPECT_DOUBLE_EQ(last.config.loss.lambda_inv, 0.3);
  EXPECT_EQ(last.config.data.seq_len, 20);
  EXPECT_EQ(last.config.run.seed, 9);
  EXPECT_EQ(last.config.optim.steps, 7);  // base carried into every trial
  EXPECT_EQ(last.overrides, json::parse(R"({"loss.lambda_cap": 0, "loss.lambda_inv": 0.3,
                                              "data.seq_len": 20, "run.seed": 9})"));
  // The baseline keeps the default lambda_cap.
  EXPECT_DOUBLE_EQ(s->trials[0].config.loss.lambda_cap, 0.5);
}

TEST(SweepSpec, SeedCountMeansZeroToNMinusOne) {
  auto s = ParseSweepSpec(R"({"seeds": 3})");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->trials.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(s->trials[i].config.run.seed, i);
}

TEST(SweepSpec, ExpansionIsDeterministicAndIndependentOfKeyOrder) {
  const char* a = R"({"grid": {"loss.lambda_inv": [1, 2], "loss.lambda_sep": [3]},
                      "random": {"samples": 3, "seed": 4, "params": {"optim.lr": {"log_uniform": [1e-5, 1e-3]}}}})";
  const char* b = R"({"random": {"params": {"optim.lr": {"log_uniform": [1e-5, 1e-3]}}, "seed": 4, "samples": 3},
                      "grid": {"loss.lambda_sep": [3], "loss.lambda_inv": [1, 2]}})";
  auto x = ParseSweepSpec(a), y = ParseSweepSpec(b);
  ASSERT_TRUE(x.ok() && y.ok());
  ASSERT_EQ(x->trials.size(), 6u);
  EXPECT_EQ(DescribeTrials(x.value()), DescribeTrials(y.value()));
  for (size_t i = 0; i < x->trials.size(); ++i) EXPECT_EQ(x->trials[i].overrides, y->trials[i].overrides);
}

TEST(SweepSpec, RandomSamplesStayInRangeAndRepeatAcrossVariants) {
  auto s = ParseSweepSpec(R"({
    "ablations": {"a": {"loss.lambda_cap": 0}},
    "random": {"samples": 50, "seed": 1, "params": {
      "optim.lr": {"log_uniform": [1e-5, 1e-3]},
      "loss.sigma_g": {"uniform": [0.1, 0.6]},
      "model.n_units": {"int_uniform": [8, 12]},
      "data.velocity": {"choice": ["uniform", "walk"]}}}})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->trials.size(), 100u);
  std::set<int64_t> units;
  std::set<std::string> velocities;
  for (const auto& t : s->trials) {
    EXPECT_GE(t.config.optim.lr, 1e-5);
    EXPECT_LT(t.config.optim.lr, 1e-3);
    EXPECT_GE(t.config.loss.sigma_g, 0.1);
    EXPECT_LT(t.config.loss.sigma_g, 0.6);
    units.insert(t.config.model.n_units);
    velocities.insert(t.config.data.velocity);
  }
  EXPECT_EQ(units, (std::set<int64_t>{8, 9, 10, 11, 12}));
  EXPECT_EQ(velocities.size(), 2u);
  // Sample k is the same point in every variant.
  EXPECT_EQ(s->trials[7].config.optim.lr, s->trials[57].config.optim.lr);
  EXPECT_EQ(s->trials[57].name, "a/sample=7");
  // A different random seed gives different points.
  auto other = ParseSweepSpec(R"({"random": {"samples": 1, "seed": 2, "params": {"optim.lr": {"log_uniform": [1e-5, 1e-3]}}}})");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->trials[0].config.optim.lr, s->trials[0].config.optim.lr);
}

TEST(SweepSpec, BadSpecsNameTheKeyAndTheReason) {
  struct Case { const char* spec; const char* error; };
  const Case cases[] = {
      {R"({"grid": )", "spec: malformed JSON"},
      {R"([1, 2])", "spec: must be a JSON object, got array"},
      {R"({"gird": {}})", "gird: unknown key"},
      {R"({"base": {"loss": {"lambda_cap": -1}}})",
       "base: loss.lambda_cap: -1 is out of range (must be >= 0)"},
      {R"({"base": {"loss": {"lamda_cap": 1}}})", "base: loss.lamda_cap: unknown key"},
      {R"({"ablations": {"x": {"loss.lambda_sep": -0.5}}})",
       "ablations.x: loss.lambda_sep: -0.5 is out of range (must be >= 0)"},
      {R"({"ablations": {"x": {"loss.nope": 1}}})", "ablations.x: loss.nope: unknown key"},
      {R"({"ablations": {"x": {"data.batch_size": "big"}}})",
       "ablations.x: data.batch_size: must be an integer, got \"big\""},
      {R"({"ablations": {"baseline": {"loss.lambda_cap": 0}}})", "ablations.baseline: the name is reserved"},
      {R"({"ablations": {"a b": {"loss.lambda_cap": 0}}})", "ablations.a b: names must be"},
      {R"({"ablations": {"x": {}}})", "ablations.x: must be a non-empty object"},
      {R"({"ablations": {}})", "ablations: must name at least one ablation"},
      {R"({"grid": {"loss.lambda_cap": []}})", "grid.loss.lambda_cap: must be a non-empty list"},
      {R"({"grid": {}})", "grid: must name at least one key"},
      {R"({"grid": {"loss.lambda_cap": [1, 1]}})", "grid.loss.lambda_cap: lists 1 twice"},
      {R"({"grid": {"loss.lambda_cap": [1, -2]}})",
       "grid.loss.lambda_cap: loss.lambda_cap: -2 is out of range (must be >= 0)"},
      {R"({"grid": {"loss.lambda_cap": [[1]]}})", "grid.loss.lambda_cap: values must be numbers"},
      {R"({"grid": {"data.velocity": ["uniform", "levy"]}})",
       "grid.data.velocity: data.velocity: \"levy\" is not allowed"},
      {R"({"ablations": {"x": {"loss.lambda_cap": 0}}, "grid": {"loss.lambda_cap": [1]}})",
       "grid.loss.lambda_cap: loss.lambda_cap is also set by ablations.x"},
      {R"({"seeds": 2, "grid": {"run.seed": [1]}})", "seeds: run.seed is also set by grid.run.seed"},
      {R"({"seeds": 0})", "seeds: a count must be in [1, 10000]"},
      {R"({"seeds": [1, 1]})", "seeds: lists 1 twice"},
      {R"({"seeds": [-1]})", "seeds: must be non-negative integers"},
      {R"({"seeds": "3"})", "seeds: must be a count"},
      {R"({"random": {"samples": 2}})", "random.params: must be a non-empty object"},
      {R"({"random": {"samples": 0, "params": {"optim.lr": {"uniform": [0, 1]}}}})", "random.samples: must be an integer"},
      {R"({"random": {"samples": 2, "params": {"optim.lr": {"uniform": [1, 0]}}}})",
       "random.params.optim.lr.uniform: needs lo < hi"},
      {R"({"random": {"samples": 2, "params": {"optim.lr": {"log_uniform": [0, 1]}}}})",
       "random.params.optim.lr.log_uniform: needs 0 < lo < hi"},
      {R"({"random": {"samples": 2, "params": {"optim.lr": {"normal": [0, 1]}}}})",
       "random.params.optim.lr: unknown distribution \"normal\""},
      {R"({"random": {"samples": 2, "params": {"loss.lambda_cap": {"uniform": [-1, -0.5]}}}})",
       "random.params.loss.lambda_cap: loss.lambda_cap: "},
      {R"({"random": {"samples": 2, "extra": 1, "params": {"optim.lr": {"uniform": [0.1, 1]}}}})",
       "random.extra: unknown key"},
      {R"({"name": "has space"})", "name: must be 1-64 characters"},
  };
  for (const Case& c : cases) {
    const std::string error = ErrorOf(c.spec);
    EXPECT_EQ(error.rfind(c.error, 0), 0u) << "spec: " << c.spec << "\n got: " << error;
  }
}

TEST(SweepSpec, TrialCountAndSizeLimitsHoldBeforeExpansion) {
  SpecLimits limits;
  limits.max_trials = 100;
  EXPECT_EQ(ErrorOf(R"({"seeds": 10, "grid": {"loss.lambda_cap": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}})", limits),
            "spec: expands to more than 100 trials (the limit)");
  EXPECT_EQ(ErrorOf(R"({"seeds": 10, "grid": {"loss.lambda_cap": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}})", limits), "");
  // A product that would overflow 64 bits is still refused quickly.
  EXPECT_EQ(ErrorOf(R"({"seeds": 100, "random": {"samples": 100, "params": {"optim.lr": {"uniform": [0.1, 1]}}},
                        "grid": {"loss.lambda_cap": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}})", limits),
            "spec: expands to more than 100 trials (the limit)");
  limits.max_bytes = 10;
  EXPECT_EQ(ErrorOf(R"({"seeds": 1})", limits), "spec: 12 bytes is over the limit of 10");
}

TEST(SweepSpec, ShippedExamplesExpandAsDocumented) {
  auto load = [](const std::string& name) {
    std::ifstream in(std::string(SIC_SOURCE_DIR) + "/examples/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return ParseSweepSpec(text.str());
  };
  auto ablations = load("ablations.json");
  ASSERT_TRUE(ablations.ok()) << ablations.status().message();
  EXPECT_EQ(ablations->trials.size(), 7u * 3);  // baseline + 6 ablations, 3 seeds
  for (const auto& t : ablations->trials) {
    if (t.variant == "no_permutation") {
      EXPECT_EQ(t.config.data.trajectories, "identical");
    }
    if (t.variant == "small_sigma_g") {
      EXPECT_LT(t.config.loss.sigma_g, Config{}.loss.sigma_g);
    }
    if (t.variant == "no_capacity") {
      EXPECT_EQ(t.config.loss.lambda_cap, 0.0);
    }
  }
  auto lambda = load("lambda-sweep.json");
  ASSERT_TRUE(lambda.ok()) << lambda.status().message();
  EXPECT_EQ(lambda->trials.size(), 4u * 3 * 2);
  auto smoke = load("smoke.json");
  ASSERT_TRUE(smoke.ok()) << smoke.status().message();
  EXPECT_EQ(smoke->trials.size(), 3u * 2);
  for (const auto& t : smoke->trials) EXPECT_EQ(t.config.run.device, "cpu");
}

}  // namespace
}  // namespace sic
