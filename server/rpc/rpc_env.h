#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "engine/docker_api.h"
#include "server/auth/identity.h"
#include "server/calls/call_registry.h"
#include "server/policy/policy.h"
#include "server/rpc/retained_exec.h"

namespace dockline::server {

struct ServiceOptions {
  // Cap on a short engine call (inspect, start, exec create, ...); waits and streams have none.
  std::chrono::milliseconds unary_timeout{60000};
  // ExecContainer keeps at most this much of each output stream; past it the reply says
  // truncated=true.
  size_t exec_output_cap = 16 << 20;
  // A larger request is refused with auth::CheckRequestSize's INVALID_ARGUMENT: by the guard,
  // and for AttachExec (whose messages the guard never sees) by the stream on its first message.
  // gRPC's receive limit (twice this) bounds every message, the later stdin ones included.
  size_t max_request_bytes = 4 << 20;
  // Execs started with retain_output.
  RetainOptions retain;
};

// What every RPC entry point gets: the Engine API (carrying the unary timeout, and scoped to the
// caller's containers when its policy says `owned`), the options, the caller's identity and
// policy rules (decided by the service's guard before the entry point runs) and the call's audit
// record. A small value, made per call; entry points copy what they keep.
struct RpcEnv {
  engine::DockerApi api;
  ServiceOptions options;
  auth::Identity identity;
  // Null without --policy. For the checks the guard cannot make: AttachExec's config arrives
  // with its first message.
  std::shared_ptr<const policy::IdentityRules> rules;
  // Null unless the call is audited or counted (--audit, --max-streams...).
  std::shared_ptr<calls::CallRecord> record;
  // The server's execs started with retain_output; null only in tests that make an env bare.
  std::shared_ptr<RetainedExecs> retained;
};

}  // namespace dockline::server
