#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "dockline/v1/dockline.grpc.pb.h"
#include "server/rpc/rpc_env.h"

namespace dockline::server {

// RunContainer: create, register the wait, start, relay the output, report the exit.
namespace rpc {

grpc::ServerWriteReactor<v1::RunContainerResponse>* RunContainer(
    const RpcEnv& env, grpc::CallbackServerContext* ctx, const v1::RunContainerRequest* request);

}  // namespace rpc

}  // namespace dockline::server
