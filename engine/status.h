#pragma once

#include <optional>
#include <string>
#include <utility>

namespace dockline::engine {

// What happened to an engine call. The server maps each code to a gRPC code in one table
// (server/status_map.cc); keep the two in step.
enum class Code {
  kOk,
  kNotModified,         // 304: already started / already stopped
  kBadRequest,          // 400, or a request we refused before sending
  kNotFound,            // 404
  kNameConflict,        // 409 "is already in use"
  kConflict,            // any other 409 (not running, running and not forced, ...)
  kDaemonError,         // 500 and other unexpected statuses
  kUnreachable,         // the socket could not be reached or the connection broke
  kProtocolError,       // the daemon sent bytes we cannot parse
  kTimeout,             // our own deadline passed
  kCancelled,           // the caller went away
  kUnsupportedVersion,  // the daemon's API is older than the oldest we speak
  kExhausted,           // out of open files (too many calls at once), or a reply over its cap
  kDataLoss,            // the daemon's stream ended inside a frame: output was cut
};

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message, int http_status = 0)
      : code_(code), http_status_(http_status), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk || code_ == Code::kNotModified; }
  Code code() const { return code_; }
  int http_status() const { return http_status_; }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::kOk;
  int http_status_ = 0;
  std::string message_;
};

// Either a value or the Status saying why there is none. A kNotModified status still carries
// a value.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT
  Result(Status status, T value) : status_(std::move(status)), value_(std::move(value)) {}

  bool ok() const { return status_.ok() && value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace dockline::engine
