// Who may call the coordinator, and what each caller may do.
//
// Callers (Authenticator::Resolve, from the "Authorization: Bearer T" value):
//   - the shared token (--token, SIC_TOKEN) is the bootstrap admin, user "admin";
//   - a per-user token (sicctl token create) is looked up by its SHA-256
//     digest in the store's `tokens` table: its user and role; a revoked one
//     is refused;
//   - no token at all, on a coordinator without a shared token: the open
//     local mode of before users existed, user "local", an admin;
//   - anything else (an unknown or revoked token, a header that is not
//     "Bearer T", no token where the shared one is set): Unauthenticated.
// Roles (Authorize): a viewer reads; a member also submits, and cancels,
// retries, re-prioritises, asks and tells its own sweeps; an admin does all of
// it to any sweep and alone manages tokens and reads the audit log.
//
// Tokens are 32 random bytes (OpenSSL RAND_bytes) written as "sic_" and
// base64url (47 characters); the store keeps only their SHA-256.
//
// TokenMatches compares SHA-256 digests of the given and the expected token
// with CRYPTO_memcmp: the time it takes depends neither on where the two first
// differ nor on the expected token's length.
//
// CheckExposure is the start-up rule: any listener (gRPC --listen, HTTP
// --http) on an address other than loopback (127.0.0.0/8, ::1, "localhost",
// or a unix socket) needs a token, unless the operator says --insecure.
//
// Thread-safety: pure functions, except Authenticator, which is thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/store.h"
#include "sic/status.h"

namespace sic {

enum class Role { kViewer, kMember, kAdmin };
const char* RoleName(Role role);  // "viewer", "member", "admin"
// "viewer", "member" or "admin"; false for anything else.
bool ParseRole(const std::string& name, Role* out);

struct Principal {
  std::string user;
  Role role = Role::kViewer;
};

// What a call needs of its caller; one per RPC and per REST route.
enum class Access {
  kOpen,      // anyone, never a token: probes, the dashboard's files
  kRead,      // any role; a token at all only with --auth-reads
  kSubmit,    // member or admin
  kOwnSweep,  // a member that owns the sweep, or an admin
  kAdmin,     // admin only: tokens, the audit log
};

// OK when `who` may make a call of class `access`; else PermissionDenied, one
// line naming the role it needs, e.g. "Cancel of sweep 3 needs its owner
// (bob) or the admin role; alice is a member". `action` names the call;
// `owner`, `sweep_id`: the sweep's, for kOwnSweep.
Status Authorize(const Principal& who, Access access, const std::string& action, const std::string& owner = "",
                 int64_t sweep_id = 0);

// A new token: 32 bytes of RAND_bytes as "sic_" + base64url, no padding.
// Internal when the random generator fails.
Result<std::string> NewToken();
// SHA-256 of `token`: 32 raw bytes, what the store keeps.
std::string TokenDigest(const std::string& token);
// OK for a user name of 1-64 letters, digits, '_', '-', '.', other than the
// names the coordinator gives callers itself ("admin", "local"); else
// InvalidArgument naming the rule.
Status CheckUserName(const std::string& user);

// Who is calling, from the Authorization header's value.
// Thread-safety: thread-safe. Live per-user tokens are remembered after their
// first lookup; Forget() (after a revoke) drops what it remembers, so a revoked
// token is refused from the next call on. Unknown tokens are not remembered.
class Authenticator {
 public:
  Authenticator(Store& store, std::string shared_token);

  // The caller, or Unauthenticated: "missing or wrong token", "the token was
  // revoked" (callers add how to send one); another code when the store fails.
  Result<Principal> Resolve(const std::string& authorization);
  // Drops the remembered tokens (call after RevokeToken).
  void Forget();
  bool has_shared_token() const { return !shared_.empty(); }

 private:
  Store& store_;
  const std::string shared_;
  std::mutex mu_;
  std::map<std::string, Principal> live_;  // digest -> caller; guarded by mu_
};

// The audit log's code for an answer: "OK", "PERMISSION_DENIED", ... (gRPC's names).
std::string AuditCode(Status::Code code);
// Appends one audit row for a state-changing call: `who` made it (nullptr:
// an unauthenticated caller, recorded as user "?"), `action` ("Cancel",
// "POST /api/v1/sweeps/{id}/cancel"), `target` ("sweep 3"), `source` (the
// peer), and its answer. A row that cannot be written is logged, not
// returned: the call's answer stands.
void Audit(Store& store, const Principal* who, const std::string& action, const std::string& target,
           const std::string& source, const Status& outcome, const std::string& detail = "");

// Whether an "Authorization" header value carries the token ("Bearer T").
// True when `token` is empty (no token configured: no check).
bool TokenMatches(const std::string& authorization, const std::string& token);

// Whether "HOST:PORT" (gRPC's and --http's syntax: "[::1]:80", ":80",
// "unix:/path") can only be reached from this machine. An empty host, a host
// name other than "localhost", 0.0.0.0 and :: are not loopback.
bool IsLoopbackListener(const std::string& address);

// OK when every listener is loopback, or a token is set, or `insecure`.
// Otherwise FailedPrecondition naming the first exposed listener and the fix.
// `listeners`: {flag, address}, e.g. {"--http", "0.0.0.0:8080"}.
Status CheckExposure(const std::vector<std::pair<std::string, std::string>>& listeners, bool has_token,
                     bool insecure);

}  // namespace sic
