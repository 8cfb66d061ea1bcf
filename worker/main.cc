// sic-worker: claims SIC trials from Redis and trains them in-process (see
// worker.h). SIGTERM/SIGINT: stop claiming, checkpoint and release the
// running trials, exit 0.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "common/log.h"
#include "worker/trial_runner.h"
#include "worker/worker.h"

namespace {
const char* Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
}  // namespace

int main(int argc, char** argv) {
  sic::PrepareTrialRuntime(argv);
  CLI::App app{"sic-worker: trains the trials of sic sweeps, taken from Redis"};
  sic::WorkerOptions o;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  o.name = std::string(host) + "-" + std::to_string(getpid());
  std::string redis_address = Env("SIC_REDIS", "127.0.0.1:6379");
  o.redis.password = Env("SIC_REDIS_PASSWORD", "");
  app.add_option("--redis", redis_address, "Redis HOST:PORT (env SIC_REDIS)")->capture_default_str();
  app.add_option("--redis-password", o.redis.password, "Redis password (env SIC_REDIS_PASSWORD)");
  app.add_option("--prefix", o.prefix, "prefix of the Redis keys")->capture_default_str();
  app.add_option("--name", o.name, "worker name (unique)")->capture_default_str();
  app.add_option("--checkpoint-dir", o.checkpoint_dir, "where trials checkpoint (shared by workers that take over)")
      ->capture_default_str();
  app.add_option("--lease-ms", o.lease_ms, "a claim idle this long is taken over")->capture_default_str();
  app.add_option("--heartbeat-ms", o.heartbeat_ms, "lease renewal period (0: lease / 3)")->capture_default_str();
  app.add_option("--max-deliveries", o.max_deliveries, "deliveries before a trial is failed")->capture_default_str();
  app.add_option("--progress-ms", o.progress_ms, "progress event period")->capture_default_str();
  app.add_option("--concurrency", o.concurrency, "trials side by side (CPU)")->capture_default_str();
  app.add_option("--threads-per-trial", o.threads_per_trial, "run.threads for trials that leave it 0 (0: cores / concurrency)")
      ->capture_default_str();
  app.add_flag("--one-shot", o.one_shot, "run one trial, then exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  sic::SetLogName("sic-worker[" + o.name + "]");
  if (sic::Status s = sic::ParseRedisAddress(redis_address, o.redis); !s.ok()) {
    std::cerr << "sic-worker: " << s.message() << "\n";
    return 2;
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  sic::Worker worker(o, sic::RunTrial);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (sig == SIGTERM || sig == SIGINT) {
      sic::Log("stopping: no new trials; running ones checkpoint and are released");
      worker.RequestStop();
    }
  });
  const int rc = worker.Run();
  // Wake the waiter if the worker ended by itself (--one-shot).
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return rc;
}
