#include "worker/worker.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.h"
#include "proto/sweep.pb.h"

namespace sic {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

void SleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::string ErrorsKey(const std::string& prefix) { return prefix + ":errors"; }
std::string ErrorField(const v1::TrialJob& job) {
  return std::to_string(job.trial_id()) + ":" + std::to_string(job.round());
}

// Keeps one claimed entry's lease alive and watches for a cancel, on its own
// thread and Redis connection, until destroyed.
class Lease {
 public:
  Lease(const WorkerOptions& o, const std::string& consumer, const std::string& entry, int64_t sweep_id)
      : queue_(o.redis, o.prefix) {
    const int64_t every = o.heartbeat_ms > 0 ? o.heartbeat_ms : std::max<int64_t>(1, o.lease_ms / 3);
    thread_ = std::thread([this, consumer, entry, sweep_id, every] {
      std::unique_lock<std::mutex> lock(mu_);
      bool failing = false;
      while (!cv_.wait_for(lock, std::chrono::milliseconds(every), [this] { return done_; })) {
        lock.unlock();
        auto held = queue_.Heartbeat(consumer, entry);
        if (held.ok() && !held.value()) lost_ = true;
        // Once per outage: training goes on while Redis is away.
        if (!held.ok() && !failing) Log("heartbeat: " + held.status().message() + " (training goes on)");
        failing = !held.ok();
        auto canceled = queue_.IsCanceled(sweep_id);
        if (canceled.ok() && canceled.value()) canceled_ = true;
        lock.lock();
      }
    });
  }
  ~Lease() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool lost() const { return lost_; }
  bool canceled() const { return canceled_; }

 private:
  Queue queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> lost_{false}, canceled_{false};
  std::thread thread_;
};

}  // namespace

Worker::Worker(WorkerOptions options, TrialFn run) : options_(std::move(options)), run_(std::move(run)) {
  options_.concurrency = std::max(1, std::min(options_.concurrency, 64));
}

int Worker::Run() {
  Log("worker " + options_.name + ": " + std::to_string(options_.concurrency) + " slot(s), redis " +
      options_.redis.Address() + ", lease " + std::to_string(options_.lease_ms) + " ms");
  slots_running_ = options_.concurrency;  // before the registry, which runs while slots do
  std::thread registry([this] { Registry(); });
  std::vector<std::thread> slots;
  for (int s = 0; s < options_.concurrency; ++s) slots.emplace_back([this, s] { Slot(s); });
  for (auto& t : slots) t.join();
  registry.join();
  return 0;
}

// Publishes this worker in <prefix>:workers every 2 s, removed on exit.
void Worker::Registry() {
  Queue queue(options_.redis, options_.prefix);
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  while (slots_running_ > 0) {
    v1::Worker w;
    w.set_name(options_.name);
    w.set_host(host);
    w.set_pid(getpid());
    w.set_last_seen(NowSeconds());
    w.set_concurrency(options_.concurrency);
    for (int s = 0; s < options_.concurrency; ++s) {
      if (running_[s] != 0) w.add_running_trials(running_[s]);
    }
    (void)queue.PutWorker(options_.name, w.SerializeAsString());
    for (int i = 0; i < 20 && slots_running_ > 0; ++i) SleepMs(100);
  }
  (void)queue.RemoveWorker(options_.name);
}

void FillOutcome(const TrialRun& run, v1::TrialOutcome* o) {
  EncodeOutcome(run.metrics, run.curve, run.artifacts, o);
}

void Worker::Slot(int slot) {
  const std::string consumer = options_.name + "/" + std::to_string(slot);
  Queue queue(options_.redis, options_.prefix);
  bool down = false;
  // Retries a Redis command until it works or the worker stops.
  auto persist = [&](const char* what, const std::function<Status()>& fn) {
    for (int tries = 0;; ++tries) {
      Status s = fn();
      if (s.ok()) return true;
      if (tries == 0) Log(std::string(what) + ": " + s.message() + " (retrying)");
      if (stop_) return false;
      SleepMs(500);
    }
  };
  auto event = [&](const v1::TrialJob& job, int64_t delivery) {
    v1::WorkerEvent e;
    e.set_trial_id(job.trial_id());
    e.set_round(job.round());
    e.set_ticket(job.ticket());
    e.set_delivery(delivery);
    e.set_worker(options_.name);
    e.set_time(NowSeconds());
    return e;
  };
  auto finish = [&](const QueueEntry& entry, v1::WorkerEvent& e) {
    // The result first, then the acknowledgement: a crash in between only
    // redelivers a trial whose result the store then ignores.
    const std::string bytes = e.SerializeAsString();
    if (!persist("result", [&] { return queue.AddResult(bytes).status(); })) return;
    persist("ack", [&] { return queue.AckTrial(entry.id); });
  };

  auto last_work = Clock::now();
  while (!stop_) {
    if (options_.idle_exit_s > 0 &&
        Clock::now() - last_work > std::chrono::duration<double>(options_.idle_exit_s)) {
      Log("nothing to claim for " + std::to_string(static_cast<int64_t>(options_.idle_exit_s)) + " s; exiting");
      break;
    }
    auto claim = queue.ClaimTrial(consumer, options_.lease_ms, options_.block_ms);
    if (!claim.ok()) {
      if (!down) Log("claim: " + claim.status().message() + " (retrying)");
      down = true;
      SleepMs(1000);
      continue;
    }
    if (down) Log("claim: working again");
    down = false;
    if (!claim->has_value()) continue;
    const QueueEntry entry = std::move(*claim.value());
    last_work = Clock::now();
    v1::TrialJob job;
    if (!job.ParseFromString(entry.payload)) {
      Log("dropping malformed job " + entry.id);
      (void)queue.AckTrial(entry.id);
      continue;
    }
    const std::string label = "trial " + std::to_string(job.trial_id()) + " (" + job.name() + ", delivery " +
                              std::to_string(entry.deliveries) + ")";
    if (auto canceled = queue.IsCanceled(job.sweep_id()); canceled.ok() && canceled.value()) {
      Log(label + ": sweep canceled, skipped");
      (void)queue.AckTrial(entry.id);
      continue;
    }
    const double started = NowSeconds();
    const std::string dir = options_.checkpoint_dir + "/trial-" + std::to_string(job.trial_id()) + "-r" +
                            std::to_string(job.round());
    std::error_code ec;
    if (entry.deliveries > options_.max_deliveries) {
      auto last = queue.client().Command({"HGET", ErrorsKey(options_.prefix), ErrorField(job)});
      const std::string last_error = last.ok() && !last->is_nil() ? last->str : "the worker stopped or died";
      v1::WorkerEvent e = event(job, entry.deliveries);
      e.mutable_outcome()->set_ok(false);
      e.mutable_outcome()->set_error("delivered " + std::to_string(entry.deliveries) + " times (limit " +
                                     std::to_string(options_.max_deliveries) + "); last error: " + last_error);
      e.mutable_outcome()->set_started_at(started);
      e.mutable_outcome()->set_finished_at(started);
      Log(label + ": " + e.outcome().error());
      finish(entry, e);
      // A retry runs as a new round in a folder of its own: this one is done with.
      fs::remove_all(dir, ec);
      continue;
    }
    running_[slot] = job.trial_id();
    Result<TrialRun> run = Status::Error("config: not parsed");
    bool lost = false, canceled = false;
    {
      Lease lease(options_, consumer, entry.id, job.sweep_id());
      auto json = nlohmann::json::parse(job.config_json(), nullptr, false);
      auto config = json.is_discarded() ? Result<Config>(Status::Error("config: malformed JSON"))
                                        : ConfigFromJson(json);
      if (!config.ok()) {
        run = Status::Error("config: " + config.status().message());
      } else {
        if (config->run.threads == 0) {
          const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
          config->run.threads = options_.threads_per_trial > 0
                                    ? options_.threads_per_trial
                                    : std::max(1, cores / options_.concurrency);
        }
        v1::WorkerEvent first = event(job, entry.deliveries);
        first.mutable_progress()->set_total_steps(config->optim.steps);
        (void)queue.AddResult(first.SerializeAsString());  // "running"; losing it is harmless
        Log(label + ": started");
        auto last_sent = Clock::now();
        TrialHooks hooks;
        hooks.should_stop = [&] { return stop_ || lease.lost() || lease.canceled(); };
        hooks.on_progress = [&](const TrialProgress& p) {
          const auto now = Clock::now();
          if (now - last_sent < std::chrono::milliseconds(options_.progress_ms)) return;
          last_sent = now;
          v1::WorkerEvent e = event(job, entry.deliveries);
          auto* pr = e.mutable_progress();
          pr->set_step(p.step);
          pr->set_total_steps(p.total_steps);
          pr->set_loss_total(p.loss_total);
          pr->set_lr(p.lr);
          pr->set_steps_per_sec(p.steps_per_sec);
          (void)queue.AddResult(e.SerializeAsString());
        };
        run = run_(config.value(), dir, hooks);
      }
      lost = lease.lost();
      canceled = lease.canceled();
    }
    running_[slot] = 0;
    if (!run.ok()) {
      // Another delivery may succeed (a transient fault); the limit stops a
      // deterministic one. The error waits in Redis for the final report.
      Log(label + ": " + run.status().message());
      (void)queue.client().Command({"HSET", ErrorsKey(options_.prefix), ErrorField(job), run.status().message()});
      // So that the attempt shows its error now, not only in the final report.
      v1::WorkerEvent e = event(job, entry.deliveries);
      e.mutable_attempt_error()->set_error(run.status().message());
      e.mutable_attempt_error()->set_finished_at(NowSeconds());
      (void)queue.AddResult(e.SerializeAsString());
      (void)queue.Release(consumer, entry.id, options_.lease_ms);
    } else if (run->stopped) {
      if (lost) {
        Log(label + ": lease lost to another worker; dropped");
      } else if (canceled) {
        Log(label + ": sweep canceled; stopped");
        (void)queue.AckTrial(entry.id);
        fs::remove_all(dir, ec);
      } else {
        Log(label + ": stopped; checkpoint kept and trial released");
        (void)queue.Release(consumer, entry.id, options_.lease_ms);
      }
    } else {
      v1::WorkerEvent e = event(job, entry.deliveries);
      auto* o = e.mutable_outcome();
      FillOutcome(run.value(), o);
      o->set_started_at(started);
      o->set_finished_at(NowSeconds());
      finish(entry, e);
      Log(label + ": finished");
      fs::remove_all(dir, ec);
    }
    if (options_.one_shot) break;
    last_work = Clock::now();
  }
  --slots_running_;
}

}  // namespace sic
