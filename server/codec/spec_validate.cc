// ValidateContainerSpec: every field of a ContainerSpec checked before anything is built or
// sent, so the daemon never sees what it would refuse late or crash on.

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/api_version.h"
#include "server/codec/field_error.h"
#include "server/codec/spec_codec.h"
#include "server/codec/validate.h"

namespace dockline::server {
namespace {

using nlohmann::json;

constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kNanosPerMilli = 1'000'000;

std::string At(std::string_view base, int index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

std::string Field(std::string_view base, std::string_view name) {
  return std::string(base) + "." + std::string(name);
}

template <typename Map>
std::vector<std::string> SortedKeys(const Map& map) {
  std::vector<std::string> keys;
  keys.reserve(map.size());
  for (const auto& [key, value] : map) {
    keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

bool ApiAtLeast(std::string_view version, const char* wanted) {
  return engine::CompareApiVersions(std::string(version), wanted) >= 0;
}

bool IsAbsolute(std::string_view path) { return !path.empty() && path.front() == '/'; }

bool ValidPropagation(std::string_view p) {
  static constexpr std::array<std::string_view, 6> kModes = {"private", "rprivate", "shared",
                                                             "rshared", "slave",    "rslave"};
  return std::find(kModes.begin(), kModes.end(), p) != kModes.end();
}

grpc::Status ValidatePropagation(std::string_view path, std::string_view propagation) {
  if (!propagation.empty() && !ValidPropagation(propagation)) {
    return InvalidField(path,
                        "must be one of private, rprivate, shared, rshared, slave, rslave, got " +
                            QuoteValue(propagation));
  }
  return grpc::Status::OK;
}

template <typename Map>
grpc::Status ValidateMapKeys(std::string_view path, const Map& map) {
  for (const auto& [key, value] : map) {
    if (key.empty()) {
      return InvalidField(path, "keys must not be empty");
    }
  }
  return grpc::Status::OK;
}

grpc::Status ValidatePorts(const v1::ContainerSpec& spec) {
  for (int i = 0; i < spec.ports_size(); ++i) {
    const v1::PortBinding& port = spec.ports(i);
    std::string path = At("spec.ports", i);
    if (port.container_port() == 0 || port.container_port() > 65535) {
      return InvalidField(Field(path, "container_port"),
                          "must be 1-65535, got " + std::to_string(port.container_port()));
    }
    if (!v1::Protocol_IsValid(port.protocol())) {
      return InvalidField(Field(path, "protocol"),
                          "unknown value " + std::to_string(static_cast<int>(port.protocol())));
    }
    if (port.host_port() > 65535) {
      return InvalidField(Field(path, "host_port"), "must be 0-65535 (0: the daemon picks), got " +
                                                        std::to_string(port.host_port()));
    }
    if (HasControl(port.host_ip())) {
      return InvalidField(Field(path, "host_ip"),
                          "not an IP address: " + QuoteValue(port.host_ip()));
    }
  }
  return grpc::Status::OK;
}

grpc::Status ValidateVolumes(const v1::ContainerSpec& spec) {
  for (int i = 0; i < spec.volumes_size(); ++i) {
    const v1::VolumeBind& volume = spec.volumes(i);
    std::string path = At("spec.volumes", i);
    if (volume.source().empty()) {
      return InvalidField(Field(path, "source"),
                          "must not be empty (a host path or a volume name)");
    }
    // Binds are "src:dst:mode" strings: a ':' inside a part would shift the others.
    if (volume.source().find(':') != std::string::npos || HasControl(volume.source())) {
      return InvalidField(
          Field(path, "source"),
          "must not contain ':' or control characters, got " + QuoteValue(volume.source()));
    }
    if (volume.target().empty()) {
      return InvalidField(Field(path, "target"), "must not be empty");
    }
    if (!IsAbsolute(volume.target())) {
      return InvalidField(Field(path, "target"),
                          "must be an absolute path, got " + QuoteValue(volume.target()));
    }
    if (volume.target().find(':') != std::string::npos || HasControl(volume.target())) {
      return InvalidField(
          Field(path, "target"),
          "must not contain ':' or control characters, got " + QuoteValue(volume.target()));
    }
    if (grpc::Status s = ValidatePropagation(Field(path, "propagation"), volume.propagation());
        !s.ok()) {
      return s;
    }
  }
  return grpc::Status::OK;
}

grpc::Status ValidateMounts(const v1::ContainerSpec& spec) {
  for (int i = 0; i < spec.mounts_size(); ++i) {
    const v1::Mount& mount = spec.mounts(i);
    std::string path = At("spec.mounts", i);
    v1::MountType type = mount.type();
    if (type == v1::MOUNT_TYPE_UNSPECIFIED) {
      return InvalidField(Field(path, "type"), "must be set: bind, volume or tmpfs");
    }
    if (!v1::MountType_IsValid(type)) {
      return InvalidField(Field(path, "type"),
                          "unknown value " + std::to_string(static_cast<int>(type)));
    }
    std::string type_name = MountTypeName(type);
    if (mount.target().empty()) {
      return InvalidField(Field(path, "target"), "must not be empty");
    }
    if (!IsAbsolute(mount.target())) {
      return InvalidField(Field(path, "target"),
                          "must be an absolute path, got " + QuoteValue(mount.target()));
    }
    if (type == v1::MOUNT_TYPE_BIND) {
      if (mount.source().empty()) {
        return InvalidField(Field(path, "source"), "a bind mount needs a host path");
      }
      if (!IsAbsolute(mount.source())) {
        return InvalidField(
            Field(path, "source"),
            "a bind mount needs an absolute host path, got " + QuoteValue(mount.source()));
      }
    }
    if (type == v1::MOUNT_TYPE_TMPFS && !mount.source().empty()) {
      return InvalidField(Field(path, "source"), "must be empty for a tmpfs mount");
    }
    auto only_for = [&](std::string_view field, std::string_view wanted) {
      return InvalidField(Field(path, field), "applies to " + std::string(wanted) +
                                                  " mounts only, not to a " + type_name + " mount");
    };
    if (type != v1::MOUNT_TYPE_BIND && !mount.propagation().empty()) {
      return only_for("propagation", "bind");
    }
    if (type != v1::MOUNT_TYPE_VOLUME) {
      if (mount.no_copy()) {
        return only_for("no_copy", "volume");
      }
      if (!mount.volume_labels().empty()) {
        return only_for("volume_labels", "volume");
      }
      if (!mount.volume_driver().empty()) {
        return only_for("volume_driver", "volume");
      }
      if (!mount.volume_driver_options().empty()) {
        return only_for("volume_driver_options", "volume");
      }
    }
    if (type != v1::MOUNT_TYPE_TMPFS) {
      if (mount.tmpfs_size_bytes() != 0) {
        return only_for("tmpfs_size_bytes", "tmpfs");
      }
      if (mount.tmpfs_mode() != 0) {
        return only_for("tmpfs_mode", "tmpfs");
      }
    }
    if (grpc::Status s = ValidatePropagation(Field(path, "propagation"), mount.propagation());
        !s.ok()) {
      return s;
    }
    if (grpc::Status s = ValidateMapKeys(Field(path, "volume_labels"), mount.volume_labels());
        !s.ok()) {
      return s;
    }
    if (grpc::Status s =
            ValidateMapKeys(Field(path, "volume_driver_options"), mount.volume_driver_options());
        !s.ok()) {
      return s;
    }
    if (mount.tmpfs_size_bytes() < 0) {
      return InvalidField(Field(path, "tmpfs_size_bytes"),
                          "must not be negative, got " + std::to_string(mount.tmpfs_size_bytes()));
    }
    if (mount.tmpfs_mode() > 07777) {
      return InvalidField(Field(path, "tmpfs_mode"),
                          "must be a permission mode up to 07777 (4095), got " +
                              std::to_string(mount.tmpfs_mode()));
    }
  }
  return grpc::Status::OK;
}

grpc::Status ValidateNetwork(std::string_view network) {
  if (HasControl(network)) {
    return InvalidField("spec.network", "must not contain control characters");
  }
  if (network == "container:") {
    return InvalidField("spec.network", "\"container:\" needs a container id or name after it");
  }
  return grpc::Status::OK;
}

grpc::Status ValidateRestart(const v1::ContainerSpec& spec, bool auto_remove) {
  if (!spec.has_restart_policy()) {
    return grpc::Status::OK;
  }
  const v1::RestartPolicy& policy = spec.restart_policy();
  if (!v1::RestartPolicyName_IsValid(policy.name())) {
    return InvalidField("spec.restart_policy.name",
                        "unknown value " + std::to_string(static_cast<int>(policy.name())));
  }
  if (policy.maximum_retry_count() < 0) {
    return InvalidField(
        "spec.restart_policy.maximum_retry_count",
        "must not be negative, got " + std::to_string(policy.maximum_retry_count()));
  }
  if (policy.maximum_retry_count() > 0 && policy.name() != v1::RESTART_POLICY_NAME_ON_FAILURE) {
    return InvalidField("spec.restart_policy.maximum_retry_count",
                        "applies to the on-failure policy only, not to \"" +
                            std::string(RestartPolicyJsonName(policy.name())) + "\"");
  }
  bool restarts = policy.name() != v1::RESTART_POLICY_NAME_UNSPECIFIED &&
                  policy.name() != v1::RESTART_POLICY_NAME_NO;
  if (auto_remove && restarts) {
    return InvalidField("spec.auto_remove",
                        "cannot be combined with restart_policy \"" +
                            std::string(RestartPolicyJsonName(policy.name())) +
                            "\" (a container cannot be both removed and restarted on exit)");
  }
  return grpc::Status::OK;
}

// Healthcheck durations: 0 takes the daemon's default, anything else must be at least 1ms
// (the daemon's own rule; checking here gives a field path instead of a 400 text).
grpc::Status HealthDuration(std::string_view name, bool present,
                            const google::protobuf::Duration& d, int64_t* nanos) {
  *nanos = 0;
  if (!present) {
    return grpc::Status::OK;
  }
  std::string path = Field("spec.healthcheck", name);
  if (!DurationToNanos(d, nanos)) {
    return InvalidField(path, "not a valid duration or too large");
  }
  if (*nanos < 0) {
    return InvalidField(path, "must not be negative");
  }
  if (*nanos != 0 && *nanos < kNanosPerMilli) {
    return InvalidField(path, "must be at least 1ms (or zero for the daemon's default), got " +
                                  std::to_string(*nanos) + "ns");
  }
  return grpc::Status::OK;
}

grpc::Status ValidateHealthTest(const google::protobuf::RepeatedPtrField<std::string>& test) {
  if (test.empty()) {
    return grpc::Status::OK;
  }
  const std::string& kind = test[0];
  if (kind == "NONE") {
    if (test.size() > 1) {
      return InvalidField("spec.healthcheck.test", "\"NONE\" takes nothing after it");
    }
    return grpc::Status::OK;
  }
  if (kind != "CMD" && kind != "CMD-SHELL") {
    return InvalidField("spec.healthcheck.test[0]",
                        "must be \"CMD\", \"CMD-SHELL\" or \"NONE\", got " + QuoteValue(kind));
  }
  // dockerd 20.10 accepts ["CMD"] at create and then panics (and exits) at the first probe.
  bool has_command = std::any_of(test.begin() + 1, test.end(),
                                 [](const std::string& part) { return !part.empty(); });
  if (!has_command) {
    return InvalidField("spec.healthcheck.test", QuoteValue(kind) + " needs a command after it");
  }
  if (kind == "CMD" && test[1].empty()) {
    return InvalidField("spec.healthcheck.test[1]", "the executable must not be empty");
  }
  return grpc::Status::OK;
}

grpc::Status ValidateEnv(const v1::ContainerSpec& spec) {
  for (int i = 0; i < spec.env_size(); ++i) {
    const std::string& entry = spec.env(i);
    if (entry.empty() || entry.front() == '=') {
      return InvalidField(
          At("spec.env", i),
          "needs a variable name (\"KEY=value\" or \"KEY\"), got " + QuoteValue(entry));
    }
  }
  return grpc::Status::OK;
}

grpc::Status ValidateTmpfs(const v1::ContainerSpec& spec) {
  for (const std::string& target : SortedKeys(spec.tmpfs())) {
    if (!IsAbsolute(target)) {
      return InvalidField("spec.tmpfs", "keys must be absolute paths, got " + QuoteValue(target));
    }
  }
  return grpc::Status::OK;
}

}  // namespace

bool IsBuiltinNetworkMode(std::string_view network) {
  return network == "none" || network == "host" || network == "bridge" || network == "default" ||
         network.starts_with("container:");
}

// Fills `memory` with the limit in bytes (0 when none).
grpc::Status MemoryLimit(const v1::ContainerSpec& spec, int64_t* memory) {
  *memory = 0;
  switch (spec.memory_limit_case()) {
    case v1::ContainerSpec::kMemoryBytes:
      if (spec.memory_bytes() < 0) {
        return InvalidField("spec.memory_bytes",
                            "must not be negative, got " + std::to_string(spec.memory_bytes()));
      }
      *memory = spec.memory_bytes();
      return grpc::Status::OK;
    case v1::ContainerSpec::kMemory:
      return ParseMemory(spec.memory(), memory);
    default:
      return grpc::Status::OK;
  }
}

// Stop timeout in whole seconds; a fraction rounds up so that the grace period never shrinks.
grpc::Status StopTimeoutSeconds(const v1::ContainerSpec& spec, int64_t* seconds) {
  *seconds = 0;
  if (!spec.has_stop_timeout()) {
    return grpc::Status::OK;
  }
  int64_t nanos = 0;
  if (!DurationToNanos(spec.stop_timeout(), &nanos)) {
    return InvalidField("spec.stop_timeout", "not a valid duration or too large");
  }
  if (nanos < 0) {
    return InvalidField("spec.stop_timeout", "must not be negative");
  }
  *seconds = nanos / kNanosPerSecond + (nanos % kNanosPerSecond != 0 ? 1 : 0);
  return grpc::Status::OK;
}

grpc::Status ValidateContainerSpec(const v1::ContainerSpec& spec, const CreateOptions& options) {
  if (spec.image().empty()) {
    return InvalidField("spec.image", "must not be empty");
  }
  if (HasControl(spec.image())) {
    return InvalidField("spec.image",
                        "must not contain control characters, got " + QuoteValue(spec.image()));
  }
  if (!spec.name().empty()) {
    if (grpc::Status s = ValidateContainerName("spec.name", spec.name()); !s.ok()) {
      return s;
    }
  }
  if (grpc::Status s = ValidateEnv(spec); !s.ok()) {
    return s;
  }
  if (grpc::Status s = ValidatePorts(spec); !s.ok()) {
    return s;
  }
  if (grpc::Status s = ValidateNetwork(spec.network()); !s.ok()) {
    return s;
  }
  if (grpc::Status s = ValidateVolumes(spec); !s.ok()) {
    return s;
  }
  if (grpc::Status s = ValidateMounts(spec); !s.ok()) {
    return s;
  }
  if (grpc::Status s = ValidateTmpfs(spec); !s.ok()) {
    return s;
  }
  bool auto_remove = options.auto_remove.value_or(spec.auto_remove());
  if (grpc::Status s = ValidateRestart(spec, auto_remove); !s.ok()) {
    return s;
  }
  if (!spec.stop_signal().empty()) {
    if (grpc::Status s = ValidateSignal("spec.stop_signal", spec.stop_signal()); !s.ok()) {
      return s;
    }
  }
  int64_t memory = 0;
  if (grpc::Status s = MemoryLimit(spec, &memory); !s.ok()) {
    return s;
  }
  if (spec.nano_cpus() < 0) {
    return InvalidField("spec.nano_cpus",
                        "must not be negative, got " + std::to_string(spec.nano_cpus()));
  }
  if (grpc::Status s = ValidateMapKeys("spec.labels", spec.labels()); !s.ok()) {
    return s;
  }
  if (spec.has_healthcheck()) {
    const v1::Healthcheck& hc = spec.healthcheck();
    if (grpc::Status s = ValidateHealthTest(hc.test()); !s.ok()) {
      return s;
    }
    int64_t nanos = 0;
    for (auto [name, present, duration] :
         {std::make_tuple("interval", hc.has_interval(), &hc.interval()),
          std::make_tuple("timeout", hc.has_timeout(), &hc.timeout()),
          std::make_tuple("start_period", hc.has_start_period(), &hc.start_period()),
          std::make_tuple("start_interval", hc.has_start_interval(), &hc.start_interval())}) {
      if (grpc::Status s = HealthDuration(name, present, *duration, &nanos); !s.ok()) {
        return s;
      }
    }
    if (hc.has_start_interval() && !ApiAtLeast(options.api_version, "1.44")) {
      // An older daemon would drop it silently and the caller would believe it took effect.
      return InvalidField(
          "spec.healthcheck.start_interval",
          "needs Engine API 1.44 or newer; this daemon speaks " + options.api_version);
    }
    if (hc.retries() < 0) {
      return InvalidField("spec.healthcheck.retries",
                          "must not be negative, got " + std::to_string(hc.retries()));
    }
  }
  int64_t stop_seconds = 0;
  return StopTimeoutSeconds(spec, &stop_seconds);
}

}  // namespace dockline::server
