#include "coordinator/telemetry.h"

#include <limits>

#include <prometheus/text_serializer.h>

namespace sic {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// Page loads are milliseconds; a slow export or a result batch takes seconds.
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

}  // namespace

Telemetry::Telemetry()
    : registry_(std::make_shared<prometheus::Registry>()),
      http_duration_(BuildHistogram()
                         .Name("sic_http_request_duration_seconds")
                         .Help("Time to answer an HTTP request, by route")
                         .Register(*registry_)),
      http_requests_(BuildCounter()
                         .Name("sic_http_requests_total")
                         .Help("HTTP requests answered, by route and status code")
                         .Register(*registry_)),
      ingest_latency_(BuildHistogram()
                          .Name("sic_ingest_latency_seconds")
                          .Help("From a worker's event to the SQLite commit that recorded it")
                          .Register(*registry_)
                          .Add({}, kLatencyBuckets)),
      queue_depth_(BuildGauge()
                       .Name("sic_queue_depth")
                       .Help("Trials in the Redis stream that no worker has claimed yet")
                       .Register(*registry_)
                       .Add({})),
      queue_claimed_(BuildGauge()
                         .Name("sic_queue_claimed")
                         .Help("Trials claimed by a worker and not yet acknowledged")
                         .Register(*registry_)
                         .Add({})),
      workers_alive_(BuildGauge()
                         .Name("sic_workers_alive")
                         .Help("Workers whose last heartbeat is recent")
                         .Register(*registry_)
                         .Add({})),
      redis_up_(BuildGauge()
                    .Name("sic_redis_up")
                    .Help("1 when the coordinator reached Redis at this scrape")
                    .Register(*registry_)
                    .Add({})),
      trials_(BuildGauge().Name("sic_trials").Help("Trials in the store, by state").Register(*registry_)) {}

void Telemetry::ObserveHttp(const std::string& route, int code, double seconds) {
  http_duration_.Add({{"route", route}}, kLatencyBuckets).Observe(seconds);
  http_requests_.Add({{"route", route}, {"code", std::to_string(code)}}).Increment();
}

void Telemetry::ObserveIngest(double seconds) { ingest_latency_.Observe(seconds); }

std::string Telemetry::Render(const ScrapeReadings& r) {
  // A reading that failed shows as NaN rather than as a stale or zero value.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  queue_depth_.Set(r.queue_depth < 0 ? nan : static_cast<double>(r.queue_depth));
  queue_claimed_.Set(r.queue_claimed < 0 ? nan : static_cast<double>(r.queue_claimed));
  workers_alive_.Set(r.workers_alive < 0 ? nan : static_cast<double>(r.workers_alive));
  redis_up_.Set(r.redis_up ? 1 : 0);
  for (const auto& [state, n] : r.trials_by_state) trials_.Add({{"state", state}}).Set(static_cast<double>(n));
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace sic
