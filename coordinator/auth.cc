#include "coordinator/auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

#include <boost/asio/ip/address.hpp>

#include "common/log.h"

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

const char* RoleName(Role role) {
  switch (role) {
    case Role::kViewer: return "viewer";
    case Role::kMember: return "member";
    case Role::kAdmin: return "admin";
  }
  return "viewer";
}

bool ParseRole(const std::string& name, Role* out) {
  for (Role r : {Role::kViewer, Role::kMember, Role::kAdmin}) {
    if (name == RoleName(r)) {
      *out = r;
      return true;
    }
  }
  return false;
}

Status Authorize(const Principal& who, Access access, const std::string& action, const std::string& owner,
                 int64_t sweep_id) {
  const std::string is = "; " + who.user + " is " + (who.role == Role::kAdmin ? "an " : "a ") + RoleName(who.role);
  switch (access) {
    case Access::kOpen:
    case Access::kRead:
      return Status::OK();
    case Access::kSubmit:
      if (who.role != Role::kViewer) return Status::OK();
      return Status::PermissionDenied(action + " needs the member or admin role" + is);
    case Access::kOwnSweep:
      if (who.role == Role::kAdmin) return Status::OK();
      if (who.role == Role::kMember && who.user == owner) return Status::OK();
      if (who.role == Role::kViewer) {
        return Status::PermissionDenied(action + " needs the member role (as the sweep's owner) or admin" + is);
      }
      return Status::PermissionDenied(action + " of sweep " + std::to_string(sweep_id) + " needs its owner (" +
                                      (owner.empty() ? "nobody" : owner) + ") or the admin role" + is);
    case Access::kAdmin:
      if (who.role == Role::kAdmin) return Status::OK();
      return Status::PermissionDenied(action + " needs the admin role" + is);
  }
  return Status::PermissionDenied(action + ": not allowed");
}

Result<std::string> NewToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Status::Internal("token: the random generator failed");
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out = "sic_";
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  OPENSSL_cleanse(bytes, sizeof bytes);
  return out;
}

std::string TokenDigest(const std::string& token) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  Sha256(token, d);
  return std::string(reinterpret_cast<const char*>(d), sizeof d);
}

Status CheckUserName(const std::string& user) {
  const bool chars = std::all_of(user.begin(), user.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
  if (user.empty() || user.size() > 64 || !chars) {
    return Status::InvalidArgument("user: \"" + user.substr(0, 64) +
                                   "\" must be 1-64 of letters, digits, '_', '-' and '.'");
  }
  if (user == "admin" || user == "local") {
    return Status::InvalidArgument("user: \"" + user + "\" is the name of the shared token's caller (" +
                                   "\"admin\") or of the open local mode (\"local\"); choose another");
  }
  return Status::OK();
}

Authenticator::Authenticator(Store& store, std::string shared_token)
    : store_(store), shared_(std::move(shared_token)) {}

Result<Principal> Authenticator::Resolve(const std::string& authorization) {
  if (authorization.empty()) {
    if (shared_.empty()) return Principal{"local", Role::kAdmin};
    return Status::Unauthenticated("missing or wrong token");
  }
  static const std::string kScheme = "Bearer ";
  if (authorization.compare(0, kScheme.size(), kScheme) != 0 || authorization.size() == kScheme.size()) {
    return Status::Unauthenticated("missing or wrong token");
  }
  if (!shared_.empty() && TokenMatches(authorization, shared_)) return Principal{"admin", Role::kAdmin};
  const std::string digest = TokenDigest(authorization.substr(kScheme.size()));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = live_.find(digest); it != live_.end()) return it->second;
  }
  auto row = store_.FindToken(digest);
  if (!row.ok()) {
    if (row.status().code() == Status::Code::kNotFound) return Status::Unauthenticated("missing or wrong token");
    return Status::Unavailable("token lookup: " + row.status().message());
  }
  // The store found it by its digest; compared again here in constant time.
  if (row->digest.size() != digest.size() || CRYPTO_memcmp(row->digest.data(), digest.data(), digest.size()) != 0) {
    return Status::Unauthenticated("missing or wrong token");
  }
  if (row->revoked_at > 0) return Status::Unauthenticated("the token was revoked");
  Principal p{row->user, Role::kViewer};
  if (!ParseRole(row->role, &p.role)) return Status::Unauthenticated("the token's role is unknown");
  std::lock_guard<std::mutex> lock(mu_);
  live_[digest] = p;
  return p;
}

void Authenticator::Forget() {
  std::lock_guard<std::mutex> lock(mu_);
  live_.clear();
}

std::string AuditCode(Status::Code code) {
  std::string name = CodeName(code);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  return name;
}

void Audit(Store& store, const Principal* who, const std::string& action, const std::string& target,
           const std::string& source, const Status& outcome, const std::string& detail) {
  AuditRow row;
  row.at = NowSeconds();
  row.user = who ? who->user : "?";
  row.role = who ? RoleName(who->role) : "";
  row.action = action;
  row.target = target;
  row.source = source;
  row.code = AuditCode(outcome.code());
  // A refusal's reason, or what the caller said; bounded, one line.
  row.detail = (detail.empty() && !outcome.ok() ? outcome.message() : detail).substr(0, 300);
  std::replace(row.detail.begin(), row.detail.end(), '\n', ' ');
  if (auto id = store.AppendAudit(row); !id.ok()) {
    Log("warning: audit: could not record " + action + " " + target + " by " + row.user + ": " +
        id.status().message());
  }
}

}  // namespace sic
