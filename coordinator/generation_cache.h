// GenerationCache: values computed from one sweep's data (a sorted trial
// order, a summary), each kept with the sweep's Store::Generation at the time
// it was read. A value is served while the generation is unchanged, so a
// finished sweep's pages cost one computation. A user's change (cancel,
// retry) is seen by the next request. While a sweep ingests results, its
// `ingested` count moves many times a second; a value then stays in use for
// up to `max_stale` after it was read, and one caller recomputes it while the
// others go on with the old one (stale-while-revalidate), so a busy sweep
// costs one computation per key per `max_stale`, not one per request.
// Least recently used values go first past `capacity`.
//
// Thread-safety: thread-safe. Values are shared and immutable; `compute` runs
// without the lock held.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "common/store.h"
#include "sic/status.h"

namespace sic {

template <typename V>
class GenerationCache {
 public:
  using Clock = std::chrono::steady_clock;

  GenerationCache(size_t capacity, Clock::duration max_stale) : capacity_(capacity), max_stale_(max_stale) {}

  // The value for `key` at `generation` (or one read at most max_stale ago),
  // calling `compute` when there is none.
  Result<std::shared_ptr<const V>> Get(const std::string& key, SweepGeneration generation,
                                       const std::function<Result<V>()>& compute) {
    const Clock::time_point now = Clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = index_.find(key);
      if (it != index_.end()) {
        Entry& e = *it->second;
        entries_.splice(entries_.begin(), entries_, it->second);
        if (e.generation == generation) return e.value;
        if (e.generation.requested == generation.requested && (now - e.read_at < max_stale_ || e.refreshing)) {
          return e.value;
        }
        e.refreshing = true;  // this caller refreshes; the others keep the old value meanwhile
      }
    }
    Result<V> fresh = compute();
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
    entries_.push_front({key, generation, now, false, value});
    index_[key] = entries_.begin();
    while (entries_.size() > capacity_) {
      index_.erase(entries_.back().key);
      entries_.pop_back();
    }
    return value;
  }

 private:
  struct Entry {
    std::string key;
    SweepGeneration generation;
    Clock::time_point read_at;  // before compute began: the data is at least this new
    bool refreshing;
    std::shared_ptr<const V> value;
  };
  const size_t capacity_;
  const Clock::duration max_stale_;
  std::mutex mu_;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;
};

}  // namespace sic
