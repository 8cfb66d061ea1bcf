// TrialState: a trial's life cycle as one table of events, the states each
// may start from and the state it leads to. The store takes the `status IN
// (...)` list of every UPDATE that moves a trial from here, so no code path
// can move a trial outside the table (docs/sweep-service.md shows it).
//
//   event      from                        to         who
//   submit     (none)                      pending    Submit: the sweep and its trials
//   enqueue    pending                     queued     enqueue pump: ticket issued, job in sic:trials
//   start      pending, queued, running    running    a worker's progress event (same round)
//   finish     pending, queued, running    succeeded  a worker's ok outcome (first of the round)
//   fail       pending, queued, running    failed     a failed outcome (past the delivery limit)
//   cancel     pending, queued, running    canceled   Cancel
//   retry      failed                      pending    RetryFailed (new round); refused when the
//                                                     sweep is canceled (FailedPrecondition)
//   reconcile  queued, running             pending    Redis lost the job (reconciler, or Redis
//                                                     came back without its data)
//
// succeeded and canceled are final for good; failed is final until a retry.
// Thread-safety: immutable tables; safe to share.
#pragma once

#include <string>
#include <vector>

namespace sic {

enum class TrialEvent { kSubmit, kEnqueue, kStart, kFinish, kFail, kCancel, kRetry, kReconcile };

struct TrialTransition {
  TrialEvent event;
  const char* name;                 // "enqueue"
  std::vector<const char*> from;    // empty for submit: the trial is created
  const char* to;
};

// Every status a trial can have, in life-cycle order.
const std::vector<const char*>& TrialStatuses();
const std::vector<TrialTransition>& TrialTransitions();
const TrialTransition& Transition(TrialEvent event);

// Whether `event` may move a trial that is `from`.
bool TransitionAllowed(TrialEvent event, const std::string& from);
// The statuses `event` may start from as an SQL list: "('pending', 'queued')".
std::string FromStatusesSql(TrialEvent event);

}  // namespace sic
