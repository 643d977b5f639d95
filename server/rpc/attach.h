#pragma once

#include <grpcpp/grpcpp.h>

#include "dockline/v1/dockline.grpc.pb.h"
#include "server/rpc/rpc_env.h"

// AttachContainer: docker attach / attach_socket over one bidirectional stream. The first
// message is the config, then stdin, close_stdin and terminal resizes, as AttachExec's.

namespace dockline::server::rpc {

grpc::ServerBidiReactor<v1::AttachContainerRequest, v1::AttachContainerResponse>* AttachContainer(
    const RpcEnv& env, grpc::CallbackServerContext* ctx);

}  // namespace dockline::server::rpc
