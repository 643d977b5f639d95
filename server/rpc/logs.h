#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "dockline/v1/dockline.grpc.pb.h"
#include "server/rpc/rpc_env.h"

namespace dockline::server {

// StreamLogs: container.logs(stdout, stderr, stream, timestamps, tail, since, follow, until).
namespace rpc {

grpc::ServerWriteReactor<v1::StreamLogsResponse>* StreamLogs(const RpcEnv& env,
                                                             grpc::CallbackServerContext* ctx,
                                                             const v1::StreamLogsRequest* request);

}  // namespace rpc

}  // namespace dockline::server
