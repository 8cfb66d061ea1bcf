// bench_sampler_driver: the search sampler (coordinator/sampler.h) behind a
// line protocol, for bench/sampler.py --inproc and for comparing it with
// Optuna on fixed histories. Each line on stdin is one request:
//
//   {"options": {"method": "tpe"|"random", "seed": 3, "direction": "min"|"max",
//                "multivariate": true, "constant_liar": true, "n_startup_trials": 10},
//    "params": {"x": {"uniform": [-5, 10]}, "lr": {"log_uniform": [1e-5, 1]},
//               "n": {"int_uniform": [1, 8]}, "c": {"choice": ["a", "b"]}},
//    "history": [{"params": {...}, "state": "complete"|"paused"|"stopped"|"pending"|"failed",
//                 "value": 1.5, "depth": 0}, ...],
//    "numbers": [10, 11]}
//
// and the answer is one line: the suggestions for those trial numbers, as a
// JSON array (or {"error": "..."} for a request it cannot read). A bench tool:
// it trusts its caller beyond reading the request's shape.
#include <iostream>
#include <map>
#include <string>

#include "coordinator/sampler.h"

namespace {

using nlohmann::json;
using sic::Observation;
using sic::ParamDist;

ParamDist ReadParam(const std::string& key, const json& spec) {
  ParamDist d;
  d.key = key;
  const auto& [kind, bounds] = *spec.items().begin();
  if (kind == "choice") {
    d.kind = ParamDist::kChoice;
    d.choices = bounds;
  } else if (kind == "int_uniform") {
    d.kind = ParamDist::kIntUniform;
    d.int_lo = bounds.at(0).get<int64_t>();
    d.span = static_cast<uint64_t>(bounds.at(1).get<int64_t>() - d.int_lo);
  } else {
    d.kind = kind == "log_uniform" ? ParamDist::kLogUniform : ParamDist::kUniform;
    if (kind != "log_uniform" && kind != "uniform") throw std::runtime_error("unknown distribution " + kind);
    d.lo = bounds.at(0).get<double>();
    d.hi = bounds.at(1).get<double>();
  }
  return d;
}

json Answer(const json& req) {
  const json& o = req.at("options");
  sic::SamplerOptions opt;
  opt.method = o.value("method", "tpe") == "random" ? sic::SearchSpec::kRandom : sic::SearchSpec::kTpe;
  opt.seed = o.value("seed", uint64_t{0});
  opt.maximize = o.value("direction", "min") == "max";
  opt.multivariate = o.value("multivariate", true);
  opt.constant_liar = o.value("constant_liar", true);
  opt.n_startup_trials = o.value("n_startup_trials", 10);
  opt.n_ei_candidates = o.value("n_ei_candidates", 24);

  std::vector<ParamDist> space;
  for (const auto& [key, spec] : req.at("params").items()) space.push_back(ReadParam(key, spec));  // sorted keys

  static const std::map<std::string, Observation::State> kStates = {
      {"complete", Observation::kComplete}, {"paused", Observation::kPaused}, {"stopped", Observation::kStopped},
      {"pending", Observation::kPending},   {"failed", Observation::kFailed}};
  std::vector<Observation> history;
  for (const json& h : req.value("history", json::array())) {
    Observation ob;
    ob.params = h.at("params");
    ob.state = kStates.at(h.value("state", "complete"));
    if (h.contains("value") && h["value"].is_number()) ob.value = h["value"].get<double>();
    ob.depth = h.value("depth", 0);
    history.push_back(std::move(ob));
  }
  json out = json::array();
  for (const json& n : req.at("numbers")) out.push_back(sic::Suggest(opt, space, history, n.get<int64_t>()));
  return out;
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    json answer;
    try {
      answer = Answer(json::parse(line));
    } catch (const std::exception& e) {
      answer = {{"error", e.what()}};
    }
    std::cout << answer.dump() << std::endl;
  }
  return 0;
}
