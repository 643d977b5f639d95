#pragma once

#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dockline/v1/dockline.pb.h"

// The pure pieces of GetHealth, WaitHealthy and WatchHealth: what an inspect document says
// about health, the events filter, the words and texts of their messages, and WaitHealthy's
// bound. No engine calls; nothing here throws on the daemon's data.

namespace dockline::server {

// What one inspect document says about waiting for health.
struct HealthVerdict {
  enum class Kind {
    kHealthy,
    kUnhealthy,
    kNoHealthcheck,
    kNotRunning,
    kStarting,
  };
  Kind kind = Kind::kStarting;
  std::string id;
  v1::ContainerStatus container_status = v1::CONTAINER_STATUS_UNSPECIFIED;
  v1::Health health;
};
// The daemon reports a stopped container as unhealthy (its last status, no event), so "not
// running" is decided before the health status is looked at.
HealthVerdict HealthVerdictFromInspect(const nlohmann::json& inspect);

// "last probe exited with 1: <output>" (output trimmed and shortened), or "" with no probe.
std::string DescribeLastProbe(const v1::Health& health);

// The GET /events filters for one container: health_status (a prefix match on the daemon
// side), die and destroy.
nlohmann::json HealthEventsFilter(const std::string& container);

// "CONTAINER_STATUS_EXITED" less `prefix`, lower case: "exited", the daemon's own word for it.
std::string EnumWord(std::string_view name, std::string_view prefix);
std::string StatusWord(v1::ContainerStatus status);
std::string HealthWord(v1::HealthStatus status);

// State.Health of an inspect document, or null (no healthcheck).
const nlohmann::json& StateHealth(const nlohmann::json& inspect);

// An event's time (nanoseconds since the epoch), or now when the event has none (0).
google::protobuf::Timestamp HealthEventTime(int64_t nanos);

// WaitHealthy's bound: request.timeout and the RPC deadline, whichever comes first.
struct WaitBound {
  std::chrono::milliseconds timeout{0};  // zero: none
  std::string text;                      // "within 5s" / "before the RPC deadline"
};
// INVALID_ARGUMENT for a timeout under 1ms. A `deadline` years away counts as none.
grpc::Status ComputeWaitBound(const v1::WaitHealthyRequest& request,
                              std::chrono::system_clock::time_point deadline, WaitBound* bound);

// The refusals and failures of WaitHealthy and WatchHealth (FAILED_PRECONDITION unless said).
grpc::Status NoHealthcheck(const std::string& container);
grpc::Status ExitedWhileWaiting(const std::string& container, std::optional<int64_t> exit_code);
grpc::Status RemovedWhileWaiting(const std::string& container);
// DEADLINE_EXCEEDED: "container web did not become healthy within 5s (still starting)";
// `last` unspecified when no inspect has answered yet.
grpc::Status NotHealthyInTime(const std::string& container, const WaitBound& bound,
                              v1::HealthStatus last);

// WaitHealthy's word on one inspect: OK (healthy), a failure, or none (still starting).
// `waiting`: an earlier inspect started the wait, so a stopped container has exited during it.
std::optional<grpc::Status> WaitOutcome(const std::string& container, const HealthVerdict& verdict,
                                        bool waiting);
// WatchHealth's refusal of a container by its first inspect (no healthcheck, not running: its
// health would read "unhealthy", which says nothing about the application), or OK.
grpc::Status WatchRefusal(const std::string& container, const HealthVerdict& verdict);

}  // namespace dockline::server
