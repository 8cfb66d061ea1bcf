#include "coordinator/rest_api.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "common/log.h"
#include "common/resources.h"
#include "sic/json_parse.h"
#include "common/trial_state.h"
#include "coordinator/auth.h"
#include "coordinator/queue_view.h"
#include "coordinator/status_map.h"

namespace sic {
namespace {

using nlohmann::json;

// Strings from outside (a path, a name) may not be UTF-8: replaced, never thrown.
std::string Dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// Whether `s` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool IsUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c < 0x80) n = 0;
    else if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c == 0xE0) n = 2, lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) n = 2;
    else if (c == 0xED) n = 2, hi = 0x9F;
    else if (c == 0xF0) n = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) n = 3;
    else if (c == 0xF4) n = 3, hi = 0x8F;
    else return false;
    if (n > 0 && i + n >= s.size()) return false;  // cut short
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

HttpResponse Json(int status, const json& body, const std::string& route) {
  HttpResponse r;
  r.status = status;
  r.body = Dump(body) + "\n";
  r.route = route;
  return r;
}

// The one shape of an error: {"error": "one line"}.
HttpResponse Error(int status, const std::string& message, const std::string& route = "") {
  std::string line = message;
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::replace(line.begin(), line.end(), '\r', ' ');
  HttpResponse r = Json(status, {{"error", line}}, route);
  if (status == 401) r.headers.push_back({"WWW-Authenticate", "Bearer"});
  return r;
}

HttpResponse FromStatus(const Status& s, const std::string& route) {
  return Error(HttpStatusOf(s.code()), s.message(), route);
}

// "application/json", any case, with or without parameters ("; charset=utf-8").
bool IsJsonContentType(const std::string& value) {
  std::string type = value.substr(0, value.find(';'));
  // Optional white space around the type, none inside it ("a pplication/json" is not JSON).
  const size_t first = type.find_first_not_of(" \t");
  if (first == std::string::npos) return false;
  type = type.substr(first, type.find_last_not_of(" \t") - first + 1);
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  return type == "application/json";
}

// A positive id from a path segment: digits only, no sign, no overflow.
bool ParseId(const std::string& text, int64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
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
    if (!error->empty()) return fallback;
    *error = key + ": \"" + v + "\" must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    return fallback;
  }
  return n;
}

bool Truthy(const HttpRequest& req, const std::string& key) {
  auto it = req.query.find(key);
  return it != req.query.end() && (it->second == "1" || it->second == "true" || it->second.empty());
}

// The body of a small command (priority, token, quota): a flat JSON object
// of at most 1 KiB, depth 2.
Result<json> SmallBody(const HttpRequest& req, const char* what) {
  JsonLimits limits;
  limits.max_bytes = 1024;
  limits.max_depth = 2;
  return ParseJson(req.body, limits, what);
}

// A JSON integer as int64; an unsigned one past int64 reads as INT64_MAX, so
// that a range check refuses it rather than a wrap-around accepting it.
int64_t ClampedInt64(const json& n) {
  return n.is_number_unsigned() && n.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : n.get<int64_t>();
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


}  // namespace

// The routes. Patterns are the metrics labels; docs/rest-api.md lists them.
const std::vector<RestApi::Route>& RestApi::Routes() {
  using A = RestAccess;
  static const std::vector<Route> kRoutes = {
      {"GET", "/api/v1/sweeps", A::kRead, nullptr, &RestApi::ListSweeps},
      {"POST", "/api/v1/sweeps", A::kSubmit, nullptr, &RestApi::Submit},
      {"GET", "/api/v1/sweeps/{id}", A::kRead, "sweep", &RestApi::GetSweep},
      {"GET", "/api/v1/sweeps/{id}/trials", A::kRead, "sweep", &RestApi::Trials},
      {"GET", "/api/v1/sweeps/{id}/summary", A::kRead, "sweep", &RestApi::Summary},
      {"GET", "/api/v1/sweeps/{id}/export", A::kRead, "sweep", &RestApi::Export},
      {"GET", "/api/v1/sweeps/{id}/search", A::kRead, "sweep", &RestApi::Search},
      {"POST", "/api/v1/sweeps/{id}/cancel", A::kOwnSweep, "sweep", &RestApi::Cancel},
      {"POST", "/api/v1/sweeps/{id}/retry", A::kOwnSweep, "sweep", &RestApi::Retry},
      {"POST", "/api/v1/sweeps/{id}/priority", A::kOwnSweep, "sweep", &RestApi::Priority},
      {"POST", "/api/v1/sweeps/{id}/ask", A::kOwnSweep, "sweep", &RestApi::Ask},
      {"POST", "/api/v1/sweeps/{id}/tell", A::kOwnSweep, "sweep", &RestApi::Tell},
      {"GET", "/api/v1/tokens", A::kAdmin, nullptr, &RestApi::ListTokens},
      {"POST", "/api/v1/tokens", A::kAdmin, nullptr, &RestApi::CreateToken},
      {"POST", "/api/v1/tokens/{id}/revoke", A::kAdmin, "token", &RestApi::RevokeToken},
      {"GET", "/api/v1/audit", A::kAdmin, nullptr, &RestApi::Audit},
      {"GET", "/api/v1/quotas", A::kRead, nullptr, &RestApi::ListQuotas},
      {"POST", "/api/v1/quotas", A::kAdmin, nullptr, &RestApi::SetQuota},
      {"GET", "/api/v1/demand", A::kRead, nullptr, &RestApi::Demand},
      {"GET", "/api/v1/queue", A::kRead, nullptr, &RestApi::QueueView},
      {"GET", "/api/v1/trials/{id}", A::kRead, "trial", &RestApi::GetTrial},
      {"GET", "/api/v1/trials/{id}/curve", A::kRead, "trial", &RestApi::Curve},
      {"GET", "/api/v1/trials/{id}/evals", A::kRead, "trial", &RestApi::Evals},
      {"GET", "/api/v1/trials/{id}/artifacts/{name...}", A::kRead, "trial", &RestApi::Artifact},
      {"GET", "/api/v1/trials/{id}/ratemaps.png", A::kRead, "trial", &RestApi::Picture},
      {"GET", "/api/v1/trials/{id}/autocorrelograms.png", A::kRead, "trial", &RestApi::Picture},
      {"GET", "/api/v1/trials/{id}/periods.png", A::kRead, "trial", &RestApi::Picture},
      {"GET", "/api/v1/trials/{id}/distance.png", A::kRead, "trial", &RestApi::Picture},
      {"GET", "/api/v1/workers", A::kRead, nullptr, &RestApi::Workers},
      {"GET", "/healthz", A::kOpen, nullptr, &RestApi::Healthz},
      // Kubernetes probes cannot send a Secret; /readyz tells no data.
      {"GET", "/readyz", A::kOpen, nullptr, &RestApi::Ready},
      // Prometheus can send one (authorization.credentials_file).
      {"GET", "/metrics", A::kRead, nullptr, &RestApi::Metrics},
  };
  return kRoutes;
}

namespace {

std::vector<RouteTable::Row> TableRows() {
  std::vector<RouteTable::Row> rows;
  for (const RestApi::Route& r : RestApi::Routes()) rows.push_back({r.method, r.pattern});
  return rows;
}

RedisOptions Short(RedisOptions options) {
  // A scrape or a probe must not hang on a Redis that does not answer.
  options.timeout_s = std::min(options.timeout_s, 0.5);
  return options;
}

}  // namespace

RestApi::RestApi(Store& store, Pumps& pumps, SweepServiceImpl& service, ReaderPool& readers, Telemetry& telemetry,
                 StaticFiles web, std::string web_dir, RestOptions options)
    : store_(store), pumps_(pumps), service_(service), readers_(readers), telemetry_(telemetry),
      web_(std::move(web)), web_dir_(std::move(web_dir)), options_(std::move(options)), table_(TableRows()),
      redis_(Short(service.options().redis), service.options().prefix) {}

HttpResponse RestApi::Handle(const HttpRequest& req) {
  const RouteTable::Match m = table_.Find(req.method, req.target);
  if (m.kind == RouteTable::Match::kMethodNotAllowed) {
    HttpResponse r = Error(405, req.method + " " + req.target + ": not allowed (" + m.allow + ")");
    r.headers.push_back({"Allow", m.allow});
    return r;
  }
  if (m.kind == RouteTable::Match::kNotFound) {
    const bool api = req.target.rfind("/api/", 0) == 0;
    if (!api && (req.method == "GET" || req.method == "HEAD")) return Static(req);
    if (!api && web_.Find(req.target)) {
      HttpResponse r = Error(405, req.method + " " + req.target + ": not allowed (GET, HEAD)", "static");
      r.headers.push_back({"Allow", "GET, HEAD"});
      return r;
    }
    return Error(404, req.target + ": no such route" +
                          (req.target.rfind("/api/v1/", 0) == 0 ? "" : " (the API is under /api/v1)"));
  }
  const Route& route = Routes()[m.row];
  const std::string pattern = route.pattern;
  Call call{req, pattern, 0, "", Principal{}, ""};
  Result<HttpResponse> routed = Routed(req, m, call);
  HttpResponse out = routed.ok() ? std::move(routed.value()) : FromStatus(routed.status(), pattern);
  if (req.method == "POST") {
    // One audit row per state-changing call, whatever its answer, with the
    // answer's code (a 415 is the caller's INVALID_ARGUMENT).
    Status outcome = !routed.ok()          ? routed.status()
                     : out.status == 415 ? Status::InvalidArgument("not JSON: \"" + req.content_type.substr(0, 100) + "\"")
                                         : Status::OK();
    sic::Audit(store_, call.who.user.empty() ? nullptr : &call.who, req.method + " " + pattern, call.target,
               req.peer, outcome);
  }
  return out;
}

Result<HttpResponse> RestApi::Routed(const HttpRequest& req, const RouteTable::Match& m, Call& call) {
  const Route& route = Routes()[m.row];
  const std::string& pattern = call.route;
  // What the audit row names, known before the caller is (a refusal names it
  // too); handlers make it precise ("sweep 3" for a new sweep).
  if (int64_t id = 0; route.id_of && ParseId(m.params.front(), &id)) {
    call.target = std::string(route.id_of) + " " + std::to_string(id);
  } else if (route.handler == &RestApi::Submit) {
    call.target = Truthy(req, "dry_run") ? "dry run" : "new sweep";
  } else if (route.handler == &RestApi::CreateToken) {
    call.target = "new token";
  }
  // Who is calling: an unknown or revoked token is refused before anything else.
  const bool reads_open = route.access == Access::kOpen || (route.access == Access::kRead && !service_.options().auth_reads);
  if (!reads_open) {
    auto who = service_.authenticator().Resolve(req.authorization);
    if (!who.ok()) {
      if (who.status().code() != Status::Code::kUnauthenticated) return who.status();
      return Status::Unauthenticated(who.status().message() + " (send \"Authorization: Bearer TOKEN\")");
    }
    call.who = who.value();
  }
  if (req.method == "POST" && !IsJsonContentType(req.content_type)) {
    return Error(415, req.method + " " + pattern + " takes \"Content-Type: application/json\"", pattern);
  }
  if (route.id_of) {
    if (!ParseId(m.params.front(), &call.id)) {
      return Status::NotFound(std::string(route.id_of) + " \"" + m.params.front() + "\": no such " + route.id_of +
                              " (ids are positive integers)");
    }
  }
  // Parameters are text: names, numbers. Bytes that are not UTF-8 (a decoded
  // %c0%af) are refused here, before any handler compares or caches them.
  for (const std::string& p : m.params) {
    if (!IsUtf8(p)) return Status::InvalidArgument("the path has bytes that are not UTF-8");
  }
  for (const auto& [k, v] : req.query) {
    if (!IsUtf8(k) || !IsUtf8(v)) return Status::InvalidArgument("a query parameter has bytes that are not UTF-8");
  }
  // What the caller's role allows (the sweep's owner for kOwnSweep rows).
  if (!reads_open) {
    if (Status allowed = service_.Allow(call.who, route.access, req.method + " " + pattern, call.id); !allowed.ok()) {
      return allowed;
    }
  }
  if (std::string(route.pattern).find("...}") != std::string::npos) call.name = m.params.back();
  Result<HttpResponse> out = (this->*route.handler)(call);
  if (out.ok() && out->route.empty()) out->route = pattern;
  return out;
}

Result<HttpResponse> RestApi::ListSweeps(const Call& call) {
  std::string error;
  const int64_t offset = IntParam(call.req, "offset", 0, 0, INT64_MAX / 2, &error);
  const int64_t limit = IntParam(call.req, "limit", 100, 1, 1000, &error);
  if (!error.empty()) return Status::InvalidArgument(error);
  auto reader = readers_.Acquire();
  if (!reader.ok()) return reader.status();
  const std::string owner = call.req.query.count("owner") ? call.req.query.at("owner") : "";
  auto ids = reader.value()->SweepIds(offset, limit, owner);
  if (!ids.ok()) return ids.status();
  json sweeps = json::array();
  for (int64_t id : ids->second) {
    // Counting a big sweep's trials by status takes milliseconds; the list
    // is polled by every open dashboard.
    auto row = rows_.Get(std::to_string(id), store_.Generation(id),
                         Reading<json>([id](ResultsReader& r) { return r.SweepRow(id); }));
    if (!row.ok()) return row.status();
    sweeps.push_back(*row.value());
  }
  return Json(200, {{"total", ids->first}, {"sweeps", std::move(sweeps)}}, call.route);
}

Result<HttpResponse> RestApi::GetSweep(const Call& call) {
  const int64_t id = call.id;
  return Cached(call.route, "sweep:" + std::to_string(id), id, [id](ResultsReader& r) { return r.GetSweep(id); });
}

Result<HttpResponse> RestApi::Summary(const Call& call) {
  const int64_t id = call.id;
  std::vector<std::string> metrics;
  if (std::string error = MetricsParam(call.req, &metrics); !error.empty()) return Status::InvalidArgument(error);
  const json key = {"summary", id, metrics};
  return Cached(call.route, Dump(key), id, [id, metrics](ResultsReader& r) { return r.Summary(id, metrics); });
}

Result<HttpResponse> RestApi::Export(const Call& call) {
  const std::string format = call.req.query.count("format") ? call.req.query.at("format") : "csv";
  if (format != "csv" && format != "json") {
    return Status::InvalidArgument("format: \"" + format + "\" is not allowed (csv or json)");
  }
  auto reader = readers_.Acquire();
  if (!reader.ok()) return reader.status();
  auto rows = reader.value()->ExportRows(call.id);
  if (!rows.ok()) return rows.status();
  auto text = FormatExport(rows.value(), format);
  if (!text.ok()) return Status::InvalidArgument(text.status().message());
  HttpResponse r{200, format == "csv" ? "text/csv; charset=utf-8" : "application/json", std::move(text.value()), {},
                 call.route};
  r.headers.push_back({"Content-Disposition",
                       "attachment; filename=\"sweep-" + std::to_string(call.id) + "." + format + "\""});
  return r;
}

Result<HttpResponse> RestApi::GetTrial(const Call& call) {
  auto reader = readers_.Acquire();
  if (!reader.ok()) return reader.status();
  auto out = reader.value()->GetTrial(call.id);
  if (!out.ok()) return out.status();
  json& t = out.value();
  if (t["status"] == "running") {
    const auto progress = pumps_.Progress();
    if (auto it = progress.find(call.id); it != progress.end()) t["step"] = it->second.step;
  }
  return Json(200, t, call.route);
}

Result<HttpResponse> RestApi::Curve(const Call& call) {
  auto reader = readers_.Acquire();
  if (!reader.ok()) return reader.status();
  auto out = reader.value()->Curve(call.id);
  if (!out.ok()) return out.status();
  return Json(200, out.value(), call.route);
}

Result<HttpResponse> RestApi::Evals(const Call& call) {
  std::vector<std::string> metrics;
  if (std::string error = MetricsParam(call.req, &metrics); !error.empty()) return Status::InvalidArgument(error);
  auto reader = readers_.Acquire();
  if (!reader.ok()) return reader.status();
  auto out = reader.value()->Evals(call.id, metrics);
  if (!out.ok()) return out.status();
  return Json(200, out.value(), call.route);
}

// Read fresh, not cached per generation: a search holds hundreds of trials,
// not tens of thousands (a few ms), and its steps move with every curve point.
Result<HttpResponse> RestApi::Search(const Call& call) {
  auto reader = readers_.Acquire();
  if (!reader.ok()) return reader.status();
  auto out = reader.value()->Search(call.id);
  if (!out.ok()) return out.status();
  return Json(200, out.value(), call.route);
}

Result<HttpResponse> RestApi::Artifact(const Call& call) {
  auto reader = readers_.Acquire();
  if (!reader.ok()) return reader.status();
  auto a = reader.value()->GetArtifact(call.id, call.name);
  if (!a.ok()) return a.status();
  return HttpResponse{200, a->mime, std::move(a->data), {{"Cache-Control", "max-age=3600"}}, call.route};
}

Result<HttpResponse> RestApi::Trials(const Call& call) {
  const HttpRequest& req = call.req;
  const int64_t sweep_id = call.id;
  const std::string& route = call.route;
  std::string error;
  const int64_t offset = IntParam(req, "offset", 0, 0, INT64_MAX / 2, &error);
  const int64_t limit = IntParam(req, "limit", 50, 1, 1000, &error);
  if (!error.empty()) return Status::InvalidArgument(error);
  TrialQuery q;
  if (auto it = req.query.find("sort"); it != req.query.end() && !it->second.empty()) q.sort = it->second;
  if (auto it = req.query.find("order"); it != req.query.end()) {
    if (it->second != "asc" && it->second != "desc") {
      return Status::InvalidArgument("order: \"" + it->second + "\" is not allowed (asc or desc)");
    }
    q.descending = it->second == "desc";
  }
  if (auto it = req.query.find("status"); it != req.query.end()) {
    for (const std::string& s : Split(it->second, ',')) {
      const auto& statuses = TrialStatuses();
      if (std::find(statuses.begin(), statuses.end(), s) == statuses.end()) {
        std::string known;
        for (const char* k : statuses) known += (known.empty() ? "" : ", ") + std::string(k);
        return Status::InvalidArgument("status: \"" + s + "\" is not a trial status (" + known + ")");
      }
      q.statuses.push_back(s);
    }
    std::sort(q.statuses.begin(), q.statuses.end());
    q.statuses.erase(std::unique(q.statuses.begin(), q.statuses.end()), q.statuses.end());
  }
  if (auto it = req.query.find("variant"); it != req.query.end()) q.variant = it->second;
  std::vector<std::string> metrics;
  if (std::string e = MetricsParam(req, &metrics); !e.empty()) return Status::InvalidArgument(e);

  // Generation first, then the data: a write in between only makes the
  // cached order look older than it is, never newer.
  const SweepGeneration generation = store_.Generation(sweep_id);
  const json key = {sweep_id, q.sort, q.descending, q.statuses, q.variant};
  auto cached = orders_.Get(Dump(key), generation, Reading<std::vector<int64_t>>([sweep_id, q](ResultsReader& r) {
                              return r.TrialOrder(sweep_id, q);
                            }));
  if (!cached.ok()) return cached.status();
  const std::shared_ptr<const std::vector<int64_t>>& order = cached.value();
  const int64_t total = static_cast<int64_t>(order->size());
  const auto first = order->begin() + std::min(offset, total);
  const auto last = order->begin() + std::min(offset + limit, total);
  auto reader = readers_.Acquire();
  if (!reader.ok()) return reader.status();
  auto trials = reader.value()->TrialsById(std::vector<int64_t>(first, last), metrics);
  if (!trials.ok()) return trials.status();
  // Live steps of running trials come from the ingest pump's memory, not the file.
  const auto progress = pumps_.Progress();
  for (json& t : trials.value()) {
    if (t["status"] != "running") continue;
    if (auto it = progress.find(t["id"].get<int64_t>()); it != progress.end()) t["step"] = it->second.step;
  }
  return Json(200, {{"total", total}, {"offset", offset}, {"limit", limit}, {"trials", std::move(trials.value())}},
              route);
}

Result<HttpResponse> RestApi::Cached(const std::string& route, const std::string& key, int64_t sweep_id,
                                     std::function<Result<json>(ResultsReader&)> compute) {
  // Generation first, then the data (see GenerationCache).
  const SweepGeneration generation = store_.Generation(sweep_id);
  auto body = bodies_.Get(key, generation, Reading<std::string>([compute](ResultsReader& r) -> Result<std::string> {
                            auto value = compute(r);
                            if (!value.ok()) return value.status();
                            return Dump(value.value()) + "\n";
                          }));
  if (!body.ok()) return body.status();
  HttpResponse r;
  r.body = *body.value();
  r.route = route;
  return r;
}

Result<HttpResponse> RestApi::Picture(const Call& call) {
  const std::string file = call.route.substr(call.route.rfind('/') + 1);
  auto reader = readers_.Acquire();
  if (!reader.ok()) return reader.status();
  auto names = reader.value()->ArtifactNames(call.id);
  if (!names.ok()) return names.status();
  const std::string arena = call.req.query.count("arena") ? call.req.query.at("arena") : "";
  for (const std::string& name : names.value()) {
    const size_t slash = name.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : name.substr(0, slash);
    const std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
    if (base != file || (!arena.empty() && dir != arena)) continue;
    auto a = reader.value()->GetArtifact(call.id, name);
    if (!a.ok()) return a.status();
    return HttpResponse{200, a->mime, std::move(a->data), {{"Cache-Control", "max-age=3600"}}, call.route};
  }
  return Status::NotFound("trial " + std::to_string(call.id) + ": no " + file +
                          (arena.empty() ? "" : " for arena \"" + arena + "\"") +
                          " (pictures exist once the trial has finished with evaluation on)");
}

Result<HttpResponse> RestApi::Submit(const Call& call) {
  const bool dry_run = Truthy(call.req, "dry_run");
  std::string error;
  std::optional<int64_t> priority;
  if (call.req.query.count("priority")) {
    priority = IntParam(call.req, "priority", 0, -kMaxPriority, kMaxPriority, &error);
    if (!error.empty()) return Status::InvalidArgument(error);
  }
  v1::SubmitResponse resp;
  if (Status s = service_.SubmitSpec(call.req.body, dry_run, &resp, call.who, priority, Truthy(call.req, "preempt"));
      !s.ok()) {
    return s;
  }
  if (!dry_run) call.target = "sweep " + std::to_string(resp.sweep_id());
  json trials = json::array();
  for (const auto& name : resp.trials()) trials.push_back(name);
  return Json(dry_run ? 200 : 201, {{"sweep_id", resp.sweep_id()}, {"trials", trials}}, call.route);
}

Result<HttpResponse> RestApi::Cancel(const Call& call) {
  v1::CountResponse resp;
  if (Status s = service_.CancelSweep(call.id, &resp); !s.ok()) return s;
  return Json(200, {{"canceled", resp.count()}}, call.route);
}

Result<HttpResponse> RestApi::Retry(const Call& call) {
  v1::CountResponse resp;
  if (Status s = service_.RetrySweep(call.id, &resp); !s.ok()) return s;
  return Json(200, {{"retried", resp.count()}}, call.route);
}

// Body: {"priority": N}, N in [-1000, 1000], and optionally "preempt": true
// or false (true needs an admin).
Result<HttpResponse> RestApi::Priority(const Call& call) {
  auto body = SmallBody(call.req, "priority");
  if (!body.ok()) return body.status();
  const json& b = body.value();
  const bool has_preempt = b.is_object() && b.contains("preempt");
  if (!b.is_object() || b.size() != (has_preempt ? 2u : 1u) || !b.contains("priority") ||
      !b["priority"].is_number_integer() || (has_preempt && !b["preempt"].is_boolean())) {
    return Status::InvalidArgument("priority: give {\"priority\": N}, N an integer in [-" +
                                   std::to_string(kMaxPriority) + ", " + std::to_string(kMaxPriority) +
                                   "], and optionally \"preempt\": true or false");
  }
  std::optional<bool> preempt;
  if (has_preempt) preempt = b["preempt"].get<bool>();
  const int64_t p = ClampedInt64(b["priority"]);
  if (Status s = service_.SetSweepPriority(call.id, p, preempt, call.who); !s.ok()) return s;
  json out = {{"sweep", call.id}, {"priority", p}};
  if (preempt) out["preempt"] = *preempt;
  return Json(200, out, call.route);
}

// Body: {"user": NAME, "role": "viewer" | "member" | "admin"}. The answer
// carries the token, this once.
Result<HttpResponse> RestApi::CreateToken(const Call& call) {
  auto body = SmallBody(call.req, "token");
  if (!body.ok()) return body.status();
  const json& b = body.value();
  if (!b.is_object() || !b.contains("user") || !b["user"].is_string() || !b.contains("role") || !b["role"].is_string() ||
      b.size() != 2) {
    return Status::InvalidArgument("token: give {\"user\": NAME, \"role\": \"viewer\" | \"member\" | \"admin\"}");
  }
  v1::CreateTokenResponse resp;
  if (Status s = service_.NewUserToken(b["user"].get<std::string>(), b["role"].get<std::string>(), call.who.user, &resp);
      !s.ok()) {
    return s;
  }
  call.target = "token " + std::to_string(resp.id());
  return Json(201, {{"id", resp.id()}, {"user", b["user"]}, {"role", b["role"]}, {"token", resp.token()}}, call.route);
}

Result<HttpResponse> RestApi::ListTokens(const Call& call) {
  v1::ListTokensResponse resp;
  if (Status s = service_.FillTokens(&resp); !s.ok()) return s;
  json tokens = json::array();
  for (const auto& t : resp.tokens()) {
    tokens.push_back({{"id", t.id()}, {"user", t.user()}, {"role", t.role()}, {"created_at", t.created_at()},
                      {"created_by", t.created_by()},
                      {"revoked_at", t.revoked_at() > 0 ? json(t.revoked_at()) : json()}});
  }
  return Json(200, {{"tokens", tokens}}, call.route);
}

Result<HttpResponse> RestApi::RevokeToken(const Call& call) {
  if (Status s = service_.RevokeUserToken(call.id); !s.ok()) return s;
  return Json(200, {{"revoked", call.id}}, call.route);
}

Result<HttpResponse> RestApi::ListQuotas(const Call& call) {
  v1::ListQuotasResponse resp;
  if (Status s = service_.FillQuotas(&resp); !s.ok()) return s;
  json quotas = json::array();
  for (const auto& q : resp.quotas()) {
    quotas.push_back({{"user", q.user()}, {"max_running", q.max_running()}, {"set_by", q.set_by()},
                      {"set_at", q.set_at()}});
  }
  return Json(200, {{"quotas", quotas}, {"default_max_running", resp.default_max_running()}}, call.route);
}

// Body: {"user": NAME, "max_running": N}, N in [0, 1000000] (0: no cap for
// them), or "max_running": null to remove the user's quota.
Result<HttpResponse> RestApi::SetQuota(const Call& call) {
  auto body = SmallBody(call.req, "quota");
  if (!body.ok()) return body.status();
  const json& b = body.value();
  if (!b.is_object() || b.size() != 2 || !b.contains("user") || !b["user"].is_string() || !b.contains("max_running") ||
      !(b["max_running"].is_null() || b["max_running"].is_number_integer())) {
    return Status::InvalidArgument("quota: give {\"user\": NAME, \"max_running\": N}, N an integer in [0, " +
                                   std::to_string(Store::kMaxQuota) + "] (0: no cap), or null to remove it");
  }
  const std::string user = b["user"].get<std::string>();
  call.target = "quota of " + user.substr(0, 64);
  std::optional<int64_t> max_running;
  if (!b["max_running"].is_null()) max_running = ClampedInt64(b["max_running"]);
  if (Status s = service_.SetUserQuota(user, max_running, call.who.user); !s.ok()) return s;
  return Json(200, {{"user", user}, {"max_running", max_running ? json(*max_running) : json()}}, call.route);
}

// ?offset=&limit=&user=: newest first.
Result<HttpResponse> RestApi::Audit(const Call& call) {
  std::string error;
  const int64_t offset = IntParam(call.req, "offset", 0, 0, INT64_MAX / 2, &error);
  const int64_t limit = IntParam(call.req, "limit", 100, 1, 1000, &error);
  if (!error.empty()) return Status::InvalidArgument(error);
  const std::string user = call.req.query.count("user") ? call.req.query.at("user") : "";
  v1::ListAuditResponse resp;
  if (Status s = service_.FillAudit(offset, limit, user, &resp); !s.ok()) return s;
  json entries = json::array();
  for (const auto& a : resp.entries()) {
    entries.push_back({{"id", a.id()}, {"at", a.at()}, {"user", a.user()}, {"role", a.role()}, {"action", a.action()},
                       {"target", a.target()}, {"source", a.source()}, {"code", a.code()}, {"detail", a.detail()}});
  }
  return Json(200, {{"offset", offset}, {"limit", limit}, {"entries", entries}}, call.route);
}

Result<HttpResponse> RestApi::Ask(const Call& call) {
  v1::AskResponse resp;
  if (Status s = service_.AskSweep(call.id, &resp); !s.ok()) return s;
  return Json(200, {{"trial", resp.trial_id()}, {"number", resp.number()},
                    {"params", json::parse(resp.params_json(), nullptr, false)}}, call.route);
}

// Body: {"trial": ID, "value": V} or {"trial": ID, "failed": true}.
Result<HttpResponse> RestApi::Tell(const Call& call) {
  JsonLimits limits;
  limits.max_bytes = 4096;
  limits.max_depth = 2;
  auto body = ParseJson(call.req.body, limits, "tell");
  if (!body.ok()) return body.status();
  const json& b = body.value();
  v1::TellRequest req;
  req.set_sweep_id(call.id);
  if (!b.is_object() || !b.contains("trial") || !b["trial"].is_number_integer()) {
    return Status::InvalidArgument("tell: give {\"trial\": ID, \"value\": NUMBER} or {\"trial\": ID, \"failed\": true}");
  }
  for (auto it = b.begin(); it != b.end(); ++it) {
    if (it.key() != "trial" && it.key() != "value" && it.key() != "failed") {
      return Status::InvalidArgument(ShownText("tell." + it.key(), 64) + ": unknown key (trial, value, failed)");
    }
  }
  req.set_trial_id(b["trial"].get<int64_t>());
  call.target = "trial " + std::to_string(req.trial_id()) + " of sweep " + std::to_string(call.id);
  const bool failed = b.contains("failed") && b["failed"] == true;
  if (!failed && (!b.contains("value") || !b["value"].is_number())) {
    return Status::InvalidArgument("tell.value: a number is required (or \"failed\": true)");
  }
  req.set_failed(failed);
  if (!failed) req.set_value(b["value"].get<double>());
  if (Status s = service_.TellTrial(req); !s.ok()) return s;
  return Json(200, {{"told", req.trial_id()}}, call.route);
}

// What autoscalers read (KEDA's metrics-api scaler, docs/deploy.md): trials
// that want a worker, whether already in the queue or not yet fed to it.
Result<HttpResponse> RestApi::Demand(const Call& call) {
  // ?class=C: one pool's demand (its KEDA scaler); absent: every class.
  // &gpu_memory_gb=M: with C's memory queues up to M GB (the pool's workers
  // declare M). class=C@K names one memory queue.
  std::string queue;
  if (auto it = call.req.query.find("class"); it != call.req.query.end()) {
    if (!IsQueueName(it->second)) {
      return Error(400, "class: must be a device class: 1-32 of a-z, 0-9 and '-', starting with a letter "
                        "(optionally @ and GB per GPU)", call.route);
    }
    queue = it->second;
  }
  double gpu_memory_gb = 0;
  if (auto it = call.req.query.find("gpu_memory_gb"); it != call.req.query.end()) {
    char* end = nullptr;
    gpu_memory_gb = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || *end != '\0' || !(gpu_memory_gb >= 0 && gpu_memory_gb <= kMaxGpuMemoryGb)) {
      return Error(400, "gpu_memory_gb: must be a number in [0, 100000]", call.route);
    }
    if (queue.empty() || queue.find('@') != std::string::npos) {
      return Error(400, "gpu_memory_gb: needs class=C, a class without @", call.route);
    }
  }
  auto demand = store_.Demand(queue, gpu_memory_gb);
  if (!demand.ok()) return demand.status();
  return Json(200, {{"demand", demand->fed + demand->unfed}, {"fed", demand->fed}, {"unfed", demand->unfed}},
              call.route);
}

// What waits in each device class's queue, and why (coordinator/queue_view.h):
// the live workers from the registry, the live trials from SQLite. Read
// fresh: one grouped query over the live trials only (trials_by_status).
Result<HttpResponse> RestApi::QueueView(const Call& call) {
  Result<std::vector<WorkerSlots>> workers = Status::Unavailable("");
  {
    std::lock_guard<std::mutex> lock(redis_mu_);
    workers = service_.AliveWorkerSlots(redis_);
  }
  if (!workers.ok()) return workers.status();
  auto reader = readers_.Acquire();
  if (!reader.ok()) return reader.status();
  auto rows = reader.value()->QueueCounts();
  if (!rows.ok()) return rows.status();
  std::vector<QueueCount> counts;
  counts.reserve(rows->size());
  for (const ClassSweepCount& r : rows.value()) {
    counts.push_back({r.device_class, r.sweep_id, r.status, r.count, r.name, r.owner, r.priority, r.max_running,
                      r.owner_cap, r.preempt});
  }
  return Json(200, BuildQueueView(counts, workers.value(), service_.options().max_running_per_user), call.route);
}

Result<HttpResponse> RestApi::Workers(const Call& call) {
  v1::ListWorkersResponse resp;
  {
    std::lock_guard<std::mutex> lock(redis_mu_);
    if (Status s = service_.AliveWorkers(redis_, &resp); !s.ok()) return s;
  }
  json workers = json::array();
  for (const auto& w : resp.workers()) {
    json running = json::array();
    for (int64_t id : w.running_trials()) running.push_back(id);
    // A worker that names no class is older than classes and claims cpu trials.
    json classes = json::array();
    for (const auto& c : w.classes()) classes.push_back(c);
    if (classes.empty()) classes.push_back("cpu");
    workers.push_back({{"name", w.name()}, {"host", w.host()}, {"pid", w.pid()}, {"last_seen", w.last_seen()},
                       {"concurrency", w.concurrency()}, {"running_trials", running}, {"classes", classes},
                       {"gpu_memory_gb", w.gpu_memory_gb()}});
  }
  return Json(200, {{"workers", workers}}, call.route);
}

Result<HttpResponse> RestApi::Healthz(const Call& call) { return HttpResponse{200, "text/plain", "ok\n", {}, call.route}; }

Result<HttpResponse> RestApi::Ready(const Call& call) {
  // Ready = can answer its clients: everything it serves reads SQLite, and a
  // submit is committed there and waits for Redis on its own. An unreachable
  // Redis is reported, not a reason to take the dashboard and sicctl away.
  auto reader = readers_.Acquire();
  Status db = reader.ok() ? reader.value()->Ping() : reader.status();
  if (!db.ok()) return Status::Unavailable("not ready: SQLite: " + db.message());
  Result<RedisValue> pong = Status::Unavailable("");
  {
    std::lock_guard<std::mutex> lock(redis_mu_);
    pong = redis_.client().Command({"PING"});
  }
  json out = {{"ready", true}, {"sqlite", "ok"}, {"redis", pong.ok() ? "ok" : pong.status().message()}};
  if (!options_.warning.empty()) out["warning"] = options_.warning;
  return Json(200, out, call.route);
}

Result<HttpResponse> RestApi::Metrics(const Call& call) {
  ScrapeReadings r;
  v1::ListWorkersResponse workers;
  {
    std::lock_guard<std::mutex> lock(redis_mu_);
    auto length = redis_.TrialsLength();
    auto claimed = length.ok() ? redis_.PendingTrials() : Result<int64_t>(length.status());
    r.redis_up = length.ok();
    if (length.ok() && claimed.ok()) {
      // Acknowledged entries are deleted, so the rest of the stream waits.
      r.queue_claimed = claimed.value();
      r.queue_depth = std::max<int64_t>(0, length.value() - claimed.value());
    }
    if (r.redis_up && service_.AliveWorkers(redis_, &workers).ok()) r.workers_alive = workers.workers_size();
  }
  if (auto reader = readers_.Acquire(); reader.ok()) {
    if (auto counts = reader.value()->TrialsByStatus(); counts.ok()) r.trials_by_state = counts.value();
  }
  return HttpResponse{200, "text/plain; version=0.0.4", telemetry_.Render(r), {}, call.route};
}

HttpResponse RestApi::Static(const HttpRequest& req) {
  const std::string route = "static";
  const StaticFile* file = web_.Find(req.target);
  if (!file) {
    if ((req.target == "/" || req.target == "/index.html") && !web_.has_index()) {
      return Error(404, "the dashboard's files are not in \"" + web_dir_ + "\" (set --web-dir)", route);
    }
    return Error(404, req.target + ": no such file", route);
  }
  return HttpResponse{200, file->content_type, file->bytes, {{"Cache-Control", file->cache_control}}, route};
}

}  // namespace sic
