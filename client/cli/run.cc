#include "client/cli/run.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <memory>
#include <string_view>
#include <utility>

#include "client/cli/attach.h"
#include "client/cli/cli.h"
#include "client/cli/format.h"
#include "client/cli/images.h"
#include "client/quote.h"
#include "client/spec_values.h"

namespace dockline::cli {
namespace {

using client::Error;
using client::InvalidArgument;
using client::Ok;

Result<std::chrono::nanoseconds> ParseHealthDuration(std::string_view flag,
                                                     const std::string& text) {
  if (text.empty()) {
    return Ok(std::chrono::nanoseconds(0));
  }
  auto duration = ParseDuration(text);
  if (!duration.ok()) {
    return Error<std::chrono::nanoseconds>(
        InvalidArgument(fmt::format("{}: {}", flag, duration.status.error_message())));
  }
  if (duration.value.count() < 0) {
    return Error<std::chrono::nanoseconds>(
        InvalidArgument(fmt::format("{} cannot be negative", flag)));
  }
  return duration;
}

grpc::Status SetHealthcheck(const RunFlags& flags, v1::ContainerSpec& spec) {
  const bool any_health_flag = !flags.health_cmd.empty() || !flags.health_interval.empty() ||
                               !flags.health_timeout.empty() || !flags.health_retries.empty() ||
                               !flags.health_start_period.empty() ||
                               !flags.health_start_interval.empty();
  if (flags.no_healthcheck) {
    if (any_health_flag) {
      return InvalidArgument("--no-healthcheck conflicts with --health-* options");
    }
    *spec.mutable_healthcheck()->add_test() = "NONE";
    return grpc::Status::OK;
  }
  if (!any_health_flag) {
    return grpc::Status::OK;
  }
  client::HealthcheckOptions options;
  if (!flags.health_cmd.empty()) {
    options.test = {"CMD-SHELL", flags.health_cmd};
  }
  const std::pair<std::string_view, const std::string*> durations[] = {
      {"--health-interval", &flags.health_interval},
      {"--health-timeout", &flags.health_timeout},
      {"--health-start-period", &flags.health_start_period},
      {"--health-start-interval", &flags.health_start_interval},
  };
  std::chrono::nanoseconds* targets[] = {&options.interval, &options.timeout, &options.start_period,
                                         &options.start_interval};
  for (size_t i = 0; i < std::size(durations); ++i) {
    auto parsed = ParseHealthDuration(durations[i].first, *durations[i].second);
    if (!parsed.ok()) {
      return parsed.status;
    }
    *targets[i] = parsed.value;
  }
  if (!flags.health_retries.empty()) {
    int retries = 0;
    const std::string& text = flags.health_retries;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), retries);
    if (ec != std::errc() || end != text.data() + text.size() || retries < 0) {
      return InvalidArgument(fmt::format(
          "invalid --health-retries {}: want a whole number, 0 or more", client::Quote(text)));
    }
    options.retries = retries;
  }
  auto check = client::MakeHealthcheck(options);
  if (!check.ok()) {
    return check.status;
  }
  *spec.mutable_healthcheck() = std::move(check.value);
  return grpc::Status::OK;
}

}  // namespace

void AddList(CLI::App& command, const std::string& name, std::vector<std::string>& values,
             const std::string& description) {
  command.add_option(name, values, description)->allow_extra_args(false);
}

void AddRunFlags(CLI::App& command, RunFlags& flags, bool is_run, bool& json) {
  command.add_flag("--json", json, "Print replies as JSON");
  command.add_flag("--rm", flags.rm, "Remove the container when it exits");
  if (is_run) {
    command.add_flag("-d,--detach", flags.detach,
                     "Run the container in the background and print its ID");
  }
  command.add_option("--name", flags.name, "Assign a name to the container");
  command.add_option("--pull", flags.pull,
                     "Pull image before running (\"missing\" (default), \"always\", \"never\")");
  command.add_option("-h,--hostname", flags.hostname, "Container host name");
  AddList(command, "-p,--publish", flags.publish,
          "Publish a port: [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO] (repeatable)");
  AddList(command, "-e,--env", flags.env, "Set an environment variable: K=V, or K (repeatable)");
  command.add_option("-w,--workdir", flags.workdir, "Working directory inside the container");
  command.add_option("-u,--user", flags.user, "Username or UID (format: <name|uid>[:<group|gid>])");
  AddList(command, "-v,--volume", flags.volumes,
          "Bind mount a volume: [SOURCE:]TARGET[:MODE] (repeatable)");
  AddList(command, "--mount", flags.mounts,
          "Attach a filesystem mount: type=bind|volume|tmpfs,target=...,... "
          "(repeatable)");
  AddList(command, "--tmpfs", flags.tmpfs, "Mount a tmpfs: PATH[:OPTIONS] (repeatable)");
  command.add_flag("--read-only", flags.read_only, "Mount the root filesystem read-only");
  command.add_flag("--init", flags.init, "Run an init inside the container (signals, reaping)");
  command.add_option("--restart", flags.restart,
                     "Restart policy: no, always, unless-stopped, on-failure[:MAX_RETRIES]");
  command.add_option("--stop-signal", flags.stop_signal, "Signal to stop the container");
  command.add_option("--stop-timeout", flags.stop_timeout,
                     "Seconds to wait for the stop signal before killing the container");
  command.add_option("-m,--memory", flags.memory, "Memory limit, e.g. 512m, 1.5g");
  command.add_option("--cpus", flags.cpus, "Number of CPUs, e.g. 0.5");
  AddList(command, "-l,--label", flags.labels, "Set a label: KEY=VALUE or KEY (repeatable)");
  command.add_option("--health-cmd", flags.health_cmd, "Command to check health (run by /bin/sh)");
  command.add_option("--health-interval", flags.health_interval,
                     "Time between health checks (ms|s|m|h)");
  command.add_option("--health-timeout", flags.health_timeout,
                     "Maximum time one health check may take (ms|s|m|h)");
  command.add_option("--health-retries", flags.health_retries,
                     "Consecutive failures needed to report unhealthy");
  command.add_option("--health-start-period", flags.health_start_period,
                     "Start period during which failures do not count (ms|s|m|h)");
  command.add_option("--health-start-interval", flags.health_start_interval,
                     "Time between health checks during the start period (ms|s|m|h)");
  command.add_flag("--no-healthcheck", flags.no_healthcheck,
                   "Disable any container-specified HEALTHCHECK");
  command.add_option("--network,--net", flags.network, "Connect the container to a network");
  command.add_option("--entrypoint", flags.entrypoint,
                     "Overwrite the default ENTRYPOINT of the image");
  command.add_flag("-t,--tty", flags.tty, "Allocate a pseudo-TTY");
  command.add_flag("-i,--interactive", flags.interactive, "Keep STDIN open");
}

Result<v1::ContainerSpec> BuildSpec(const RunFlags& flags, const CLI::App& command,
                                    const EnvLookup& env) {
  using Spec = v1::ContainerSpec;
  const std::vector<std::string> rest = command.remaining();
  const std::string& command_name = command.get_name();
  if (rest.empty()) {
    return Error<Spec>(InvalidArgument(fmt::format(
        "\"dockline {}\" requires at least 1 argument: IMAGE [COMMAND] [ARG...]", command_name)));
  }
  if (rest.front().starts_with('-')) {
    // CLI11 leaves unknown flags in front of the image.
    return Error<Spec>(InvalidArgument(fmt::format("unknown flag: {}", rest.front())));
  }
  Spec spec;
  spec.set_image(rest.front());
  spec.mutable_command()->Assign(rest.begin() + 1, rest.end());
  spec.set_name(flags.name);
  spec.set_hostname(flags.hostname);
  spec.set_working_dir(flags.workdir);
  spec.set_user(flags.user);
  spec.set_network(flags.network);
  spec.set_auto_remove(flags.rm);
  spec.set_read_only(flags.read_only);
  spec.set_init(flags.init);
  spec.set_tty(flags.tty);
  spec.set_stdin_open(flags.interactive);
  spec.set_stop_signal(flags.stop_signal);
  if (command.count("--entrypoint") > 0) {
    // Docker takes the flag as one word, and --entrypoint "" as "clear the image's ENTRYPOINT",
    // which the Engine API spells [""].
    *spec.add_entrypoint() = flags.entrypoint;
  }
  for (const std::string& publish : flags.publish) {
    auto bindings = ParsePublish(publish);
    if (!bindings.ok()) {
      return Error<Spec>(bindings.status);
    }
    for (v1::PortBinding& binding : bindings.value) {
      *spec.add_ports() = std::move(binding);
    }
  }
  for (const std::string& entry : flags.env) {
    auto parsed = ParseEnv(entry, env);
    if (!parsed.ok()) {
      return Error<Spec>(parsed.status);
    }
    spec.add_env(std::move(parsed.value));
  }
  for (const std::string& volume : flags.volumes) {
    if (grpc::Status status = ParseVolume(volume, spec); !status.ok()) {
      return Error<Spec>(std::move(status));
    }
  }
  for (const std::string& mount : flags.mounts) {
    auto parsed = ParseMount(mount);
    if (!parsed.ok()) {
      return Error<Spec>(parsed.status);
    }
    *spec.add_mounts() = std::move(parsed.value);
  }
  for (const std::string& tmpfs : flags.tmpfs) {
    auto parsed = ParseTmpfs(tmpfs);
    if (!parsed.ok()) {
      return Error<Spec>(parsed.status);
    }
    (*spec.mutable_tmpfs())[parsed.value.first] = parsed.value.second;
  }
  for (const std::string& label : flags.labels) {
    auto parsed = ParseLabel(label);
    if (!parsed.ok()) {
      return Error<Spec>(parsed.status);
    }
    (*spec.mutable_labels())[parsed.value.first] = parsed.value.second;
  }
  if (!flags.restart.empty()) {
    auto policy = ParseRestart(flags.restart);
    if (!policy.ok()) {
      return Error<Spec>(policy.status);
    }
    if (flags.rm && policy.value.name() != v1::RESTART_POLICY_NAME_NO) {
      return Error<Spec>(InvalidArgument("conflicting options: --restart and --rm"));
    }
    *spec.mutable_restart_policy() = std::move(policy.value);
  }
  if (!flags.stop_timeout.empty()) {
    auto timeout = ParseSeconds(flags.stop_timeout);
    if (!timeout.ok()) {
      return Error<Spec>(
          InvalidArgument(fmt::format("--stop-timeout: {}", timeout.status.error_message())));
    }
    *spec.mutable_stop_timeout() = client::ToProtoDuration(timeout.value);
  }
  if (!flags.memory.empty()) {
    // Passed as written: the server owns the parsing of docker-py's memory forms.
    spec.set_memory(flags.memory);
  }
  if (!flags.cpus.empty()) {
    auto nano_cpus = ParseCpus(flags.cpus);
    if (!nano_cpus.ok()) {
      return Error<Spec>(nano_cpus.status);
    }
    spec.set_nano_cpus(nano_cpus.value);
  }
  if (grpc::Status status = SetHealthcheck(flags, spec); !status.ok()) {
    return Error<Spec>(std::move(status));
  }
  return Ok(std::move(spec));
}

int ExecuteRun(const Invocation& invocation, client::Client& client, std::ostream& out,
               std::ostream& err) {
  if (invocation.spec.stdin_open() && !invocation.detach) {
    return ExecuteRunAttached(invocation, client, out, err);
  }
  client::RunOptions options;
  options.detach = invocation.detach;
  options.collect_output = false;
  options.pull = invocation.pull;
  if (invocation.json) {
    options.on_event = [&out](const v1::RunContainerResponse& event) {
      out << ToJson(event) << '\n';
      out.flush();
    };
  } else {
    // As `docker run`: the pull's progress on stderr, so stdout carries only the container's.
    auto display = std::make_shared<PullDisplay>(err, false);
    auto pulling = std::make_shared<bool>(false);
    options.on_event = [&err, &invocation, display,
                        pulling](const v1::RunContainerResponse& event) {
      if (event.has_pull()) {
        if (!std::exchange(*pulling, true) && invocation.pull != v1::PULL_POLICY_ALWAYS) {
          fmt::print(err, "Unable to find image '{}' locally\n", invocation.spec.image());
        }
        display->Show(event.pull());
      }
      if (event.has_started()) {
        for (const std::string& warning : event.started().warnings()) {
          fmt::print(err, "WARNING: {}\n", warning);
        }
      }
    };
    options.on_output = [&out, &err](v1::Stream stream, std::string_view data) {
      std::ostream& sink = stream == v1::STREAM_STDERR ? err : out;
      sink.write(data.data(), static_cast<std::streamsize>(data.size()));
      sink.flush();
    };
  }
  client::Result<client::RunResult> result = client.Run(invocation.spec, options);
  if (!result.ok()) {
    PrintError(err, result.status, invocation.address);
    return kExitDocklineError;
  }
  if (invocation.detach) {
    if (!invocation.json) {
      out << result.value.id << '\n';
    }
    return 0;
  }
  if (!result.value.error.empty()) {
    fmt::print(err, "dockline: error waiting for the container: {}\n", result.value.error);
    return kExitDocklineError;
  }
  // The shell keeps the low 8 bits, as it does for docker's own exit.
  return static_cast<int>(result.value.exit_code & 0xff);
}

int ExecuteCreate(const Invocation& invocation, client::Client& client, std::ostream& out,
                  std::ostream& err) {
  auto result = client.Create(invocation.spec, invocation.pull);
  if (!result.ok()) {
    PrintError(err, result.status, invocation.address);
    return kExitDocklineError;
  }
  if (invocation.json) {
    out << ToJson(result.value) << '\n';
    return 0;
  }
  for (const std::string& warning : result.value.warnings()) {
    fmt::print(err, "WARNING: {}\n", warning);
  }
  out << result.value.id() << '\n';
  return 0;
}

}  // namespace dockline::cli
