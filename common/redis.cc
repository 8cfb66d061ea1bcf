#include "common/redis.h"

#include <sys/time.h>

#include <cmath>
#include <cstdlib>

#include <hiredis/hiredis.h>

namespace sic {
namespace {

timeval ToTimeval(double seconds) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - std::floor(seconds)) * 1e6);
  return tv;
}

RedisValue Convert(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      v.type = RedisValue::kString;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = RedisValue::kStatus;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::kInteger;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::kArray;
      v.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) v.elements.push_back(Convert(r->element[i]));
      break;
    default:
      v.type = RedisValue::kNil;
  }
  return v;
}

}  // namespace

Status ParseRedisAddress(const std::string& address, RedisOptions& options) {
  const auto colon = address.rfind(':');
  const std::string host = colon == std::string::npos ? options.host : address.substr(0, colon);
  const std::string port = colon == std::string::npos ? address : address.substr(colon + 1);
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (host.empty() || port.empty() || *end != '\0' || p < 1 || p > 65535) {
    return Status::Error("redis address \"" + address + "\": must be HOST:PORT with a port in 1..65535");
  }
  options.host = host;
  options.port = static_cast<int>(p);
  return Status::OK();
}

RedisClient::RedisClient(RedisOptions options) : options_(std::move(options)) {}
RedisClient::~RedisClient() { Disconnect(); }

void RedisClient::Disconnect() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

Status RedisClient::Connect() {
  Disconnect();
  const std::string where = "redis at " + options_.Address();
  ctx_ = redisConnectWithTimeout(options_.host.c_str(), options_.port, ToTimeval(options_.timeout_s));
  if (!ctx_ || ctx_->err) {
    Status s = Status::Unavailable(where + ": " + (ctx_ ? ctx_->errstr : "cannot allocate a connection"));
    Disconnect();
    return s;
  }
  if (!options_.password.empty()) {
    auto* r = static_cast<redisReply*>(redisCommand(ctx_, "AUTH %b", options_.password.data(),
                                                    options_.password.size()));
    std::string error;
    if (!r) error = ctx_->errstr;
    else if (r->type == REDIS_REPLY_ERROR) error = std::string(r->str, r->len);
    if (r) freeReplyObject(r);
    if (!error.empty()) {
      Disconnect();
      return Status::Unavailable(where + ": authentication failed: " + error);
    }
  }
  return Status::OK();
}

Result<RedisValue> RedisClient::Command(const std::vector<std::string>& argv, double extra_timeout_s) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  // Two tries: a connection broken by a Redis restart fails once, then reconnects.
  std::string last_error;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!ctx_) {
      if (Status s = Connect(); !s.ok()) return s;
    }
    redisSetTimeout(ctx_, ToTimeval(options_.timeout_s + extra_timeout_s));
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(args.size()), args.data(), lens.data()));
    if (!r) {
      last_error = "redis at " + options_.Address() + ": " + ctx_->errstr;
      Disconnect();
      continue;
    }
    if (r->type == REDIS_REPLY_ERROR) {
      // Error replies start with their kind ("NOGROUP No such key ..."):
      // the two that callers act on get codes of their own.
      const std::string text(r->str, r->len);
      Status s = text.rfind("NOGROUP", 0) == 0     ? Status::NotFound("redis: " + text)
                 : text.rfind("BUSYGROUP", 0) == 0 ? Status::AlreadyExists("redis: " + text)
                                                   : Status::Error("redis: " + text);
      freeReplyObject(r);
      return s;
    }
    RedisValue v = Convert(r);
    freeReplyObject(r);
    return v;
  }
  return Status::Unavailable(last_error);
}

}  // namespace sic
