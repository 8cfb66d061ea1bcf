#include "coordinator/http_server.h"

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace sic {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kMaxBody = 1 << 20;
constexpr auto kIdleTimeout = std::chrono::seconds(60);

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

HttpRequest ToRequest(const http::request<http::string_body>& req) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  const std::string target(req.target());
  const size_t q = target.find('?');
  out.path = PercentDecode(target.substr(0, q), false);
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
  if (auto it = req.find(http::field::authorization); it != req.end()) out.authorization = std::string(it->value());
  out.body = req.body();
  return out;
}

// One connection: read a request, answer it, repeat while keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpHandler& handler, const HttpObserver& observer)
      : stream_(std::move(socket)), handler_(handler), observer_(observer) {}

  void Run() {
    asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::Read, shared_from_this()));
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(kMaxBody);
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream) return Close();
    if (ec == http::error::body_limit) {
      HttpResponse r{413, "application/json", R"({"error": "request body is over 1 MiB"})" "\n", {}, ""};
      return Write(r, false, 0, std::chrono::steady_clock::now());
    }
    if (ec) {
      // A request we cannot parse gets a 400 rather than a silent hang-up.
      if (ec != beast::error::timeout && ec != asio::error::operation_aborted && ec != asio::error::eof &&
          ec != asio::error::connection_reset && buffer_.size() > 0) {
        HttpResponse r{400, "application/json", "{\"error\": \"malformed HTTP request\"}\n", {}, ""};
        return Write(r, false, 0, std::chrono::steady_clock::now());
      }
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    const http::request<http::string_body>& req = parser_->get();
    HttpResponse r;
    try {
      r = handler_(ToRequest(req));
    } catch (const std::exception& e) {
      r = HttpResponse{500, "application/json", ErrorBody(e.what()), {}, ""};
    }
    Write(r, req.keep_alive(), req.version(), start);
  }

  // The handler threw (it should not): a JSON 500 without pulling in a JSON library.
  static std::string ErrorBody(const std::string& what) {
    std::string escaped;
    for (char c : what) {
      if (c == '"' || c == '\\') escaped += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) escaped += c;
    }
    return "{\"error\": \"internal error: " + escaped + "\"}\n";
  }

  void Write(const HttpResponse& r, bool keep_alive, unsigned version,
             std::chrono::steady_clock::time_point start) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status),
                                                                   version ? version : 11);
    res->set(http::field::server, "sic-coordinator");
    res->set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res->set(k, v);
    res->keep_alive(keep_alive);
    res->body() = r.body;
    res->prepare_payload();
    const std::string route = r.route;
    const int code = r.status;
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, route, code, start](beast::error_code ec, size_t) {
                        if (self->observer_) {
                          const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
                          self->observer_(route, code, took.count());
                        }
                        if (ec) return;
                        if (!res->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const HttpHandler& handler_;
  const HttpObserver& observer_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(int threads, HttpHandler h, HttpObserver o)
      : pool(threads), acceptor(asio::make_strand(pool)), handler(std::move(h)), observer(std::move(o)) {}

  void Accept() {
    acceptor.async_accept(asio::make_strand(pool), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Session>(std::move(socket), handler, observer)->Run();
      Accept();
    });
  }

  asio::thread_pool pool;
  tcp::acceptor acceptor;
  HttpHandler handler;
  HttpObserver observer;
  std::atomic<bool> stopped{false};
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address, int threads, HttpHandler handler,
                                                      HttpObserver observer) {
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
  auto impl = std::make_unique<Impl>(threads < 1 ? 1 : threads, std::move(handler), std::move(observer));
  const tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Error("cannot listen on " + address + ": " + ec.message());
  impl->Accept();
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
  });
  // Open keep-alive connections would hold the pool for their idle timeout.
  impl_->pool.stop();
  impl_->pool.join();
}

std::string PercentDecode(const std::string& text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = HexDigit(text[i + 1]), lo = HexDigit(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += plus_is_space && c == '+' ? ' ' : c;
  }
  return out;
}

}  // namespace sic
