// Sweep specs: expansion is the documented product in a deterministic order,
// every bad spec is refused with the spec key named, and the limits hold.
#include <malloc.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <regex>
#include <sstream>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/resources.h"
#include "common/sweep_spec.h"

namespace sic {
namespace {

using nlohmann::json;

std::string ErrorOf(const std::string& text, const SpecLimits& limits = {}) {
  auto s = ParseSweepSpec(text, limits);
  return s.ok() ? "" : s.status().message();
}

Status::Code CodeOf(const std::string& text, const SpecLimits& limits = {}) {
  return ParseSweepSpec(text, limits).status().code();
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// "[\"p0\", \"p1\", ...]" or, without a prefix, "[0, 1, ...]".
std::string List(size_t n, const std::string& prefix = "") {
  std::string out = "[";
  for (size_t i = 0; i < n; ++i) {
    out += (i ? ", " : "") + (prefix.empty() ? std::to_string(i) : "\"" + prefix + std::to_string(i) + "\"");
  }
  return out + "]";
}

// {"k0": value, "k1": value, ...}
std::string Object(size_t n, const std::string& prefix, const std::string& value) {
  std::string out = "{";
  for (size_t i = 0; i < n; ++i) out += (i ? ", \"" : "\"") + prefix + std::to_string(i) + "\": " + value;
  return out + "}";
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

// What a trial needs comes from its config unless "resources" says; priority
// and max_running are bounded integers; each error names its key.
TEST(SweepSpec, ResourcesPriorityAndCap) {
  auto plain = ParseSweepSpec(R"({"ablations": {"gpu": {"run.device": "cuda:3"}}})");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->trials[0].needs.device_class, "cpu");
  EXPECT_EQ(plain->trials[1].needs.device_class, "cuda");  // cuda:K is class cuda: the worker picks the GPU
  EXPECT_EQ(plain->priority, 0);
  EXPECT_EQ(plain->max_running, 0);

  auto pool = ParseSweepSpec(R"({"seeds": 2, "priority": -3, "max_running": 4,
                                 "resources": {"device": "cuda-a100", "gpu_memory_gb": 40}})");
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  EXPECT_EQ(pool->priority, -3);
  EXPECT_EQ(pool->max_running, 4);
  for (const TrialSpec& t : pool->trials) {
    EXPECT_EQ(t.needs.device_class, "cuda-a100");
    EXPECT_EQ(t.needs.gpu_memory_gb, 40);
  }
  EXPECT_EQ(ParseSweepSpec(R"({"resources": {"gpu_memory_gb": 24}})")->trials[0].needs.device_class, "cuda");

  EXPECT_EQ(ErrorOf(R"({"priority": 1001})"), "priority: must be an integer in [-1000, 1000] (higher is fed first)");
  EXPECT_EQ(ErrorOf(R"({"priority": -9223372036854775808})"),
            "priority: must be an integer in [-1000, 1000] (higher is fed first)");
  EXPECT_EQ(ErrorOf(R"({"priority": 1.5})"), "priority: must be an integer in [-1000, 1000] (higher is fed first)");
  EXPECT_EQ(ErrorOf(R"({"max_running": -1})"), "max_running: must be an integer in [0, 1000000] (0: no cap)");
  EXPECT_NE(ErrorOf(R"({"resources": {"device": "CUDA"}})").find("resources.device: must be a device class"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"resources": {"device": "cpu", "gpu_memory_gb": 8}})").find("resources.gpu_memory_gb"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(R"({"resources": {"gpu_memory_gb": 1e300}})"),
            "resources.gpu_memory_gb: must be a number in [0, 100000]");
  EXPECT_EQ(ErrorOf(R"({"resources": {"gpus": 2}})"), "resources.gpus: unknown key (device, gpu_memory_gb)");
  // An unknown key comes back cut and on one line, however long (found by fuzz.sweep_spec).
  const std::string long_key = ErrorOf(R"({"resources": {"g\n)" + std::string(5000, '9') + R"(": 2}})");
  EXPECT_EQ(long_key.rfind("resources.g\\n999", 0), 0u) << long_key;
  EXPECT_LT(long_key.size(), 200u);
  EXPECT_EQ(ErrorOf(R"({"resources": []})"), "resources: must be an object, e.g. {\"device\": \"cuda\"}");
}

// A trial that needs GPU memory has a queue of its own, "<class>@<GB>",
// which only workers of the class declaring that much memory claim from.
TEST(Resources, MemoryQueuesAndWhoServesThem) {
  EXPECT_EQ(QueueOf(Needs{"cuda", 0}), "cuda");
  EXPECT_EQ(QueueOf(Needs{"cuda", 40}), "cuda@40");
  EXPECT_EQ(QueueOf(Needs{"cuda-a100", 39.5}), "cuda-a100@40");  // rounded up: 39 GB would not do
  auto spec = ParseSweepSpec(R"({"resources": {"device": "cuda", "gpu_memory_gb": 24}})");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(QueueOf(spec->trials[0].needs), "cuda@24");

  for (const char* good : {"cpu", "cuda@40", "cuda-a100@1", "gpu@100000"}) EXPECT_TRUE(IsQueueName(good)) << good;
  for (const char* bad : {"", "@40", "cuda@", "cuda@040", "cuda@1000000", "cuda@4x", "cuda@40@1", "Cuda@4",
                          "cuda@-1", "cuda:0", "cuda@ 4"}) {
    EXPECT_FALSE(IsQueueName(bad)) << bad;
  }
  EXPECT_EQ(ParseQueueName("cuda@40")->device_class, "cuda");
  EXPECT_EQ(ParseQueueName("cuda@40")->gpu_memory_gb, 40);
  EXPECT_EQ(ParseQueueName("cuda")->gpu_memory_gb, 0);

  EXPECT_TRUE(Serves({"cuda"}, 0, "cuda"));
  EXPECT_FALSE(Serves({"cuda"}, 0, "cuda@40"));  // memory not declared: no memory queue
  EXPECT_FALSE(Serves({"cuda"}, 24, "cuda@40"));
  EXPECT_TRUE(Serves({"cuda"}, 40, "cuda@40"));
  EXPECT_TRUE(Serves({"cpu", "cuda"}, 80, "cuda@40"));
  EXPECT_FALSE(Serves({"cuda-a100"}, 80, "cuda@40"));  // another class
  EXPECT_TRUE(Serves({}, 0, "cpu"));                   // a worker older than classes
  EXPECT_FALSE(Serves({}, 0, "cuda"));
  EXPECT_FALSE(Serves({"cuda"}, 80, "not a queue!"));

  // Most memory first (only the large workers run those), then the class; in
  // the order of the classes.
  EXPECT_EQ(ClaimOrder({"cuda", "cpu"}, 48, {"cpu", "cuda", "cuda@24", "cuda@40", "cuda@80", "gpu@8", "junk"}),
            (std::vector<std::string>{"cuda@40", "cuda@24", "cuda", "cpu"}));
  EXPECT_EQ(ClaimOrder({"cuda"}, 0, {"cuda@24"}), (std::vector<std::string>{"cuda"}));

  EXPECT_EQ(DescribeQueue("cuda"), "class cuda");
  EXPECT_EQ(DescribeQueue("cuda@40"), "class cuda with 40 GB per GPU");
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
      // A key's control characters come back escaped: an error is one line.
      {R"({"gr\nid": {}})", "gr\\nid: unknown key"},
      {R"({"base": {"lo\nss": 1}})", "base: lo\\nss: unknown key"},
      {R"({"grid": {"loss.\tx": [1]}})", "grid.loss.\\tx: loss.\\tx: unknown key"},
      {R"({"ablations": {"a\nb": {"loss.lambda_cap": 0}}})", "ablations.a\\nb: names must be"},
      {R"({"random": {"samples": 2, "params": {"optim.lr": {"nor\u0001mal": [0, 1]}}}})",
       "random.params.optim.lr: unknown distribution \"nor\\x01mal\""},
  };
  for (const Case& c : cases) {
    const std::string error = ErrorOf(c.spec);
    EXPECT_EQ(error.rfind(c.error, 0), 0u) << "spec: " << c.spec << "\n got: " << error;
  }
  // Bytes that are not UTF-8 come back escaped, so the error is valid UTF-8
  // (the parser's own message quotes what it last read; found by fuzz.sweep_spec).
  const std::string error = ErrorOf("{\"grid\": {\"a\xef" "b\": [1]}}");
  EXPECT_NE(error.find("\\xef"), std::string::npos) << error;
  EXPECT_NO_THROW((void)json(error).dump()) << error;
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

// Crasher (b): 1 MB of nested brackets. Depth is bounded while parsing, so no
// deep value is built; before, copying (and dumping, destroying) it recursed
// once per level and overflowed the stack.
TEST(SweepSpec, DeepNestingIsRefusedWhileParsing) {
  const size_t depth = (1 << 20) / 2 - 16;
  const std::string deep = "{\"x\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
  ASSERT_LE(deep.size(), size_t{1} << 20);
  EXPECT_EQ(ErrorOf(deep), "spec: nested deeper than 16 levels");
  EXPECT_EQ(CodeOf(deep), Status::Code::kInvalidArgument);
  const std::string objects = "{\"base\":" + Repeat("{\"a\":", 100000) + "1" + std::string(100000, '}') + "}";
  EXPECT_EQ(ErrorOf(objects), "spec: nested deeper than 16 levels");
  // The deepest real spec (random.params.K.choice: [...], base.data.walk.K) still parses.
  EXPECT_EQ(ErrorOf(R"({"base": {"data": {"walk": {"dt": 0.01}}},
                        "random": {"samples": 1, "params": {"data.velocity": {"choice": ["walk"]}}}})"), "");
}

// Crasher (a): int_uniform over the whole int64 range. hi - lo overflowed
// (undefined) and wrapped to a modulo by zero in Rng::Below: SIGFPE. The span
// is now taken in unsigned arithmetic and every 64-bit span is drawn correctly.
TEST(SweepSpec, IntUniformSpanHasNoOverflow) {
  const std::string full =
      R"({"random":{"samples":1,"params":{"run.seed":{"int_uniform":[-9223372036854775808,9223372036854775807]}}}})";
  const std::string error = ErrorOf(full);  // the draw is out of run.seed's range, or a valid seed
  if (!error.empty()) {
    EXPECT_EQ(error.rfind("random.params.run.seed: run.seed: ", 0), 0u) << error;
    EXPECT_EQ(CodeOf(full), Status::Code::kInvalidArgument);
  }
  // A one-point span at either end of the range.
  for (const char* bound : {"-9223372036854775808", "9223372036854775807", "0"}) {
    const std::string point = std::string(R"({"random":{"samples":3,"params":{"eval.seed":{"int_uniform":[)") + bound +
                              "," + bound + "]}}}}";
    if (std::string(bound) == "0") {
      auto s = ParseSweepSpec(point);
      ASSERT_TRUE(s.ok()) << s.status().message();
      for (const auto& t : s->trials) EXPECT_EQ(t.config.eval.seed, 0);
    } else {
      EXPECT_EQ(ErrorOf(point).rfind("random.params.eval.seed: eval.seed: ", 0), 0u) << ErrorOf(point);
    }
  }
  // [0, 2^63 - 1]: draws spread over the range (eval.seed takes up to 9e15, so most are refused).
  EXPECT_EQ(ErrorOf(R"({"random":{"samples":1,"params":{"eval.seed":{"int_uniform":[0,18446744073709551615]}}}})"),
            "random.params.eval.seed.int_uniform: bounds must be 64-bit signed integers");
  auto wide = ParseSweepSpec(R"({"random":{"samples":200,"params":{"eval.seed":{"int_uniform":[0,9000000000000000]}}}})");
  ASSERT_TRUE(wide.ok()) << wide.status().message();
  int64_t high = 0;
  for (const auto& t : wide->trials) high += t.config.eval.seed > 4500000000000000;
  EXPECT_GT(high, 50);
  EXPECT_LT(high, 150);
  // A uniform span that overflows a double is refused, not drawn as inf.
  EXPECT_EQ(ErrorOf(R"({"random":{"samples":1,"params":{"loss.lambda_cap":{"uniform":[-1.7e308,1.7e308]}}}})"),
            "random.params.loss.lambda_cap.uniform: hi - lo is too large for a double");
}

// Every string and every list in a spec is bounded; each error names the key and the bound.
TEST(SweepSpec, EveryStringAndListIsBounded) {
  struct Case { std::string spec; std::string error; };
  const std::string long_key = "loss." + std::string(124, 'k');  // 129 characters
  const Case cases[] = {
      {R"({"name": ")" + std::string(65, 'n') + R"("})", "name: must be 1-64 characters"},
      {R"({"description": ")" + std::string(4097, 'd') + R"("})", "description: must be a string of at most 4096 characters"},
      {R"({"ablations": )" + Object(257, "a", R"({"loss.lambda_cap": 0})") + "}",
       "ablations: 257 ablations is over the limit of 256"},
      {R"({"ablations": {"a": )" + Object(65, "loss.k", "0") + "}}", "ablations.a: 65 keys is over the limit of 64"},
      {R"({"ablations": {"a": {")" + long_key + R"(": 0}}})",
       "ablations.a: a key of 129 characters is over the limit of 128"},
      {R"({"ablations": {")" + std::string(65, 'a') + R"(": {"loss.lambda_cap": 0}}})", "ablations.aaaa"},
      {R"({"ablations": {"a": {"data.velocity": ")" + std::string(257, 'v') + R"("}}})",
       "ablations.a.data.velocity: a string of 257 characters is over the limit of 256"},
      {R"({"grid": )" + Object(17, "loss.k", "[0]") + "}", "grid: 17 keys is over the limit of 16"},
      {R"({"grid": {")" + long_key + R"(": [0]}})", "grid: a key of 129 characters is over the limit of 128"},
      {R"({"grid": {"loss.lambda_cap": )" + List(1001) + "}}", "grid.loss.lambda_cap: 1001 values is over the limit of 1000"},
      {R"({"grid": {"data.velocity": ["walk", ")" + std::string(257, 'v') + R"("]}})",
       "grid.data.velocity: a string of 257 characters is over the limit of 256"},
      {R"({"random": {"samples": 1, "params": )" + Object(65, "loss.k", R"({"uniform": [0, 1]})") + "}}",
       "random.params: 65 parameters is over the limit of 64"},
      {R"({"random": {"samples": 1, "params": {")" + long_key + R"(": {"uniform": [0, 1]}}}})",
       "random.params: a key of 129 characters is over the limit of 128"},
      {R"({"random": {"samples": 1, "params": {"loss.lambda_cap": {"choice": )" + List(1001) + "}}}}",
       "random.params.loss.lambda_cap.choice: 1001 values is over the limit of 1000"},
      {R"({"random": {"samples": 1, "params": {"data.velocity": {"choice": [")" + std::string(257, 'v') + R"("]}}}})",
       "random.params.data.velocity.choice: a string of 257 characters is over the limit of 256"},
      {R"({"seeds": )" + List(10001) + "}", "seeds: 10001 seeds is over the limit of 10000"},
      {R"({"seeds": 10001})", "seeds: a count must be in [1, 10000]"},
      {R"({"base": {"eval": {"arenas": ")" + std::string(257, '2') + R"("}}})",
       "base: eval.arenas: 257 characters is over the limit of 256"},
      {R"({"base": {"run": {"device": "cuda:)" + std::string(40, '1') + R"("}}})",
       "base: run.device: 45 characters is over the limit of 32"},
      {R"({"grid": {"eval.arenas": ["2", ")" + std::string(200, '3') + R"("]}})",
       "grid.eval.arenas: eval.arenas: \"333"},
      {R"({")" + std::string(100000, 'u') + R"(": 1})", "uuuu"},
  };
  for (const Case& c : cases) {
    const std::string error = ErrorOf(c.spec);
    EXPECT_EQ(error.rfind(c.error, 0), 0u) << "spec: " << c.spec.substr(0, 200) << "\n got: " << error;
    EXPECT_EQ(CodeOf(c.spec), Status::Code::kInvalidArgument) << error;
    EXPECT_LT(error.size(), 600u) << error;  // errors quote a line's worth, never the whole input
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
  // At the bounds, specs are accepted.
  EXPECT_EQ(ErrorOf(R"({"name": ")" + std::string(64, 'n') + R"(", "grid": {"loss.lambda_cap": )" + List(1000) + "}}"), "");
  EXPECT_EQ(ErrorOf(R"({"seeds": )" + List(10000) + "}"), "");
}

// Crasher (c): a 40 KB spec (eval.arenas a string of 20,000 arenas, 10,000
// seeds) cost ~9 s of CPU and 300 MB: every trial copied the string and re-parsed it.
// The string is now refused at its length, before anything is expanded.
TEST(SweepSpec, LongConfigStringsAreRefusedBeforeExpansion) {
  std::string arenas = "2";
  for (int i = 1; i < 20000; ++i) arenas += ",2";
  const std::string spec = R"({"base": {"eval": {"arenas": ")" + arenas + R"("}}, "seeds": 10000})";
  EXPECT_EQ(ErrorOf(spec), "base: eval.arenas: 39999 characters is over the limit of 256");
  EXPECT_EQ(CodeOf(spec), Status::Code::kInvalidArgument);
}

// The bytes the trials would take are estimated from the spec and refused,
// with the estimate and the limit named, before any trial is built.
TEST(SweepSpec, ExpandedBytesAreBoundedBeforeExpansion) {
  // 128 grid points of long keys and long string values, times 78 seeds.
  std::string grid = "{";
  for (int i = 0; i < 7; ++i) {
    grid += std::string(i ? ", " : "") + "\"loss." + std::string(120, 'k') + std::to_string(i) + "\": [\"" +
            std::string(250, 'a') + "\", \"" + std::string(250, 'b') + "\"]";
  }
  grid += "}";
  const std::string spec = R"({"seeds": 78, "grid": )" + grid + "}";
  const std::string error = ErrorOf(spec);
  EXPECT_EQ(error.rfind("spec: 9984 trials of about ", 0), 0u) << error;
  EXPECT_NE(error.find("bytes, over the limit of 67108864"), std::string::npos) << error;
  EXPECT_EQ(CodeOf(spec), Status::Code::kResourceExhausted);
  // The limit is the caller's; the estimate counts the base config of every trial.
  SpecLimits limits;
  limits.max_expanded_bytes = 20000;
  EXPECT_EQ(ErrorOf(R"({"seeds": 4})", limits), "");
  EXPECT_EQ(ErrorOf(R"({"seeds": 20})", limits).rfind("spec: 20 trials of about ", 0), 0u);
  EXPECT_EQ(CodeOf(R"({"seeds": 20})", limits), Status::Code::kResourceExhausted);
  // The trial count limit stays, and is a ResourceExhausted too.
  limits = SpecLimits{};
  limits.max_trials = 10;
  EXPECT_EQ(CodeOf(R"({"seeds": 11})", limits), Status::Code::kInvalidArgument);  // the seed count's own bound
  EXPECT_EQ(CodeOf(R"({"seeds": 10, "ablations": {"a": {"loss.lambda_cap": 0}}})", limits),
            Status::Code::kResourceExhausted);
}

// A trial's config is checked once, after all its overrides: keys that are
// only consistent together (a wider border in a wider arena) are accepted,
// and an inconsistent one still names the spec key at fault.
TEST(SweepSpec, TrialConfigIsCheckedOnceAndErrorsNameTheSpecKey) {
  auto s = ParseSweepSpec(R"({"ablations": {"wide": {"data.walk.border": 1.5, "data.walk.arena_size": 4,
                                                     "eval.arenas": "4"}}})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->trials[1].config.data.walk.border, 1.5);
  EXPECT_EQ(ErrorOf(R"({"grid": {"data.walk.arena_size": [2, 0.05]}})"),
            "grid.data.walk.arena_size: data.walk.border: must be less than half of data.walk.arena_size");
}

long ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// A refused spec leaves nothing large behind: after 1 MiB specs of each
// crasher class (and malloc_trim, as the coordinator does), the process's
// resident memory has not grown by more than a few MB.
TEST(SweepSpec, RefusedHugeSpecsLeaveNoMemoryBehind) {
  std::string arenas = "2";
  while (arenas.size() < 1000000) arenas += ",2";
  const size_t depth = (1 << 20) / 2 - 16;
  std::string many_ablations = "{\"seeds\": 10000, \"ablations\": {";
  for (int i = 0; i < 256; ++i) {
    many_ablations += std::string(i ? ", " : "") + "\"a" + std::to_string(i) + "\": {\"data.velocity\": \"" +
                      std::string(200, 'w') + "\"}";
  }
  many_ablations += "}}";
  const std::string specs[] = {
      R"({"base": {"eval": {"arenas": ")" + arenas + R"("}}, "seeds": 10000})",
      "{\"x\":" + std::string(depth, '[') + std::string(depth, ']') + "}",
      R"({"seeds": )" + List(10000) + R"(, "ablations": {"a": {"loss.lambda_cap": 0}}})",
      many_ablations,
  };
  ASSERT_TRUE(ParseSweepSpec(R"({"seeds": 2})").ok());  // warm up allocator and statics
  malloc_trim(0);
  const long before = ResidentBytes();
  for (int round = 0; round < 3; ++round) {
    for (const std::string& spec : specs) {
      auto s = ParseSweepSpec(spec);
      ASSERT_LE(spec.size(), size_t{1} << 20);
      EXPECT_FALSE(s.ok()) << spec.substr(0, 100);
    }
    malloc_trim(0);
  }
  const long grown = ResidentBytes() - before;
  EXPECT_LT(grown, 16L << 20) << "resident memory grew by " << grown << " bytes";
}

// The CPU recipe (issue 14) is the one docs/science-cpu.md states: every row
// of the doc's settings table (between its "recipe settings" markers) holds
// in every trial of examples/cpu-grids.json, the table names every
// evaluation and probe setting, and the recipe's three seeds are 0, 1 and 2.
// Its ablations and its module search start from the same settings.
TEST(SweepSpec, CpuRecipeIsTheDocumentedOneAndItsAblationsAndSearchStartFromIt) {
  auto read = [](const std::string& path) {
    std::ifstream in(std::string(SIC_SOURCE_DIR) + "/" + path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  auto recipe = ParseSweepSpec(read("examples/cpu-grids.json"));
  ASSERT_TRUE(recipe.ok()) << recipe.status().message();
  ASSERT_EQ(recipe->trials.size(), 3u);
  std::set<int64_t> seeds;
  for (const auto& t : recipe->trials) seeds.insert(t.config.run.seed);
  EXPECT_EQ(seeds, (std::set<int64_t>{0, 1, 2}));

  const std::string doc = read("docs/science-cpu.md");
  const size_t begin = doc.find("<!-- recipe settings -->"), end = doc.find("<!-- /recipe settings -->");
  ASSERT_NE(begin, std::string::npos) << "docs/science-cpu.md has no recipe settings table";
  ASSERT_NE(end, std::string::npos);
  std::map<std::string, nlohmann::json> documented;  // "eval.trajectories" -> 1000
  std::istringstream table(doc.substr(begin, end - begin));
  for (std::string line; std::getline(table, line);) {
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) {
      cell.erase(0, cell.find_first_not_of(" `"));
      cell.erase(cell.find_last_not_of(" `") + 1);
      cells.push_back(cell);
    }
    ASSERT_GE(cells.size(), 2u) << line;
    auto value = nlohmann::json::parse(cells[1], nullptr, false);
    ASSERT_FALSE(value.is_discarded()) << "not JSON: " << cells[1] << " in " << line;
    documented[cells[0]] = value;
  }
  for (const auto& t : recipe->trials) {
    const nlohmann::json config = ConfigToJson(t.config);
    for (const auto& [key, value] : documented) {
      const auto ptr = nlohmann::json::json_pointer("/" + std::regex_replace(key, std::regex("\\."), "/"));
      ASSERT_TRUE(config.contains(ptr)) << key << " is not a config key";
      EXPECT_EQ(config[ptr], value) << key << " in the recipe against the doc";
    }
    for (const char* section : {"eval", "probe"}) {
      for (const auto& [key, value] : config[section].items()) {
        EXPECT_TRUE(documented.count(std::string(section) + "." + key)) << section << "." << key << " is not documented";
      }
    }
  }

  // The ablations: the recipe with one change each, two seeds.
  auto ablations = ParseSweepSpec(read("examples/cpu-ablations.json"));
  ASSERT_TRUE(ablations.ok()) << ablations.status().message();
  EXPECT_EQ(ablations->trials.size(), 7u * 2);
  const nlohmann::json base = ConfigToJson(recipe->trials[0].config);
  for (const auto& t : ablations->trials) {
    nlohmann::json c = ConfigToJson(t.config);
    c["run"]["seed"] = base["run"]["seed"];
    const nlohmann::json diff = nlohmann::json::diff(base, c);
    EXPECT_EQ(diff.size(), t.variant == "baseline" ? 0u : 1u) << t.variant << ": " << diff.dump();
  }
  // The module search: from the recipe's training, model and loss settings.
  auto search = ParseSweepSpec(read("examples/cpu-modules.json"));
  ASSERT_TRUE(search.ok()) << search.status().message();
  EXPECT_TRUE(search->has_search);
  EXPECT_EQ(search->objective.metric, "eval.2m.n_modules_distinct");  // a harmonic is no second module
  const nlohmann::json searched = ConfigToJson(search->base);
  for (const char* section : {"model", "loss"}) EXPECT_EQ(searched[section], base[section]) << section;
  EXPECT_EQ(searched["optim"]["lr"], base["optim"]["lr"]);

  // The search's steps: each variant is the recipe plus its change (JSON pointer
  // -> value), on seeds 0 and 2, beside the recipe itself (the baseline).
  using Changes = std::map<std::string, std::vector<std::pair<std::string, nlohmann::json>>>;
  auto expect_step = [&](const std::string& path, const Changes& changes) {
    auto step = ParseSweepSpec(read(path));
    ASSERT_TRUE(step.ok()) << path << ": " << step.status().message();
    EXPECT_EQ(step->trials.size(), (changes.size() + 1) * 2) << path;
    for (const auto& t : step->trials) {
      nlohmann::json c = ConfigToJson(t.config);
      c["run"]["seed"] = base["run"]["seed"];
      nlohmann::json want = base;
      if (t.variant != "baseline") {
        ASSERT_TRUE(changes.count(t.variant)) << path << ": unexpected variant " << t.variant;
        for (const auto& [ptr, value] : changes.at(t.variant)) want[nlohmann::json::json_pointer(ptr)] = value;
      }
      EXPECT_EQ(c, want) << path << ": " << t.variant << ": " << nlohmann::json::diff(want, c).dump();
    }
  };
  // First: the recipe at N=128, and at T=60 with B=32 (the same 1920 states per batch).
  expect_step("examples/cpu-modules-first.json",
              {{"n128", {{"/model/n_units", 128}}}, {"t60_b32", {{"/data/seq_len", 60}, {"/data/batch_size", 32}}}});
  // Second: the recipe at sigma_g 0.3, and with capacity weights 1 and 2.
  expect_step("examples/cpu-modules-second.json", {{"sigma_g_0.3", {{"/loss/sigma_g", 0.3}}},
                                                   {"cap_1", {{"/loss/lambda_cap", 1.0}}},
                                                   {"cap_2", {{"/loss/lambda_cap", 2.0}}}});
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
  auto search = load("lambda-search.json");
  ASSERT_TRUE(search.ok()) << search.status().message();
  EXPECT_TRUE(search->has_search);
  EXPECT_EQ(search->search.params.size(), 3u);
  EXPECT_EQ(search->schedule.rungs, (std::vector<int64_t>{40000, 120000}));
  EXPECT_EQ(search->base.optim.steps, 120000);
  auto smoke = load("smoke.json");
  ASSERT_TRUE(smoke.ok()) << smoke.status().message();
  EXPECT_EQ(smoke->trials.size(), 3u * 2);
  for (const auto& t : smoke->trials) EXPECT_EQ(t.config.run.device, "cpu");
}

}  // namespace
}  // namespace sic

namespace sic {
namespace {

TEST(SweepSpecAdaptive, ScheduleAndObjectiveDefaultsAndRules) {
  auto spec = ParseSweepSpec(R"({"base": {"optim": {"steps": 70000}}, "seeds": 2,
      "objective": {"metric": "eval.2m.fraction_grid.0.3"},
      "schedule": {"method": "asha", "min_steps": 5000}})");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  const ScheduleSpec& s = spec->schedule;
  EXPECT_EQ(s.method, ScheduleSpec::kAsha);
  EXPECT_EQ(s.metric, "eval.2m.fraction_grid.0.3");
  EXPECT_TRUE(s.maximize);
  EXPECT_EQ(s.grace_steps, 35000);  // an evaluation signal: not trusted before half the training
  EXPECT_EQ(s.rungs, (std::vector<int64_t>{45000, 70000}));
  EXPECT_EQ(spec->trials.size(), 2u);

  auto loss = ParseSweepSpec(R"({"schedule": {"method": "median", "min_steps": 10, "max_steps": 90,
      "metric": "loss.total", "direction": "min"}})");
  ASSERT_TRUE(loss.ok()) << loss.status().message();
  EXPECT_EQ(loss->schedule.grace_steps, 0);
  EXPECT_EQ(loss->schedule.rungs, (std::vector<int64_t>{10, 30, 90}));
  EXPECT_EQ(loss->trials[0].config.optim.steps, 90);  // max_steps is the training length
  EXPECT_EQ(loss->objective.metric, "loss.total");   // the rung signal stands for the objective
  EXPECT_FALSE(loss->objective.maximize);
}

TEST(SweepSpecAdaptive, BadBlocksNameTheKey) {
  struct Case { const char* spec; const char* error; };
  const Case cases[] = {
      {R"({"objective": {"direction": "max"}})", "objective.metric: is required"},
      {R"({"objective": {"metric": "a b"}})", "objective.metric: must be letters"},
      {R"({"objective": {"metric": "m", "direction": "up"}})", "objective.direction: must be \"max\" or \"min\""},
      {R"({"objective": {"metric": "m", "goal": 1}})", "objective.goal: unknown key"},
      {R"({"search": {"trials": 3, "params": {"optim.lr": {"uniform": [0, 1]}}}})",
       "search: needs an \"objective\""},
      {R"({"objective": {"metric": "m"}, "search": {"trials": 0, "params": {}}})", "search.trials: must be an integer"},
      {R"({"objective": {"metric": "m"}, "search": {"method": "cma", "trials": 3}})", "search.method: must be"},
      {R"({"objective": {"metric": "m"}, "search": {"trials": 3, "params": {"optim.lr": {"uniform": [-1, 1]}}}})",
       "search.params.optim.lr: optim.lr: -1.0 is out of range"},
      {R"({"objective": {"metric": "m"}, "search": {"trials": 3, "params": {"optim.lr": {"log_uniform": [0, 1]}}}})",
       "search.params.optim.lr.log_uniform: needs 0 < lo < hi"},
      {R"({"objective": {"metric": "m"}, "grid": {"loss.lambda_cap": [1]},
          "search": {"trials": 3, "params": {"optim.lr": {"uniform": [0.1, 1]}}}})",
       "search: cannot be combined with \"grid\""},
      {R"({"objective": {"metric": "m"}, "seeds": 2,
          "search": {"trials": 3, "external": true, "params": {"x": {"uniform": [0, 1]}}}})",
       "search.external: an external search trains nothing here: remove \"seeds\""},
      {R"({"schedule": {"min_steps": 10}})", "schedule.method: is required"},
      {R"({"schedule": {"method": "asha"}})", "schedule.min_steps: is required"},
      {R"({"schedule": {"method": "asha", "min_steps": 10}})", "schedule.metric: is required without an \"objective\""},
      {R"({"objective": {"metric": "m"}, "schedule": {"method": "asha", "min_steps": 10, "reduction_factor": 1}})",
       "schedule.reduction_factor: must be an integer in [2, 1000]"},
      {R"({"objective": {"metric": "m"}, "schedule": {"method": "asha", "min_steps": 100, "max_steps": 100}})",
       "schedule.min_steps: 100 must be below max_steps (100)"},
      {R"({"objective": {"metric": "m"}, "base": {"optim": {"steps": 50}},
          "schedule": {"method": "asha", "min_steps": 10, "max_steps": 100}})",
       "schedule.max_steps: 100 differs from base optim.steps (50)"},
      {R"({"objective": {"metric": "m"}, "grid": {"optim.steps": [100, 200]},
          "schedule": {"method": "asha", "min_steps": 10}})",
       "grid.optim.steps: optim.steps cannot vary in a sweep with a schedule"},
      {R"({"objective": {"metric": "m"}, "schedule": {"method": "asha", "min_steps": 10, "max_steps": 20,
          "grace_steps": 20}})",
       "schedule: no rung lies between"},
  };
  for (const Case& c : cases) {
    const std::string error = ErrorOf(c.spec);
    EXPECT_EQ(error.rfind(c.error, 0), 0u) << c.spec << "\n  gave: " << error;
  }
}

TEST(SweepSpecAdaptive, SearchMakesItsTrialsPerSuggestion) {
  auto spec = ParseSweepSpec(R"({"objective": {"metric": "loss.total", "direction": "min"}, "seeds": [3, 4],
      "search": {"trials": 5, "seed": 1, "params": {"optim.lr": {"log_uniform": [1e-4, 1e-2]},
                                                 "model.n_units": {"int_uniform": [32, 64]}}}})");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_TRUE(spec->trials.empty());
  EXPECT_TRUE(spec->has_search);
  EXPECT_EQ(spec->search.params.size(), 2u);
  auto trials = SearchTrials(spec.value(), 2, {{"optim.lr", 0.001}, {"model.n_units", 40}});
  ASSERT_TRUE(trials.ok()) << trials.status().message();
  ASSERT_EQ(trials->size(), 2u);
  EXPECT_EQ(trials->at(1).index, 5);
  EXPECT_EQ(trials->at(1).name, "search=2/seed=4");
  EXPECT_EQ(trials->at(1).config.run.seed, 4);
  EXPECT_EQ(trials->at(1).config.model.n_units, 40);
  EXPECT_DOUBLE_EQ(trials->at(0).config.optim.lr, 0.001);
  EXPECT_FALSE(SearchTrials(spec.value(), 0, {{"model.n_units", -3}}).ok());
}

}  // namespace
}  // namespace sic
