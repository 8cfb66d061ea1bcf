#include "coordinator/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <boost/asio/ip/address.hpp>

namespace sic {
namespace {

void Sha256(const std::string& text, unsigned char out[SHA256_DIGEST_LENGTH]) {
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out);
}

}  // namespace

bool TokenMatches(const std::string& authorization, const std::string& token) {
  if (token.empty()) return true;
  static const std::string kScheme = "Bearer ";
  // The scheme is public; only what follows it is compared, as digests of a
  // fixed size, so neither the token's content nor its length shows in the time.
  const std::string given = authorization.compare(0, kScheme.size(), kScheme) == 0
                                ? authorization.substr(kScheme.size())
                                : std::string();
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  Sha256(given, a);
  Sha256(token, b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

bool IsLoopbackListener(const std::string& address) {
  if (address.rfind("unix:", 0) == 0 || address.rfind("unix-abstract:", 0) == 0) return true;
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = address.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(host, ec);
  if (ec) return false;  // "", a host name: it may resolve to anything
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
    return ip.to_v6().to_v4().is_loopback();
  }
  return ip.is_loopback();
}

Status CheckExposure(const std::vector<std::pair<std::string, std::string>>& listeners, bool has_token,
                     bool insecure) {
  if (has_token || insecure) return Status::OK();
  for (const auto& [flag, address] : listeners) {
    if (IsLoopbackListener(address)) continue;
    return Status::FailedPrecondition(
        flag + " " + address + " is reachable from other machines and no token is set: set --token (or "
        "SIC_TOKEN), listen on 127.0.0.1, or pass --insecure to serve without a token anyway");
  }
  return Status::OK();
}

}  // namespace sic
