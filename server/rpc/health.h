#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dockline/v1/dockline.grpc.pb.h"
#include "engine/engine.h"
#include "server/events/event_follower.h"
#include "server/rpc/rpc_env.h"

// GetHealth, WaitHealthy and WatchHealth. The daemon has no "wait until healthy" endpoint and
// emits health_status events only on a change (never for "starting"), so waiting and watching
// subscribe to GET /events first, then inspect once for the current state, then apply events
// (ENGINE_NOTES.md section 7). Nothing here polls.

namespace dockline::server {

// GET /containers/{id}/json -> GetHealthResponse.
namespace rpc {

grpc::ServerUnaryReactor* GetHealth(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                    const v1::GetHealthRequest* request,
                                    v1::GetHealthResponse* response);

// Ends with the health once the container is healthy; FAILED_PRECONDITION when it turns
// unhealthy, has no healthcheck, or is not running / exits / is removed; DEADLINE_EXCEEDED when
// request.timeout or the RPC deadline passes first.
grpc::ServerUnaryReactor* WaitHealthy(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                      const v1::WaitHealthyRequest* request,
                                      v1::WaitHealthyResponse* response);

// The current health first, then one message per health_status transition; OK once the
// container stops or is removed.
grpc::ServerWriteReactor<v1::WatchHealthResponse>* WatchHealth(
    const RpcEnv& env, grpc::CallbackServerContext* ctx, const v1::WatchHealthRequest* request);

}  // namespace rpc

// ---------------------------------------------------------------------------------------------
// Pieces of the above, exposed for unit tests.

// The events filter for one container: health_status (a prefix match on the daemon side), die
// and destroy.
std::string HealthEventsFilter(const std::string& container);

// What one inspect document says about waiting for health.
struct HealthVerdict {
  enum class Kind {
    kHealthy,
    kUnhealthy,
    kNoHealthcheck,
    kNotRunning,
    kStarting,
  };
  Kind kind = Kind::kStarting;
  std::string id;
  v1::ContainerStatus container_status = v1::CONTAINER_STATUS_UNSPECIFIED;
  v1::Health health;
};
// The daemon reports a stopped container as unhealthy (its last status, no event), so "not
// running" is decided before the health status is looked at.
HealthVerdict HealthVerdictFromInspect(const nlohmann::json& inspect);

// "last probe exited with 1: <output>" (output trimmed and shortened), or "" with no probe.
std::string DescribeLastProbe(const v1::Health& health);

}  // namespace dockline::server
