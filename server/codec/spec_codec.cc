#include "server/codec/spec_codec.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "server/codec/field_error.h"
#include "server/codec/validate.h"

namespace dockline::server {
namespace {

using nlohmann::json;

template <typename Map>
json StringMap(const Map& map) {
  json out = json::object();
  for (const auto& [key, value] : map) {
    out[key] = value;
  }
  return out;
}

json StringArray(const google::protobuf::RepeatedPtrField<std::string>& values) {
  json out = json::array();
  for (const std::string& value : values) {
    out.push_back(value);
  }
  return out;
}

}  // namespace

const char* ProtocolName(v1::Protocol protocol) {
  switch (protocol) {
    case v1::PROTOCOL_UDP:
      return "udp";
    case v1::PROTOCOL_SCTP:
      return "sctp";
    default:
      return "tcp";
  }
}

const char* RestartPolicyJsonName(v1::RestartPolicyName name) {
  switch (name) {
    case v1::RESTART_POLICY_NAME_ALWAYS:
      return "always";
    case v1::RESTART_POLICY_NAME_UNLESS_STOPPED:
      return "unless-stopped";
    case v1::RESTART_POLICY_NAME_ON_FAILURE:
      return "on-failure";
    default:
      return "no";
  }
}

const char* MountTypeName(v1::MountType type) {
  switch (type) {
    case v1::MOUNT_TYPE_BIND:
      return "bind";
    case v1::MOUNT_TYPE_VOLUME:
      return "volume";
    case v1::MOUNT_TYPE_TMPFS:
      return "tmpfs";
    default:
      return "";
  }
}

grpc::Status BuildCreateBody(const v1::ContainerSpec& spec, const CreateOptions& options,
                             json* body) {
  if (grpc::Status s = ValidateContainerSpec(spec, options); !s.ok()) {
    return s;
  }
  json out = json::object();
  json host = json::object();

  out["Image"] = spec.image();
  if (!spec.command().empty()) {
    out["Cmd"] = StringArray(spec.command());
  }
  if (!spec.entrypoint().empty()) {
    out["Entrypoint"] = StringArray(spec.entrypoint());
  }
  if (!spec.hostname().empty()) {
    out["Hostname"] = spec.hostname();
  }
  if (!spec.env().empty()) {
    out["Env"] = StringArray(spec.env());
  }
  if (!spec.working_dir().empty()) {
    out["WorkingDir"] = spec.working_dir();
  }
  if (!spec.user().empty()) {
    out["User"] = spec.user();
  }
  if (!spec.labels().empty()) {
    out["Labels"] = StringMap(spec.labels());
  }
  if (!spec.stop_signal().empty()) {
    out["StopSignal"] = spec.stop_signal();
  }
  if (spec.has_stop_timeout()) {
    int64_t seconds = 0;
    (void)StopTimeoutSeconds(spec, &seconds);
    out["StopTimeout"] = seconds;
  }
  out["Tty"] = spec.tty();
  out["OpenStdin"] = spec.stdin_open();
  bool attach_stdin = spec.stdin_open() && options.attach;
  out["AttachStdin"] = attach_stdin;
  out["StdinOnce"] = spec.stdin_open() && (options.attach || spec.stdin_once());
  out["AttachStdout"] = options.attach;
  out["AttachStderr"] = options.attach;

  if (!spec.ports().empty()) {
    json exposed = json::object();
    json bindings = json::object();
    for (const v1::PortBinding& port : spec.ports()) {
      std::string key = std::to_string(port.container_port()) + "/" + ProtocolName(port.protocol());
      exposed[key] = json::object();
      std::string host_port = port.host_port() == 0 ? "" : std::to_string(port.host_port());
      json& list = bindings[key];
      if (!list.is_array()) {
        list = json::array();
      }
      list.push_back({{"HostIp", port.host_ip()}, {"HostPort", host_port}});
    }
    out["ExposedPorts"] = std::move(exposed);
    host["PortBindings"] = std::move(bindings);
  }

  if (!spec.volumes().empty()) {
    json volumes = json::object();
    json binds = json::array();
    for (const v1::VolumeBind& volume : spec.volumes()) {
      volumes[volume.target()] = json::object();
      std::string mode = volume.read_only() ? "ro" : "rw";
      if (!volume.propagation().empty()) {
        mode += "," + volume.propagation();
      }
      binds.push_back(volume.source() + ":" + volume.target() + ":" + mode);
    }
    out["Volumes"] = std::move(volumes);
    host["Binds"] = std::move(binds);
  }

  if (!spec.mounts().empty()) {
    json mounts = json::array();
    for (const v1::Mount& mount : spec.mounts()) {
      json m = {{"Type", MountTypeName(mount.type())},
                {"Target", mount.target()},
                {"ReadOnly", mount.read_only()}};
      if (!mount.source().empty()) {
        m["Source"] = mount.source();
      }
      if (!mount.propagation().empty()) {
        m["BindOptions"] = {{"Propagation", mount.propagation()}};
      }
      if (mount.type() == v1::MOUNT_TYPE_VOLUME) {
        json options_json = json::object();
        if (mount.no_copy()) {
          options_json["NoCopy"] = true;
        }
        if (!mount.volume_labels().empty()) {
          options_json["Labels"] = StringMap(mount.volume_labels());
        }
        if (!mount.volume_driver().empty() || !mount.volume_driver_options().empty()) {
          json driver = {{"Name", mount.volume_driver()}};
          if (!mount.volume_driver_options().empty()) {
            driver["Options"] = StringMap(mount.volume_driver_options());
          }
          options_json["DriverConfig"] = std::move(driver);
        }
        if (!options_json.empty()) {
          m["VolumeOptions"] = std::move(options_json);
        }
      }
      if (mount.type() == v1::MOUNT_TYPE_TMPFS &&
          (mount.tmpfs_size_bytes() != 0 || mount.tmpfs_mode() != 0)) {
        json tmpfs = json::object();
        if (mount.tmpfs_size_bytes() != 0) {
          tmpfs["SizeBytes"] = mount.tmpfs_size_bytes();
        }
        if (mount.tmpfs_mode() != 0) {
          tmpfs["Mode"] = mount.tmpfs_mode();
        }
        m["TmpfsOptions"] = std::move(tmpfs);
      }
      mounts.push_back(std::move(m));
    }
    host["Mounts"] = std::move(mounts);
  }

  if (!spec.tmpfs().empty()) {
    host["Tmpfs"] = StringMap(spec.tmpfs());
  }
  host["ReadonlyRootfs"] = spec.read_only();
  host["AutoRemove"] = options.auto_remove.value_or(spec.auto_remove());
  // Init is a *bool in the daemon: false would override a daemon configured with --init.
  if (spec.init()) {
    host["Init"] = true;
  }
  if (spec.has_restart_policy() &&
      spec.restart_policy().name() != v1::RESTART_POLICY_NAME_UNSPECIFIED) {
    host["RestartPolicy"] = {{"Name", RestartPolicyJsonName(spec.restart_policy().name())},
                             {"MaximumRetryCount", spec.restart_policy().maximum_retry_count()}};
  }
  int64_t memory = 0;
  (void)MemoryLimit(spec, &memory);
  if (memory != 0) {
    host["Memory"] = memory;
  }
  if (spec.nano_cpus() != 0) {
    host["NanoCpus"] = spec.nano_cpus();
  }
  if (!spec.network().empty()) {
    host["NetworkMode"] = spec.network();
    if (!IsBuiltinNetworkMode(spec.network())) {
      out["NetworkingConfig"] = {{"EndpointsConfig", {{spec.network(), json::object()}}}};
    }
  }

  if (spec.has_healthcheck()) {
    const v1::Healthcheck& hc = spec.healthcheck();
    json health = json::object();
    if (!hc.test().empty()) {
      health["Test"] = StringArray(hc.test());
    }
    auto put_duration = [&health](const char* key, bool present,
                                  const google::protobuf::Duration& d) {
      int64_t nanos = 0;
      if (present && DurationToNanos(d, &nanos) && nanos != 0) {
        health[key] = nanos;
      }
    };
    put_duration("Interval", hc.has_interval(), hc.interval());
    put_duration("Timeout", hc.has_timeout(), hc.timeout());
    put_duration("StartPeriod", hc.has_start_period(), hc.start_period());
    put_duration("StartInterval", hc.has_start_interval(), hc.start_interval());
    if (hc.retries() != 0) {
      health["Retries"] = hc.retries();
    }
    if (!health.empty()) {
      out["Healthcheck"] = std::move(health);
    }
  }

  out["HostConfig"] = std::move(host);
  *body = std::move(out);
  return grpc::Status::OK;
}

json FiltersToJson(const google::protobuf::RepeatedPtrField<v1::Filter>& filters) {
  json out = json::object();
  for (const v1::Filter& filter : filters) {
    json& values = out[filter.key()];
    if (!values.is_array()) {
      values = json::array();
    }
    values.push_back(filter.value());
  }
  return out;
}

grpc::Status FiltersToJson(std::string_view field,
                           const google::protobuf::RepeatedPtrField<v1::Filter>& filters,
                           json* out) {
  for (int i = 0; i < filters.size(); ++i) {
    if (filters[i].key().empty()) {
      return InvalidField(std::string(field) + "[" + std::to_string(i) + "].key",
                          "must not be empty");
    }
  }
  *out = FiltersToJson(filters);
  return grpc::Status::OK;
}

}  // namespace dockline::server
