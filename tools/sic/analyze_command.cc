// sic analyze RATEMAPS.npy --arena-size METRES [--json] [--threshold T]
//             [--nan-as-zero] [--mean-form] [--threads N]
// The evaluation's analysis for rate maps from anywhere: (units, bins, bins)
// float32/float64, NaN = unvisited. No LibTorch needed.
#include <cmath>
#include <cstdio>
#include <string>

#include "sic/analysis.h"
#include "sic/config.h"
#include "sic/npy.h"
#include "tools/sic/cli_args.h"
#include "tools/sic/commands.h"

namespace sic {
namespace {

constexpr char kUsage[] =
    "usage: sic analyze RATEMAPS.npy --arena-size METRES [--json] [--threshold T] [--nan-as-zero] "
    "[--mean-form] [--threads N]";

int Fail(const std::string& message) {
  std::fprintf(stderr, "sic analyze: %s\n", message.c_str());
  return 1;
}

}  // namespace

int AnalyzeCommand(const std::vector<std::string>& argv) {
  auto args = Args::Parse(argv, {"--arena-size", "--threshold", "--threads"}, {"--json", "--nan-as-zero", "--mean-form"});
  if (!args.ok()) return Fail(args.status().message());
  if (args->positional().size() != 1) return Fail(kUsage);
  const std::string path = args->positional()[0];
  if (!args->Has("--arena-size")) return Fail("--arena-size METRES is required (the side of the square the maps cover)");

  // Options through the config's eval fields, so ranges and messages agree with `sic eval`.
  Config config;
  auto arena = args->Number("--arena-size", 0);
  if (!arena.ok()) return Fail(arena.status().message());
  if (!(arena.value() > 0) || arena.value() > 1000) {
    return Fail("--arena-size: " + std::to_string(arena.value()) + " is out of range (must be in (0, 1000] metres)");
  }
  if (args->Has("--threshold")) {
    auto t = args->Number("--threshold", 0);
    if (!t.ok()) return Fail(t.status().message());
    if (Status s = ApplyOverride(config, "eval.grid_threshold", t.value()); !s.ok()) return Fail("--threshold: " + s.message());
  }
  auto threads = args->Integer("--threads", 0);
  if (!threads.ok()) return Fail(threads.status().message());
  if (Status s = ApplyOverride(config, "run.threads", threads.value()); !s.ok()) return Fail("--threads: " + s.message());

  auto npy = ReadNpy(path);
  if (!npy.ok()) return Fail(npy.status().message());
  std::vector<int64_t> shape = npy->shape;
  if (shape.size() == 2) shape.insert(shape.begin(), 1);  // one map
  if (shape.size() != 3 || shape[1] != shape[2] || shape[0] < 1 || shape[1] < 4) {
    return Fail(path + ": shape " + ShapeString(npy->shape) +
                " is not (units, bins, bins) with square maps of at least 4 x 4 bins");
  }
  std::vector<float> maps(npy->size());
  for (int64_t i = 0; i < npy->size(); ++i) {
    const double v = npy->at(i);
    if (std::isinf(v)) return Fail(path + ": contains infinite values (use NaN for unvisited bins)");
    maps[i] = static_cast<float>(v);
  }

  AnalysisOptions options;
  options.arena_size = arena.value();
  options.nan_as_zero = args->Has("--nan-as-zero");
  options.min_max = !args->Has("--mean-form");
  options.grid_threshold = config.eval.grid_threshold;
  options.modules.bandwidth = config.eval.module_bandwidth;
  options.threads = static_cast<int>(config.run.threads);
  auto analysis = AnalyzeRateMaps(maps.data(), shape[0], shape[1], options);
  if (!analysis.ok()) return Fail(path + ": " + analysis.status().message());
  if (args->Has("--json")) {
    std::printf("%s\n", AnalysisToJson(analysis.value()).dump().c_str());
  } else {
    std::fputs(AnalysisTable(analysis.value()).c_str(), stdout);
  }
  return 0;
}

}  // namespace sic
