#pragma once

#include <grpcpp/grpcpp.h>

#include "dockline/v1/dockline.grpc.pb.h"
#include "server/rpc/rpc_env.h"

// The exec family's streaming entry points: StreamExec (output relayed as it comes, then the
// exit code) and AttachExec (the same, bidirectional: the first message is the config, then
// stdin, close_stdin and terminal resizes).

namespace dockline::server::rpc {

grpc::ServerWriteReactor<v1::StreamExecResponse>* StreamExec(const RpcEnv& env,
                                                             grpc::CallbackServerContext* ctx,
                                                             const v1::StreamExecRequest* request);
grpc::ServerBidiReactor<v1::AttachExecRequest, v1::AttachExecResponse>* AttachExec(
    const RpcEnv& env, grpc::CallbackServerContext* ctx);

}  // namespace dockline::server::rpc
