// Status and Result<T>: the outcome of an operation that can fail, carried as a
// value rather than thrown. A failed Status holds one human-readable line that
// names what is wrong; callers print it and exit non-zero (or answer 4xx).
//
// Thread-safety: immutable after construction; safe to share.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace sic {

class Status {
 public:
  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !message_.has_value(); }
  // Empty for an OK status.
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }

 private:
  explicit Status(std::string message) : message_(std::move(message)) {}
  std::optional<std::string> message_;
};

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

}  // namespace sic
