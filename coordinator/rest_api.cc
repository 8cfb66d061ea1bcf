#include "coordinator/rest_api.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/queue.h"
#include "coordinator/status_map.h"

namespace sic {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

HttpResponse Json(int status, const json& body, const std::string& route) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump() + "\n";
  r.route = route;
  return r;
}

HttpResponse Error(int status, const std::string& message, const std::string& route = "") {
  return Json(status, {{"error", message}}, route);
}

HttpResponse FromStatus(const Status& s, const std::string& route) {
  return Error(HttpStatusOf(s.code()), s.message(), route);
}

HttpResponse Unauthorized(const std::string& route) {
  HttpResponse r = Error(401, "missing or wrong token (send \"Authorization: Bearer TOKEN\")", route);
  r.headers.push_back({"WWW-Authenticate", "Bearer"});
  return r;
}

HttpResponse FromGrpc(const grpc::Status& s, const std::string& route) {
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT: return Error(400, s.error_message(), route);
    case grpc::StatusCode::NOT_FOUND: return Error(404, s.error_message(), route);
    case grpc::StatusCode::UNAVAILABLE: return Error(503, s.error_message(), route);
    default: return Error(500, s.error_message(), route);
  }
}

// A positive id from a path segment: digits only, no sign, no overflow.
bool ParseId(const std::string& text, int64_t* out) {
  if (text.empty() || text.size() > 18 || !std::all_of(text.begin(), text.end(), ::isdigit)) return false;
  *out = std::strtoll(text.c_str(), nullptr, 10);
  return *out > 0;
}

// An integer query parameter in [lo, hi], `fallback` when absent. Sets *error.
int64_t IntParam(const HttpRequest& req, const std::string& key, int64_t fallback, int64_t lo, int64_t hi,
                 std::string* error) {
  auto it = req.query.find(key);
  if (it == req.query.end()) return fallback;
  const std::string& v = it->second;
  char* end = nullptr;
  errno = 0;
  const long long n = v.empty() ? 0 : std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE || n < lo || n > hi) {
    *error = key + ": \"" + v + "\" must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    return fallback;
  }
  return n;
}

bool Truthy(const HttpRequest& req, const std::string& key) {
  auto it = req.query.find(key);
  return it != req.query.end() && (it->second == "1" || it->second == "true" || it->second.empty());
}

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

// `metrics=a,b,c`: only these metrics in the answer. Returns an error or "".
std::string MetricsParam(const HttpRequest& req, std::vector<std::string>* out) {
  auto it = req.query.find("metrics");
  if (it == req.query.end()) return "";
  *out = Split(it->second, ',');
  if (out->empty() || out->size() > 200) return "metrics: give 1 to 200 metric names separated by commas";
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return "";
}

std::string ContentType(const fs::path& file) {
  static const std::map<std::string, std::string> types = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".map", "application/json"}, {".png", "image/png"},
      {".svg", "image/svg+xml"}, {".ico", "image/x-icon"}, {".woff2", "font/woff2"}, {".txt", "text/plain"}};
  auto it = types.find(file.extension().string());
  return it == types.end() ? "application/octet-stream" : it->second;
}

const char* const kStatuses[] = {"pending", "queued", "running", "succeeded", "failed", "canceled"};

}  // namespace

RestApi::RestApi(Store& store, Pumps& pumps, SweepServiceImpl& service, ReaderPool& readers, Telemetry& telemetry,
                 std::string web_dir)
    : store_(store), pumps_(pumps), service_(service), readers_(readers), telemetry_(telemetry),
      web_dir_(std::move(web_dir)) {}

HttpResponse RestApi::Handle(const HttpRequest& req) {
  const std::vector<std::string> parts = Split(req.path, '/');
  if (parts.empty() || parts[0] != "api") {
    if (req.path == "/healthz") return {200, "text/plain", "ok\n", {}, "/healthz"};
    if (req.path == "/readyz") return Ready();
    if (req.path == "/metrics") return Metrics();
    if (req.method != "GET" && req.method != "HEAD") return Error(405, req.method + " " + req.path + ": only GET");
    return StaticFile(req.path);
  }
  if (parts.size() < 2 || parts[1] != "v1") return Error(404, req.path + ": no such route (the API is /api/v1)");
  return Route(req, parts);
}

HttpResponse RestApi::Route(const HttpRequest& req, const std::vector<std::string>& p) {
  const size_t n = p.size();
  const bool get = req.method == "GET", post = req.method == "POST";
  auto method_not_allowed = [&](const char* allowed, const std::string& route) {
    HttpResponse r = Error(405, req.method + " " + req.path + ": not allowed (" + allowed + ")", route);
    r.headers.push_back({"Allow", allowed});
    return r;
  };
  auto reader = readers_.Acquire();
  if (!reader.ok()) return Error(503, reader.status().message());
  ResultsReader* rd = reader.value().operator->();

  if (n >= 3 && p[2] == "sweeps") {
    if (n == 3) {
      const std::string route = "/api/v1/sweeps";
      if (post) return Submit(req);
      if (!get) return method_not_allowed("GET, POST", route);
      std::string error;
      const int64_t offset = IntParam(req, "offset", 0, 0, INT64_MAX / 2, &error);
      const int64_t limit = IntParam(req, "limit", 100, 1, 1000, &error);
      if (!error.empty()) return Error(400, error, route);
      auto ids = rd->SweepIds(offset, limit);
      if (!ids.ok()) return FromStatus(ids.status(), route);
      json sweeps = json::array();
      for (int64_t id : ids->second) {
        // Counting a big sweep's trials by status takes milliseconds; the
        // list is polled by every open dashboard.
        auto row = rows_.Get(std::to_string(id), store_.Generation(id),
                             Reading<json>([id](ResultsReader& r) { return r.SweepRow(id); }));
        if (!row.ok()) return FromStatus(row.status(), route);
        sweeps.push_back(*row.value());
      }
      return Json(200, {{"total", ids->first}, {"sweeps", std::move(sweeps)}}, route);
    }
    int64_t id = 0;
    if (!ParseId(p[3], &id)) return Error(404, "sweep \"" + p[3] + "\": no such sweep (ids are positive integers)");
    if (n == 4) {
      const std::string route = "/api/v1/sweeps/{id}";
      if (!get) return method_not_allowed("GET", route);
      return Cached(route, "sweep:" + std::to_string(id), id, [id](ResultsReader& r) { return r.GetSweep(id); });
    }
    if (n == 5 && p[4] == "trials") {
      if (!get) return method_not_allowed("GET", "/api/v1/sweeps/{id}/trials");
      return Trials(req, id, *rd);
    }
    if (n == 5 && p[4] == "summary") {
      const std::string route = "/api/v1/sweeps/{id}/summary";
      if (!get) return method_not_allowed("GET", route);
      std::vector<std::string> metrics;
      if (std::string error = MetricsParam(req, &metrics); !error.empty()) return Error(400, error, route);
      const json key = {"summary", id, metrics};
      return Cached(route, key.dump(), id, [id, metrics](ResultsReader& r) { return r.Summary(id, metrics); });
    }
    if (n == 5 && p[4] == "cancel") {
      if (!post) return method_not_allowed("POST", "/api/v1/sweeps/{id}/cancel");
      return Cancel(req, id);
    }
    if (n == 5 && p[4] == "export") {
      const std::string route = "/api/v1/sweeps/{id}/export";
      if (!get) return method_not_allowed("GET", route);
      const std::string format = req.query.count("format") ? req.query.at("format") : "csv";
      if (format != "csv" && format != "json") {
        return Error(400, "format: \"" + format + "\" is not allowed (csv or json)", route);
      }
      auto rows = rd->ExportRows(id);
      if (!rows.ok()) return FromStatus(rows.status(), route);
      auto text = FormatExport(rows.value(), format);
      if (!text.ok()) return Error(400, text.status().message(), route);
      HttpResponse r{200, format == "csv" ? "text/csv; charset=utf-8" : "application/json", std::move(text.value()),
                     {}, route};
      r.headers.push_back({"Content-Disposition", "attachment; filename=\"sweep-" + std::to_string(id) + "." +
                                                      format + "\""});
      return r;
    }
  }
  if (n >= 4 && p[2] == "trials") {
    int64_t id = 0;
    if (!ParseId(p[3], &id)) return Error(404, "trial \"" + p[3] + "\": no such trial (ids are positive integers)");
    if (!get) return method_not_allowed("GET", "/api/v1/trials/...");
    if (n == 4) {
      const std::string route = "/api/v1/trials/{id}";
      auto out = rd->GetTrial(id);
      if (!out.ok()) return FromStatus(out.status(), route);
      json& t = out.value();
      if (t["status"] == "running") {
        const auto progress = pumps_.Progress();
        if (auto it = progress.find(id); it != progress.end()) t["step"] = it->second.step;
      }
      return Json(200, t, route);
    }
    if (n == 5 && p[4] == "curve") {
      auto out = rd->Curve(id);
      return out.ok() ? Json(200, out.value(), "/api/v1/trials/{id}/curve")
                      : FromStatus(out.status(), "/api/v1/trials/{id}/curve");
    }
    if (n >= 6 && p[4] == "artifacts") {
      const std::string route = "/api/v1/trials/{id}/artifacts/{name}";
      std::string name = p[5];
      for (size_t i = 6; i < n; ++i) name += "/" + p[i];
      auto a = rd->GetArtifact(id, name);
      if (!a.ok()) return FromStatus(a.status(), route);
      HttpResponse r{200, a->mime, std::move(a->data), {{"Cache-Control", "max-age=3600"}}, route};
      return r;
    }
    if (n == 5 && (p[4] == "ratemaps.png" || p[4] == "autocorrelograms.png" || p[4] == "periods.png" ||
                   p[4] == "distance.png")) {
      return Picture(req, id, p[4], *rd);
    }
  }
  if (n == 3 && p[2] == "workers") {
    if (!get) return method_not_allowed("GET", "/api/v1/workers");
    return Workers();
  }
  return Error(404, req.path + ": no such route");
}

HttpResponse RestApi::Trials(const HttpRequest& req, int64_t sweep_id, ResultsReader& reader) {
  const std::string route = "/api/v1/sweeps/{id}/trials";
  std::string error;
  const int64_t offset = IntParam(req, "offset", 0, 0, INT64_MAX / 2, &error);
  const int64_t limit = IntParam(req, "limit", 50, 1, 1000, &error);
  if (!error.empty()) return Error(400, error, route);
  TrialQuery q;
  if (auto it = req.query.find("sort"); it != req.query.end() && !it->second.empty()) q.sort = it->second;
  if (auto it = req.query.find("order"); it != req.query.end()) {
    if (it->second != "asc" && it->second != "desc") {
      return Error(400, "order: \"" + it->second + "\" is not allowed (asc or desc)", route);
    }
    q.descending = it->second == "desc";
  }
  if (auto it = req.query.find("status"); it != req.query.end()) {
    for (const std::string& s : Split(it->second, ',')) {
      if (std::find(std::begin(kStatuses), std::end(kStatuses), s) == std::end(kStatuses)) {
        return Error(400, "status: \"" + s + "\" is not a trial status (pending, queued, running, succeeded, "
                          "failed, canceled)", route);
      }
      q.statuses.push_back(s);
    }
    std::sort(q.statuses.begin(), q.statuses.end());
    q.statuses.erase(std::unique(q.statuses.begin(), q.statuses.end()), q.statuses.end());
  }
  if (auto it = req.query.find("variant"); it != req.query.end()) q.variant = it->second;
  std::vector<std::string> metrics;
  if (std::string e = MetricsParam(req, &metrics); !e.empty()) return Error(400, e, route);

  // Generation first, then the data: a write in between only makes the
  // cached order look older than it is, never newer.
  const SweepGeneration generation = store_.Generation(sweep_id);
  const json key = {sweep_id, q.sort, q.descending, q.statuses, q.variant};
  auto cached = orders_.Get(key.dump(), generation, Reading<std::vector<int64_t>>([sweep_id, q](ResultsReader& r) {
                              return r.TrialOrder(sweep_id, q);
                            }));
  if (!cached.ok()) return FromStatus(cached.status(), route);
  const std::shared_ptr<const std::vector<int64_t>>& order = cached.value();
  const int64_t total = static_cast<int64_t>(order->size());
  const auto first = order->begin() + std::min(offset, total);
  const auto last = order->begin() + std::min(offset + limit, total);
  auto trials = reader.TrialsById(std::vector<int64_t>(first, last), metrics);
  if (!trials.ok()) return FromStatus(trials.status(), route);
  // Live steps of running trials come from the ingest pump's memory, not the file.
  const auto progress = pumps_.Progress();
  for (json& t : trials.value()) {
    if (t["status"] != "running") continue;
    if (auto it = progress.find(t["id"].get<int64_t>()); it != progress.end()) t["step"] = it->second.step;
  }
  return Json(200, {{"total", total}, {"offset", offset}, {"limit", limit}, {"trials", std::move(trials.value())}},
              route);
}

HttpResponse RestApi::Cached(const std::string& route, const std::string& key, int64_t sweep_id,
                             std::function<Result<json>(ResultsReader&)> compute) {
  // Generation first, then the data (see GenerationCache).
  const SweepGeneration generation = store_.Generation(sweep_id);
  auto body = bodies_.Get(key, generation, Reading<std::string>([compute](ResultsReader& r) -> Result<std::string> {
                            auto value = compute(r);
                            if (!value.ok()) return value.status();
                            return value->dump() + "\n";
                          }));
  if (!body.ok()) return FromStatus(body.status(), route);
  HttpResponse r;
  r.body = *body.value();
  r.route = route;
  return r;
}

HttpResponse RestApi::Picture(const HttpRequest& req, int64_t trial_id, const std::string& file,
                              ResultsReader& reader) {
  const std::string route = "/api/v1/trials/{id}/" + file;
  auto names = reader.ArtifactNames(trial_id);
  if (!names.ok()) return FromStatus(names.status(), route);
  const std::string arena = req.query.count("arena") ? req.query.at("arena") : "";
  for (const std::string& name : names.value()) {
    const size_t slash = name.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : name.substr(0, slash);
    const std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
    if (base != file || (!arena.empty() && dir != arena)) continue;
    auto a = reader.GetArtifact(trial_id, name);
    if (!a.ok()) return FromStatus(a.status(), route);
    return HttpResponse{200, a->mime, std::move(a->data), {{"Cache-Control", "max-age=3600"}}, route};
  }
  return Error(404, "trial " + std::to_string(trial_id) + ": no " + file +
                        (arena.empty() ? "" : " for arena \"" + arena + "\"") +
                        " (pictures exist once the trial has finished with evaluation on)", route);
}

HttpResponse RestApi::Submit(const HttpRequest& req) {
  const std::string route = "/api/v1/sweeps";
  const bool dry_run = Truthy(req, "dry_run");
  if (!dry_run && !TokenMatches(req.authorization, service_.options().token)) {
    return Unauthorized(route);
  }
  v1::SubmitResponse resp;
  if (auto s = service_.SubmitSpec(req.body, dry_run, &resp); !s.ok()) return FromGrpc(s, route);
  json trials = json::array();
  for (const auto& name : resp.trials()) trials.push_back(name);
  return Json(dry_run ? 200 : 201, {{"sweep_id", resp.sweep_id()}, {"trials", trials}}, route);
}

HttpResponse RestApi::Cancel(const HttpRequest& req, int64_t sweep_id) {
  const std::string route = "/api/v1/sweeps/{id}/cancel";
  if (!TokenMatches(req.authorization, service_.options().token)) {
    return Unauthorized(route);
  }
  v1::CountResponse resp;
  if (auto s = service_.CancelSweep(sweep_id, &resp); !s.ok()) return FromGrpc(s, route);
  return Json(200, {{"canceled", resp.count()}}, route);
}

HttpResponse RestApi::Workers() {
  const std::string route = "/api/v1/workers";
  v1::ListWorkersResponse resp;
  if (auto s = service_.AliveWorkers(&resp); !s.ok()) return FromGrpc(s, route);
  json workers = json::array();
  for (const auto& w : resp.workers()) {
    json running = json::array();
    for (int64_t id : w.running_trials()) running.push_back(id);
    workers.push_back({{"name", w.name()}, {"host", w.host()}, {"pid", w.pid()}, {"last_seen", w.last_seen()},
                       {"concurrency", w.concurrency()}, {"running_trials", running}});
  }
  return Json(200, {{"workers", workers}}, route);
}

HttpResponse RestApi::Ready() {
  // Ready = can answer its clients: everything it serves reads SQLite, and a
  // submit is committed there and waits for Redis on its own. An unreachable
  // Redis is reported, not a reason to take the dashboard and sicctl away.
  const std::string route = "/readyz";
  auto reader = readers_.Acquire();
  Status db = reader.ok() ? reader.value()->Ping() : reader.status();
  if (!db.ok()) return Error(503, "not ready: SQLite: " + db.message(), route);
  Queue queue(service_.options().redis, service_.options().prefix);
  auto pong = queue.client().Command({"PING"});
  return Json(200, {{"ready", true}, {"sqlite", "ok"}, {"redis", pong.ok() ? "ok" : pong.status().message()}},
              route);
}

HttpResponse RestApi::Metrics() {
  ScrapeReadings r;
  Queue queue(service_.options().redis, service_.options().prefix);
  auto length = queue.TrialsLength();
  auto claimed = queue.PendingTrials();
  r.redis_up = length.ok();
  if (length.ok() && claimed.ok()) {
    // Acknowledged entries are deleted, so the rest of the stream waits.
    r.queue_claimed = claimed.value();
    r.queue_depth = std::max<int64_t>(0, length.value() - claimed.value());
  }
  v1::ListWorkersResponse workers;
  if (service_.AliveWorkers(&workers).ok()) r.workers_alive = workers.workers_size();
  if (auto reader = readers_.Acquire(); reader.ok()) {
    if (auto counts = reader.value()->TrialsByStatus(); counts.ok()) r.trials_by_state = counts.value();
  }
  return {200, "text/plain; version=0.0.4", telemetry_.Render(r), {}, "/metrics"};
}

HttpResponse RestApi::StaticFile(const std::string& path) {
  const std::string route = "static";
  const std::string relative = path == "/" || path.empty() ? "index.html" : path.substr(1);
  for (const std::string& part : Split(relative, '/')) {
    if (part == ".." || part == ".") return Error(404, path + ": no such file", route);
  }
  const fs::path file = fs::path(web_dir_) / relative;
  std::error_code ec;
  if (web_dir_.empty() || !fs::is_regular_file(file, ec)) {
    if (relative == "index.html") {
      return Error(404, "the dashboard's files are not in \"" + web_dir_ + "\" (set --web-dir)", route);
    }
    return Error(404, path + ": no such file", route);
  }
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  HttpResponse r{200, ContentType(file), std::move(bytes), {}, route};
  // Libraries change only with package-lock.json; the app's own files at any time.
  const bool library = relative.rfind("node_modules/", 0) == 0;
  r.headers.push_back({"Cache-Control", library ? "public, max-age=86400" : "no-cache"});
  return r;
}

}  // namespace sic
