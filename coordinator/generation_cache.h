// GenerationCache: values computed from one sweep's data (a sorted trial
// order, a summary), each kept with the sweep's Store::Generation at the time
// it was read. A value is served while the generation is unchanged, so a
// finished sweep's pages cost one computation. A user's change (cancel,
// retry) is seen by the next request, which recomputes the value itself.
// While a sweep ingests results, its `ingested` count moves many times a
// second: the old value is then served on, and once it is `max_stale` old a
// background thread recomputes it (stale-while-revalidate), so a busy sweep
// costs one computation per key per `max_stale`, and no request waits for one.
// Least recently used values go first past `capacity`.
//
// Thread-safety: thread-safe. Values are shared and immutable. `compute`
// runs without the lock held, on the caller's thread or the refresher's, so
// it must not use anything the caller owns (take its own database reader).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/store.h"
#include "sic/status.h"

namespace sic {

template <typename V>
class GenerationCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Compute = std::function<Result<V>()>;

  GenerationCache(size_t capacity, Clock::duration max_stale)
      : capacity_(capacity), max_stale_(max_stale), refresher_([this] { Refresher(); }) {}
  ~GenerationCache() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    refresher_.join();
  }
  GenerationCache(const GenerationCache&) = delete;
  GenerationCache& operator=(const GenerationCache&) = delete;

  // The value for `key` at `generation`, or an older one under the rules
  // above; calls `compute` when there is none to serve.
  Result<std::shared_ptr<const V>> Get(const std::string& key, SweepGeneration generation, Compute compute) {
    const Clock::time_point now = Clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = index_.find(key);
      if (it != index_.end()) {
        Entry& e = *it->second;
        entries_.splice(entries_.begin(), entries_, it->second);
        if (e.generation == generation) return e.value;
        if (e.generation.requested == generation.requested) {
          if (now - e.read_at >= max_stale_ && !e.refreshing) {
            e.refreshing = true;
            tasks_.push_back({key, generation, std::move(compute)});
            cv_.notify_one();
          }
          return e.value;
        }
      }
    }
    return Put(key, generation, now, compute());
  }

 private:
  struct Entry {
    std::string key;
    SweepGeneration generation;
    Clock::time_point read_at;  // before compute began: the data is at least this new
    bool refreshing;
    std::shared_ptr<const V> value;
  };
  struct Task {
    std::string key;
    SweepGeneration generation;
    Compute compute;
  };

  Result<std::shared_ptr<const V>> Put(const std::string& key, SweepGeneration generation,
                                         Clock::time_point read_at, Result<V> fresh) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fresh.ok()) {
      if (auto it = index_.find(key); it != index_.end()) it->second->refreshing = false;
      return fresh.status();
    }
    auto value = std::make_shared<const V>(std::move(fresh.value()));
    if (auto it = index_.find(key); it != index_.end()) {
      entries_.erase(it->second);
      index_.erase(it);
    }
    entries_.push_front({key, generation, read_at, false, value});
    index_[key] = entries_.begin();
    while (entries_.size() > capacity_) {
      index_.erase(entries_.back().key);
      entries_.pop_back();
    }
    return value;
  }

  void Refresher() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
      if (stop_) return;
      Task task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      const Clock::time_point read_at = Clock::now();
      (void)Put(task.key, task.generation, read_at, task.compute());
      lock.lock();
    }
  }

  const size_t capacity_;
  const Clock::duration max_stale_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                    // guarded by mu_
  std::deque<Task> tasks_;               // guarded by mu_
  std::list<Entry> entries_;             // guarded by mu_; most recently used first
  std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;  // guarded by mu_
  std::thread refresher_;                // last: starts after everything it uses
};

}  // namespace sic
