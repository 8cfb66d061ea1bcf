#include "common/trial_state.h"

#include <cstring>

namespace sic {

const std::vector<const char*>& TrialStatuses() {
  static const std::vector<const char*> statuses = {"pending", "queued", "running", "succeeded", "failed", "canceled"};
  return statuses;
}

const std::vector<TrialTransition>& TrialTransitions() {
  static const std::vector<TrialTransition> table = {
      {TrialEvent::kSubmit, "submit", {}, "pending"},
      {TrialEvent::kEnqueue, "enqueue", {"pending"}, "queued"},
      {TrialEvent::kStart, "start", {"pending", "queued", "running"}, "running"},
      {TrialEvent::kFinish, "finish", {"pending", "queued", "running"}, "succeeded"},
      {TrialEvent::kFail, "fail", {"pending", "queued", "running"}, "failed"},
      {TrialEvent::kCancel, "cancel", {"pending", "queued", "running"}, "canceled"},
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

std::string FromStatusesSql(TrialEvent event) {
  std::string out = "(";
  for (const char* s : Transition(event).from) out += std::string(out.size() > 1 ? ", '" : "'") + s + "'";
  return out + ")";
}

}  // namespace sic
