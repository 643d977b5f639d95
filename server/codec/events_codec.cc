#include "server/codec/events_codec.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <limits>
#include <string_view>
#include <system_error>

#include "server/codec/field_error.h"
#include "server/codec/inspect_codec.h"
#include "server/codec/json_util.h"
#include "server/codec/spec_codec.h"
#include "server/codec/validate.h"

namespace dockline::server {

using json = nlohmann::json;

DaemonEvent ParseDaemonEvent(const json& event) {
  DaemonEvent out;
  out.type = GetString(event, "Type", "container");
  out.action = GetString(event, "Action", GetString(event, "status"));
  out.scope = GetString(event, "scope");
  const json* actor = Member(event, "Actor");
  out.actor_id = actor != nullptr ? GetString(*actor, "ID") : "";
  if (out.actor_id.empty()) {
    out.actor_id = GetString(event, "id");  // pre-1.22 shape; harmless elsewhere
  }
  const json* attrs = actor != nullptr ? Member(*actor, "Attributes") : nullptr;
  if (attrs != nullptr && attrs->is_object()) {
    for (const auto& [key, value] : attrs->items()) {
      if (value.is_string()) {
        out.attributes.emplace(key, value.get<std::string>());
      }
    }
  }
  out.time_nanos = GetInt(event, "timeNano");
  if (out.time_nanos == 0) {
    // Seconds past what nanoseconds can hold are no time at all (0: unknown), not an overflow.
    const int64_t seconds = GetInt(event, "time");
    constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1'000'000'000;
    out.time_nanos = seconds > 0 && seconds <= kMaxSeconds ? seconds * 1'000'000'000 : 0;
  }
  return out;
}

ContainerEvent ToContainerEvent(const DaemonEvent& event) {
  ContainerEvent out;
  out.id = event.actor_id;
  out.time_nanos = event.time_nanos;
  if (event.type != "container") {
    return out;
  }
  const std::string& action = event.action;
  constexpr std::string_view kHealthPrefix = "health_status:";
  if (action.starts_with(kHealthPrefix)) {
    std::string_view status = std::string_view(action).substr(kHealthPrefix.size());
    while (!status.empty() && status.front() == ' ') {
      status.remove_prefix(1);
    }
    if (status == "healthy") {
      out.kind = ContainerEvent::Kind::kHealth;
      out.health = v1::HEALTH_STATUS_HEALTHY;
    } else if (status == "unhealthy") {
      out.kind = ContainerEvent::Kind::kHealth;
      out.health = v1::HEALTH_STATUS_UNHEALTHY;
    } else if (status == "starting") {
      out.kind = ContainerEvent::Kind::kHealth;
      out.health = v1::HEALTH_STATUS_STARTING;
    }
  } else if (action == "start") {
    out.kind = ContainerEvent::Kind::kStart;
  } else if (action == "die") {
    out.kind = ContainerEvent::Kind::kDie;
    auto code = event.attributes.find("exitCode");
    if (code != event.attributes.end()) {
      // from_chars, not stoll: "-" or "1-2" from the daemon must not throw.
      const std::string& text = code->second;
      int64_t value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec == std::errc() && end == text.data() + text.size()) {
        out.exit_code = value;
      }
    }
  } else if (action == "destroy") {
    out.kind = ContainerEvent::Kind::kDestroy;
  }
  return out;
}

void EventToProto(const DaemonEvent& event, v1::Event* out) {
  out->set_type(event.type);
  out->set_action(event.action);
  out->set_actor_id(event.actor_id);
  out->mutable_attributes()->insert(event.attributes.begin(), event.attributes.end());
  out->set_scope(event.scope);
  if (event.time_nanos > 0) {
    *out->mutable_time() =
        google::protobuf::util::TimeUtil::NanosecondsToTimestamp(event.time_nanos);
  }
}

grpc::Status EventsQueryFromRequest(const v1::WatchEventsRequest& request,
                                    engine::EventsQuery* out) {
  for (int i = 0; i < request.filters_size(); ++i) {
    const std::string& key = request.filters(i).key();
    if (std::find(std::begin(kEventFilterKeys), std::end(kEventFilterKeys), key) ==
        std::end(kEventFilterKeys)) {
      std::string known;
      for (const char* k : kEventFilterKeys) {
        known += known.empty() ? "" : ", ";
        known += k;
      }
      return InvalidField("filters[" + std::to_string(i) + "].key",
                          QuoteValue(key) + " is not an events filter (" + known + ")");
    }
  }
  if (grpc::Status st = ValidateTimeWindow(request.has_since() ? &request.since() : nullptr,
                                           request.has_until() ? &request.until() : nullptr);
      !st.ok()) {
    return st;
  }
  out->filters = FiltersToJson(request.filters());
  out->since = request.has_since() ? DockerTimeParam(request.since()) : "";
  out->until = request.has_until() ? DockerTimeParam(request.until()) : "";
  return grpc::Status::OK;
}

}  // namespace dockline::server
