#pragma once

#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "dockline/v1/dockline.pb.h"
#include "engine/docker_api.h"

// The daemon's events (GET /events) typed, once for every follower: WatchEvents relays them,
// the health and logs waits reduce them to ContainerEvents. Pure: no engine calls.

namespace dockline::server {

// One event of GET /events, typed. Reads Type/Action/Actor, which every API version has (1.52
// dropped status/id/from); the older fields fill in what a pre-1.22 daemon leaves out.
struct DaemonEvent {
  std::string type;  // "container" when the daemon names none (pre-1.22: containers only)
  std::string action;
  std::string actor_id;
  std::map<std::string, std::string> attributes;  // string values only; sorted, as docker prints
  std::string scope;
  int64_t time_nanos = 0;  // 0 when absent
};
DaemonEvent ParseDaemonEvent(const nlohmann::json& event);

// A container event reduced to what the health and logs followers act on.
struct ContainerEvent {
  enum class Kind { kOther, kHealth, kStart, kDie, kDestroy };
  Kind kind = Kind::kOther;
  std::string id;                                           // Actor.ID (the full container id)
  v1::HealthStatus health = v1::HEALTH_STATUS_UNSPECIFIED;  // kHealth
  std::optional<int64_t> exit_code;                         // kDie, when the daemon says
  int64_t time_nanos = 0;                                   // 0 when absent
};
// Events of other types (image, network, ...) are kOther. Podman's form (Action
// "health_status" with the status in a top-level HealthStatus) is not read: kOther.
ContainerEvent ToContainerEvent(const DaemonEvent& event);
inline ContainerEvent ParseContainerEvent(const nlohmann::json& event) {
  return ToContainerEvent(ParseDaemonEvent(event));
}

// The event as WatchEvents sends it.
void EventToProto(const DaemonEvent& event, v1::Event* out);

// docker's events filter keys (daemon/events/filter.go), in its order.
inline constexpr const char* kEventFilterKeys[] = {
    "container", "event",  "image", "label",   "type",   "volume", "network",
    "daemon",    "plugin", "node",  "service", "secret", "config", "scope"};

// WatchEvents' request as the daemon's query: each filter key one of docker's (an unknown one is
// INVALID_ARGUMENT naming "filters[i].key", where the daemon would say only "invalid filter"),
// since/until a valid window, as "<seconds>.<nanos>".
grpc::Status EventsQueryFromRequest(const v1::WatchEventsRequest& request,
                                    engine::EventsQuery* out);

}  // namespace dockline::server
