#pragma once

#include <grpcpp/grpcpp.h>

#include "dockline/v1/dockline.grpc.pb.h"
#include "server/rpc/rpc_env.h"

// CopyFromContainer and CopyToContainer: docker cp's two directions over the Engine API's
// archive endpoint, streamed both ways so that an archive of any size holds a few pieces of
// memory at a time (server/codec/copy_codec.h decodes the path stat).

namespace dockline::server::rpc {

grpc::ServerWriteReactor<v1::CopyFromContainerResponse>* CopyFromContainer(
    const RpcEnv& env, grpc::CallbackServerContext* ctx,
    const v1::CopyFromContainerRequest* request);
grpc::ServerReadReactor<v1::CopyToContainerRequest>* CopyToContainer(
    const RpcEnv& env, grpc::CallbackServerContext* ctx, v1::CopyToContainerResponse* response);

}  // namespace dockline::server::rpc
