#include "coordinator/http_server.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <optional>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/log.h"
#include "coordinator/route_table.h"

namespace sic {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// What a connection over the limit gets before it is closed: no parsing, no session.
const std::string& BusyAnswer() {
  static const std::string body = "{\"error\": \"too many connections; try again shortly\"}\n";
  static const std::string text =
      "HTTP/1.1 503 Service Unavailable\r\nServer: sic-coordinator\r\nContent-Type: application/json\r\n"
      "Connection: close\r\nRetry-After: 1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return text;
}

// accept() failed for want of descriptors or memory: trying again at once
// would fail again at once (the listening socket stays readable).
bool OutOfResources(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == beast::error_code(ENFILE, boost::system::system_category()) || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory;
}

}  // namespace

HttpRequest ToHttpRequest(const std::string& method, const std::string& target, const std::string& authorization,
                          const std::string& content_type, std::string body) {
  HttpRequest out;
  out.method = method;
  const size_t q = target.find('?');
  out.target = target.substr(0, q);
  out.path = PercentDecode(out.target, false);
  if (q != std::string::npos) {
    const std::string query = target.substr(q + 1);
    size_t start = 0;
    while (start <= query.size()) {
      size_t end = query.find('&', start);
      if (end == std::string::npos) end = query.size();
      const std::string pair = query.substr(start, end - start);
      if (!pair.empty()) {
        const size_t eq = pair.find('=');
        out.query[PercentDecode(pair.substr(0, eq), true)] =
            eq == std::string::npos ? "" : PercentDecode(pair.substr(eq + 1), true);
      }
      start = end + 1;
    }
  }
  out.authorization = authorization;
  out.content_type = content_type;
  out.body = std::move(body);
  return out;
}

namespace {

struct Shared {
  HttpLimits limits;
  HttpHandler handler;
  HttpObserver observer;
  std::atomic<int> open{0};  // sessions alive
};

// One connection: wait (idle) for a request's first bytes, read the request
// (bounded in size and time), answer it, repeat while keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Shared& shared) : peer_(PeerOf(socket)), stream_(std::move(socket)), shared_(shared) {}
  ~Session() { shared_.open.fetch_sub(1); }

  void Run() {
    asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::Wait, shared_from_this()));
  }

 private:
  void Wait() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_.limits.header_limit));
    parser_->body_limit(shared_.limits.body_limit);
    if (buffer_.size() > 0) return ReadRequest();  // pipelined: it has begun
    stream_.expires_after(Millis(shared_.limits.idle_timeout_s));
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->Close();
      self->buffer_.commit(n);
      self->ReadRequest();
    });
  }

  void ReadRequest() {
    // From its first byte, the whole request within request_timeout: a client
    // that trickles bytes cannot hold the connection for long.
    stream_.expires_after(Millis(shared_.limits.request_timeout_s));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    const auto now = std::chrono::steady_clock::now();
    if (ec == http::error::end_of_stream) return Close();
    if (ec == http::error::body_limit) {
      HttpResponse r{413, "application/json", R"({"error": "request body is over 1 MiB"})" "\n", {}, ""};
      return Write(r, false, 0, now);
    }
    if (ec == http::error::header_limit) {
      HttpResponse r{431, "application/json", R"({"error": "request headers are over 16 KiB"})" "\n", {}, ""};
      return Write(r, false, 0, now);
    }
    if (ec) {
      // A request we cannot parse gets a 400 rather than a silent hang-up.
      if (ec != beast::error::timeout && ec != asio::error::operation_aborted && ec != asio::error::eof &&
          ec != asio::error::connection_reset && buffer_.size() > 0) {
        HttpResponse r{400, "application/json", "{\"error\": \"malformed HTTP request\"}\n", {}, ""};
        return Write(r, false, 0, now);
      }
      return Close();
    }
    const http::request<http::string_body>& req = parser_->get();
    HttpResponse r;
    try {
      auto header = [&req](http::field f) {
        auto it = req.find(f);
        return it == req.end() ? std::string() : std::string(it->value());
      };
      HttpRequest request = ToHttpRequest(std::string(req.method_string()), std::string(req.target()),
                                          header(http::field::authorization), header(http::field::content_type),
                                          req.body());
      request.peer = peer_;
      r = shared_.handler(request);
    } catch (const std::exception& e) {
      r = HttpResponse{500, "application/json", ErrorBody(e.what()), {}, ""};
    }
    Write(r, req.keep_alive(), req.version(), now, req.method() == http::verb::head);
  }

  // The handler threw (it should not): a JSON 500 without pulling in a JSON library.
  static std::string ErrorBody(const std::string& what) {
    std::string escaped;
    for (char c : what) {
      if (c == '"' || c == '\\') escaped += '\\';
      if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x80) escaped += c;
    }
    return "{\"error\": \"internal error: " + escaped + "\"}\n";
  }

  // `head`: the answer to a HEAD request: its headers (Content-Length of the
  // body it would have), no body.
  void Write(const HttpResponse& r, bool keep_alive, unsigned version,
             std::chrono::steady_clock::time_point start, bool head = false) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status),
                                                                   version ? version : 11);
    res->set(http::field::server, "sic-coordinator");
    res->set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res->set(k, v);
    res->keep_alive(keep_alive);
    res->body() = r.body;
    res->prepare_payload();
    if (head) res->body().clear();
    const std::string route = r.route;
    const int code = r.status;
    // A client that does not read its answer is bounded like a slow request.
    stream_.expires_after(Millis(shared_.limits.request_timeout_s));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, route, code, start](beast::error_code ec, size_t) {
                        if (self->shared_.observer) {
                          const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
                          self->shared_.observer(route, code, took.count());
                        }
                        if (ec) return;
                        if (!res->keep_alive()) return self->Close();
                        self->Wait();
                      });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // "ipv4:127.0.0.1:5000" or "ipv6:[::1]:5000", as gRPC names its peers.
  static std::string PeerOf(const tcp::socket& socket) {
    beast::error_code ec;
    const tcp::endpoint e = socket.remote_endpoint(ec);
    if (ec) return "unknown";
    const auto a = e.address();
    return a.is_v4() ? "ipv4:" + a.to_string() + ":" + std::to_string(e.port())
                     : "ipv6:[" + a.to_string() + "]:" + std::to_string(e.port());
  }

  const std::string peer_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Shared& shared_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(const HttpLimits& limits, HttpHandler h, HttpObserver o)
      : shared{limits, std::move(h), std::move(o)},
        pool(limits.threads < 1 ? 1 : limits.threads),
        acceptor(asio::make_strand(pool)),
        retry(acceptor.get_executor()) {}

  // Runs on the acceptor's strand.
  void Accept() {
    acceptor.async_accept(asio::make_strand(pool), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (ec && OutOfResources(ec)) {
        if (!starved) Log("HTTP: cannot accept connections (" + ec.message() + "); retrying every 100 ms");
        starved = true;
        retry.expires_after(std::chrono::milliseconds(100));
        retry.async_wait([this](beast::error_code wait) {
          if (!wait) Accept();
        });
        return;
      }
      if (!ec) {
        if (starved) Log("HTTP: accepting connections again");
        starved = false;
        if (shared.open.load() >= shared.limits.max_connections) {
          Refuse(std::move(socket));
        } else {
          shared.open.fetch_add(1);
          std::make_shared<Session>(std::move(socket), shared)->Run();
        }
      }
      Accept();
    });
  }

  // Over max_connections: a fixed 503, then the connection closed once the
  // client has closed its side or after 1 s. (Closing at once, with the
  // client's request still unread, would send a reset that can destroy the
  // 503 before the client reads it.)
  class Refused : public std::enable_shared_from_this<Refused> {
   public:
    explicit Refused(tcp::socket socket) : socket_(std::move(socket)), timer_(socket_.get_executor()) {}
    void Run() {
      asio::async_write(socket_, asio::buffer(BusyAnswer()), [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->Close();
        beast::error_code ignored;
        self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
        self->timer_.expires_after(std::chrono::seconds(1));
        self->timer_.async_wait([self](beast::error_code) { self->Close(); });
        self->Drain();
      });
    }

   private:
    void Drain() {
      socket_.async_read_some(asio::buffer(sink_), [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->Close();  // the client closed (or the timer did)
        self->Drain();
      });
    }
    void Close() {
      beast::error_code ignored;
      timer_.cancel();
      socket_.close(ignored);
    }
    tcp::socket socket_;
    asio::steady_timer timer_;
    char sink_[1024];
  };
  static void Refuse(tcp::socket socket) { std::make_shared<Refused>(std::move(socket))->Run(); }

  Shared shared;  // before the pool: sessions the pool destroys last still count themselves out
  asio::thread_pool pool;
  tcp::acceptor acceptor;
  asio::steady_timer retry;
  bool starved = false;  // on the acceptor's strand
  std::atomic<bool> stopped{false};
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address, const HttpLimits& limits,
                                                      HttpHandler handler, HttpObserver observer) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return Status::Error("--http: \"" + address + "\" is not HOST:PORT");
  std::string host = address.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(address.substr(colon + 1), &used);
    if (used != address.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535) return Status::Error("--http: \"" + address + "\" has no valid port");
  beast::error_code ec;
  const auto ip = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) return Status::Error("--http: \"" + host + "\" is not an IP address");
  auto impl = std::make_unique<Impl>(limits, std::move(handler), std::move(observer));
  const tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Error("cannot listen on " + address + ": " + ec.message());
  asio::dispatch(impl->acceptor.get_executor(), [p = impl.get()] { p->Accept(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

int HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void HttpServer::Stop() {
  if (impl_->stopped.exchange(true)) return;
  asio::post(impl_->acceptor.get_executor(), [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    impl_->retry.cancel();
  });
  // Open keep-alive connections would hold the pool for their idle timeout.
  impl_->pool.stop();
  impl_->pool.join();
}

}  // namespace sic
