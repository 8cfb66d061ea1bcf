// Who may call the coordinator: the shared token, and the rule that a
// listener reachable from other machines needs one.
//
// TokenMatches compares SHA-256 digests of the given and the expected token
// with CRYPTO_memcmp: the time it takes depends neither on where the two first
// differ nor on the expected token's length.
//
// CheckExposure is the start-up rule: any listener (gRPC --listen, HTTP
// --http) on an address other than loopback (127.0.0.0/8, ::1, "localhost",
// or a unix socket) needs a token, unless the operator says --insecure.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sic/status.h"

namespace sic {

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
