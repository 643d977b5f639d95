#pragma once

#include <grpcpp/grpcpp.h>

#include "dockline/v1/dockline.grpc.pb.h"
#include "server/codec/health_codec.h"     // the pure pieces, which the unit tests call
#include "server/events/event_follower.h"  // ContainerEvent, likewise
#include "server/rpc/rpc_env.h"

// GetHealth, WaitHealthy and WatchHealth. The daemon has no "wait until healthy" endpoint and
// emits health_status events only on a change (never for "starting"), so waiting and watching
// subscribe to GET /events first, then inspect once for the current state, then apply events
// (ENGINE_NOTES.md section 7). Nothing here polls.

namespace dockline::server {

namespace rpc {

// GET /containers/{id}/json -> GetHealthResponse.
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
}  // namespace dockline::server
