// HttpServer: a small HTTP/1.1 server (Boost.Beast over Asio) that hands each
// request, fully read, to one handler function and writes back its answer.
// Keep-alive, bodies up to 1 MiB (413 beyond), idle connections closed after
// 60 s. The handler runs on one of `threads` pool threads and may block (it
// reads SQLite): size the pool for the readers you want in parallel.
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
  std::string path;                          // percent-decoded, without the query
  std::map<std::string, std::string> query;  // decoded; a repeated key keeps the last
  std::string authorization;                 // the Authorization header, if any
  std::string body;
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

class HttpServer {
 public:
  // Binds "host:port" (port 0: any free one) and starts serving.
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& address, int threads, HttpHandler handler,
                                                   HttpObserver observer = nullptr);
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

// "%2F" -> "/", and "+" -> " " when `plus_is_space` (query strings).
std::string PercentDecode(const std::string& text, bool plus_is_space);

}  // namespace sic
