#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/repeated_ptr_field.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockline/v1/dockline.pb.h"

// The prunes' codecs: typed filters -> the daemon's prune filters, the daemon's prune rules that
// the dry runs apply themselves (labels, until, anonymous volumes), and prune replies -> the
// responses. Pure: no engine calls (server/rpc/prune.cc makes them).

namespace dockline::server {

enum class PruneKind { kContainers, kImages, kVolumes, kNetworks };

// The first API version whose volume prune spares named volumes unless all=true (and whose
// GET /system/df takes ?type=).
inline constexpr char kVolumePruneAllVersion[] = "1.42";

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

// "containers", "images", "volumes", "networks".
std::string_view PruneKindName(PruneKind kind);

// A plan token: "dlplan1." then base64url JSON {"kind": ..., "ids": [...]}. Self-contained (the
// ids travel in it, nothing is kept on the server), so it outlives docklined. Anyone could write
// one, which grants nothing an explicit id list does not: applying removes only what is still
// prunable and what the caller may reach.
std::string EncodePrunePlanToken(PruneKind kind, const std::vector<std::string>& ids);

// The ids of a request's `apply` (a token for this kind, or an explicit list), or
// INVALID_ARGUMENT naming the field ("apply.plan: ...", "apply.ids[2]: ...").
grpc::Status PruneApplyIds(PruneKind kind, const v1::PruneApply& apply,
                           std::vector<std::string>* ids);

// Prune replies (null lists are empty lists).
void ContainersPruneFromJson(const nlohmann::json& reply, v1::PruneContainersResponse* out);
void ImagesPruneFromJson(const nlohmann::json& reply, v1::PruneImagesResponse* out);
// The daemon's [{"Untagged": ...}, {"Deleted": ...}] of an image prune or removal.
void ImagesDeletedFromJson(const nlohmann::json& items,
                           google::protobuf::RepeatedPtrField<v1::ImageDeleted>* out);
void VolumesPruneFromJson(const nlohmann::json& reply, v1::PruneVolumesResponse* out);
void NetworksPruneFromJson(const nlohmann::json& reply, v1::PruneNetworksResponse* out);

// --- small readers of daemon JSON the dry runs share (none throws) ---

// The array under `key` (null or absent: empty).
const nlohmann::json& ArrayMember(const nlohmann::json& j, std::string_view key);

// `j` itself when it is an array (a list reply), else an empty one.
const nlohmann::json& AsArray(const nlohmann::json& j);

// An object's Labels (null or absent: null, which matches no label).
const nlohmann::json& LabelsOf(const nlohmann::json& j);

// A byte count (negative, absent or not a number: 0).
uint64_t GetSize(const nlohmann::json& j, std::string_view key);

// The strings of `array` (anything else in it is skipped).
void AddStrings(const nlohmann::json& array, google::protobuf::RepeatedPtrField<std::string>* out);

// The label filters of `daemon_filters` (what list endpoints understand; label! is not among
// them and is checked by MatchPruneLabels afterwards).
nlohmann::json ListFilters(const nlohmann::json& daemon_filters);

// Created after the until bound: the daemon keeps it. `created_nanos` < 0 means unknown (kept
// in the candidate list, as the daemon would have a time for it).
bool TooNew(std::optional<int64_t> until, int64_t created_nanos);

}  // namespace dockline::server
