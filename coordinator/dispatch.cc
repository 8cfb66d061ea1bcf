#include "coordinator/dispatch.h"

#include <algorithm>
#include <limits>
#include <map>
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

int64_t UserCap(const DispatchSweep& sweep, const DispatchPolicy& policy) {
  return OwnerCap(sweep.user_cap, policy.max_running_per_user);
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
        const int64_t user_cap = UserCap(*s, policy);
        if (user_cap > 0 && user_active[s->owner] >= user_cap) continue;
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

std::vector<PreemptPick> PlanPreemption(const std::vector<DispatchSweep>& sweeps,
                                        const std::vector<RunningTrial>& running,
                                        const std::map<std::string, int64_t>& slots,
                                        const std::set<std::pair<int64_t, int64_t>>& asked,
                                        const DispatchPolicy& policy) {
  std::vector<PreemptPick> out;
  // Running trials per sweep and per user (over every class): the caps.
  std::map<int64_t, int64_t> sweep_running;
  std::map<std::string, int64_t> user_running;
  for (const DispatchSweep& s : sweeps) {
    sweep_running[s.sweep_id] += s.running;
    user_running[s.owner] += s.running;
  }
  std::set<std::string> queues;
  for (const DispatchSweep& s : sweeps) {
    if (s.preempt && s.pending + s.queued > 0) queues.insert(s.device_class);
  }
  for (const std::string& q : queues) {
    std::vector<const DispatchSweep*> preempting;
    for (const DispatchSweep& s : sweeps) {
      if (s.device_class == q && s.preempt && s.pending + s.queued > 0) preempting.push_back(&s);
    }
    std::stable_sort(preempting.begin(), preempting.end(), [](const DispatchSweep* a, const DispatchSweep* b) {
      return a->priority > b->priority || (a->priority == b->priority && a->sweep_id < b->sweep_id);
    });
    int64_t running_here = 0, yielding = 0;
    std::vector<const RunningTrial*> victims, waiting;
    std::map<int64_t, int64_t> newest_queued;  // sweep -> its newest queued ticket
    for (const RunningTrial& t : running) {
      if (t.device_class != q) continue;
      if (t.queued) {
        newest_queued[t.sweep_id] = std::max(newest_queued[t.sweep_id], t.ticket);
        if (!asked.count({t.trial_id, t.ticket})) waiting.push_back(&t);
        continue;
      }
      ++running_here;
      if (asked.count({t.trial_id, t.ticket})) {
        ++yielding;
      } else {
        victims.push_back(&t);
      }
    }
    // Lowest priority first, then the youngest attempt, then the newest trial.
    std::sort(victims.begin(), victims.end(), [](const RunningTrial* a, const RunningTrial* b) {
      return std::make_tuple(a->priority, -a->started_at, -a->trial_id) <
             std::make_tuple(b->priority, -b->started_at, -b->trial_id);
    });
    auto slot = slots.find(q);
    int64_t free = std::max<int64_t>(0, (slot == slots.end() ? 0 : slot->second) - running_here) + yielding;
    std::vector<char> taken(victims.size(), 0);
    for (const DispatchSweep* p : preempting) {
      int64_t want = p->pending + p->queued;
      if (p->max_running > 0) want = std::min(want, p->max_running - sweep_running[p->sweep_id]);
      if (const int64_t user_cap = UserCap(*p, policy); user_cap > 0) {
        want = std::min(want, user_cap - user_running[p->owner]);
      }
      if (want <= 0) continue;
      // Lower-priority queued jobs ahead of this sweep's trials (tickets grow
      // with the stream): asked, so that the next free slot claims this sweep's.
      const int64_t ahead_of = p->pending > 0 ? std::numeric_limits<int64_t>::max() : newest_queued[p->sweep_id];
      for (const RunningTrial*& w : waiting) {
        if (w && w->priority < p->priority && w->ticket < ahead_of) {
          out.push_back({w->trial_id, w->ticket});
          w = nullptr;
        }
      }
      const int64_t from_free = std::clamp<int64_t>(want, 0, free);
      free -= from_free;
      want -= from_free;
      sweep_running[p->sweep_id] += from_free;
      user_running[p->owner] += from_free;
      for (size_t i = 0; want > 0 && i < victims.size(); ++i) {
        if (taken[i] || victims[i]->priority >= p->priority) continue;
        taken[i] = 1;
        out.push_back({victims[i]->trial_id, victims[i]->ticket});
        --want;
        // The slot it frees runs one of this sweep's trials: it counts for the caps.
        ++sweep_running[p->sweep_id];
        ++user_running[p->owner];
      }
    }
  }
  return out;
}

}  // namespace sic
