// sic losses G.npy V.npy [--sigma-x X] [--sigma-g Y] [--reduction mean|sum]
#include <cstdio>
#include <string>

#include "sic/config.h"
#include "sic/losses.h"
#include "sic/npy.h"
#include "sic/npy_tensor.h"
#include "sic/runtime.h"
#include "tools/sic/cli_args.h"
#include "tools/sic/commands.h"

namespace sic {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "sic losses: %s\n", message.c_str());
  return 1;
}

}  // namespace

int LossesCommand(const std::vector<std::string>& argv) {
  auto args = Args::Parse(argv, {"--sigma-x", "--sigma-g", "--reduction"}, {});
  if (!args.ok()) return Fail(args.status().message());
  if (args->positional().size() != 2) return Fail("usage: sic losses G.npy V.npy [--sigma-x X] [--sigma-g Y]");
  const std::string g_path = args->positional()[0], v_path = args->positional()[1];

  Config config;
  const std::pair<const char*, const char*> numeric[] = {{"--sigma-x", "loss.sigma_x"}, {"--sigma-g", "loss.sigma_g"}};
  for (const auto& [flag, key] : numeric) {
    if (!args->Has(flag)) continue;
    auto value = args->Number(flag, 0);
    if (!value.ok()) return Fail(value.status().message());
    if (Status s = ApplyOverride(config, key, value.value()); !s.ok()) return Fail(flag + std::string(": ") + s.message());
  }
  if (auto r = args->Value("--reduction")) {
    if (Status s = ApplyOverride(config, "loss.reduction", *r); !s.ok()) return Fail("--reduction: " + s.message());
  }

  auto g_npy = ReadNpy(g_path);
  if (!g_npy.ok()) return Fail(g_npy.status().message());
  auto v_npy = ReadNpy(v_path);
  if (!v_npy.ok()) return Fail(v_npy.status().message());
  const auto& gs = g_npy->shape;
  const auto& vs = v_npy->shape;
  if (gs.size() != 3 || gs[0] < 1 || gs[1] < 2 || gs[2] < 1) {
    return Fail(g_path + ": shape " + ShapeString(gs) + " is not (B, T+1, N) with B >= 1, T >= 1, N >= 1");
  }
  if (vs.size() != 3 || vs[2] != 2) return Fail(v_path + ": shape " + ShapeString(vs) + " is not (B, T, 2)");
  if (vs[0] != gs[0] || vs[1] + 1 != gs[1]) {
    return Fail("shapes do not match: G " + ShapeString(gs) + " needs V (" + std::to_string(gs[0]) + ", " +
                std::to_string(gs[1] - 1) + ", 2), got V " + ShapeString(vs));
  }
  SetUpRuntime(/*threads=*/0, torch::kCPU);
  const auto g_all = TensorFromNpy(g_npy.value());
  const auto velocities = TensorFromNpy(v_npy.value()).to(g_all.scalar_type());
  if (!torch::isfinite(g_all).all().item<bool>()) return Fail(g_path + ": contains NaN or inf");
  if (!torch::isfinite(velocities).all().item<bool>()) return Fail(v_path + ": contains NaN or inf");

  const LossTerms terms = ComputeLosses(g_all, velocities, config.loss);
  const nlohmann::json out = {{"sep", terms.sep.item<double>()},
                              {"inv", terms.inv.item<double>()},
                              {"cap", terms.cap.item<double>()},
                              {"coniso", terms.coniso.item<double>()}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace sic
