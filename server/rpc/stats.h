#pragma once

#include <grpcpp/grpcpp.h>

#include "dockline/v1/dockline.grpc.pb.h"
#include "server/rpc/rpc_env.h"

// GetStats and StreamStats: container.stats(stream=False/True), each sample typed as `docker
// stats` computes its columns (server/codec/stats_codec.h).

namespace dockline::server::rpc {

grpc::ServerUnaryReactor* GetStats(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                   const v1::GetStatsRequest* request,
                                   v1::GetStatsResponse* response);
grpc::ServerWriteReactor<v1::StreamStatsResponse>* StreamStats(
    const RpcEnv& env, grpc::CallbackServerContext* ctx, const v1::StreamStatsRequest* request);

}  // namespace dockline::server::rpc
