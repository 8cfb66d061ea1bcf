// sic: the local science tool: one config's training, evaluation, losses and
// analysis, with no services involved. Workers run the same core in-process.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sic/runtime.h"
#include "tools/sic/commands.h"

namespace {

// The command table: one row per command gives its name, its synopsis and
// summary for the usage text, whether it runs the network (only those need
// the BLAS/OpenMP tuning and its re-exec; config and analyze start faster
// without), and the function that runs it.
struct Command {
  const char* name;
  const char* synopsis;  // the arguments after the name
  const char* summary;
  bool runs_network;
  int (*run)(const std::vector<std::string>& args);
};

const Command kCommands[] = {
    {"config", "[CONFIG.json] [--keys]",
     "print the effective config (defaults filled in); --keys: every key, default, allowed values", false,
     sic::ConfigCommand},
    {"train", "CONFIG.json --out DIR [--steps N] [--resume | --from RUN_DIR_OR_CHECKPOINT]",
     "train SIC; writes DIR/config.json, DIR/curve.jsonl, DIR/checkpoint.pt\n"
     "        --from: a new run from another's checkpoint (with the same config, exactly a resume)",
     true, sic::TrainCommand},
    {"losses", "G.npy V.npy [--sigma-x X] [--sigma-g Y] [--reduction mean|sum]",
     "print {\"sep\",\"inv\",\"cap\",\"coniso\"} for states G (B, T+1, N), steps V (B, T, 2)", true,
     sic::LossesCommand},
    {"eval", "CHECKPOINT --out DIR [--arena 2,3,4] [--bins N] [--trajectories N] [--steps N]",
     "rate maps, grid scores, periods, modules and pictures of a trained network, per arena", true,
     sic::EvalCommand},
    {"analyze", "RATEMAPS.npy --arena-size METRES [--json] [--nan-as-zero] [--mean-form]",
     "grid scores, periods and modules of rate maps (units, bins, bins), NaN = unvisited", false,
     sic::AnalyzeCommand},
};

void PrintUsage(std::FILE* out) {
  std::fputs("usage: sic <command> [args]\n\ncommands:\n", out);
  for (const Command& c : kCommands) std::fprintf(out, "  %s %s\n        %s\n", c.name, c.synopsis, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    PrintUsage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const Command& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    if (c.runs_network) sic::ReexecWithTunedRuntime(argv);
    return c.run(std::vector<std::string>(argv + 2, argv + argc));
  }
  std::fprintf(stderr, "sic: unknown command '%s' (try: sic --help)\n", argv[1]);
  return 2;
}
