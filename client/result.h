#pragma once

#include <grpcpp/support/status.h>

#include <string>
#include <utility>

namespace dockline::client {

// The outcome of a call: a grpc::Status plus a value, never an exception.
//
// `value` is meaningful when ok(). Some calls also fill it on failure with what was received
// before the error (Client::Run keeps the container id and the output so far); their comments
// say so. Checks made locally (bad arguments to a builder or a parser) report
// INVALID_ARGUMENT, so one type serves both sides of the wire.
template <class T>
struct Result {
  grpc::Status status;
  T value{};

  bool ok() const { return status.ok(); }
};

inline grpc::Status InvalidArgument(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

template <class T>
Result<T> Ok(T value) {
  return Result<T>{grpc::Status::OK, std::move(value)};
}

template <class T>
Result<T> Error(grpc::Status status) {
  return Result<T>{std::move(status), T{}};
}

}  // namespace dockline::client
