#pragma once

#include <grpcpp/support/status.h>

#include "engine/status.h"

namespace dockline::server {

// The one table from engine outcomes to gRPC codes (DESIGN.md "Map engine outcomes").
grpc::StatusCode ToGrpcCode(engine::Code code);

// Keeps Docker's message text as the status message.
grpc::Status ToGrpcStatus(const engine::Status& status);

}  // namespace dockline::server
