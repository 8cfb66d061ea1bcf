// Config: every knob of one SIC training run (sic-method.md section 4), with the
// paper's values as defaults. It is plain data with no LibTorch dependency, so the
// sweep service can parse, validate and override configs without loading torch.
//
// JSON form: nested objects by section, e.g. {"loss": {"lambda_cap": 0.5}}.
// Dotted keys ("loss.lambda_cap") name the same fields in sweeps and errors.
// Missing keys keep their defaults; unknown keys, wrong types and out-of-range
// values are rejected with one line naming the key and what is allowed.
// Every string is bounded: a string field has a length limit (in the field
// table, sic/config.cc), keys are at most kMaxKeyChars, and errors quote at
// most a line's worth of the offending value. Errors are InvalidArgument.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sic/status.h"

namespace sic {

// Bounds on strings in a config (the field table holds the rest).
inline constexpr size_t kMaxKeyChars = 128;     // a dotted key, or one section's key
inline constexpr size_t kMaxDeviceChars = 32;   // run.device
inline constexpr size_t kMaxArenasChars = 256;  // eval.arenas
inline constexpr size_t kMaxArenas = 16;        // arenas listed in eval.arenas

struct ModelConfig {
  int64_t n_units = 128;     // N, RNN units [X2]
  int64_t mlp_hidden = 256;  // width of the 3-layer MLP v -> W [INF]
  double norm_eps = 1e-12;   // NormReLU denominator floor [INF]
  bool learn_g0 = true;      // g0 = NormReLU(theta), theta learnable [INF]
};

// The smooth, wall-bounded random walk of sic-method 5.1 (Sorscher et al.).
struct WalkConfig {
  double arena_size = 2.0;        // square side, metres
  double dt = 0.02;               // seconds per walk step
  double rotation_std = 11.52;    // rad/s
  double speed_scale = 0.8168;    // Rayleigh scale b = 0.13 * 2 pi, m/s
  double border = 0.03;           // wall-avoidance region, metres
  int64_t steps_per_input = 5;    // walk steps summed into one network input
};

struct DataConfig {
  int64_t batch_size = 130;  // B: permutations of one base sequence [P-src]
  int64_t seq_len = 60;      // T [X2]
  // "uniform": i.i.d. steps in [-v_max, v_max]^2; "walk": the smooth walk.
  std::string velocity = "uniform";
  double v_max = 0.15;  // metres per step [P-src]
  // "permuted": B random orders of one sequence (the paper); "identical": every
  // trajectory in the same order (the no-permutation ablation); "independent":
  // every trajectory its own sequence (no shared end point).
  std::string trajectories = "permuted";
  WalkConfig walk;
};

struct LossConfig {
  double lambda_sep = 1.0;     // [P-src]
  double lambda_inv = 0.1;     // [P-src]
  double lambda_cap = 0.5;     // [P-src]
  double lambda_coniso = 1.0;  // [INF], not in the appendix table
  double sigma_x = 0.05;       // metres [P-src]
  double sigma_g = 0.4;        // [P-src]
  // The conformal-isometry term pools the steps with 0 < ||v|| < this (metres);
  // 0: sigma_x, as the paper's notes and the reproduction have it (sic-method 3.4).
  // Longer steps see the code's shape beyond its local metric [INF].
  double coniso_max_step = 0;
  // "mean" over masked ordered pairs (i != j), or the raw "sum" (sic-method 3.5).
  std::string reduction = "mean";
  int64_t pair_block = 1024;  // rows per block of the chunked pair losses
};

struct PlateauConfig {  // ReduceLROnPlateau, PyTorch defaults [INF]
  double factor = 0.1;
  int64_t patience = 10;      // in intervals
  double threshold = 1e-4;    // relative
  int64_t cooldown = 0;       // in intervals
  double min_lr = 0.0;
  int64_t interval = 1000;    // optimizer steps per plateau check (one "epoch")
};

struct OptimConfig {
  double lr = 2e-5;  // [X2]
  double weight_decay = 0.01;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double adam_eps = 1e-8;
  double grad_clip = 0.1;   // global L2 norm; 0 disables [P-src]
  int64_t accumulate = 2;   // micro-batches per optimizer step [P-src]
  int64_t steps = 2000000;  // optimizer steps [X2]
  PlateauConfig plateau;
};

struct RunConfig {
  int64_t seed = 0;
  std::string device = "cpu";  // "cpu", "cuda", "cuda:K"
  int64_t threads = 0;         // intra-op threads; 0 = all cores
  int64_t checkpoint_every = 1000;  // optimizer steps; 0 = only at the end
  int64_t log_every = 10;           // optimizer steps per learning-curve line
};

// Evaluation of a trained network (sic-method 5.1-5.5, docs/analysis.md): rate
// maps on the smooth walk in square arenas, grid scores, periods, modules.
struct EvalConfig {
  bool enabled = true;               // `sic train` evaluates at the end
  std::string arenas = "2,3,4";      // arena sides in metres, comma-separated [FIG]
  double bin_size = 0.04;            // metres per rate-map bin (50 bins for 2 m) [FIG, approx]
  int64_t bins = 0;                  // bins per side in every arena; 0 = arena / bin_size
  int64_t trajectories = 1000;       // walks per arena, all from g0 at the centre [INF]
  int64_t steps = 500;               // network inputs per walk [INF]
  int64_t steps_per_input = 0;       // walk steps per input; 0 = match the training step scale [INF]
  int64_t seed = 0;                  // evaluation walks, independent of run.seed
  double grid_threshold = 0.3;       // score60 above this (and a lattice) = grid unit [INF]
  bool nan_as_zero = false;          // reference quirk: unvisited bins as valid zeros
  bool min_max = true;               // score60 form for thresholds: min-max, else mean [INF]
  double module_bandwidth = 0.05;    // log-period KDE bandwidth for modules [INF]
};

// A quick evaluation during training (docs/analysis.md, "Probes"): every
// `every` optimizer steps, and at a rung where a sweep pauses the trial. It is
// the evaluation of EvalConfig with these four settings replaced (smaller, so
// that it costs seconds), and its metrics have the final evaluation's names.
// None of it changes training, so a run may resume with other probe settings.
struct ProbeConfig {
  int64_t every = 0;           // optimizer steps between probes; 0 = none
  std::string arenas = "";     // as eval.arenas; "" = the first of eval.arenas
  int64_t trajectories = 200;  // as eval.trajectories
  int64_t steps = 300;         // as eval.steps
};

struct Config {
  ModelConfig model;
  DataConfig data;
  LossConfig loss;
  OptimConfig optim;
  RunConfig run;
  EvalConfig eval;
  ProbeConfig probe;
};

// The evaluation a probe runs: config.eval with probe.arenas (or, when that
// is empty, the first arena of eval.arenas), trajectories and steps in place
// of eval's.
Config ProbeEvalConfig(const Config& config);

// Parses a config; anything wrong gives an error naming the dotted key.
Result<Config> ConfigFromJson(const nlohmann::json& json);
// Reads through ParseJson (sic/json_parse.h): at most 1 MiB, nested at most 32 deep.
Result<Config> ConfigFromFile(const std::string& path);
// The full config, every field present (the "effective config" of a run).
nlohmann::json ConfigToJson(const Config& config);

// Sets one field by dotted key ("loss.lambda_cap"), with the same checks as
// parsing. On error the config is unchanged.
Status ApplyOverride(Config& config, const std::string& dotted_key,
                     const nlohmann::json& value);

// The two halves of ApplyOverride, for a caller that sets many keys and checks
// once (a sweep's trials): SetField checks the field's own type, range and
// length (on error the config is unchanged); CheckConfig the rules between
// fields (run.device's form, walls against arenas, bins per arena).
Status SetField(Config& config, const std::string& dotted_key, const nlohmann::json& value);
Status CheckConfig(const Config& config);

// Every dotted key, in declaration order (for help texts and sweep validation).
std::vector<std::string> ConfigKeys();

// What a key accepts, as the errors say it: ">= 0", "in (0, 100]",
// "one of \"mean\", \"sum\"", "true or false". Empty for an unknown key.
std::string ConfigAllowed(const std::string& dotted_key);

// eval.arenas as numbers ("2,3,4" -> {2, 3, 4}); an error names what is wrong.
// At most kMaxArenasChars characters and kMaxArenas arenas.
// (A string rather than a JSON list keeps every config field a scalar.)
Result<std::vector<double>> ParseArenas(const std::string& arenas);

}  // namespace sic
