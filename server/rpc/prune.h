#pragma once

#include <grpcpp/grpcpp.h>

#include "dockline/v1/dockline.grpc.pb.h"
// The prune codecs (filters, the daemon's prune rules, replies) come with the RPCs.
#include "server/codec/prune_codec.h"
#include "server/rpc/rpc_env.h"

// PruneContainers, PruneImages, PruneVolumes and PruneNetworks: POST /<kind>/prune with typed
// filters, or, for a dry run, the list of what that prune would remove (nothing is deleted) and
// the same as a plan with a token; or, given `apply`, the plan's objects that are still
// prunable, each removed by its own DELETE, and the others reported skipped with why.
// Volume prune depends on the API version: 1.41 deletes named volumes too and refuses the
// `all` filter, so there "anonymous only" is done by listing and deleting one by one.

namespace dockline::server::rpc {

grpc::ServerUnaryReactor* PruneContainers(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                          const v1::PruneContainersRequest* request,
                                          v1::PruneContainersResponse* response);
grpc::ServerUnaryReactor* PruneImages(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                      const v1::PruneImagesRequest* request,
                                      v1::PruneImagesResponse* response);
grpc::ServerUnaryReactor* PruneVolumes(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                       const v1::PruneVolumesRequest* request,
                                       v1::PruneVolumesResponse* response);
grpc::ServerUnaryReactor* PruneNetworks(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                        const v1::PruneNetworksRequest* request,
                                        v1::PruneNetworksResponse* response);

}  // namespace dockline::server::rpc
