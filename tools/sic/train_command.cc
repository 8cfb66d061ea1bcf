// sic train CONFIG.json --out DIR [--steps N] [--resume | --from RUN_DIR_OR_CHECKPOINT]
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>

#include "sic/config.h"
#include "sic/trainer.h"
#include "tools/sic/cli_args.h"
#include "tools/sic/commands.h"
#include "tools/sic/evaluation.h"

namespace sic {
namespace {

std::atomic<bool> g_stop_requested{false};
// The first Ctrl-C (or SIGTERM) checkpoints and stops; a second one kills.
void RequestStop(int signal) {
  g_stop_requested = true;
  std::signal(signal, SIG_DFL);
}

std::string FormatDuration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) return "--";
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, s / 60 % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

std::string FormatLosses(const StepLosses& l) {
  char buf[192];
  const int n = std::snprintf(buf, sizeof buf, "sep %.4f inv %.4f cap %.4f coniso %.4f total %.4f", l.sep, l.inv,
                              l.cap, l.coniso, l.total);
  if (l.dead > 0 && n > 0) std::snprintf(buf + n, sizeof buf - n, " dead %.1f%%", 100 * l.dead);
  return buf;
}

// A progress bar redrawn in place on a terminal (at most 10 times a second), or
// one plain line per curve interval when output goes to a file or pipe.
class ProgressPrinter {
 public:
  ProgressPrinter(int64_t log_every, int64_t start_step) : log_every_(log_every), start_step_(start_step) {
    terminal_ = isatty(STDERR_FILENO);
  }
  void operator()(const Progress& p) {
    const double eta = p.steps_per_sec > 0 ? (p.total_steps - p.step) / p.steps_per_sec : -1;
    if (!terminal_) {
      if (p.step % log_every_ == 0 || p.step == p.total_steps) {
        std::printf("step %lld/%lld  %s  lr %.3g  %.2f steps/s  ETA %s\n", static_cast<long long>(p.step),
                    static_cast<long long>(p.total_steps), FormatLosses(p.losses).c_str(), p.lr, p.steps_per_sec,
                    FormatDuration(eta).c_str());
        std::fflush(stdout);
      }
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (p.step != p.total_steps && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const int width = 24;
    const double frac = p.total_steps > 0 ? static_cast<double>(p.step) / p.total_steps : 1.0;
    std::string bar(width, ' ');
    for (int i = 0; i < static_cast<int>(frac * width); ++i) bar[i] = '#';
    std::fprintf(stderr, "\r[%s] %lld/%lld %3.0f%% %.2f steps/s ETA %s | %s\x1b[K", bar.c_str(),
                 static_cast<long long>(p.step), static_cast<long long>(p.total_steps), 100 * frac,
                 p.steps_per_sec, FormatDuration(eta).c_str(), FormatLosses(p.losses).c_str());
    drawn_ = true;
  }
  void Finish() {  // ends a bar drawn in place (before other output, and at the end)
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
  }

 private:
  int64_t log_every_;
  int64_t start_step_;
  bool terminal_ = false;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "sic train: %s\n", message.c_str());
  return 1;
}

}  // namespace

int TrainCommand(const std::vector<std::string>& argv) {
  auto args = Args::Parse(argv, {"--out", "--steps", "--from"}, {"--resume"});
  if (!args.ok()) return Fail(args.status().message());
  if (args->positional().size() != 1) {
    return Fail("usage: sic train CONFIG.json --out DIR [--steps N] [--resume | --from RUN_DIR_OR_CHECKPOINT]");
  }
  if (args->Has("--from") && args->Has("--resume")) return Fail("--from starts a new run: give --resume or --from");
  const auto out = args->Value("--out");
  if (!out || out->empty()) return Fail("--out DIR is required");

  auto config = ConfigFromFile(args->positional()[0]);
  if (!config.ok()) return Fail(config.status().message());
  if (args->Has("--steps")) {
    auto steps = args->Integer("--steps", 0);
    if (!steps.ok()) return Fail(steps.status().message());
    if (Status s = ApplyOverride(config.value(), "optim.steps", steps.value()); !s.ok()) {
      return Fail("--steps: " + s.message());
    }
  }

  // --from: a branch of another run (Trainer::Branch), e.g. the same network
  // trained on at a lower learning rate.
  const auto from = args->Value("--from");
  auto trainer = from ? Trainer::Branch(config.value(), *out, *from)
                      : Trainer::Open(config.value(), *out, args->Has("--resume"));
  if (!trainer.ok()) return Fail(trainer.status().message());
  Trainer& t = *trainer.value();
  std::fprintf(stderr, "sic: %s\n", DescribeRuntime(t.runtime()).c_str());
  if (from) {
    std::fprintf(stderr, "sic: branched from %s at step %lld, lr %g\n", from->c_str(),
                 static_cast<long long>(t.step()), t.lr());
  }
  if (!t.runtime().blas_warning.empty()) std::fprintf(stderr, "sic: warning: %s\n", t.runtime().blas_warning.c_str());
  if (t.step() > 0 && !from) {
    std::fprintf(stderr, "sic: resuming %s at step %lld\n", out->c_str(), static_cast<long long>(t.step()));
  }

  std::signal(SIGINT, RequestStop);
  std::signal(SIGTERM, RequestStop);
  ProgressPrinter printer(t.config().run.log_every, t.step());
  StepLosses last;
  TrainHooks hooks;
  hooks.on_progress = [&](const Progress& p) {
    last = p.losses;
    printer(p);
  };
  hooks.should_stop = [] { return g_stop_requested.load(); };
  // Probes (probe.every): the quick evaluation, into OUT/probe/step-<N>/.
  const Config probe_config = ProbeEvalConfig(t.config());
  hooks.on_probe = [&](int64_t step, SicNet& model) {
    printer.Finish();
    const std::string dir = *out + "/probe/step-" + std::to_string(step);
    return EvaluateToDir(model, probe_config, ParseDevice(t.config().run.device).value(), step, dir, "train probe");
  };
  auto outcome = t.Run(hooks);
  printer.Finish();
  if (!outcome.ok()) return Fail(outcome.status().message());

  std::printf("final (step %lld): %s\n", static_cast<long long>(t.step()), FormatLosses(last).c_str());
  std::printf("wrote %s/config.json, %s/curve.jsonl, %s\n", out->c_str(), out->c_str(), CheckpointPath(*out).c_str());
  if (outcome.value() == TrainOutcome::kStopped) {
    std::printf("stopped at step %lld; continue with: sic train %s --out %s --resume\n",
                static_cast<long long>(t.step()), args->positional()[0].c_str(), out->c_str());
    return 130;
  }
  if (t.config().eval.enabled) {  // sic-method 5: every finished run ends with its evaluation
    const auto device = ParseDevice(t.config().run.device);  // Open already accepted it
    if (Status s = EvaluateToDir(t.model(), t.config(), device.value(), t.step(), *out + "/eval", "train"); !s.ok()) {
      return Fail("evaluation: " + s.message());
    }
  }
  return 0;
}

}  // namespace sic
