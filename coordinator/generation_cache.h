// GenerationCache: values computed from one sweep's data (a sorted trial
// order, a summary), each kept with the sweep's Store::Generation at the time
// it was read. A value is served while the generation is unchanged, so a
// finished sweep's pages cost one computation, and a live one recomputes only
// after a write. Least recently used values go first past `capacity`.
//
// Thread-safety: thread-safe. Values are shared, immutable.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace sic {

template <typename V>
class GenerationCache {
 public:
  explicit GenerationCache(size_t capacity) : capacity_(capacity) {}

  // The value stored under `key` for exactly this generation, or null.
  std::shared_ptr<const V> Get(const std::string& key, uint64_t generation) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end() || it->second->generation != generation) return nullptr;
    entries_.splice(entries_.begin(), entries_, it->second);
    return it->second->value;
  }

  void Put(const std::string& key, uint64_t generation, std::shared_ptr<const V> value) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      entries_.erase(it->second);
      index_.erase(it);
    }
    entries_.push_front({key, generation, std::move(value)});
    index_[key] = entries_.begin();
    while (entries_.size() > capacity_) {
      index_.erase(entries_.back().key);
      entries_.pop_back();
    }
  }

 private:
  struct Entry {
    std::string key;
    uint64_t generation;
    std::shared_ptr<const V> value;
  };
  const size_t capacity_;
  std::mutex mu_;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;
};

}  // namespace sic
