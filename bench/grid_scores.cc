// bench_grid_scores MAPS.npy [--threads K] [--repeat R] [--nan-as-zero]
// Times grid scoring (sic/gridscore.h) on one thread and the full population
// analysis (sic/analysis.h) on K threads, and prints one JSON line with the
// rates and every map's scores (for the parity check in bench/grid_scores).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sic/analysis.h"
#include "sic/gridscore.h"
#include "sic/npy.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_grid_scores MAPS.npy [--threads K] [--repeat R] [--nan-as-zero]\n");
    return 2;
  }
  int threads = 1, repeat = 1;
  bool nan_as_zero = false;
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--nan-as-zero")) nan_as_zero = true;
  }
  auto npy = sic::ReadNpy(argv[1]);
  if (!npy.ok() || npy->shape.size() != 3 || npy->shape[1] != npy->shape[2]) {
    std::fprintf(stderr, "bench_grid_scores: %s: need (units, bins, bins)\n", argv[1]);
    return 1;
  }
  const int64_t units = npy->shape[0], n = npy->shape[1];
  std::vector<float> maps(npy->size());
  for (int64_t i = 0; i < npy->size(); ++i) maps[i] = static_cast<float>(npy->at(i));
  using Clock = std::chrono::steady_clock;

  // Scores alone, one thread: what the NumPy/SciPy reference does.
  const auto t0 = Clock::now();
  const sic::GridScorer scorer(n, nan_as_zero);
  std::vector<sic::GridScores> scores(units);
  for (int r = 0; r < repeat; ++r) {
    for (int64_t u = 0; u < units; ++u) scores[u] = scorer.Score(maps.data() + u * n * n);
  }
  const double score_s = std::chrono::duration<double>(Clock::now() - t0).count();

  // Everything `sic analyze` computes (scores, lattices, Fourier, fields, modules).
  sic::AnalysisOptions options;
  options.nan_as_zero = nan_as_zero;
  options.threads = threads;
  const auto t1 = Clock::now();
  for (int r = 0; r < repeat; ++r) {
    auto a = sic::AnalyzeRateMaps(maps.data(), units, n, options);
    if (!a.ok()) return 1;
  }
  const double analysis_s = std::chrono::duration<double>(Clock::now() - t1).count();

  nlohmann::json out = {{"maps", units},
                        {"bins", n},
                        {"score_maps_per_s", units * repeat / score_s},
                        {"analysis_threads", threads},
                        {"analysis_maps_per_s", units * repeat / analysis_s}};
  for (const auto& s : scores) out["scores"].push_back({s.score60, s.score60_mean, s.score90});
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
