// Telemetry: the coordinator's Prometheus metrics (prometheus-cpp's registry
// and text format; served by the REST API at /metrics).
//   sic_http_request_duration_seconds{route}  histogram, per route template
//   sic_http_requests_total{route,code}       counter
//   sic_ingest_latency_seconds                histogram: a worker's event time
//                                             to the commit that recorded it
//   sic_queue_depth, sic_queue_claimed, sic_trials{state}, sic_workers_alive,
//   sic_redis_up
//                                             gauges, read at scrape time
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace sic {

// What /metrics reads fresh at each scrape; -1 where it could not be read.
struct ScrapeReadings {
  int64_t queue_depth = -1, queue_claimed = -1, workers_alive = -1;
  bool redis_up = false;
  std::map<std::string, int64_t> trials_by_state;
};

class Telemetry {
 public:
  Telemetry();
  void ObserveHttp(const std::string& route, int code, double seconds);
  void ObserveIngest(double seconds);
  // The Prometheus text exposition of everything, with `readings` set first.
  std::string Render(const ScrapeReadings& readings);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>& http_duration_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Histogram& ingest_latency_;
  prometheus::Gauge& queue_depth_;
  prometheus::Gauge& queue_claimed_;
  prometheus::Gauge& workers_alive_;
  prometheus::Gauge& redis_up_;
  prometheus::Family<prometheus::Gauge>& trials_;
};

}  // namespace sic
