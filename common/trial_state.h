// TrialState: a trial's life cycle as one table of events, the states each
// may start from and the state it leads to. The store takes the `status IN
// (...)` list of every UPDATE that moves a trial from here, so no code path
// can move a trial outside the table (docs/sweep-service.md shows it).
//
//   event      from                        to         who
//   submit     (none)                      pending    Submit: the sweep and its trials
//   hold       (none)                      waiting    Submit of a scheduled sweep, or the scheduler
//                                                     drawing a search's suggestion: made, not fed
//   ask        (none)                      running    Ask: an external search's suggestion, handed out
//   release    waiting                     pending    the scheduler starts a configuration
//   enqueue    pending                     queued     enqueue pump: ticket issued, job in sic:trials
//   start      pending, queued, running    running    a worker's progress event (same round)
//   pause      pending, queued, running    paused     a worker's Paused event (the current ticket):
//                                                     checkpointed at a rung, worker released
//   promote    paused                      pending    the scheduler: on to the next rung
//   stop       paused                      stopped    the scheduler: cut at its rung (median rule),
//                                                     or never promoted when the schedule ended
//   preempt    pending, queued, running    pending    a worker's Preempted event (the current ticket):
//                                                     checkpointed when the coordinator asked it to
//                                                     make room for a preempting sweep; fed again later
//   finish     pending, queued, running    succeeded  a worker's ok outcome (first of the round), or Tell
//   fail       pending, queued, running    failed     a failed outcome (past the delivery limit), or Tell
//   cancel     waiting, pending, queued,   canceled   Cancel
//              running, paused
//   retry      failed                      pending    RetryFailed (new round); refused when the
//                                                     sweep is canceled (FailedPrecondition)
//   reconcile  queued, running             pending    Redis lost the job (reconciler, or Redis
//                                                     came back without its data)
//
// succeeded, stopped and canceled are final for good; failed is final until a
// retry. waiting and paused trials are in no queue: the scheduler moves them.
// Thread-safety: immutable tables; safe to share.
#pragma once

#include <string>
#include <vector>

namespace sic {

enum class TrialEvent {
  kSubmit, kHold, kAsk, kRelease, kEnqueue, kStart, kPause, kPromote, kStop, kPreempt, kFinish, kFail, kCancel, kRetry,
  kReconcile
};

struct TrialTransition {
  TrialEvent event;
  const char* name;                 // "enqueue"
  std::vector<const char*> from;    // empty for submit: the trial is created
  const char* to;
};

// Every status a trial can have, in life-cycle order.
const std::vector<const char*>& TrialStatuses();
// Whether no event but retry moves a trial out of `status` (succeeded, failed,
// stopped, canceled).
bool IsFinalStatus(const std::string& status);
// The final statuses as an SQL list: "('succeeded', ...)".
std::string FinalStatusesSql();
const std::vector<TrialTransition>& TrialTransitions();
const TrialTransition& Transition(TrialEvent event);

// Whether `event` may move a trial that is `from`.
bool TransitionAllowed(TrialEvent event, const std::string& from);
// The statuses `event` may start from as an SQL list: "('pending', 'queued')".
std::string FromStatusesSql(TrialEvent event);

}  // namespace sic
