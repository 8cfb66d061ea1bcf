// RedisClient: one connection to Redis (hiredis), with AUTH, timeouts and one
// transparent reconnect per command, so that a restarted Redis costs a caller
// nothing but an error while it is down. Replies are copied into RedisValue
// trees, so no hiredis type leaks into callers.
//
// Thread-safety: not thread-safe; give each thread its own client.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sic/status.h"

struct redisContext;

namespace sic {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;     // empty: no AUTH
  double timeout_s = 5.0;   // connect and per-command (a blocking read adds its own block time)
  std::string Address() const { return host + ":" + std::to_string(port); }
};

struct RedisValue {
  enum Type { kNil, kString, kInteger, kArray, kStatus };
  Type type = kNil;
  std::string str;                   // kString and kStatus
  int64_t integer = 0;               // kInteger
  std::vector<RedisValue> elements;  // kArray
  bool is_nil() const { return type == kNil; }
};

// "host:port" or "port" into `options`; an error names what is wrong.
Status ParseRedisAddress(const std::string& address, RedisOptions& options);

class RedisClient {
 public:
  explicit RedisClient(RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Runs one command. A Redis error reply is an error Status carrying its text
  // ("redis: BUSYGROUP ..."); so is an unreachable server ("redis at
  // 127.0.0.1:6379: Connection refused"). `extra_timeout_s` extends the reply
  // timeout for blocking commands (XREADGROUP BLOCK).
  Result<RedisValue> Command(const std::vector<std::string>& argv, double extra_timeout_s = 0);

  const RedisOptions& options() const { return options_; }

 private:
  Status Connect();
  void Disconnect();

  RedisOptions options_;
  redisContext* ctx_ = nullptr;
};

}  // namespace sic
