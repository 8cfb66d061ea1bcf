#include "coordinator/queue_view.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/resources.h"

namespace sic {

using nlohmann::json;

std::string WaitReason(const WaitFacts& f) {
  if (f.pending + f.queued <= 0) return "";
  if (f.class_workers <= 0) return "no live worker serves " + DescribeQueue(f.device_class);
  if (f.pending <= 0) {
    return f.preempting ? "queued; lower-priority trials are asked to make room" : "queued, waiting for a free slot";
  }
  if (f.max_running > 0 && f.sweep_active >= f.max_running) {
    return "at its cap (max_running " + std::to_string(f.max_running) + ")";
  }
  if (f.max_running_per_user > 0 && f.owner_active >= f.max_running_per_user) {
    return "owner at the per-user cap (" + std::to_string(f.max_running_per_user) + ")";
  }
  if (f.preempting) return "lower-priority trials are asked to make room";
  if (f.behind_higher_priority) return "behind higher-priority sweeps";
  return "waiting for a free slot (fair share)";
}

namespace {

struct SweepInClass {
  int64_t sweep_id = 0;
  std::string name, owner;
  int64_t priority = 0, max_running = 0;
  int64_t owner_cap = 0;  // the owner's quota, else the per-user default (0: none)
  bool preempt = false;
  int64_t pending = 0, queued = 0, running = 0;
};

struct ClassTotals {
  int64_t workers = 0, slots = 0, idle = 0;
  std::map<int64_t, SweepInClass> sweeps;
};

}  // namespace

json BuildQueueView(const std::vector<QueueCount>& counts, const std::vector<WorkerSlots>& workers,
                    int64_t max_running_per_user) {
  // The queues: those the workers' classes name and those trials wait or run in.
  std::set<std::string> names;
  for (const WorkerSlots& w : workers) {
    if (w.classes.empty()) names.insert("cpu");
    names.insert(w.classes.begin(), w.classes.end());
  }
  for (const QueueCount& q : counts) {
    if (q.status == "pending" || q.status == "queued" || q.status == "running") names.insert(q.device_class);
  }
  std::map<std::string, ClassTotals> classes;
  for (const std::string& name : names) {
    ClassTotals& t = classes[name];
    for (const WorkerSlots& w : workers) {
      if (!Serves(w.classes, w.gpu_memory_gb, name)) continue;
      const int64_t slots = std::max<int64_t>(1, w.concurrency);
      t.workers += 1;
      t.slots += slots;
      t.idle += std::max<int64_t>(0, slots - w.running);
    }
  }
  std::map<int64_t, int64_t> sweep_active;       // queued + running, every class
  std::map<std::string, int64_t> owner_active;   // likewise, per owner
  for (const QueueCount& q : counts) {
    if (q.status != "pending" && q.status != "queued" && q.status != "running") continue;
    SweepInClass& s = classes[q.device_class].sweeps[q.sweep_id];
    s.sweep_id = q.sweep_id;
    s.name = q.name;
    s.owner = q.owner;
    s.priority = q.priority;
    s.max_running = q.max_running;
    s.owner_cap = OwnerCap(q.owner_cap, max_running_per_user);
    s.preempt = q.preempt;
    (q.status == "pending" ? s.pending : q.status == "queued" ? s.queued : s.running) += q.count;
    if (q.status != "pending") {
      sweep_active[q.sweep_id] += q.count;
      owner_active[q.owner] += q.count;
    }
  }
  auto capped = [&](const SweepInClass& s) {
    return (s.max_running > 0 && sweep_active[s.sweep_id] >= s.max_running) ||
           (s.owner_cap > 0 && owner_active[s.owner] >= s.owner_cap);
  };

  json out = json::array();
  for (auto& [name, c] : classes) {
    std::vector<const SweepInClass*> order;
    for (const auto& [id, s] : c.sweeps) order.push_back(&s);
    std::sort(order.begin(), order.end(), [](const SweepInClass* a, const SweepInClass* b) {
      return a->priority != b->priority ? a->priority > b->priority : a->sweep_id < b->sweep_id;
    });
    int64_t pending = 0, queued = 0, running = 0;
    bool any_feedable = false;  // a sweep seen so far (higher or equal priority) has trials to feed, uncapped
    int64_t top_feedable = 0;   // the highest priority of those
    json sweeps = json::array();
    for (const SweepInClass* s : order) {
      pending += s->pending;
      queued += s->queued;
      running += s->running;
      WaitFacts f;
      f.device_class = name;
      f.pending = s->pending;
      f.queued = s->queued;
      f.class_workers = c.workers;
      f.sweep_active = sweep_active[s->sweep_id];
      f.max_running = s->max_running;
      f.owner_active = owner_active[s->owner];
      f.max_running_per_user = s->owner_cap;
      // In priority order, every sweep of a higher priority came before this one.
      f.behind_higher_priority = any_feedable && top_feedable > s->priority;
      // Preemption asks for room when every slot is taken and a lower priority runs here.
      f.preempting = s->preempt && c.idle <= 0 &&
                     std::any_of(order.begin(), order.end(), [&](const SweepInClass* o) {
                       return o->priority < s->priority && o->running > 0;
                     });
      if (s->pending > 0 && !capped(*s) && !any_feedable) {
        any_feedable = true;
        top_feedable = s->priority;
      }
      sweeps.push_back({{"sweep_id", s->sweep_id}, {"name", s->name}, {"owner", s->owner},
                        {"priority", s->priority}, {"pending", s->pending}, {"queued", s->queued},
                        {"running", s->running}, {"max_running", s->max_running}, {"owner_cap", s->owner_cap},
                        {"reason", WaitReason(f)}});
    }
    out.push_back({{"class", name}, {"workers", c.workers}, {"slots", c.slots}, {"idle", c.idle},
                   {"pending", pending}, {"queued", queued}, {"running", running}, {"sweeps", std::move(sweeps)}});
  }
  return {{"classes", std::move(out)}, {"max_running_per_user", max_running_per_user}};
}

}  // namespace sic
