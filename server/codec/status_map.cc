#include "server/codec/status_map.h"

namespace dockline::server {

grpc::StatusCode ToGrpcCode(engine::Code code) {
  using engine::Code;
  switch (code) {
    case Code::kOk:
    case Code::kNotModified:  // start/stop of something already so: idempotent
      return grpc::StatusCode::OK;
    case Code::kBadRequest:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case Code::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case Code::kNameConflict:
      return grpc::StatusCode::ALREADY_EXISTS;
    case Code::kConflict:
    case Code::kUnsupportedVersion:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case Code::kDaemonError:
    case Code::kProtocolError:
      return grpc::StatusCode::INTERNAL;
    case Code::kUnreachable:
      return grpc::StatusCode::UNAVAILABLE;
    case Code::kTimeout:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case Code::kCancelled:
      return grpc::StatusCode::CANCELLED;
    case Code::kExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
  }
  return grpc::StatusCode::UNKNOWN;
}

grpc::Status ToGrpcStatus(const engine::Status& status) {
  grpc::StatusCode code = ToGrpcCode(status.code());
  if (code == grpc::StatusCode::OK) {
    return grpc::Status::OK;
  }
  return grpc::Status(code, status.message());
}

}  // namespace dockline::server
