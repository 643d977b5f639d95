#pragma once

#include <grpcpp/grpcpp.h>

#include "dockline/v1/dockline.grpc.pb.h"
#include "server/rpc/rpc_env.h"

namespace dockline::server {

// Images: images.pull/list/get/remove.
namespace rpc {

grpc::ServerWriteReactor<v1::PullImageResponse>* PullImage(const RpcEnv& env,
                                                           grpc::CallbackServerContext* ctx,
                                                           const v1::PullImageRequest* request);
grpc::ServerUnaryReactor* ListImages(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                     const v1::ListImagesRequest* req,
                                     v1::ListImagesResponse* resp);
grpc::ServerUnaryReactor* InspectImage(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                       const v1::InspectImageRequest* req,
                                       v1::InspectImageResponse* resp);
grpc::ServerUnaryReactor* RemoveImage(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                      const v1::RemoveImageRequest* req,
                                      v1::RemoveImageResponse* resp);

}  // namespace rpc

}  // namespace dockline::server
