#include "server/codec/inspect_codec.h"

#include <google/protobuf/util/time_util.h>

#include <charconv>
#include <cstdio>
#include <limits>
#include <string>
#include <system_error>

#include "server/codec/json_util.h"
#include "server/codec/spec_codec.h"

namespace dockline::server {
namespace {

using nlohmann::json;

// Go's zero time.Time, 0001-01-01T00:00:00Z, in Unix seconds.
constexpr int64_t kGoZeroTimeSeconds = -62135596800;

const json& Object(const json& j, const char* key) {
  static const json kEmpty = json::object();
  const json* v = Member(j, key);
  return v != nullptr && v->is_object() ? *v : kEmpty;
}

int32_t GetInt32(const json& j, const char* key) {
  int64_t v = GetInt(j, key);
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    return 0;
  }
  return static_cast<int32_t>(v);
}

uint32_t GetPort(const json& j, const char* key) {
  int64_t v = GetInt(j, key);
  return v < 0 || v > 65535 ? 0 : static_cast<uint32_t>(v);
}

// Sets a Timestamp field only when the daemon's text is a real time, so that "never" (Go's zero
// time) and junk leave the field unset rather than present and zero.
template <typename MutableField>
void SetTime(const json& j, const char* key, MutableField mutable_field) {
  const json* v = Member(j, key);
  google::protobuf::Timestamp t;
  if (v != nullptr && v->is_string() && ParseDockerTime(v->get_ref<const std::string&>(), &t)) {
    *mutable_field() = t;
  }
}

// Config.Cmd and Config.Entrypoint: an array of strings, null, or (from old clients) a string.
void GetArgv(const json& j, const char* key, google::protobuf::RepeatedPtrField<std::string>* out) {
  const json* v = Member(j, key);
  if (v == nullptr) {
    return;
  }
  if (v->is_string()) {
    out->Add(v->get<std::string>());
    return;
  }
  if (v->is_array()) {
    for (const json& item : *v) {
      if (item.is_string()) {
        out->Add(item.get<std::string>());
      }
    }
  }
}

void GetStringMap(const json& j, const char* key,
                  google::protobuf::Map<std::string, std::string>* out) {
  const json* v = Member(j, key);
  if (v == nullptr || !v->is_object()) {
    return;
  }
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (it.value().is_string()) {
      (*out)[it.key()] = it.value().get<std::string>();
    }
  }
}

std::string_view StripSlash(std::string_view name) {
  if (!name.empty() && name.front() == '/') {
    name.remove_prefix(1);
  }
  return name;
}

v1::Protocol ProtocolFromString(std::string_view type) {
  if (type == "udp") {
    return v1::PROTOCOL_UDP;
  }
  if (type == "sctp") {
    return v1::PROTOCOL_SCTP;
  }
  if (type == "tcp") {
    return v1::PROTOCOL_TCP;
  }
  return v1::PROTOCOL_UNSPECIFIED;
}

// TimeUtil::FromString reads RFC 3339 with nanoseconds and offsets, but is laxer than Go's
// RFC3339Nano in two ways the daemon never produces and that must not turn garbage into a time:
// more than nine fraction digits, and an offset hour of one digit.
bool HasGoTimeShape(std::string_view s) {
  if (size_t dot = s.find('.'); dot != std::string_view::npos) {
    size_t end = s.find_first_not_of("0123456789", dot + 1);
    if (end == std::string_view::npos || end - dot - 1 > 9) {
      return false;
    }
  }
  if (s.ends_with('Z')) {
    return true;
  }
  return s.size() >= 6 && (s[s.size() - 6] == '+' || s[s.size() - 6] == '-') &&
         s[s.size() - 3] == ':';
}

}  // namespace

std::string DockerTimeParam(const google::protobuf::Timestamp& t) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%lld.%09d", static_cast<long long>(t.seconds()), t.nanos());
  return buf;
}

bool ParseDockerTime(std::string_view s, google::protobuf::Timestamp* out) {
  google::protobuf::Timestamp t;
  if (!HasGoTimeShape(s) || !google::protobuf::util::TimeUtil::FromString(std::string(s), &t)) {
    return false;
  }
  if (t.seconds() == kGoZeroTimeSeconds && t.nanos() == 0) {
    return false;  // Go's zero time: the daemon's "never"
  }
  *out = t;
  return true;
}

v1::ContainerStatus ContainerStatusFromString(std::string_view status) {
  if (status == "created") {
    return v1::CONTAINER_STATUS_CREATED;
  }
  if (status == "running") {
    return v1::CONTAINER_STATUS_RUNNING;
  }
  if (status == "paused") {
    return v1::CONTAINER_STATUS_PAUSED;
  }
  if (status == "restarting") {
    return v1::CONTAINER_STATUS_RESTARTING;
  }
  if (status == "removing") {
    return v1::CONTAINER_STATUS_REMOVING;
  }
  if (status == "exited") {
    return v1::CONTAINER_STATUS_EXITED;
  }
  if (status == "dead") {
    return v1::CONTAINER_STATUS_DEAD;
  }
  return v1::CONTAINER_STATUS_UNSPECIFIED;
}

void HealthFromJson(const json& health, v1::Health* out) {
  out->Clear();
  // No State.Health at all is how the daemon says "no healthcheck" (also for ["NONE"]).
  if (!health.is_object()) {
    out->set_status(v1::HEALTH_STATUS_NONE);
    return;
  }
  std::string status = GetString(health, "Status");
  if (status == "starting") {
    out->set_status(v1::HEALTH_STATUS_STARTING);
  } else if (status == "healthy") {
    out->set_status(v1::HEALTH_STATUS_HEALTHY);
  } else if (status == "unhealthy") {
    out->set_status(v1::HEALTH_STATUS_UNHEALTHY);
  } else if (status == "none") {
    out->set_status(v1::HEALTH_STATUS_NONE);
  } else {
    out->set_status(v1::HEALTH_STATUS_UNSPECIFIED);
  }
  out->set_failing_streak(GetInt32(health, "FailingStreak"));
  const json* log = Member(health, "Log");
  if (log != nullptr && log->is_array()) {
    for (const json& entry : *log) {
      if (!entry.is_object()) {
        continue;
      }
      v1::HealthProbe* probe = out->add_log();
      SetTime(entry, "Start", [probe] { return probe->mutable_start(); });
      SetTime(entry, "End", [probe] { return probe->mutable_end(); });
      probe->set_exit_code(GetInt32(entry, "ExitCode"));
      probe->set_output(GetString(entry, "Output"));
    }
  }
}

// The enum value whose Engine API name (spec_codec's table) is `name`, else `fallback`.
template <typename Enum, size_t N>
Enum FromEngineName(std::string_view name, const Enum (&values)[N], const char* (*to_name)(Enum),
                    Enum fallback) {
  for (Enum value : values) {
    if (name == to_name(value)) {
      return value;
    }
  }
  return fallback;
}

// A decimal in [1, max] ("0" too when `allow_zero`), the whole text.
bool ParsePort(std::string_view text, bool allow_zero, uint32_t* out) {
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535 ||
      (value == 0 && !allow_zero)) {
    return false;
  }
  *out = value;
  return true;
}

// "80/tcp" -> (80, TCP); false for anything else.
bool ParsePortKey(std::string_view key, uint32_t* port, v1::Protocol* protocol) {
  size_t slash = key.find('/');
  std::string_view proto = slash == std::string_view::npos ? "tcp" : key.substr(slash + 1);
  *protocol = FromEngineName(proto, {v1::PROTOCOL_TCP, v1::PROTOCOL_UDP, v1::PROTOCOL_SCTP},
                             &ProtocolName, v1::PROTOCOL_UNSPECIFIED);
  return *protocol != v1::PROTOCOL_UNSPECIFIED &&
         ParsePort(key.substr(0, slash), /*allow_zero=*/false, port);
}

// {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "81/tcp": null}: one PortBinding per host
// binding; a port with no binding (exposed only) gives none.
void GetPortMap(const json& j, const char* key,
                google::protobuf::RepeatedPtrField<v1::PortBinding>* out) {
  const json* map = Member(j, key);
  if (map == nullptr || !map->is_object()) {
    return;
  }
  for (auto it = map->begin(); it != map->end(); ++it) {
    uint32_t port = 0;
    v1::Protocol protocol = v1::PROTOCOL_UNSPECIFIED;
    if (!ParsePortKey(it.key(), &port, &protocol) || !it.value().is_array()) {
      continue;
    }
    for (const json& binding : it.value()) {
      if (!binding.is_object()) {
        continue;
      }
      v1::PortBinding* b = out->Add();
      b->set_container_port(port);
      b->set_protocol(protocol);
      b->set_host_ip(GetString(binding, "HostIp"));
      uint32_t host = 0;
      if (ParsePort(GetString(binding, "HostPort"), /*allow_zero=*/true, &host)) {
        b->set_host_port(host);
      }
    }
  }
}

void ContainerInfoFromJson(const json& inspect, v1::ContainerInfo* out) {
  out->Clear();
  const json& config = Object(inspect, "Config");
  const json& host_config = Object(inspect, "HostConfig");
  const json& state = Object(inspect, "State");

  out->set_id(GetString(inspect, "Id"));
  out->set_name(std::string(StripSlash(GetString(inspect, "Name"))));
  // Top-level "Image" is the image id; Config.Image is the reference the user asked for.
  out->set_image(GetString(config, "Image"));
  out->set_image_id(GetString(inspect, "Image"));
  SetTime(inspect, "Created", [out] { return out->mutable_created(); });

  v1::ContainerState* st = out->mutable_state();
  st->set_status(ContainerStatusFromString(GetString(state, "Status")));
  st->set_running(GetBool(state, "Running"));
  st->set_paused(GetBool(state, "Paused"));
  st->set_restarting(GetBool(state, "Restarting"));
  st->set_oom_killed(GetBool(state, "OOMKilled"));
  st->set_dead(GetBool(state, "Dead"));
  st->set_pid(GetInt(state, "Pid"));
  st->set_exit_code(GetInt(state, "ExitCode"));
  st->set_error(GetString(state, "Error"));
  SetTime(state, "StartedAt", [st] { return st->mutable_started_at(); });
  SetTime(state, "FinishedAt", [st] { return st->mutable_finished_at(); });
  const json* health = Member(state, "Health");
  HealthFromJson(health != nullptr ? *health : json(), st->mutable_health());

  GetArgv(config, "Cmd", out->mutable_command());
  GetArgv(config, "Entrypoint", out->mutable_entrypoint());
  GetArgv(config, "Env", out->mutable_env());
  GetStringMap(config, "Labels", out->mutable_labels());
  out->set_tty(GetBool(config, "Tty"));
  out->set_auto_remove(GetBool(host_config, "AutoRemove"));
  out->set_network_mode(GetString(host_config, "NetworkMode"));
  out->set_log_driver(GetString(Object(host_config, "LogConfig"), "Type"));
  out->set_restart_count(GetInt(inspect, "RestartCount"));
  out->set_hostname(GetString(config, "Hostname"));
  out->set_working_dir(GetString(config, "WorkingDir"));
  out->set_user(GetString(config, "User"));

  GetPortMap(host_config, "PortBindings", out->mutable_port_bindings());
  GetPortMap(Object(inspect, "NetworkSettings"), "Ports", out->mutable_ports());
  const json* mounts = Member(inspect, "Mounts");
  if (mounts != nullptr && mounts->is_array()) {
    for (const json& m : *mounts) {
      if (!m.is_object()) {
        continue;
      }
      v1::MountPoint* mp = out->add_mounts();
      mp->set_type(FromEngineName(
          GetString(m, "Type"), {v1::MOUNT_TYPE_BIND, v1::MOUNT_TYPE_VOLUME, v1::MOUNT_TYPE_TMPFS},
          &MountTypeName, v1::MOUNT_TYPE_UNSPECIFIED));
      mp->set_name(GetString(m, "Name"));
      mp->set_source(GetString(m, "Source"));
      mp->set_destination(GetString(m, "Destination"));
      // "RW" absent would be odd; read-only is only claimed when the daemon says so.
      const json* rw = Member(m, "RW");
      mp->set_read_only(rw != nullptr && rw->is_boolean() && !rw->get<bool>());
      mp->set_propagation(GetString(m, "Propagation"));
      mp->set_driver(GetString(m, "Driver"));
    }
  }
  const json* restart = Member(host_config, "RestartPolicy");
  if (restart != nullptr && restart->is_object()) {
    out->mutable_restart_policy()->set_name(
        FromEngineName(GetString(*restart, "Name"),
                       {v1::RESTART_POLICY_NAME_NO, v1::RESTART_POLICY_NAME_ALWAYS,
                        v1::RESTART_POLICY_NAME_UNLESS_STOPPED, v1::RESTART_POLICY_NAME_ON_FAILURE},
                       &RestartPolicyJsonName, v1::RESTART_POLICY_NAME_NO));
    out->mutable_restart_policy()->set_maximum_retry_count(
        static_cast<int32_t>(GetInt(*restart, "MaximumRetryCount")));
  }
  GetStringMap(host_config, "Tmpfs", out->mutable_tmpfs());
}

void ContainerSummaryFromJson(const json& item, v1::ContainerSummary* out) {
  out->Clear();
  out->set_id(GetString(item, "Id"));
  const json* names = Member(item, "Names");
  if (names != nullptr && names->is_array()) {
    for (const json& name : *names) {
      if (name.is_string()) {
        out->add_names(std::string(StripSlash(name.get_ref<const std::string&>())));
      }
    }
  }
  out->set_image(GetString(item, "Image"));
  out->set_image_id(GetString(item, "ImageID"));
  out->set_command(GetString(item, "Command"));
  int64_t created = GetInt(item, "Created");
  if (created != 0) {
    out->mutable_created()->set_seconds(created);
  }
  out->set_state(ContainerStatusFromString(GetString(item, "State")));
  out->set_status(GetString(item, "Status"));
  GetStringMap(item, "Labels", out->mutable_labels());
  const json* ports = Member(item, "Ports");
  if (ports != nullptr && ports->is_array()) {
    for (const json& port : *ports) {
      if (!port.is_object()) {
        continue;
      }
      v1::PortMapping* mapping = out->add_ports();
      mapping->set_container_port(GetPort(port, "PrivatePort"));
      mapping->set_protocol(ProtocolFromString(GetString(port, "Type")));
      mapping->set_host_ip(GetString(port, "IP"));
      mapping->set_host_port(GetPort(port, "PublicPort"));
    }
  }
}

bool EngineInfoFromVersionJson(const json& version, v1::GetEngineInfoResponse* out) {
  if (GetString(version, "Version").empty() || GetString(version, "ApiVersion").empty()) {
    return false;
  }
  out->set_engine_version(GetString(version, "Version"));
  out->set_engine_api_version(GetString(version, "ApiVersion"));
  out->set_engine_min_api_version(GetString(version, "MinAPIVersion"));
  out->set_os(GetString(version, "Os"));
  out->set_arch(GetString(version, "Arch"));
  out->set_kernel_version(GetString(version, "KernelVersion"));
  return true;
}

void ImageInfoFromJson(const json& inspect, v1::ImageInfo* out) {
  out->Clear();
  out->set_id(GetString(inspect, "Id"));
  GetArgv(inspect, "RepoTags", out->mutable_repo_tags());
  GetArgv(inspect, "RepoDigests", out->mutable_repo_digests());
  SetTime(inspect, "Created", [out] { return out->mutable_created(); });
  out->set_size(GetInt(inspect, "Size"));
  out->set_os(GetString(inspect, "Os"));
  out->set_architecture(GetString(inspect, "Architecture"));
  out->set_variant(GetString(inspect, "Variant"));
  const json& config = Object(inspect, "Config");
  GetArgv(config, "Cmd", out->mutable_command());
  GetArgv(config, "Entrypoint", out->mutable_entrypoint());
  GetArgv(config, "Env", out->mutable_env());
  GetStringMap(config, "Labels", out->mutable_labels());
  out->set_working_dir(GetString(config, "WorkingDir"));
  out->set_user(GetString(config, "User"));
}

void ImageSummaryFromJson(const json& item, v1::ImageSummary* out) {
  out->Clear();
  out->set_id(GetString(item, "Id"));
  GetArgv(item, "RepoTags", out->mutable_repo_tags());
  GetArgv(item, "RepoDigests", out->mutable_repo_digests());
  int64_t created = GetInt(item, "Created");
  if (created != 0) {
    out->mutable_created()->set_seconds(created);
  }
  out->set_size(GetInt(item, "Size"));
  GetStringMap(item, "Labels", out->mutable_labels());
  out->set_containers(GetInt(item, "Containers", -1));
}

}  // namespace dockline::server
