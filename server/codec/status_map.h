#pragma once

#include <grpcpp/support/status.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace dockline::server {

// The one table from engine outcomes to gRPC codes (DESIGN.md "Map engine outcomes").
grpc::StatusCode ToGrpcCode(engine::Code code);

// The longest status message sent, in bytes: the daemon echoes what it was given (a 70,000-byte
// name in its 404), and a message past gRPC's metadata limit turns the status itself into
// RESOURCE_EXHAUSTED.
inline constexpr size_t kMaxStatusMessage = 4096;

// `text` as a status message: valid UTF-8 (invalid bytes and control characters other than tab
// and newline become U+FFFD) and at most kMaxStatusMessage bytes, a cut one saying so.
std::string StatusMessage(std::string_view text);

// Keeps Docker's message text, through StatusMessage, as the status message.
grpc::Status ToGrpcStatus(const engine::Status& status);

}  // namespace dockline::server
