#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/result.h"
#include "client/spec_values.h"
#include "dockline/v1/dockline.pb.h"

namespace dockline::client {

// The host side of one docker-py `ports={...}` entry.
class PortTarget {
 public:
  // None: a port the daemon picks, on all addresses.
  PortTarget() = default;
  // {"8000/tcp": 8080}
  PortTarget(int host_port) : host_port_(host_port) {}  // NOLINT(google-explicit-constructor)
  // ("127.0.0.1", 8443), or ("127.0.0.1",) for a port the daemon picks on that address.
  PortTarget(std::string host_ip, int host_port = 0)  // NOLINT(google-explicit-constructor)
      : host_ip_(std::move(host_ip)), host_port_(host_port) {}
  PortTarget(const char* host_ip, int host_port = 0)  // NOLINT(google-explicit-constructor)
      : PortTarget(std::string(host_ip), host_port) {}

  const std::string& host_ip() const { return host_ip_; }
  int host_port() const { return host_port_; }

 private:
  std::string host_ip_;
  int host_port_ = 0;
};

// Builds a v1::ContainerSpec from docker-py's value forms:
//
//   auto spec = ContainerSpecBuilder("busybox")
//                   .Command("sh -c 'echo hi; exit 3'")
//                   .Port("8000/tcp", 8080)
//                   .Port("8443/tcp", {"127.0.0.1", 8443})
//                   .Env({{"DEBUG", "1"}})
//                   .Memory("512m")
//                   .Build();
//
// Setters never fail on the spot: the first bad value is remembered and Build() reports it as
// INVALID_ARGUMENT, so a chain needs one check at the end.
class ContainerSpecBuilder {
 public:
  explicit ContainerSpecBuilder(std::string image);

  // A string is split like docker-py does (shlex); a vector is the argv as is.
  ContainerSpecBuilder& Command(std::string_view command);
  ContainerSpecBuilder& Command(std::vector<std::string> argv);
  ContainerSpecBuilder& Entrypoint(std::string_view entrypoint);
  ContainerSpecBuilder& Entrypoint(std::vector<std::string> argv);

  ContainerSpecBuilder& Name(std::string name);
  ContainerSpecBuilder& Hostname(std::string hostname);
  ContainerSpecBuilder& WorkingDir(std::string dir);
  ContainerSpecBuilder& User(std::string user);
  // "none", "host", "bridge", "container:<id>" or a network name.
  ContainerSpecBuilder& Network(std::string network);

  // environment={"K": "v"}; the list form ["K=v", "K"] goes through EnvList.
  ContainerSpecBuilder& Env(const std::map<std::string, std::string>& environment);
  ContainerSpecBuilder& Env(std::string_view key, std::string_view value);
  ContainerSpecBuilder& EnvList(const std::vector<std::string>& entries);

  // ports={"8000/tcp": 8080}: the key is "port[/protocol]". Call again for more host bindings of
  // one container port (docker-py's list value).
  ContainerSpecBuilder& Port(std::string_view container_port, PortTarget target = {});
  ContainerSpecBuilder& Port(int container_port, PortTarget target = {});
  ContainerSpecBuilder& Ports(const std::vector<std::pair<std::string, PortTarget>>& ports);

  // volumes={"/host": {"bind": "/data", "mode": "ro"}}. `source` is an absolute host path or a
  // volume name; `mode` is docker's list ("rw", "ro", "ro,rshared", "nocopy").
  ContainerSpecBuilder& Volume(std::string_view source, std::string_view target,
                               std::string_view mode = "rw");
  // mounts=[Mount(...)]. The type must be set: the server refuses MOUNT_TYPE_UNSPECIFIED.
  ContainerSpecBuilder& Mount(v1::Mount mount);
  // tmpfs={"/tmp": "size=100m"}
  ContainerSpecBuilder& Tmpfs(std::string target, std::string options = "");

  ContainerSpecBuilder& ReadOnly(bool read_only = true);
  // remove=True
  ContainerSpecBuilder& AutoRemove(bool auto_remove = true);
  ContainerSpecBuilder& Init(bool init = true);
  ContainerSpecBuilder& Tty(bool tty = true);
  ContainerSpecBuilder& StdinOpen(bool stdin_open = true);
  // restart_policy={"Name": "on-failure", "MaximumRetryCount": 3}
  ContainerSpecBuilder& RestartPolicy(std::string_view name, int maximum_retry_count = 0);
  ContainerSpecBuilder& StopSignal(std::string signal);
  ContainerSpecBuilder& StopTimeout(std::chrono::nanoseconds timeout);

  // mem_limit="512m": passed through as written; the server parses it.
  ContainerSpecBuilder& Memory(std::string memory);
  ContainerSpecBuilder& MemoryBytes(int64_t bytes);
  // nano_cpus=500_000_000 is half a CPU.
  ContainerSpecBuilder& NanoCpus(int64_t nano_cpus);

  ContainerSpecBuilder& Label(std::string key, std::string value);
  ContainerSpecBuilder& Labels(const std::map<std::string, std::string>& labels);

  ContainerSpecBuilder& Healthcheck(const HealthcheckOptions& options);

  // The spec so far, errors or not.
  const v1::ContainerSpec& spec() const { return spec_; }
  Result<v1::ContainerSpec> Build() const;

 private:
  void Fail(grpc::Status status);

  v1::ContainerSpec spec_;
  grpc::Status status_;
};

}  // namespace dockline::client
