// Status and Result<T>: the outcome of an operation that can fail, carried as a
// value rather than thrown. A failed Status holds a Code, which callers branch
// on (never on the text), and one human-readable line that names what is
// wrong, which callers print (sicctl) or send back (a 4xx body).
//
// Codes follow gRPC's canonical set, so that each maps once to an HTTP status
// (coordinator/rest_api) and once to a gRPC status (coordinator/service).
// Status::Error(msg) is kUnknown: a failure nobody needs to tell apart.
//
// Thread-safety: immutable after construction; safe to share.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace sic {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kUnknown,             // a failure with no finer meaning
    kInvalidArgument,     // the caller's input is wrong (a spec key, a query value)
    kNotFound,            // no such sweep, trial, artifact, Redis group
    kAlreadyExists,       // e.g. a Redis group that exists (BUSYGROUP)
    kPermissionDenied,    // authenticated, but not allowed
    kUnauthenticated,     // no token, or a wrong one
    kResourceExhausted,   // over a size, count or cost limit
    kFailedPrecondition,  // not in a state that allows it (retry of a canceled sweep)
    kUnavailable,         // a dependency is down (Redis, the disk); try again
    kInternal,            // our own fault
  };

  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status Error(std::string message) { return Status(Code::kUnknown, std::move(message)); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status AlreadyExists(std::string m) { return Status(Code::kAlreadyExists, std::move(m)); }
  static Status PermissionDenied(std::string m) { return Status(Code::kPermissionDenied, std::move(m)); }
  static Status Unauthenticated(std::string m) { return Status(Code::kUnauthenticated, std::move(m)); }
  static Status ResourceExhausted(std::string m) { return Status(Code::kResourceExhausted, std::move(m)); }
  static Status FailedPrecondition(std::string m) { return Status(Code::kFailedPrecondition, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
  static Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }
  // The same code with another message (e.g. a key prefixed to a reason).
  static Status WithCode(Code code, std::string m) { return code == Code::kOk ? Status() : Status(code, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }
  // Empty for an OK status.
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }
  // The same code, the message with `prefix` before it ("base: " + ...).
  Status Prefixed(const std::string& prefix) const { return ok() ? *this : Status(code_, prefix + message()); }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::optional<std::string> message_;
};

// The code's name, for logs and JSON ("not_found").
const char* CodeName(Status::Code code);

// Either a value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: must be an error

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

// The first line of an exception's text, at most 300 characters: LibTorch's
// messages carry a backtrace after it, and errors here are one line.
inline std::string FirstLine(const std::string& text) {
  const size_t end = text.find('\n');
  return text.substr(0, end < 300 ? end : 300);
}

inline const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kUnknown: return "unknown";
    case Status::Code::kInvalidArgument: return "invalid_argument";
    case Status::Code::kNotFound: return "not_found";
    case Status::Code::kAlreadyExists: return "already_exists";
    case Status::Code::kPermissionDenied: return "permission_denied";
    case Status::Code::kUnauthenticated: return "unauthenticated";
    case Status::Code::kResourceExhausted: return "resource_exhausted";
    case Status::Code::kFailedPrecondition: return "failed_precondition";
    case Status::Code::kUnavailable: return "unavailable";
    case Status::Code::kInternal: return "internal";
  }
  return "unknown";
}

}  // namespace sic
