// HttpServer: a small HTTP/1.1 server (Boost.Beast over Asio) that hands each
// request, fully read, to one handler function and writes back its answer.
// The handler runs on one of `threads` pool threads and may block (it reads
// SQLite): size the pool for the readers you want in parallel.
//
// Every resource a client can make it hold is bounded (HttpLimits):
//   - connections: at most max_connections open at once; one more is
//     accepted, answered 503 with "Connection: close" and closed (when the
//     client closes, at most 1 s later), so a flood costs an accept and a
//     write, never a session or a handler thread;
//   - file descriptors: when accept fails for want of them (EMFILE, ENFILE,
//     ENOBUFS, ENOMEM) it waits 100 ms before trying again (no busy loop) and
//     logs once per such episode;
//   - a request's headers: at most header_limit bytes (431 beyond);
//   - a request's body: at most body_limit bytes (413 beyond, from the
//     Content-Length before the body is read);
//   - time: a request, once its first byte has arrived, must be read whole
//     within request_timeout (else the connection is closed); a keep-alive
//     connection may wait idle_timeout for its next request.
//
// Thread-safety: the handler is called concurrently; Start/Stop from one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sic/status.h"

namespace sic {

struct HttpRequest {
  std::string method;                        // "GET", "POST", ...
  std::string target;                        // the path as sent, without the query (not decoded)
  std::string path;                          // percent-decoded, without the query
  std::map<std::string, std::string> query;  // decoded; a repeated key keeps the last
  std::string authorization;                 // the Authorization header, if any
  std::string content_type;                  // the Content-Type header, if any
  std::string body;
  std::string peer;                          // the client's address, "ipv4:127.0.0.1:5000" (for the audit log)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones
  std::string route;  // the route template that answered, for metrics ("" = unrouted)
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// Called after each answer: route, status code, seconds from request read to answer written.
using HttpObserver = std::function<void(const std::string&, int, double)>;

struct HttpLimits {
  int threads = 4;
  int max_connections = 256;
  size_t header_limit = 16 << 10;
  size_t body_limit = 1 << 20;
  double request_timeout_s = 15;
  double idle_timeout_s = 60;
};

class HttpServer {
 public:
  // Binds "host:port" (port 0: any free one) and starts serving.
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& address, const HttpLimits& limits,
                                                   HttpHandler handler, HttpObserver observer = nullptr);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  void Stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The request as a handler sees it, from what Beast parsed: path and query
// split and decoded, the headers a handler reads. (Public for the fuzzer.)
HttpRequest ToHttpRequest(const std::string& method, const std::string& target, const std::string& authorization,
                          const std::string& content_type, std::string body);

}  // namespace sic
