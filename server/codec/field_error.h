#pragma once

#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

namespace dockline::server {

// The one form of a refused request: INVALID_ARGUMENT with a message that starts with the field
// path, "spec.ports[1].container_port: must be 1-65535", so a client can tell which field to fix.
inline grpc::Status InvalidField(std::string_view field, std::string_view problem) {
  std::string message(field);
  message += ": ";
  message += problem;
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

}  // namespace dockline::server
