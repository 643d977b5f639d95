#pragma once

#include <grpcpp/support/status.h>

#include <string_view>

#include "dockline/v1/dockline.pb.h"

namespace dockline::server {

// Go's os.ModeDir: the daemon's stat mode carries Go's FileMode bits, not st_mode's.
inline constexpr uint32_t kGoModeDir = 1u << 31;

// The daemon's X-Docker-Container-Path-Stat header (base64 of {name, size, mode, mtime,
// linkTarget}) as a PathStat; false when it is not base64 of a JSON object. Missing or
// mistyped members stay unset rather than failing: the tar that follows is what matters.
bool PathStatFromHeader(std::string_view header, v1::PathStat* out);

// A path in a container for the archive endpoints: INVALID_ARGUMENT naming `field` unless it is
// absolute and free of NUL bytes (the daemon resolves a relative one against / silently, which
// hides a client's mistake).
grpc::Status ValidateContainerPath(std::string_view field, std::string_view path);

}  // namespace dockline::server
