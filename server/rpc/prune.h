#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "dockline/v1/dockline.grpc.pb.h"
#include "engine/engine.h"
#include "server/rpc/rpc_env.h"

// PruneContainers, PruneImages, PruneVolumes and PruneNetworks: POST /<kind>/prune with typed
// filters, or, for a dry run, the list of what that prune would remove (nothing is deleted).
// Volume prune depends on the API version: 1.41 deletes named volumes too and refuses the
// `all` filter, so there "anonymous only" is done by listing and deleting one by one.

namespace dockline::server {

namespace rpc {

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

}  // namespace rpc

// ---------------------------------------------------------------------------------------------
// Pieces of the above, exposed for unit tests.

enum class PruneKind { kContainers, kImages, kVolumes, kNetworks };

// The daemon's filters for POST /<kind>/prune: until (containers, images, networks), label,
// label!. Refuses what the daemon would refuse (until on volumes, empty labels) with
// INVALID_ARGUMENT naming the field ("filters.labels[1]: ...").
grpc::Status PruneFiltersToJson(PruneKind kind, const v1::PruneFilters& filters,
                                nlohmann::json* out);

// A Duration as Go's time.ParseDuration reads it: "3600s", "1.5s", "0.000000001s".
std::string GoDurationText(const google::protobuf::Duration& duration);

// The daemon's prune label rule (daemon/prune.go matchLabels): every `labels` entry must match
// and, when `labels_not` is given, not all of its entries may match. `labels` is the object's
// Labels (null or absent: none).
bool MatchPruneLabels(const v1::PruneFilters& filters, const nlohmann::json& labels);

// The until bound in Unix nanoseconds (older_than counts back from `now_nanos`), if any.
std::optional<int64_t> PruneUntilNanos(const v1::PruneFilters& filters, int64_t now_nanos);

// Whether the daemon at `api_version` counts `volume` (an item of GET /volumes) as anonymous:
// from 1.42 it has the com.docker.volume.anonymous label; before, the daemon marked nothing, and
// an anonymous volume is one whose name is 64 hex digits (what the daemon generates).
bool IsAnonymousVolume(const nlohmann::json& volume, const std::string& api_version);

// Prune replies (null lists are empty lists).
void ContainersPruneFromJson(const nlohmann::json& reply, v1::PruneContainersResponse* out);
void ImagesPruneFromJson(const nlohmann::json& reply, v1::PruneImagesResponse* out);
void VolumesPruneFromJson(const nlohmann::json& reply, v1::PruneVolumesResponse* out);
void NetworksPruneFromJson(const nlohmann::json& reply, v1::PruneNetworksResponse* out);

}  // namespace dockline::server
