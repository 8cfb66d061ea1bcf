// RestApi: the coordinator's HTTP routes (docs/rest-api.md): /api/v1 over
// the results reader, /healthz, /readyz, /metrics, and the dashboard's files
// from web_dir. Reads never take the writer's lock: they go through the
// ReaderPool's own SQLite connections, and sorted trial orders and summaries
// are cached per sweep generation. Submit and cancel go through the gRPC
// service's code and need the token ("Authorization: Bearer T").
//
// Thread-safety: Handle is called concurrently by the HTTP threads.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/results_reader.h"
#include "common/store.h"
#include "coordinator/generation_cache.h"
#include "coordinator/http_server.h"
#include "coordinator/pumps.h"
#include "coordinator/service.h"
#include "coordinator/telemetry.h"

namespace sic {

class RestApi {
 public:
  RestApi(Store& store, Pumps& pumps, SweepServiceImpl& service, ReaderPool& readers, Telemetry& telemetry,
          std::string web_dir);

  HttpResponse Handle(const HttpRequest& req);

 private:
  HttpResponse Route(const HttpRequest& req, const std::vector<std::string>& parts);
  HttpResponse Trials(const HttpRequest& req, int64_t sweep_id, ResultsReader& reader);
  // A JSON answer computed from one sweep's data, cached as text per generation.
  HttpResponse Cached(const std::string& route, const std::string& key, int64_t sweep_id,
                      std::function<Result<nlohmann::json>(ResultsReader&)> compute);
  // `read` with a reader of its own from the pool: a cache may run it later,
  // on its refresher thread, after the request that asked is gone.
  template <typename T>
  std::function<Result<T>()> Reading(std::function<Result<T>(ResultsReader&)> read) {
    return [this, read = std::move(read)]() -> Result<T> {
      auto reader = readers_.Acquire();
      if (!reader.ok()) return reader.status();
      return read(*reader.value().operator->());
    };
  }
  HttpResponse Picture(const HttpRequest& req, int64_t trial_id, const std::string& file, ResultsReader& reader);
  HttpResponse Submit(const HttpRequest& req);
  HttpResponse Cancel(const HttpRequest& req, int64_t sweep_id);
  HttpResponse Workers();
  HttpResponse Ready();
  HttpResponse Metrics();
  HttpResponse StaticFile(const std::string& path);

  Store& store_;
  Pumps& pumps_;
  SweepServiceImpl& service_;
  ReaderPool& readers_;
  Telemetry& telemetry_;
  std::string web_dir_;
  // A live sweep's order and summary trail its ingestion by at most ~1 s;
  // the rows of a page are always read fresh.
  GenerationCache<std::vector<int64_t>> orders_{64, std::chrono::seconds(1)};
  GenerationCache<std::string> bodies_{64, std::chrono::seconds(1)};  // summaries, sweep pages
  GenerationCache<nlohmann::json> rows_{1024, std::chrono::seconds(1)};  // sweeps in the list
};

}  // namespace sic
