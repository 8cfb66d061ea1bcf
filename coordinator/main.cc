// sic-coordinator: the gRPC SweepService, the REST API and dashboard (HTTP),
// the SQLite file (its only writer), and the pumps between SQLite and the
// Redis streams. SIGTERM/SIGINT stop it
// cleanly; kill -9 loses nothing (see pumps.h and store.h).
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include "common/log.h"
#include "common/results_reader.h"
#include "coordinator/auth.h"
#include "coordinator/http_server.h"
#include "coordinator/pumps.h"
#include "coordinator/feed.h"
#include "coordinator/rest_api.h"
#include "coordinator/service.h"
#include "coordinator/static_files.h"
#include "coordinator/telemetry.h"

#ifndef SIC_DEFAULT_WEB_DIR
#define SIC_DEFAULT_WEB_DIR ""
#endif

int main(int argc, char** argv) {
  CLI::App app{"sic-coordinator: runs sweeps of SIC trainings on sic-worker processes through Redis"};
  std::string listen = "127.0.0.1:50051";
  std::string http = "127.0.0.1:8080";
  std::string web_dir = SIC_DEFAULT_WEB_DIR;
  sic::HttpLimits http_limits;
  bool insecure = false;
  bool auth_reads = false;
  std::string db = "sic.db";
  std::string redis_address = "127.0.0.1:6379";
  std::string prefix = "sic";
  std::string token;
  std::string redis_password;
  int64_t max_trials = 10000;
  double worker_timeout_s = 30;
  sic::PumpOptions pump_options;
  sic::FeedOptions feed_options;
  app.add_option("--listen", listen, "gRPC address to serve on")->capture_default_str();
  app.add_option("--http", http, "HTTP address of the REST API, /metrics and the dashboard")
      ->envname("SIC_HTTP")->capture_default_str();
  app.add_option("--web-dir", web_dir, "folder of the dashboard's files (web/ with its node_modules)")
      ->envname("SIC_WEB_DIR")->capture_default_str();
  app.add_option("--http-threads", http_limits.threads, "threads answering HTTP (each may read SQLite)")
      ->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--http-max-connections", http_limits.max_connections,
                 "open HTTP connections at most; one more is answered 503 and closed")
      ->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--http-request-timeout-s", http_limits.request_timeout_s,
                 "seconds a client has to send a whole request once it has begun (or to read an answer)")
      ->check(CLI::Range(0.1, 3600.0))->capture_default_str();
  app.add_option("--db", db, "SQLite file (created if missing)")->capture_default_str();
  app.add_option("--redis", redis_address, "Redis HOST:PORT")->envname("SIC_REDIS")->capture_default_str();
  app.add_option("--redis-password", redis_password, "Redis password")->envname("SIC_REDIS_PASSWORD");
  app.add_option("--prefix", prefix, "prefix of the Redis keys")->capture_default_str();
  app.add_option("--token", token, "shared token, the bootstrap admin (users get their own: sicctl token create); "
                 "without it, a caller that sends no token is the local admin")->envname("SIC_TOKEN");
  app.add_flag("--auth-reads", auth_reads, "reads (REST /api/v1, /metrics, gRPC reads) need the token too")
      ->envname("SIC_AUTH_READS");
  app.add_flag("--insecure", insecure, "serve a non-loopback address without a token (anyone who reaches it "
               "may submit and cancel)");
  app.add_option("--max-trials", max_trials, "most trials one sweep may expand to")->capture_default_str();
  app.add_option("--worker-timeout-s", worker_timeout_s, "workers silent this long are no longer listed")
      ->capture_default_str();
  app.add_option("--reconcile-s", pump_options.reconcile_s,
                 "every this many seconds, re-enqueue queued or running trials whose job Redis lost (0: never)")
      ->check(CLI::Range(0.0, 86400.0))->capture_default_str();
  app.add_option("--feed-ahead", feed_options.ahead,
                 "trials of adaptive sweeps (schedule, search) fed to the queue beyond the idle worker slots")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}))->capture_default_str();
  std::string dispatch = "fair";
  app.add_option("--dispatch", dispatch,
                 "fair: feed each device class's queue a few trials beyond its workers' slots, by priority, then "
                 "fair share by user, then sweep; fifo: every trial goes to its queue at submit")
      ->check(CLI::IsMember({"fair", "fifo"}))->capture_default_str();
  app.add_option("--dispatch-ahead", pump_options.dispatch.ahead,
                 "trials fed to a class's queue beyond its live workers' slots (fair dispatch)")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}))->capture_default_str();
  int64_t max_running_per_user = 0;
  app.add_option("--max-running-per-user", max_running_per_user,
                 "most queued + running trials one user may have (0: no cap); the rest wait without blocking others")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}))->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  sic::SetLogName("sic-coordinator");

  // A listener others can reach, and no token: refuse, unless told --insecure.
  const std::vector<std::pair<std::string, std::string>> listeners = {{"--listen", listen}, {"--http", http}};
  if (sic::Status s = sic::CheckExposure(listeners, !token.empty(), insecure); !s.ok()) {
    std::cerr << "sic-coordinator: " << s.message() << "\n";
    return 2;
  }
  if (auth_reads && token.empty()) {
    std::cerr << "sic-coordinator: --auth-reads needs a token: set --token (or SIC_TOKEN)\n";
    return 2;
  }
  sic::RestOptions rest_options;
  if (!sic::CheckExposure(listeners, !token.empty(), false).ok()) {
    rest_options.warning = "serving a non-loopback address without a token (--insecure): anyone who reaches it "
                           "may submit and cancel sweeps";
    sic::Log("warning: " + rest_options.warning);
  }

  sic::RedisOptions redis;
  redis.password = redis_password;
  if (sic::Status s = sic::ParseRedisAddress(redis_address, redis); !s.ok()) {
    std::cerr << "sic-coordinator: " << s.message() << "\n";
    return 2;
  }
  sic::ConfigureSqliteProcess();
  auto store = sic::Store::Open(db);
  if (!store.ok()) {
    std::cerr << "sic-coordinator: " << store.status().message() << "\n";
    return 1;
  }
  pump_options.fair = dispatch == "fair";
  pump_options.dispatch.max_running_per_user = max_running_per_user;
  sic::Pumps pumps(*store.value(), redis, prefix, pump_options);
  sic::ServiceOptions options;
  options.token = token;
  options.auth_reads = auth_reads;
  options.limits.max_trials = max_trials;
  options.redis = redis;
  options.prefix = prefix;
  options.worker_timeout_s = worker_timeout_s;
  options.max_running_per_user = max_running_per_user;
  sic::ReaderPool readers(db);
  // The feed's idle worker slots, from the registry the workers keep in Redis
  // (its own connection: the feed's thread only).
  sic::SweepServiceImpl* service_ptr = nullptr;
  sic::Queue feed_queue(redis, prefix);
  sic::Feed feed(*store.value(), [&]() -> sic::Result<int64_t> {
    sic::v1::ListWorkersResponse workers;
    if (sic::Status s = service_ptr->AliveWorkers(feed_queue, &workers); !s.ok()) return s;
    int64_t idle = 0;
    for (const auto& w : workers.workers()) idle += std::max<int64_t>(0, w.concurrency() - w.running_trials_size());
    return idle;
  }, feed_options);
  sic::SweepServiceImpl service(*store.value(), pumps, feed, readers, options);
  service_ptr = &service;
  // The dispatcher's live workers, from the same registry (its own
  // connection: the enqueue thread only).
  sic::Queue dispatch_queue(redis, prefix);
  pumps.SetSlots([&] { return service_ptr->AliveWorkerSlots(dispatch_queue); });
  pumps.SetRungResolver([&feed](int64_t sweep_id, int64_t step, const std::map<std::string, double>& metrics) {
    return feed.RungOf(sweep_id, step, metrics);
  });
  pumps.SetPauseObserver([&feed] { feed.Wake(); });
  feed.SetFedObserver([&pumps] { pumps.Wake(); });
  sic::Telemetry telemetry;
  pumps.SetIngestObserver([&telemetry](double seconds) { telemetry.ObserveIngest(seconds); });
  std::vector<std::string> web_warnings;
  sic::StaticFiles web = sic::StaticFiles::Load(web_dir, &web_warnings);
  for (const std::string& w : web_warnings) sic::Log("warning: dashboard: " + w);
  if (!web.has_index()) sic::Log("warning: no dashboard at --web-dir \"" + web_dir + "\"; the API still works");
  sic::RestApi rest(*store.value(), pumps, service, readers, telemetry, std::move(web), web_dir, rest_options);

  // Block the stop signals in every thread; one thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second coordinator on the same port
  // would start and silently share the traffic. Refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Refuse a message far above the 1 MiB spec limit before protobuf parses it
  // (gRPC's default is 4 MiB); the spec parser refuses the rest by name.
  builder.SetMaxReceiveMessageSize((1 << 20) + (64 << 10));
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "sic-coordinator: cannot listen on " << listen << "\n";
    return 1;
  }
  auto http_server = sic::HttpServer::Start(
      http, http_limits, [&rest](const sic::HttpRequest& req) { return rest.Handle(req); },
      [&telemetry](const std::string& route, int code, double seconds) {
        telemetry.ObserveHttp(route.empty() ? "unrouted" : route, code, seconds);
      });
  if (!http_server.ok()) {
    std::cerr << "sic-coordinator: " << http_server.status().message() << "\n";
    return 1;
  }
  pumps.Start();
  feed.Start();
  // The real port, when --http asked for any free one (":0").
  const std::string http_bound = http.substr(0, http.rfind(':') + 1) + std::to_string(http_server.value()->port());
  sic::Log("serving gRPC on " + listen + ", HTTP on " + http_bound + " (db " + db + ", redis " + redis.Address() +
           ", token " + (token.empty() ? "off" : "on") +
           (auth_reads ? ", reads need it" : "") + ")");

  int sig = 0;
  sigwait(&stop_signals, &sig);
  sic::Log("stopping");
  http_server.value()->Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  feed.Stop();
  pumps.Stop();
  return 0;
}
