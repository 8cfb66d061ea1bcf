// libFuzzer target: the coordinator's HTTP boundary, from the bytes on the
// wire to the answer. Any input must give an answer (or a parse error), never
// a crash, a hang, an unbounded allocation or an exception; every error
// answer is one line of JSON {"error": "..."}; nothing outside the dashboard's
// manifest is ever served.
//
// Input format: one raw HTTP/1.1 request, exactly as a client sends it:
//   METHOD TARGET HTTP/1.1\r\n          e.g. "GET /api/v1/sweeps/1/trials?sort=loss.total HTTP/1.1"
//   Header: value\r\n ...               Authorization, Content-Type, Content-Length, ...
//   \r\n
//   body                                (Content-Length bytes)
// It goes through Beast's request parser with the server's limits (16 KiB of
// headers, 1 MiB of body), ToHttpRequest (path, query, headers) and
// RestApi::Handle: route table, token and content-type checks, parameter
// validation, the SQLite reads of the handlers and the static file lookup.
//
// The world it runs against, built once: a Store in a temp folder with one
// sweep of two trials (one finished, with metrics, a curve and a picture),
// a web folder with a page, a script and a symbolic link to a secret
// outside, the token "t", and a Redis that is not there (port 1).
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "common/results_reader.h"
#include "common/store.h"
#include "common/sweep_spec.h"
#include "coordinator/http_server.h"
#include "coordinator/pumps.h"
#include "coordinator/rest_api.h"
#include "coordinator/service.h"
#include "coordinator/static_files.h"
#include "coordinator/telemetry.h"

namespace {

namespace http = boost::beast::http;

constexpr const char* kSecret = "SECRET-OUTSIDE-WEB";

struct World {
  std::string dir;
  std::unique_ptr<sic::Store> store;
  std::unique_ptr<sic::Pumps> pumps;
  std::unique_ptr<sic::Feed> feed;
  std::unique_ptr<sic::SweepServiceImpl> service;
  std::unique_ptr<sic::ReaderPool> readers;
  sic::Telemetry telemetry;
  std::unique_ptr<sic::RestApi> rest;

  World() {
    char tmpl[] = "/tmp/sic-http-fuzz-XXXXXX";
    if (!mkdtemp(tmpl)) abort();
    dir = tmpl;
    namespace fs = std::filesystem;
    fs::create_directories(dir + "/web/js");
    std::ofstream(dir + "/web/index.html") << "<html></html>";
    std::ofstream(dir + "/web/js/app.js") << "export {};";
    std::ofstream(dir + "/secret.js") << kSecret;
    fs::create_symlink(dir + "/secret.js", dir + "/web/js/leak.js");

    sic::ConfigureSqliteProcess();
    auto s = sic::Store::Open(dir + "/sic.db");
    if (!s.ok()) abort();
    store = std::move(s.value());
    auto spec = sic::ParseSweepSpec(R"({"name": "fuzz", "base": {"optim": {"steps": 20}}, "seeds": 2})");
    if (!spec.ok()) abort();
    auto id = store->CreateSweep(spec.value(), 100);
    if (!id.ok()) abort();
    auto trials = store->ListTrials(id.value(), 0, 10);
    if (!trials.ok() || trials->empty()) abort();
    const sic::TrialRow& t = trials->front();
    if (!store->RecordStart(t.id, t.round, 1, "w", 101).ok()) abort();
    sic::TrialResult r;
    r.trial_id = t.id;
    r.round = t.round;
    r.delivery = 1;
    r.worker = "w";
    r.ok = true;
    r.metrics = {{"loss.total", -0.5}, {"eval.2m.max_score60", std::nan("")}};
    r.curve = {{10, 2.0, 1, 1, 1, 1, 1e-3}, {20, 1.5, 1, 1, 1, 1, 1e-3}};
    r.artifacts = {{"arena_2m/ratemaps.png", "image/png", std::string("\x89PNG\r\n\x1a\n", 8)}};
    r.started_at = 101;
    r.finished_at = 102;
    if (!store->RecordResult(r).ok()) abort();

    sic::RedisOptions redis;
    redis.port = 1;  // nothing listens: every Redis call fails at once
    redis.timeout_s = 0.2;
    pumps = std::make_unique<sic::Pumps>(*store, redis, "fuzz");
    sic::ServiceOptions options;
    options.token = "t";
    options.limits.max_trials = 32;
    options.redis = redis;
    options.prefix = "fuzz";
    readers = std::make_unique<sic::ReaderPool>(dir + "/sic.db");
    feed = std::make_unique<sic::Feed>(*store, nullptr);  // never started: Ask runs on the caller's thread
    service = std::make_unique<sic::SweepServiceImpl>(*store, *pumps, *feed, *readers, options);
    std::vector<std::string> warnings;
    rest = std::make_unique<sic::RestApi>(*store, *pumps, *service, *readers, telemetry,
                                          sic::StaticFiles::Load(dir + "/web", &warnings), dir + "/web");
  }
};

World& TheWorld() {
  static World* world = [] {
    World* w = new World();  // lives for the process, like a server's
    // Its folder goes when the process exits (SQLite needs no files then).
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(TheWorld().dir, ignored);
    });
    return w;
  }();
  return *world;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& world = TheWorld();
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 << 10);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_done()) return 0;
  const auto& req = parser.get();
  auto header = [&req](http::field f) {
    auto it = req.find(f);
    return it == req.end() ? std::string() : std::string(it->value());
  };
  const sic::HttpRequest in = sic::ToHttpRequest(std::string(req.method_string()), std::string(req.target()),
                                                 header(http::field::authorization),
                                                 header(http::field::content_type), req.body());
  const sic::HttpResponse out = world.rest->Handle(in);

  if (out.status < 200 || out.status > 599) __builtin_trap();
  // A file outside web/ is never served. (An error may echo the request's own
  // target, so only successful answers are checked.)
  if (out.status < 300 && out.body.find(kSecret) != std::string::npos) __builtin_trap();
  if (out.status >= 400) {
    if (out.content_type != "application/json") __builtin_trap();
    const nlohmann::json body = nlohmann::json::parse(out.body, nullptr, false);
    if (!body.is_object() || !body.contains("error") || !body["error"].is_string()) __builtin_trap();
    if (body["error"].get<std::string>().find('\n') != std::string::npos) __builtin_trap();
  }
  // Writes need the token and JSON: never 2xx for a POST without both.
  if (in.method == "POST" && out.status < 300) {
    if (in.authorization != "Bearer t") __builtin_trap();
    std::string type = in.content_type;
    for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (type.find("application/json") == std::string::npos) __builtin_trap();
  }
  return 0;
}
