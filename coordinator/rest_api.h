// RestApi: the coordinator's HTTP routes (docs/rest-api.md): /api/v1 over
// the results reader, /healthz, /readyz, /metrics, and the dashboard's files
// (StaticFiles, loaded once). Every route is one row of a table (rest_api.cc,
// kRoutes): method, pattern, who may call it, handler. 404 and 405 (with its
// Allow header) come from the table; every error is one line of JSON
// {"error": "..."} with the HTTP status of its Status code (status_map.h).
//
// Who may call: each row names its access class (coordinator/auth.h):
//   kOpen     /healthz, /readyz (probes cannot send a Secret), the dashboard's files
//   kRead     /api/v1 reads and /metrics: a token (any role) only with `auth_reads`
//   kSubmit   POST /api/v1/sweeps: member or admin; the caller owns the sweep
//   kOwnSweep POST /api/v1/sweeps/{id}/...: the sweep's owner (a member) or an admin
//   kAdmin    /api/v1/tokens..., GET /api/v1/audit
// An unknown or revoked token is 401; a wrong role 403, naming the role
// needed. Every POST also needs "Content-Type: application/json" (415
// otherwise), so that a cross-site HTML form can never submit or cancel,
// token or not. Every answer to a POST, refusals included, appends one row
// to the audit log (an unidentified caller as user "?").
//
// Reads never take the writer's lock: they go through the ReaderPool's own
// SQLite connections, and sorted trial orders and summaries are cached per
// sweep generation. /metrics, /readyz, /api/v1/workers and /api/v1/queue
// share one Redis connection with short timeouts (0.5 s), under a mutex.
//
// Thread-safety: Handle is called concurrently by the HTTP threads.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/queue.h"
#include "common/results_reader.h"
#include "common/store.h"
#include "coordinator/generation_cache.h"
#include "coordinator/http_server.h"
#include "coordinator/pumps.h"
#include "coordinator/route_table.h"
#include "coordinator/service.h"
#include "coordinator/static_files.h"
#include "coordinator/telemetry.h"

namespace sic {

using RestAccess = Access;

struct RestOptions {
  // Non-empty when the coordinator serves a non-loopback address without a
  // token (--insecure): /readyz carries it as "warning".
  std::string warning;
};

class RestApi {
 public:
  // `web` is moved in: the dashboard's files, already read.
  RestApi(Store& store, Pumps& pumps, SweepServiceImpl& service, ReaderPool& readers, Telemetry& telemetry,
          StaticFiles web, std::string web_dir, RestOptions options = {});

  HttpResponse Handle(const HttpRequest& req);

  // One row of the route table, and what a handler gets.
  struct Call {
    const HttpRequest& req;
    const std::string& route;  // the row's pattern: the metrics label
    int64_t id = 0;            // {id}, when the pattern has one
    std::string name;          // {name...}, when the pattern has one
    Principal who;             // the caller, when identified
    mutable std::string target;  // what the audit row names ("sweep 3"); a handler may set it
  };
  using Handler = Result<HttpResponse> (RestApi::*)(const Call&);
  struct Route {
    const char* method;
    const char* pattern;
    RestAccess access;
    const char* id_of;  // what {id} names in a 404 ("sweep", "trial"), or nullptr
    Handler handler;
  };
  static const std::vector<Route>& Routes();

 private:
  Result<HttpResponse> ListSweeps(const Call& call);
  Result<HttpResponse> Submit(const Call& call);
  Result<HttpResponse> GetSweep(const Call& call);
  Result<HttpResponse> Trials(const Call& call);
  Result<HttpResponse> Summary(const Call& call);
  Result<HttpResponse> Cancel(const Call& call);
  Result<HttpResponse> Ask(const Call& call);
  Result<HttpResponse> Tell(const Call& call);
  Result<HttpResponse> Retry(const Call& call);
  Result<HttpResponse> Priority(const Call& call);
  Result<HttpResponse> CreateToken(const Call& call);
  Result<HttpResponse> ListTokens(const Call& call);
  Result<HttpResponse> ListQuotas(const Call& call);
  Result<HttpResponse> SetQuota(const Call& call);
  Result<HttpResponse> RevokeToken(const Call& call);
  Result<HttpResponse> Audit(const Call& call);
  Result<HttpResponse> Demand(const Call& call);
  Result<HttpResponse> QueueView(const Call& call);
  Result<HttpResponse> Export(const Call& call);
  Result<HttpResponse> GetTrial(const Call& call);
  Result<HttpResponse> Curve(const Call& call);
  Result<HttpResponse> Evals(const Call& call);
  Result<HttpResponse> Search(const Call& call);
  Result<HttpResponse> Artifact(const Call& call);
  Result<HttpResponse> Picture(const Call& call);
  Result<HttpResponse> Workers(const Call& call);
  Result<HttpResponse> Healthz(const Call& call);
  Result<HttpResponse> Ready(const Call& call);
  Result<HttpResponse> Metrics(const Call& call);
  HttpResponse Static(const HttpRequest& req);
  // Handle's work once the route is found; Handle audits its POST answers.
  Result<HttpResponse> Routed(const HttpRequest& req, const RouteTable::Match& m, Call& call);

  // A JSON answer computed from one sweep's data, cached as text per generation.
  Result<HttpResponse> Cached(const std::string& route, const std::string& key, int64_t sweep_id,
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

  Store& store_;
  Pumps& pumps_;
  SweepServiceImpl& service_;
  ReaderPool& readers_;
  Telemetry& telemetry_;
  const StaticFiles web_;
  const std::string web_dir_;
  const RestOptions options_;
  const RouteTable table_;
  // The one Redis connection of /metrics, /readyz, /api/v1/workers and /api/v1/queue.
  std::mutex redis_mu_;
  Queue redis_;  // guarded by redis_mu_
  // A live sweep's order and summary trail its ingestion by at most ~1 s;
  // the rows of a page are always read fresh.
  GenerationCache<std::vector<int64_t>> orders_{64, std::chrono::seconds(1)};
  GenerationCache<std::string> bodies_{64, std::chrono::seconds(1)};  // summaries, sweep pages
  GenerationCache<nlohmann::json> rows_{1024, std::chrono::seconds(1)};  // sweeps in the list
};

}  // namespace sic
