// The search sampler (coordinator/sampler.h): deterministic, in range for every
// kind of parameter, and TPE finds what it should: a 1-D optimum faster than
// random search, the good category, away from pending trials, with failed
// trials ignored and early-stopped ones ranked after complete ones.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "coordinator/sampler.h"

namespace sic {
namespace {

using nlohmann::json;

ParamDist Uniform(const std::string& key, double lo, double hi) {
  ParamDist d;
  d.key = key, d.kind = ParamDist::kUniform, d.lo = lo, d.hi = hi;
  return d;
}
ParamDist LogUniform(const std::string& key, double lo, double hi) {
  ParamDist d = Uniform(key, lo, hi);
  d.kind = ParamDist::kLogUniform;
  return d;
}
ParamDist IntUniform(const std::string& key, int64_t lo, uint64_t span) {
  ParamDist d;
  d.key = key, d.kind = ParamDist::kIntUniform, d.int_lo = lo, d.span = span;
  return d;
}
ParamDist Choice(const std::string& key, json choices) {
  ParamDist d;
  d.key = key, d.kind = ParamDist::kChoice, d.choices = std::move(choices);
  return d;
}

SamplerOptions Options(SearchSpec::Method method, uint64_t seed, bool maximize = false) {
  SamplerOptions o;
  o.method = method, o.seed = seed, o.maximize = maximize;
  return o;
}

Observation Complete(json params, double value) {
  Observation o;
  o.params = std::move(params), o.state = Observation::kComplete, o.value = value;
  return o;
}

// Runs `trials` sequential ask/tell rounds of f; returns every observation.
template <typename F>
std::vector<Observation> RunSearch(const SamplerOptions& opt, const std::vector<ParamDist>& space, int trials, F f) {
  std::vector<Observation> history;
  for (int i = 0; i < trials; ++i) {
    json p = Suggest(opt, space, history, i);
    const double v = f(p);
    history.push_back(Complete(std::move(p), v));
  }
  return history;
}

double Best(const std::vector<Observation>& h) {
  double best = INFINITY;
  for (const auto& o : h) best = std::min(best, o.value);
  return best;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Checks that p holds one in-range value of the right type per parameter.
void ExpectInSpace(const std::vector<ParamDist>& space, const json& p) {
  ASSERT_TRUE(p.is_object()) << p;
  ASSERT_EQ(p.size(), space.size()) << p;
  for (const ParamDist& d : space) {
    ASSERT_TRUE(p.contains(d.key)) << p;
    const json& v = p[d.key];
    switch (d.kind) {
      case ParamDist::kUniform:
      case ParamDist::kLogUniform:
        ASSERT_TRUE(v.is_number_float()) << d.key << " " << v;
        EXPECT_GE(v.get<double>(), d.lo) << d.key;
        EXPECT_LE(v.get<double>(), d.hi) << d.key;
        break;
      case ParamDist::kIntUniform: {
        ASSERT_TRUE(v.is_number_integer()) << d.key << " " << v;
        const int64_t x = v.get<int64_t>();
        EXPECT_GE(x, d.int_lo) << d.key;
        EXPECT_LE(static_cast<uint64_t>(x) - static_cast<uint64_t>(d.int_lo), d.span) << d.key << " " << x;
        break;
      }
      case ParamDist::kChoice:
        EXPECT_NE(std::find(d.choices.begin(), d.choices.end(), v), d.choices.end()) << d.key << " " << v;
        break;
    }
  }
}

std::vector<ParamDist> AllKinds() {
  return {Uniform("a.u", -3, 5), LogUniform("b.log", 1e-4, 10), IntUniform("c.int", -7, 20),
          Choice("d.choice", json::array({"x", 2, 3.5, true}))};
}

// A smooth function of all four kinds, minimal at u = 1, log = 0.01, int = 4, choice "x".
double AllKindsObjective(const json& p) {
  const double u = p["a.u"].get<double>() - 1;
  const double l = std::log10(p["b.log"].get<double>()) + 2;
  const double i = static_cast<double>(p["c.int"].get<int64_t>() - 4) / 10;
  return u * u + l * l + i * i + (p["d.choice"] == "x" ? 0 : 1);
}

TEST(SamplerTest, SameArgumentsSameSuggestionAndNumbersDiffer) {
  const auto space = AllKinds();
  for (auto method : {SearchSpec::kRandom, SearchSpec::kTpe}) {
    const auto history = RunSearch(Options(SearchSpec::kRandom, 1), space, 20, AllKindsObjective);
    const auto opt = Options(method, 7);
    const json a = Suggest(opt, space, history, 20);
    EXPECT_EQ(a, Suggest(opt, space, history, 20));
    EXPECT_NE(a, Suggest(opt, space, history, 21));
    EXPECT_NE(a, Suggest(Options(method, 8), space, history, 20));
  }
}

TEST(SamplerTest, RandomRespectsBoundsAndTypesOfEveryKind) {
  auto space = AllKinds();
  space.push_back(IntUniform("e.wide", INT64_MIN, UINT64_MAX));  // every int64
  space.push_back(IntUniform("f.top", INT64_MAX - 3, 3));
  std::set<json> choices_seen;
  for (int64_t i = 0; i < 400; ++i) {
    const json p = Suggest(Options(SearchSpec::kRandom, 3), space, {}, i);
    ExpectInSpace(space, p);
    choices_seen.insert(p["d.choice"]);
  }
  EXPECT_EQ(choices_seen.size(), 4u);
}

TEST(SamplerTest, TpeRespectsBoundsAndTypesOfEveryKind) {
  auto space = AllKinds();
  space.push_back(IntUniform("e.wide", INT64_MIN, UINT64_MAX));
  space.push_back(IntUniform("f.top", INT64_MAX - 3, 3));
  space.push_back(IntUniform("g.single", 5, 0));
  space.push_back(Choice("h.single", json::array({"only"})));
  const auto history = RunSearch(Options(SearchSpec::kTpe, 4), space, 60, AllKindsObjective);
  for (const auto& o : history) ExpectInSpace(space, o.params);
  EXPECT_EQ(history.back().params["g.single"], 5);
  EXPECT_EQ(history.back().params["h.single"], "only");
}

// (x - 2)^2 on [-10, 10], 60 trials, 21 seeds: TPE gets close every time, much
// closer than random search in the median, and spends more of its trials near
// the optimum (random puts 1 in 20 within 0.5 of it).
TEST(SamplerTest, TpeConvergesOnAOneDimensionalOptimum) {
  const std::vector<ParamDist> space = {Uniform("x", -10, 10)};
  auto f = [](const json& p) { const double x = p["x"].get<double>(); return (x - 2) * (x - 2); };
  auto near = [](const std::vector<Observation>& h) {
    return static_cast<double>(std::count_if(h.begin(), h.end(), [](const Observation& o) { return o.value < 0.25; }));
  };
  std::vector<double> tpe, random, tpe_near, random_near;
  for (uint64_t seed = 0; seed < 21; ++seed) {
    const auto t = RunSearch(Options(SearchSpec::kTpe, seed), space, 60, f);
    const auto r = RunSearch(Options(SearchSpec::kRandom, seed), space, 60, f);
    tpe.push_back(Best(t)), tpe_near.push_back(near(t));
    random.push_back(Best(r)), random_near.push_back(near(r));
  }
  EXPECT_LT(*std::max_element(tpe.begin(), tpe.end()), 1e-2);
  EXPECT_LT(Median(tpe), 1e-3);
  EXPECT_LT(Median(tpe), 0.25 * Median(random)) << "tpe " << Median(tpe) << " random " << Median(random);
  EXPECT_GE(Median(tpe_near), 2 * Median(random_near)) << "tpe " << Median(tpe_near) << " random " << Median(random_near);
}

TEST(SamplerTest, MaximizeSeeksTheMaximum) {
  const std::vector<ParamDist> space = {Uniform("x", -10, 10)};
  auto opt = Options(SearchSpec::kTpe, 5, /*maximize=*/true);
  std::vector<Observation> history;
  for (int i = 0; i < 50; ++i) {
    json p = Suggest(opt, space, history, i);
    const double x = p["x"].get<double>();
    history.push_back(Complete(std::move(p), -(x + 6) * (x + 6)));
  }
  double best = -INFINITY;
  for (const auto& o : history) best = std::max(best, o.value);
  EXPECT_GT(best, -1e-2);
}

TEST(SamplerTest, LogAndIntParametersStayInRangeAndIntsAreIntegers) {
  const std::vector<ParamDist> space = {LogUniform("lr", 1e-6, 1e-1), IntUniform("units", 1, 7)};
  // Optimum at the edges: lr = 1e-6, units = 8, where rounding and clamping matter.
  auto f = [](const json& p) {
    return std::log10(p["lr"].get<double>()) + 6 + (8 - p["units"].get<int64_t>());
  };
  const auto history = RunSearch(Options(SearchSpec::kTpe, 6), space, 80, f);
  std::set<int64_t> units;
  for (const auto& o : history) {
    ExpectInSpace(space, o.params);
    units.insert(o.params["units"].get<int64_t>());
  }
  EXPECT_TRUE(units.count(1) && units.count(8)) << "both ends are reachable";
  EXPECT_LT(Best(history), 0.1);
}

TEST(SamplerTest, CategoricalPicksTheGoodCategoryMostOften) {
  const std::vector<ParamDist> space = {Choice("opt", json::array({"sgd", "adam", "rmsprop", "lbfgs"}))};
  auto f = [](const json& p) { return p["opt"] == "rmsprop" ? 0.0 : 1.0; };
  const auto history = RunSearch(Options(SearchSpec::kTpe, 8), space, 60, f);
  std::map<std::string, int> counts;
  for (size_t i = 10; i < history.size(); ++i) ++counts[history[i].params["opt"].get<std::string>()];
  EXPECT_GT(counts["rmsprop"], 25) << "of 50 TPE suggestions";
  for (const auto& [name, n] : counts) {
    if (name != "rmsprop") {
      EXPECT_LT(n, counts["rmsprop"]) << name;
    }
  }
}

TEST(SamplerTest, FailedTrialsAreIgnored) {
  const std::vector<ParamDist> space = {Uniform("x", -10, 10), Choice("c", json::array({1, 2}))};
  auto f = [](const json& p) { return std::abs(p["x"].get<double>() - 3) + p["c"].get<int>(); };
  const auto history = RunSearch(Options(SearchSpec::kRandom, 9), space, 30, f);
  std::vector<Observation> with_failed;
  for (size_t i = 0; i < history.size(); ++i) {
    with_failed.push_back(history[i]);
    Observation failed = Complete({{"x", -9.5 + static_cast<double>(i % 3)}, {"c", 1}}, -1e9);
    failed.state = Observation::kFailed;
    with_failed.push_back(failed);
  }
  for (int64_t number : {30, 31, 32}) {
    EXPECT_EQ(Suggest(Options(SearchSpec::kTpe, 1), space, with_failed, number),
              Suggest(Options(SearchSpec::kTpe, 1), space, history, number));
  }
  // Nine usable trials and any number of failed ones: still the random start.
  std::vector<Observation> few(with_failed.begin(), with_failed.begin() + 18);
  EXPECT_EQ(Suggest(Options(SearchSpec::kTpe, 1), space, few, 18),
            Suggest(Options(SearchSpec::kRandom, 1), space, {}, 18));
}

TEST(SamplerTest, ObservationsThatDoNotFitTheSpaceAreSkipped) {
  const std::vector<ParamDist> space = {Uniform("x", 0, 1), IntUniform("n", 0, 4)};
  auto f = [](const json& p) { return p["x"].get<double>(); };
  const auto history = RunSearch(Options(SearchSpec::kRandom, 2), space, 20, f);
  auto polluted = history;
  for (json bad : {json{{"x", 2.0}, {"n", 1}}, json{{"x", 0.5}, {"n", 1.5}}, json{{"x", "0.5"}, {"n", 1}},
                   json{{"n", 1}}, json::array({1, 2}), json{{"x", 0.5}, {"n", 5}}, json{{"x", 0.5}, {"n", -1}},
                   json{{"x", NAN}, {"n", 1}}, json{{"x", 0.5}, {"n", UINT64_MAX}}}) {
    polluted.push_back(Complete(bad, -100));
  }
  EXPECT_EQ(Suggest(Options(SearchSpec::kTpe, 3), space, polluted, 30),
            Suggest(Options(SearchSpec::kTpe, 3), space, history, 30));
}

// Three workers already run the point TPE would suggest next, and two beside
// it: with the liar the next suggestion goes elsewhere; without, it is that point.
TEST(SamplerTest, ConstantLiarKeepsAwayFromPendingTrials) {
  const std::vector<ParamDist> space = {Uniform("x", -10, 10), Uniform("y", -10, 10)};
  auto f = [](const json& p) {
    const double x = p["x"].get<double>() - 2, y = p["y"].get<double>() + 1;
    return x * x + y * y;
  };
  const auto history = RunSearch(Options(SearchSpec::kTpe, 11), space, 25, f);
  auto liar = Options(SearchSpec::kTpe, 11), honest = liar;
  honest.constant_liar = false;
  int moved = 0;
  for (int64_t number = 28; number < 48; ++number) {
    const json next = Suggest(liar, space, history, number);
    const double x0 = next["x"].get<double>(), y0 = next["y"].get<double>();
    std::vector<Observation> with_pending = history;
    for (double d : {-0.05, 0.0, 0.05}) {
      Observation o;
      o.state = Observation::kPending;
      o.params = {{"x", x0 + d}, {"y", y0 - d}};
      with_pending.push_back(o);
    }
    EXPECT_EQ(Suggest(honest, space, with_pending, number), next);
    const json p = Suggest(liar, space, with_pending, number);
    moved += std::hypot(p["x"].get<double>() - x0, p["y"].get<double>() - y0) > 0.2;
  }
  EXPECT_GE(moved, 18) << "of 20 suggestions moved away from the pending trials";
}

// Stopped-early trials rank after every complete one, however good their value:
// ten complete trials near x = 8 and ten stopped ones near x = -8 with better
// values; the two "good" trials are complete ones, so TPE looks near 8.
TEST(SamplerTest, StoppedTrialsRankAfterCompleteOnes) {
  const std::vector<ParamDist> space = {Uniform("x", -10, 10)};
  std::vector<Observation> history;
  for (int i = 0; i < 10; ++i) {
    history.push_back(Complete({{"x", 8 + 0.1 * i}}, 5 + i));
    Observation stopped = Complete({{"x", -8 - 0.1 * i}}, -100 - i);
    stopped.state = i % 2 ? Observation::kStopped : Observation::kPaused;
    stopped.depth = 2;
    history.push_back(stopped);
  }
  int near_complete = 0;
  for (int64_t number = 20; number < 40; ++number) {
    near_complete += Suggest(Options(SearchSpec::kTpe, 12), space, history, number)["x"].get<double>() > 0;
  }
  EXPECT_GE(near_complete, 15) << "of 20";
  // Among stopped trials the deeper rung ranks first: with only stopped trials,
  // the deep ones near -8 (worse values) are "good", not the shallow ones near 8.
  std::vector<Observation> stopped_only;
  for (int i = 0; i < 10; ++i) {
    Observation deep = Complete({{"x", -8 - 0.1 * i}}, 50 + i), shallow = Complete({{"x", 8 + 0.1 * i}}, -50 - i);
    deep.state = shallow.state = Observation::kStopped;
    deep.depth = 3, shallow.depth = 1;
    stopped_only.push_back(deep);
    stopped_only.push_back(shallow);
  }
  int near_deep = 0;
  for (int64_t number = 20; number < 40; ++number) {
    near_deep += Suggest(Options(SearchSpec::kTpe, 12), space, stopped_only, number)["x"].get<double>() < 0;
  }
  EXPECT_GE(near_deep, 15) << "of 20";
}

TEST(SamplerTest, NanValuesRankWorst) {
  const std::vector<ParamDist> space = {Uniform("x", -10, 10)};
  std::vector<Observation> history;
  for (int i = 0; i < 10; ++i) {
    history.push_back(Complete({{"x", 8 + 0.1 * i}}, NAN));
    history.push_back(Complete({{"x", -8 - 0.1 * i}}, 1000 + i));
  }
  int near_valued = 0;
  for (int64_t number = 20; number < 40; ++number) {
    near_valued += Suggest(Options(SearchSpec::kTpe, 13), space, history, number)["x"].get<double>() < 0;
  }
  EXPECT_GE(near_valued, 15) << "of 20";
}

TEST(SamplerTest, UnivariateModeStaysInRangeAndBeatsRandom) {
  const std::vector<ParamDist> space = {Uniform("x", -10, 10), IntUniform("k", 0, 9)};
  auto f = [](const json& p) {
    const double x = p["x"].get<double>() - 2;
    return x * x + std::abs(static_cast<double>(p["k"].get<int64_t>() - 6));
  };
  std::vector<double> tpe, random;
  for (uint64_t seed = 0; seed < 9; ++seed) {
    auto opt = Options(SearchSpec::kTpe, seed);
    opt.multivariate = false;
    const auto history = RunSearch(opt, space, 60, f);
    for (const auto& o : history) ExpectInSpace(space, o.params);
    tpe.push_back(Best(history));
    random.push_back(Best(RunSearch(Options(SearchSpec::kRandom, seed), space, 60, f)));
  }
  EXPECT_LT(Median(tpe), 0.1);
  EXPECT_LT(Median(tpe), 0.25 * Median(random)) << "tpe " << Median(tpe) << " random " << Median(random);
}

TEST(SamplerTest, OptionsForASpecTakeItsMethodSeedAndDirection) {
  SearchSpec search;
  search.method = SearchSpec::kRandom, search.seed = 42;
  Objective objective;
  objective.maximize = false;
  const SamplerOptions o = SamplerOptionsFor(search, objective);
  EXPECT_EQ(o.method, SearchSpec::kRandom);
  EXPECT_EQ(o.seed, 42u);
  EXPECT_FALSE(o.maximize);
  EXPECT_EQ(o.n_startup_trials, 10);
  EXPECT_EQ(o.n_ei_candidates, 24);
  EXPECT_TRUE(o.multivariate && o.constant_liar);
}

TEST(SamplerTest, EmptySpaceAndHostileOptionsAreHarmless) {
  EXPECT_EQ(Suggest(Options(SearchSpec::kTpe, 1), {}, {}, 0), json::object());
  const std::vector<ParamDist> space = {Uniform("x", 0, 1)};
  const auto history = RunSearch(Options(SearchSpec::kRandom, 2), space, 12, [](const json& p) { return p["x"].get<double>(); });
  auto opt = Options(SearchSpec::kTpe, 1);
  opt.n_ei_candidates = 1 << 30, opt.prior_weight = NAN, opt.n_startup_trials = -5;
  ExpectInSpace(space, Suggest(opt, space, history, 12));
  opt.n_ei_candidates = -3, opt.prior_weight = -1;
  ExpectInSpace(space, Suggest(opt, space, {}, 0));
}

}  // namespace
}  // namespace sic
