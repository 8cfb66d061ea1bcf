#include "common/trial_state.h"

#include <cstring>

namespace sic {

const std::vector<const char*>& TrialStatuses() {
  static const std::vector<const char*> statuses = {"waiting", "pending",   "queued", "running", "paused",
                                                    "succeeded", "failed", "stopped", "canceled"};
  return statuses;
}

namespace {
const char* const kFinal[] = {"succeeded", "failed", "stopped", "canceled"};

std::string SqlList(const std::vector<const char*>& statuses) {
  std::string out = "(";
  for (const char* s : statuses) out += std::string(out.size() > 1 ? ", '" : "'") + s + "'";
  return out + ")";
}
}  // namespace

bool IsFinalStatus(const std::string& status) {
  for (const char* s : kFinal) {
    if (status == s) return true;
  }
  return false;
}

std::string FinalStatusesSql() { return SqlList({std::begin(kFinal), std::end(kFinal)}); }

const std::vector<TrialTransition>& TrialTransitions() {
  static const std::vector<TrialTransition> table = {
      {TrialEvent::kSubmit, "submit", {}, "pending"},
      {TrialEvent::kHold, "hold", {}, "waiting"},
      {TrialEvent::kAsk, "ask", {}, "running"},
      {TrialEvent::kRelease, "release", {"waiting"}, "pending"},
      {TrialEvent::kEnqueue, "enqueue", {"pending"}, "queued"},
      {TrialEvent::kStart, "start", {"pending", "queued", "running"}, "running"},
      {TrialEvent::kPause, "pause", {"pending", "queued", "running"}, "paused"},
      {TrialEvent::kPromote, "promote", {"paused"}, "pending"},
      {TrialEvent::kStop, "stop", {"paused"}, "stopped"},
      {TrialEvent::kPreempt, "preempt", {"pending", "queued", "running"}, "pending"},
      {TrialEvent::kFinish, "finish", {"pending", "queued", "running"}, "succeeded"},
      {TrialEvent::kFail, "fail", {"pending", "queued", "running"}, "failed"},
      {TrialEvent::kCancel, "cancel", {"waiting", "pending", "queued", "running", "paused"}, "canceled"},
      {TrialEvent::kRetry, "retry", {"failed"}, "pending"},
      {TrialEvent::kReconcile, "reconcile", {"queued", "running"}, "pending"},
  };
  return table;
}

const TrialTransition& Transition(TrialEvent event) {
  for (const TrialTransition& t : TrialTransitions()) {
    if (t.event == event) return t;
  }
  return TrialTransitions().front();  // unreachable: every event has a row
}

bool TransitionAllowed(TrialEvent event, const std::string& from) {
  for (const char* s : Transition(event).from) {
    if (from == s) return true;
  }
  return false;
}

std::string FromStatusesSql(TrialEvent event) { return SqlList(Transition(event).from); }

}  // namespace sic
