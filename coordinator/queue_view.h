// QueueView: what waits in each device class's queue, and why, as
// GET /api/v1/queue and the dashboard's Queue view show it.
//
// Built from two snapshots: the live workers (the registry; a worker that
// lists no class is an older one and serves "cpu"; a memory queue such as
// cuda@40 is served by the class's workers that declare enough memory) and the count of trials by
// (device class, sweep, status) for the statuses pending (not yet fed),
// queued (in Redis) and running, with each sweep's owner, priority and cap.
// A worker that serves two classes counts its slots in both.
//
// WaitReason says in a few words why a sweep's waiting trials of one class
// wait, the most specific reason first:
//   ""                                        nothing of the sweep waits in the class
//   "no live worker serves class cuda"        no live worker claims from the class
//   ("... class cuda with 40 GB per GPU"      for a memory queue, cuda@40)
//   "queued, waiting for a free slot"         all of them are already in Redis
//   ("queued; lower-priority trials are asked to make room"   the same, for a
//                                             preempting sweep, when lower priorities run here)
//   "at its cap (max_running 2)"              the sweep's queued + running reached its max_running
//   "owner at the per-user cap (4)"           its owner's queued + running reached their cap (their
//                                             quota, else the coordinator's per-user default)
//   "lower-priority trials are asked to make room"   a preempting sweep (dispatch.h:
//                                             PlanPreemption), no idle slot, lower priorities run here
//   "behind higher-priority sweeps"           a sweep of higher priority has trials to feed in
//                                             the class and is not held back by a cap itself
//   "waiting for a free slot (fair share)"    otherwise: its turn comes with a free slot
// Waiting trials are the pending and queued ones; the reasons after the
// second are about pending trials (a queued trial is already fed, so caps and
// priorities no longer hold it back). Caps count queued + running over every
// class, as the dispatcher does (ServiceOptions::max_running_per_user).
//
// Pure functions of their arguments; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "coordinator/dispatch.h"  // WorkerSlots

namespace sic {

// The facts one reason is drawn from: one sweep in one class.
struct WaitFacts {
  std::string device_class;
  int64_t pending = 0;               // the sweep's trials of the class not yet fed
  int64_t queued = 0;                // ... fed, in Redis
  int64_t class_workers = 0;         // live workers serving the class
  int64_t sweep_active = 0;          // the sweep's queued + running trials, every class
  int64_t max_running = 0;           // the sweep's cap (0: none)
  int64_t owner_active = 0;          // the owner's queued + running trials, every class
  int64_t max_running_per_user = 0;  // the owner's cap: their quota, else the default (0: none)
  bool behind_higher_priority = false;
  // The sweep may preempt (spec "preempt"), no slot of the class is idle and
  // trials of a lower priority run in it: the coordinator asks them to go.
  bool preempting = false;
};

std::string WaitReason(const WaitFacts& facts);

// One row of the trial counts: a sweep's trials of one class in one status.
struct QueueCount {
  std::string device_class;
  int64_t sweep_id = 0;
  std::string status;  // pending, queued or running (others are ignored)
  int64_t count = 0;
  // The sweep's, repeated on each of its rows.
  std::string name;
  std::string owner;
  int64_t priority = 0;
  int64_t max_running = 0;
  int64_t owner_cap = -1;  // the owner's quota (-1: none; the default applies)
  bool preempt = false;    // the sweep may preempt running trials of lower priority
};


// {"classes": [{"class", "workers", "slots", "idle", "pending", "queued",
// "running", "sweeps": [{"sweep_id", "name", "owner", "priority", "pending",
// "queued", "running", "max_running", "owner_cap", "reason"}]}], "max_running_per_user"}
// (owner_cap: the owner's quota, else the default max_running_per_user; 0: none).
// Classes by name: those of the trials and those the workers serve. Sweeps of
// a class by priority (highest first), then id.
nlohmann::json BuildQueueView(const std::vector<QueueCount>& counts, const std::vector<WorkerSlots>& workers,
                              int64_t max_running_per_user);

}  // namespace sic
