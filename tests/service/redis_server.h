// A real redis-server for tests: its own temp dir, a free loopback port,
// optional password and AOF; stopped (and its dir removed) on destruction.
// Restart() keeps the dir, so with AOF on the data survive, as in production.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/redis.h"

namespace sic::testing {

class RedisServer {
 public:
  explicit RedisServer(std::string password = "", bool aof = false);
  ~RedisServer();
  bool ok() const { return pid_ > 0; }
  RedisOptions options() const;
  void Stop(bool kill9 = false);
  bool Start();  // on the same port and dir
  const std::string& dir() const { return dir_; }

 private:
  std::string password_, dir_;
  bool aof_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A TCP port that was free a moment ago on 127.0.0.1.
int FreePort();

}  // namespace sic::testing
