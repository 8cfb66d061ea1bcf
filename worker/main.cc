// sic-worker: claims SIC trials from Redis and trains them in-process (see
// worker.h). SIGTERM/SIGINT: stop claiming, checkpoint and release the
// running trials, exit 0.
#include <signal.h>
#include <errno.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "common/log.h"
#include "common/resources.h"
#include "worker/gpu_memory.h"
#include "worker/trial_runner.h"
#include "worker/worker.h"

int main(int argc, char** argv) {
  sic::PrepareTrialRuntime(argv);
  CLI::App app{"sic-worker: trains the trials of sic sweeps, taken from Redis"};
  sic::WorkerOptions o;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  o.name = std::string(host) + "-" + std::to_string(getpid());
  std::string redis_address = "127.0.0.1:6379";
  app.add_option("--redis", redis_address, "Redis HOST:PORT")->envname("SIC_REDIS")->capture_default_str();
  app.add_option("--redis-password", o.redis.password, "Redis password")->envname("SIC_REDIS_PASSWORD");
  app.add_option("--prefix", o.prefix, "prefix of the Redis keys")->capture_default_str();
  app.add_option("--name", o.name, "worker name (unique)")->capture_default_str();
  app.add_option("--checkpoint-dir", o.checkpoint_dir, "where trials checkpoint (shared by workers that take over)")
      ->capture_default_str();
  app.add_option("--finished-dir", o.finished_dir,
                 "where the folder of a finished, early-stopped or canceled trial goes (checkpoint, curve, "
                 "evaluation files); default: removed");
  app.add_option("--lease-ms", o.lease_ms, "a claim idle this long is taken over")->capture_default_str();
  app.add_option("--heartbeat-ms", o.heartbeat_ms, "lease renewal period (0: lease / 3)")->capture_default_str();
  app.add_option("--max-deliveries", o.max_deliveries, "deliveries before a trial is failed")->capture_default_str();
  app.add_option("--progress-ms", o.progress_ms, "progress event period")->capture_default_str();
  auto* concurrency = app.add_option("--concurrency", o.concurrency, "trials side by side (CPU)")->capture_default_str();
  std::vector<std::string> classes;
  app.add_option("--class", classes,
                 "device class to claim trials of (repeatable, in order of preference; default cpu, or cuda with --gpus)")
      ->take_all();
  std::string gpus;
  auto* gpus_option = app.add_option("--gpus", gpus,
                                     "GPUs to run trials on (one trial each, or --trials-per-gpu): all, or indices like 0,1")
                          ->excludes(concurrency);
  app.add_option("--trials-per-gpu", o.trials_per_gpu,
                 "trials side by side on each GPU (small networks are launch-bound: several share a GPU well); "
                 "each may claim its share of the GPU's memory")
      ->check(CLI::Range(1, 64))->needs(gpus_option)->capture_default_str();
  app.add_option("--gpu-memory-gb", o.gpu_memory_gb, "memory of each GPU (default with --gpus: what the driver reports): the worker also claims trials that need up to this much (resources.gpu_memory_gb)")
      ->check(CLI::Range(0.0, sic::kMaxGpuMemoryGb));
  app.add_option("--threads-per-trial", o.threads_per_trial, "run.threads for trials that leave it 0 (0: cores / concurrency)")
      ->capture_default_str();
  app.add_flag("--one-shot", o.one_shot, "run one trial, then exit");
  app.add_option("--idle-exit-s", o.idle_exit_s, "exit after this long with nothing to claim (0: never)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  sic::SetLogName("sic-worker[" + o.name + "]");
  for (const auto& c : classes) {
    if (!sic::IsDeviceClass(c)) {
      std::cerr << "sic-worker: --class \"" << c.substr(0, 40)
                << "\" is not a device class (1-32 of a-z, 0-9 and '-', starting with a letter)\n";
      return 2;
    }
  }
  if (!gpus.empty()) {
    const int available = sic::CudaDeviceCount();
    if (gpus == "all") {
      if (available == 0) {
        std::cerr << "sic-worker: --gpus all: no CUDA device is visible to this worker\n";
        return 2;
      }
      for (int g = 0; g < std::min(available, 64); ++g) o.gpus.push_back(g);
    } else {
      std::set<int> seen;
      std::stringstream in(gpus);
      std::string item;
      while (std::getline(in, item, ',')) {
        char* end = nullptr;
        const long g = std::strtol(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || g < 0 || g > 63 || !seen.insert(static_cast<int>(g)).second) {
          std::cerr << "sic-worker: --gpus \"" << gpus.substr(0, 80)
                    << "\": must be all, or distinct GPU indices in [0, 63] separated by commas\n";
          return 2;
        }
        if (g >= available) {
          std::cerr << "sic-worker: --gpus: GPU " << g << " does not exist (" << available
                    << " CUDA device(s) visible)\n";
          return 2;
        }
        o.gpus.push_back(static_cast<int>(g));
      }
      if (o.gpus.empty()) {
        std::cerr << "sic-worker: --gpus: no GPU listed\n";
        return 2;
      }
    }
  }
  // GPUs whose memory was not declared report their own (the driver's
  // figure); a CPU stand-in for a GPU worker declares it or serves no memory queue.
  if (!o.gpus.empty() && o.gpu_memory_gb <= 0) o.gpu_memory_gb = sic::GpuMemoryGb(o.gpus);
  if (!classes.empty()) {
    o.classes = classes;
  } else {
    o.classes = {o.gpus.empty() ? "cpu" : "cuda"};
  }
  if (sic::Status s = sic::ParseRedisAddress(redis_address, o.redis); !s.ok()) {
    std::cerr << "sic-worker: " << s.message() << "\n";
    return 2;
  }
  // A handler, not sigwait: LibTorch may have started threads before main
  // that do not block the signals. The handler only writes to a pipe; a
  // thread reads it and asks the worker to stop.
  static int wake[2];
  if (pipe(wake) != 0) {
    std::cerr << "sic-worker: cannot create a pipe\n";
    return 1;
  }
  struct sigaction sa = {};
  sa.sa_handler = [](int) { (void)!write(wake[1], "s", 1); };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  sic::Worker worker(o, sic::RunTrial);
  std::thread waiter([&] {
    char c = 0;
    while (read(wake[0], &c, 1) < 0 && errno == EINTR) {
    }
    if (c == 's') {
      sic::Log("stopping: no new trials; running ones checkpoint and are released");
      worker.RequestStop();
    }
  });
  const int rc = worker.Run();
  (void)!write(wake[1], "q", 1);  // the worker ended by itself (--one-shot)
  waiter.join();
  return rc;
}
