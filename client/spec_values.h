#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "client/result.h"
#include "dockline/v1/dockline.pb.h"

// Value forms shared by ContainerSpecBuilder (docker-py's spellings) and the CLI (docker's):
// both must read "8000/tcp", "on-failure" or "ro,rshared" the same way.
namespace dockline::client {

google::protobuf::Duration ToProtoDuration(std::chrono::nanoseconds duration);
google::protobuf::Timestamp ToTimestamp(std::chrono::system_clock::time_point t);

// "tcp", "udp", "sctp"; "" is tcp.
Result<v1::Protocol> ParseProtocol(std::string_view protocol);

// "8000", "8000/tcp", "53/udp": fills container_port and protocol only.
Result<v1::PortBinding> ParseContainerPort(std::string_view port);

// Port numbers are 1-65535; `allow_zero` admits 0 for "let the daemon pick".
Result<uint32_t> ParsePortNumber(std::string_view port, bool allow_zero);

// "no", "always", "unless-stopped", "on-failure"; a retry count only goes with on-failure.
Result<v1::RestartPolicy> MakeRestartPolicy(std::string_view name, int maximum_retry_count);

// The mode of a volume bind, docker's comma list: "rw", "ro", "ro,rshared", "nocopy", ...
struct VolumeMode {
  bool read_only = false;
  std::string propagation;
  bool no_copy = false;
};
Result<VolumeMode> ParseVolumeMode(std::string_view mode);
bool IsPropagation(std::string_view value);

// A bind of `source` (absolute host path, or volume name) at `target` with `mode`. A named
// volume with "nocopy" needs the Mount form, so the result is either in `volumes` or `mounts`.
grpc::Status AddVolume(std::string_view source, std::string_view target, std::string_view mode,
                       v1::ContainerSpec& spec);

// docker-py's `healthcheck=` with std::chrono durations. A zero duration is unset (the daemon's
// default), like docker-py's 0; others must be at least 1ms, as the daemon requires.
struct HealthcheckOptions {
  // ["CMD", exe, args...], ["CMD-SHELL", "cmd"] or ["NONE"]; empty inherits the image's test.
  std::vector<std::string> test;
  std::chrono::nanoseconds interval{0};
  std::chrono::nanoseconds timeout{0};
  std::chrono::nanoseconds start_period{0};
  std::chrono::nanoseconds start_interval{0};  // Engine API 1.44 and later
  int retries = 0;
};
// Validated here because dockerd 20.10 accepts ["CMD"] alone and then panics at the first probe.
Result<v1::Healthcheck> MakeHealthcheck(const HealthcheckOptions& options);

}  // namespace dockline::client
