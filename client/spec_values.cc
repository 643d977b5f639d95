#include "client/spec_values.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <charconv>
#include <tuple>

#include "client/quote.h"

namespace dockline::client {

google::protobuf::Duration ToProtoDuration(std::chrono::nanoseconds duration) {
  return google::protobuf::util::TimeUtil::NanosecondsToDuration(duration.count());
}

google::protobuf::Timestamp ToTimestamp(std::chrono::system_clock::time_point t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(ns);
}

Result<v1::Protocol> ParseProtocol(std::string_view protocol) {
  if (protocol.empty() || protocol == "tcp") {
    return Ok(v1::PROTOCOL_TCP);
  }
  if (protocol == "udp") {
    return Ok(v1::PROTOCOL_UDP);
  }
  if (protocol == "sctp") {
    return Ok(v1::PROTOCOL_SCTP);
  }
  return Error<v1::Protocol>(
      InvalidArgument(fmt::format("invalid protocol {}", client::Quote(protocol))));
}

Result<uint32_t> ParsePortNumber(std::string_view port, bool allow_zero) {
  uint32_t value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535 ||
      (value == 0 && !allow_zero)) {
    return Error<uint32_t>(InvalidArgument(fmt::format("invalid port {}", client::Quote(port))));
  }
  return Ok(value);
}

Result<v1::PortBinding> ParseContainerPort(std::string_view port) {
  std::string_view number = port;
  std::string_view protocol;
  if (const size_t slash = port.find('/'); slash != std::string_view::npos) {
    number = port.substr(0, slash);
    protocol = port.substr(slash + 1);
    if (protocol.empty()) {
      return Error<v1::PortBinding>(
          InvalidArgument(fmt::format("invalid protocol in port {}", client::Quote(port))));
    }
  }
  auto parsed_port = ParsePortNumber(number, /*allow_zero=*/false);
  if (!parsed_port.ok()) {
    return Error<v1::PortBinding>(parsed_port.status);
  }
  auto parsed_protocol = ParseProtocol(protocol);
  if (!parsed_protocol.ok()) {
    return Error<v1::PortBinding>(parsed_protocol.status);
  }
  v1::PortBinding binding;
  binding.set_container_port(parsed_port.value);
  binding.set_protocol(parsed_protocol.value);
  return Ok(std::move(binding));
}

Result<v1::RestartPolicy> MakeRestartPolicy(std::string_view name, int maximum_retry_count) {
  v1::RestartPolicy policy;
  if (name.empty() || name == "no") {
    policy.set_name(v1::RESTART_POLICY_NAME_NO);
  } else if (name == "always") {
    policy.set_name(v1::RESTART_POLICY_NAME_ALWAYS);
  } else if (name == "unless-stopped") {
    policy.set_name(v1::RESTART_POLICY_NAME_UNLESS_STOPPED);
  } else if (name == "on-failure") {
    policy.set_name(v1::RESTART_POLICY_NAME_ON_FAILURE);
  } else {
    return Error<v1::RestartPolicy>(InvalidArgument(
        fmt::format("invalid restart policy {}: want no, always, unless-stopped or on-failure",
                    client::Quote(name))));
  }
  if (maximum_retry_count < 0) {
    return Error<v1::RestartPolicy>(
        InvalidArgument("invalid restart policy: the maximum retry count cannot be negative"));
  }
  if (maximum_retry_count > 0 && policy.name() != v1::RESTART_POLICY_NAME_ON_FAILURE) {
    return Error<v1::RestartPolicy>(InvalidArgument(
        fmt::format("invalid restart policy: a maximum retry count cannot be used with {}",
                    client::Quote(name))));
  }
  policy.set_maximum_retry_count(maximum_retry_count);
  return Ok(std::move(policy));
}

bool IsPropagation(std::string_view value) {
  return value == "private" || value == "rprivate" || value == "shared" || value == "rshared" ||
         value == "slave" || value == "rslave";
}

Result<VolumeMode> ParseVolumeMode(std::string_view mode) {
  VolumeMode parsed;
  bool saw_access = false;
  size_t start = 0;
  while (start <= mode.size()) {
    const size_t comma = std::min(mode.find(',', start), mode.size());
    const std::string_view part = mode.substr(start, comma - start);
    start = comma + 1;
    if (part.empty()) {
      if (mode.empty()) {
        break;
      }
      return Error<VolumeMode>(
          InvalidArgument(fmt::format("invalid volume mode {}", client::Quote(mode))));
    }
    if (part == "ro" || part == "rw") {
      if (saw_access) {
        return Error<VolumeMode>(InvalidArgument(
            fmt::format("invalid volume mode {}: ro/rw given twice", client::Quote(mode))));
      }
      saw_access = true;
      parsed.read_only = part == "ro";
    } else if (IsPropagation(part)) {
      if (!parsed.propagation.empty()) {
        return Error<VolumeMode>(InvalidArgument(
            fmt::format("invalid volume mode {}: propagation given twice", client::Quote(mode))));
      }
      parsed.propagation = std::string(part);
    } else if (part == "nocopy") {
      parsed.no_copy = true;
    } else if (part == "consistent" || part == "cached" || part == "delegated") {
      // Docker Desktop hints that dockerd on Linux accepts and ignores; so do we.
    } else if (part == "z" || part == "Z") {
      return Error<VolumeMode>(InvalidArgument(
          fmt::format("invalid volume mode {}: SELinux relabeling (z, Z) is not supported",
                      client::Quote(mode))));
    } else {
      return Error<VolumeMode>(InvalidArgument(fmt::format(
          "invalid volume mode {}: unknown option {} (want ro, rw, nocopy or a propagation)",
          client::Quote(mode), client::Quote(part))));
    }
  }
  return Ok(std::move(parsed));
}

grpc::Status AddVolume(std::string_view source, std::string_view target, std::string_view mode,
                       v1::ContainerSpec& spec) {
  if (target.empty() || target.front() != '/') {
    return InvalidArgument(
        fmt::format("invalid volume target {}: not an absolute path", client::Quote(target)));
  }
  auto parsed = ParseVolumeMode(mode);
  if (!parsed.ok()) {
    return parsed.status;
  }
  const bool host_path = !source.empty() && source.front() == '/';
  if (parsed.value.no_copy && host_path) {
    return InvalidArgument(fmt::format(
        "invalid volume mode {}: nocopy applies to volumes, not host paths", client::Quote(mode)));
  }
  if (!parsed.value.propagation.empty() && !host_path) {
    return InvalidArgument(
        fmt::format("invalid volume mode {}: propagation applies to host paths, not volumes",
                    client::Quote(mode)));
  }
  // VolumeBind cannot say "anonymous" or "nocopy"; Mount can.
  if (source.empty() || parsed.value.no_copy) {
    v1::Mount& mount = *spec.add_mounts();
    mount.set_type(v1::MOUNT_TYPE_VOLUME);
    mount.set_source(std::string(source));
    mount.set_target(std::string(target));
    mount.set_read_only(parsed.value.read_only);
    mount.set_no_copy(parsed.value.no_copy);
    return grpc::Status::OK;
  }
  v1::VolumeBind& bind = *spec.add_volumes();
  bind.set_source(std::string(source));
  bind.set_target(std::string(target));
  bind.set_read_only(parsed.value.read_only);
  bind.set_propagation(parsed.value.propagation);
  return grpc::Status::OK;
}

Result<v1::Healthcheck> MakeHealthcheck(const HealthcheckOptions& options) {
  v1::Healthcheck check;
  const std::vector<std::string>& test = options.test;
  if (!test.empty()) {
    const std::string& kind = test.front();
    if (kind == "CMD" && test.size() < 2) {
      return Error<v1::Healthcheck>(
          InvalidArgument("invalid healthcheck: \"CMD\" needs a command after it"));
    }
    if (kind == "CMD-SHELL" && test.size() != 2) {
      return Error<v1::Healthcheck>(
          InvalidArgument("invalid healthcheck: \"CMD-SHELL\" takes exactly one command string"));
    }
    if (kind == "NONE" && test.size() != 1) {
      return Error<v1::Healthcheck>(
          InvalidArgument("invalid healthcheck: \"NONE\" takes no arguments"));
    }
    if (kind != "CMD" && kind != "CMD-SHELL" && kind != "NONE") {
      return Error<v1::Healthcheck>(InvalidArgument(
          fmt::format("invalid healthcheck: the test starts with {}; want CMD, CMD-SHELL or NONE",
                      client::Quote(kind))));
    }
    check.mutable_test()->Assign(test.begin(), test.end());
  }
  if (options.retries < 0) {
    return Error<v1::Healthcheck>(
        InvalidArgument("invalid healthcheck: retries cannot be negative"));
  }
  check.set_retries(options.retries);
  using DurationField = google::protobuf::Duration* (v1::Healthcheck::*)();
  const std::tuple<std::string_view, std::chrono::nanoseconds, DurationField> durations[] = {
      {"interval", options.interval, &v1::Healthcheck::mutable_interval},
      {"timeout", options.timeout, &v1::Healthcheck::mutable_timeout},
      {"start period", options.start_period, &v1::Healthcheck::mutable_start_period},
      {"start interval", options.start_interval, &v1::Healthcheck::mutable_start_interval},
  };
  for (const auto& [what, value, field] : durations) {
    if (value.count() == 0) {
      continue;
    }
    if (value < std::chrono::milliseconds(1)) {
      return Error<v1::Healthcheck>(
          InvalidArgument(fmt::format("invalid healthcheck: {} must be at least 1ms", what)));
    }
    *(check.*field)() = ToProtoDuration(value);
  }
  return Ok(std::move(check));
}

}  // namespace dockline::client
