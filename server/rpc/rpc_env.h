#pragma once

#include <chrono>
#include <cstddef>

#include "engine/docker_api.h"
#include "server/auth/identity.h"

namespace dockline::server {

struct ServiceOptions {
  // Cap on a short engine call (inspect, start, exec create, ...); waits and streams have none.
  std::chrono::milliseconds unary_timeout{60000};
  // ExecContainer keeps at most this much of each output stream; past it the reply says
  // truncated=true.
  size_t exec_output_cap = 16 << 20;
};

// What every RPC entry point gets: the Engine API (carrying the unary timeout), the options and
// the caller's identity (decided by the service's guard before the entry point runs). A small
// value, made per call; entry points copy what they keep.
struct RpcEnv {
  engine::DockerApi api;
  ServiceOptions options;
  auth::Identity identity;
};

}  // namespace dockline::server
