// sic: the local science tool: one config's training, evaluation, losses and
// analysis, with no services involved. Workers run the same core in-process.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sic/runtime.h"
#include "tools/sic/commands.h"

namespace {

const char kUsage[] =
    "usage: sic <command> [args]\n"
    "\n"
    "commands:\n"
    "  config [CONFIG.json] [--keys]\n"
    "        print the effective config (defaults filled in); --keys: every key, default, allowed values\n"
    "  train CONFIG.json --out DIR [--steps N] [--resume]\n"
    "        train SIC; writes DIR/config.json, DIR/curve.jsonl, DIR/checkpoint.pt\n"
    "  losses G.npy V.npy [--sigma-x X] [--sigma-g Y] [--reduction mean|sum]\n"
    "        print {\"sep\",\"inv\",\"cap\",\"coniso\"} for states G (B, T+1, N), steps V (B, T, 2)\n"
    "  eval CHECKPOINT --out DIR [--arena 2,3,4] [--bins N] [--trajectories N] [--steps N]\n"
    "        rate maps, grid scores, periods, modules and pictures of a trained network, per arena\n"
    "  analyze RATEMAPS.npy --arena-size METRES [--json] [--nan-as-zero] [--mean-form]\n"
    "        grid scores, periods and modules of rate maps (units, bins, bins), NaN = unvisited\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  // Only the commands that run the network need the BLAS/OpenMP tuning (and
  // its restart); config and analyze start faster without.
  if (command == "train" || command == "eval" || command == "losses") sic::ReexecWithTunedRuntime(argv);
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "config") return sic::ConfigCommand(args);
  if (command == "train") return sic::TrainCommand(args);
  if (command == "losses") return sic::LossesCommand(args);
  if (command == "eval") return sic::EvalCommand(args);
  if (command == "analyze") return sic::AnalyzeCommand(args);
  std::fprintf(stderr, "sic: unknown command '%s' (try: sic --help)\n", command.c_str());
  return 2;
}
