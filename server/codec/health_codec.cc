#include "server/codec/health_codec.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "server/codec/field_error.h"
#include "server/codec/inspect_codec.h"
#include "server/codec/json_util.h"

namespace dockline::server {
namespace {

using google::protobuf::util::TimeUtil;
using json = nlohmann::json;

// The probe output quoted in an error message, like the spec's wait_for_healthy.
constexpr size_t kMaxQuotedOutput = 200;
// Beyond this an RPC deadline means "none".
constexpr auto kNoDeadlineBeyond = std::chrono::hours(24 * 365 * 10);

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

grpc::Status Failed(std::string message) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, std::move(message));
}

}  // namespace

HealthVerdict HealthVerdictFromInspect(const json& inspect) {
  HealthVerdict verdict;
  verdict.id = GetString(inspect, "Id");
  const json* state = Member(inspect, "State");
  HealthFromJson(StateHealth(inspect), &verdict.health);
  verdict.container_status =
      ContainerStatusFromString(state != nullptr ? GetString(*state, "Status") : "");
  bool running = state != nullptr && GetBool(*state, "Running");
  if (!running) {
    verdict.kind = HealthVerdict::Kind::kNotRunning;
  } else if (verdict.health.status() == v1::HEALTH_STATUS_NONE) {
    verdict.kind = HealthVerdict::Kind::kNoHealthcheck;
  } else if (verdict.health.status() == v1::HEALTH_STATUS_HEALTHY) {
    verdict.kind = HealthVerdict::Kind::kHealthy;
  } else if (verdict.health.status() == v1::HEALTH_STATUS_UNHEALTHY) {
    verdict.kind = HealthVerdict::Kind::kUnhealthy;
  } else {
    verdict.kind = HealthVerdict::Kind::kStarting;
  }
  return verdict;
}

std::string DescribeLastProbe(const v1::Health& health) {
  if (health.log_size() == 0) {
    return "";
  }
  const v1::HealthProbe& last = health.log(health.log_size() - 1);
  std::string output = last.output();
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r' ||
                             output.back() == ' ' || output.back() == '\t')) {
    output.pop_back();
  }
  if (output.size() > kMaxQuotedOutput) {
    output = output.substr(0, kMaxQuotedOutput) + "...";
  }
  std::string text = "last probe exited with " + std::to_string(last.exit_code());
  if (!output.empty()) {
    text += ": " + Quote(output);
  }
  return text;
}

json HealthEventsFilter(const std::string& container) {
  // "container" is a prefix match on id and name daemon-side; events are checked against the
  // full id once the inspect has given it.
  return json{{"type", {"container"}},
              {"event", {"health_status", "die", "destroy"}},
              {"container", {container}}};
}

std::string EnumWord(std::string_view name, std::string_view prefix) {
  std::string word(name.starts_with(prefix) ? name.substr(prefix.size()) : name);
  std::transform(word.begin(), word.end(), word.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return word;
}

std::string StatusWord(v1::ContainerStatus status) {
  return EnumWord(v1::ContainerStatus_Name(status), "CONTAINER_STATUS_");
}

std::string HealthWord(v1::HealthStatus status) {
  return EnumWord(v1::HealthStatus_Name(status), "HEALTH_STATUS_");
}

const json& StateHealth(const json& inspect) {
  static const json kNull;
  const json* state = Member(inspect, "State");
  const json* health = state != nullptr ? Member(*state, "Health") : nullptr;
  return health != nullptr ? *health : kNull;
}

google::protobuf::Timestamp HealthEventTime(int64_t nanos) {
  if (nanos > 0) {
    return TimeUtil::NanosecondsToTimestamp(nanos);
  }
  // (TimeUtil::GetCurrentTime has whole seconds only.)
  return TimeUtil::NanosecondsToTimestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
}

grpc::Status ComputeWaitBound(const v1::WaitHealthyRequest& request,
                              std::chrono::system_clock::time_point deadline, WaitBound* bound) {
  if (request.has_timeout()) {
    const auto& d = request.timeout();
    if (d.seconds() < 0 || d.nanos() < 0 || TimeUtil::DurationToNanoseconds(d) < 1000000) {
      return InvalidField("timeout", "must be at least 1ms when set, got " + TimeUtil::ToString(d));
    }
    // Rounded up so that a sub-millisecond remainder never turns into "no timeout".
    int64_t nanos = TimeUtil::DurationToNanoseconds(d);
    bound->timeout = std::chrono::milliseconds((nanos + 999999) / 1000000);
    bound->text = "within " + TimeUtil::ToString(d);
  }
  auto now = std::chrono::system_clock::now();
  if (deadline < now + kNoDeadlineBeyond) {
    auto left = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                         std::chrono::milliseconds(1));
    if (bound->timeout.count() == 0 || left < bound->timeout) {
      bound->timeout = left;
      bound->text = "before the RPC deadline";
    }
  }
  return grpc::Status::OK;
}

grpc::Status NoHealthcheck(const std::string& container) {
  return Failed("container " + container +
                " has no healthcheck (none in its image or spec, or test NONE)");
}

grpc::Status ExitedWhileWaiting(const std::string& container, std::optional<int64_t> exit_code) {
  return Failed("container " + container + " exited while waiting to become healthy" +
                (exit_code ? " (exit code " + std::to_string(*exit_code) + ")" : std::string()));
}

grpc::Status RemovedWhileWaiting(const std::string& container) {
  return Failed("container " + container + " was removed while waiting to become healthy");
}

grpc::Status NotHealthyInTime(const std::string& container, const WaitBound& bound,
                              v1::HealthStatus last) {
  std::string seen =
      last == v1::HEALTH_STATUS_UNSPECIFIED ? "" : " (still " + HealthWord(last) + ")";
  return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                      "container " + container + " did not become healthy " + bound.text + seen);
}

std::optional<grpc::Status> WaitOutcome(const std::string& container, const HealthVerdict& verdict,
                                        bool waiting) {
  switch (verdict.kind) {
    case HealthVerdict::Kind::kHealthy:
      return grpc::Status::OK;
    case HealthVerdict::Kind::kUnhealthy: {
      std::string probe = DescribeLastProbe(verdict.health);
      return Failed("container " + container + " is unhealthy" +
                    (probe.empty() ? "" : ": " + probe));
    }
    case HealthVerdict::Kind::kNoHealthcheck:
      return NoHealthcheck(container);
    case HealthVerdict::Kind::kNotRunning:
      return waiting ? ExitedWhileWaiting(container, std::nullopt)
                     : Failed("container " + container + " is not running (" +
                              StatusWord(verdict.container_status) + ")");
    case HealthVerdict::Kind::kStarting:
      break;
  }
  return std::nullopt;
}

grpc::Status WatchRefusal(const std::string& container, const HealthVerdict& verdict) {
  if (verdict.kind == HealthVerdict::Kind::kNoHealthcheck) {
    return NoHealthcheck(container);
  }
  if (verdict.kind == HealthVerdict::Kind::kNotRunning) {
    return Failed("container " + container + " is not running");
  }
  return grpc::Status::OK;
}

}  // namespace dockline::server
