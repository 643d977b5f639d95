#pragma once

#include <grpcpp/grpcpp.h>

#include "dockline/v1/dockline.grpc.pb.h"
#include "server/rpc/rpc_env.h"

// WatchEvents: client.events(since, until, filters), typed, on the one events follower
// (server/events/event_follower.h).

namespace dockline::server::rpc {

grpc::ServerWriteReactor<v1::WatchEventsResponse>* WatchEvents(
    const RpcEnv& env, grpc::CallbackServerContext* ctx, const v1::WatchEventsRequest* request);

}  // namespace dockline::server::rpc
