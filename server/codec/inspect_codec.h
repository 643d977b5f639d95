#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <nlohmann/json.hpp>
#include <string_view>

#include "dockline/v1/dockline.pb.h"

// Response-side codecs: daemon JSON -> dockline.v1 messages. The input is the daemon's data, so
// nothing here throws: a missing, null or wrongly typed field leaves its proto field at the
// default, and the rest of the document is still read.

namespace dockline::server {

// Go's RFC3339Nano ("2026-11-27T00:01:44.254699673Z", 0-9 fraction digits, "Z" or "+07:00").
// Returns false, leaving `out` untouched, for unparsable text and for Go's zero time
// "0001-01-01T00:00:00Z", which the daemon uses for "never".
bool ParseDockerTime(std::string_view rfc3339nano, google::protobuf::Timestamp* out);

// The Engine API's logs since/until form: "<unix seconds>.<9-digit nanos>".
std::string DockerTimeParam(const google::protobuf::Timestamp& t);

// "running", "exited", ... -> the enum; anything else -> CONTAINER_STATUS_UNSPECIFIED.
v1::ContainerStatus ContainerStatusFromString(std::string_view status);

// State.Health (or null/absent, which means no healthcheck: HEALTH_STATUS_NONE).
void HealthFromJson(const nlohmann::json& state_health_or_null, v1::Health* out);

// GET /containers/{id}/json. `out` is cleared first.
void ContainerInfoFromJson(const nlohmann::json& inspect, v1::ContainerInfo* out);

// One item of GET /containers/json. `out` is cleared first.
void ContainerSummaryFromJson(const nlohmann::json& item, v1::ContainerSummary* out);

// GET /images/{name}/json. `out` is cleared first.
void ImageInfoFromJson(const nlohmann::json& inspect, v1::ImageInfo* out);

// One item of GET /images/json. `out` is cleared first.
void ImageSummaryFromJson(const nlohmann::json& item, v1::ImageSummary* out);

// GET /version. Fills the engine_* fields, os, arch and kernel_version; api_version and
// dockline_version are the caller's. False when the document lacks the Version and ApiVersion
// strings every daemon sends: an answer of empty fields would pass garbage off as an engine.
bool EngineInfoFromVersionJson(const nlohmann::json& version, v1::GetEngineInfoResponse* out);

}  // namespace dockline::server
