#include "client/container_spec_builder.h"

#include <fmt/format.h>

#include "client/quote.h"
#include "client/shlex.h"

namespace dockline::client {

ContainerSpecBuilder::ContainerSpecBuilder(std::string image) {
  if (image.empty()) {
    Fail(InvalidArgument("an image is required"));
  }
  spec_.set_image(std::move(image));
}

void ContainerSpecBuilder::Fail(grpc::Status status) {
  if (status_.ok()) {
    status_ = std::move(status);
  }
}

ContainerSpecBuilder& ContainerSpecBuilder::Command(std::string_view command) {
  auto argv = ShlexSplit(command);
  if (!argv.ok()) {
    Fail(argv.status);
    return *this;
  }
  return Command(std::move(argv.value));
}

ContainerSpecBuilder& ContainerSpecBuilder::Command(std::vector<std::string> argv) {
  spec_.mutable_command()->Assign(std::make_move_iterator(argv.begin()),
                                  std::make_move_iterator(argv.end()));
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Entrypoint(std::string_view entrypoint) {
  auto argv = ShlexSplit(entrypoint);
  if (!argv.ok()) {
    Fail(argv.status);
    return *this;
  }
  return Entrypoint(std::move(argv.value));
}

ContainerSpecBuilder& ContainerSpecBuilder::Entrypoint(std::vector<std::string> argv) {
  spec_.mutable_entrypoint()->Assign(std::make_move_iterator(argv.begin()),
                                     std::make_move_iterator(argv.end()));
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Name(std::string name) {
  spec_.set_name(std::move(name));
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Hostname(std::string hostname) {
  spec_.set_hostname(std::move(hostname));
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::WorkingDir(std::string dir) {
  spec_.set_working_dir(std::move(dir));
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::User(std::string user) {
  spec_.set_user(std::move(user));
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Network(std::string network) {
  spec_.set_network(std::move(network));
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Env(
    const std::map<std::string, std::string>& environment) {
  for (const auto& [key, value] : environment) {
    Env(key, value);
  }
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Env(std::string_view key, std::string_view value) {
  if (key.empty() || key.find('=') != std::string_view::npos) {
    Fail(InvalidArgument(fmt::format("invalid environment variable name {}", client::Quote(key))));
    return *this;
  }
  spec_.add_env(fmt::format("{}={}", key, value));
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::EnvList(const std::vector<std::string>& entries) {
  for (const std::string& entry : entries) {
    if (entry.empty() || entry.front() == '=') {
      Fail(InvalidArgument(fmt::format("invalid environment variable {}", client::Quote(entry))));
      continue;
    }
    spec_.add_env(entry);
  }
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Port(std::string_view container_port,
                                                 PortTarget target) {
  auto binding = ParseContainerPort(container_port);
  if (!binding.ok()) {
    Fail(binding.status);
    return *this;
  }
  if (target.host_port() < 0 || target.host_port() > 65535) {
    Fail(InvalidArgument(fmt::format("invalid host port {}", target.host_port())));
    return *this;
  }
  binding.value.set_host_ip(target.host_ip());
  binding.value.set_host_port(static_cast<uint32_t>(target.host_port()));
  *spec_.add_ports() = std::move(binding.value);
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Port(int container_port, PortTarget target) {
  return Port(std::to_string(container_port), std::move(target));
}

ContainerSpecBuilder& ContainerSpecBuilder::Ports(
    const std::vector<std::pair<std::string, PortTarget>>& ports) {
  for (const auto& [container_port, target] : ports) {
    Port(container_port, target);
  }
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Volume(std::string_view source, std::string_view target,
                                                   std::string_view mode) {
  if (grpc::Status status = AddVolume(source, target, mode, spec_); !status.ok()) {
    Fail(std::move(status));
  }
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Mount(v1::Mount mount) {
  *spec_.add_mounts() = std::move(mount);
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Tmpfs(std::string target, std::string options) {
  (*spec_.mutable_tmpfs())[std::move(target)] = std::move(options);
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::ReadOnly(bool read_only) {
  spec_.set_read_only(read_only);
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::AutoRemove(bool auto_remove) {
  spec_.set_auto_remove(auto_remove);
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Init(bool init) {
  spec_.set_init(init);
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Tty(bool tty) {
  spec_.set_tty(tty);
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::StdinOpen(bool stdin_open) {
  spec_.set_stdin_open(stdin_open);
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::RestartPolicy(std::string_view name,
                                                          int maximum_retry_count) {
  auto policy = MakeRestartPolicy(name, maximum_retry_count);
  if (!policy.ok()) {
    Fail(policy.status);
    return *this;
  }
  *spec_.mutable_restart_policy() = std::move(policy.value);
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::StopSignal(std::string signal) {
  spec_.set_stop_signal(std::move(signal));
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::StopTimeout(std::chrono::nanoseconds timeout) {
  if (timeout.count() < 0) {
    Fail(InvalidArgument("the stop timeout cannot be negative"));
    return *this;
  }
  *spec_.mutable_stop_timeout() = ToProtoDuration(timeout);
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Memory(std::string memory) {
  spec_.set_memory(std::move(memory));
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::MemoryBytes(int64_t bytes) {
  spec_.set_memory_bytes(bytes);
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::NanoCpus(int64_t nano_cpus) {
  if (nano_cpus < 0) {
    Fail(InvalidArgument("nano_cpus cannot be negative"));
    return *this;
  }
  spec_.set_nano_cpus(nano_cpus);
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Label(std::string key, std::string value) {
  if (key.empty()) {
    Fail(InvalidArgument("a label key cannot be empty"));
    return *this;
  }
  (*spec_.mutable_labels())[std::move(key)] = std::move(value);
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Labels(
    const std::map<std::string, std::string>& labels) {
  for (const auto& [key, value] : labels) {
    Label(key, value);
  }
  return *this;
}

ContainerSpecBuilder& ContainerSpecBuilder::Healthcheck(const HealthcheckOptions& options) {
  auto check = MakeHealthcheck(options);
  if (!check.ok()) {
    Fail(check.status);
    return *this;
  }
  *spec_.mutable_healthcheck() = std::move(check.value);
  return *this;
}

Result<v1::ContainerSpec> ContainerSpecBuilder::Build() const {
  if (!status_.ok()) {
    return Error<v1::ContainerSpec>(status_);
  }
  return Ok(spec_);
}

}  // namespace dockline::client
