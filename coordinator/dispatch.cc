#include "coordinator/dispatch.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "common/resources.h"

namespace sic {

std::map<std::string, int64_t> SlotsByQueue(const std::vector<WorkerSlots>& workers,
                                            const std::vector<std::string>& queues) {
  std::set<std::string> all(queues.begin(), queues.end());
  for (const WorkerSlots& w : workers) {
    if (w.classes.empty()) all.insert("cpu");
    all.insert(w.classes.begin(), w.classes.end());
  }
  std::map<std::string, int64_t> slots;
  for (const std::string& q : all) {
    for (const WorkerSlots& w : workers) {
      if (Serves(w.classes, w.gpu_memory_gb, q)) slots[q] += std::max<int64_t>(1, w.concurrency);
    }
  }
  return slots;
}

std::vector<DispatchPick> PlanDispatch(const std::vector<DispatchSweep>& sweeps,
                                       const std::map<std::string, int64_t>& slots, const DispatchPolicy& policy) {
  // In flight (queued + running), counted over every class: caps and fair
  // share are about a sweep's and a user's whole footprint.
  std::map<int64_t, int64_t> sweep_active;
  std::map<std::string, int64_t> user_active, class_active;
  std::set<std::string> classes;
  for (const DispatchSweep& s : sweeps) {
    const int64_t active = s.queued + s.running;
    sweep_active[s.sweep_id] += active;
    user_active[s.owner] += active;
    class_active[s.device_class] += active;
    if (s.pending > 0) classes.insert(s.device_class);
  }
  std::vector<DispatchPick> out;
  for (const std::string& c : classes) {
    auto slot = slots.find(c);
    int64_t budget = (slot == slots.end() ? 0 : slot->second) + policy.ahead - class_active[c];
    std::vector<const DispatchSweep*> candidates;
    for (const DispatchSweep& s : sweeps) {
      if (s.device_class == c && s.pending > 0) candidates.push_back(&s);
    }
    std::map<const DispatchSweep*, int64_t> picked;
    while (budget > 0) {
      const DispatchSweep* best = nullptr;
      auto key = [&](const DispatchSweep* s) {
        return std::make_tuple(-s->priority, user_active[s->owner], sweep_active[s->sweep_id], s->sweep_id);
      };
      for (const DispatchSweep* s : candidates) {
        if (picked[s] >= s->pending) continue;
        if (s->max_running > 0 && sweep_active[s->sweep_id] >= s->max_running) continue;
        if (policy.max_running_per_user > 0 && user_active[s->owner] >= policy.max_running_per_user) continue;
        if (!best || key(s) < key(best)) best = s;
      }
      if (!best) break;
      // In the order picked: the queue is first in, first out.
      if (!out.empty() && out.back().sweep_id == best->sweep_id && out.back().device_class == c) {
        ++out.back().count;
      } else {
        out.push_back({best->sweep_id, c, 1});
      }
      ++picked[best];
      ++sweep_active[best->sweep_id];
      ++user_active[best->owner];
      --budget;
    }
  }
  return out;
}

}  // namespace sic
