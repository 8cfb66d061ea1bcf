// libFuzzer target: any byte string read from the results stream must decode
// to a valid event within ReportLimits or to InvalidArgument, never a crash,
// a hang or an unbounded allocation; and every decoded event must survive
// encoding (EncodeEvent) and decoding again unchanged in kind, step and counts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/trial_report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sic::ReportLimits;
  auto event = sic::DecodeWorkerEvent(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!event.ok()) {
    if (!event.status().IsInvalidArgument()) __builtin_trap();
    return 0;
  }
  const sic::TrialResult& r = event->report;
  if (r.trial_id <= 0 || r.round <= 0 || r.delivery <= 0 || r.ticket < 0) __builtin_trap();
  if (r.worker.empty() || r.worker.size() > ReportLimits::kMaxNameBytes) __builtin_trap();
  if (r.metrics.size() > ReportLimits::kMaxMetrics || r.curve.size() > ReportLimits::kMaxCurvePoints ||
      r.artifacts.size() > ReportLimits::kMaxArtifacts || r.error.size() > ReportLimits::kMaxErrorBytes) {
    __builtin_trap();
  }
  if ((event->kind == sic::EventKind::kPaused || event->kind == sic::EventKind::kEvaluation) && event->step <= 0) {
    __builtin_trap();
  }
  auto again = sic::DecodeWorkerEvent(sic::EncodeEvent(event.value()));
  if (!again.ok() || again->kind != event->kind || again->step != event->step ||
      again->report.metrics.size() != r.metrics.size() || again->report.curve.size() != r.curve.size() ||
      again->report.artifacts.size() != r.artifacts.size() || again->report.ticket != r.ticket) {
    __builtin_trap();
  }
  return 0;
}
