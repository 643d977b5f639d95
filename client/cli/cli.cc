#include "client/cli/cli.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <functional>
#include <iostream>
#include <utility>

#include "client/cli/exec.h"
#include "client/cli/format.h"
#include "client/cli/health.h"
#include "client/cli/logs.h"
#include "client/spec_values.h"

#ifndef DOCKLINE_VERSION
#define DOCKLINE_VERSION "unknown"
#endif

namespace dockline::cli {
namespace {

using client::Error;
using client::InvalidArgument;
using client::Ok;

// The raw values of the run/create flags; BuildSpec turns them into a ContainerSpec.
struct RunFlags {
  bool rm = false;
  bool detach = false;
  bool read_only = false;
  bool init = false;
  bool tty = false;
  bool interactive = false;
  bool no_healthcheck = false;
  std::string name;
  std::string hostname;
  std::string workdir;
  std::string user;
  std::string network;
  std::string restart;
  std::string stop_signal;
  std::string stop_timeout;
  std::string memory;
  std::string cpus;
  std::string entrypoint;
  std::vector<std::string> publish;
  std::vector<std::string> env;
  std::vector<std::string> volumes;
  std::vector<std::string> mounts;
  std::vector<std::string> tmpfs;
  std::vector<std::string> labels;
  std::string health_cmd;
  std::string health_interval;
  std::string health_timeout;
  std::string health_retries;
  std::string health_start_period;
  std::string health_start_interval;
};

// A repeatable flag taking one value per occurrence. CLI11's default for a vector is to keep
// taking words, which would swallow IMAGE after `-p 80`.
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

Result<std::chrono::nanoseconds> ParseHealthDuration(std::string_view flag,
                                                     const std::string& text) {
  if (text.empty()) {
    return Ok(std::chrono::nanoseconds(0));
  }
  auto duration = ParseGoDuration(text);
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
      return InvalidArgument(
          fmt::format("invalid --health-retries {:?}: want a whole number, 0 or more", text));
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
  if (invocation.spec.stdin_open() && !invocation.detach && !invocation.json) {
    fmt::print(err,
               "WARNING: dockline run cannot forward stdin yet; the container's stdin stays open "
               "but receives nothing\n");
  }
  client::RunOptions options;
  options.detach = invocation.detach;
  options.collect_output = false;
  if (invocation.json) {
    options.on_event = [&out](const v1::RunContainerResponse& event) {
      out << ToJson(event) << '\n';
      out.flush();
    };
  } else {
    options.on_event = [&err](const v1::RunContainerResponse& event) {
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
  auto result = client.Create(invocation.spec);
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

// Applies `call` to each container like docker does: report each failure, carry on, and print
// the name as given for each success.
int ForEachContainer(
    const Invocation& invocation, std::ostream& out, std::ostream& err,
    const std::function<grpc::Status(const std::string&, std::string& json)>& call) {
  int exit_code = 0;
  for (const std::string& container : invocation.containers) {
    std::string json = "{}";
    grpc::Status status = call(container, json);
    if (!status.ok()) {
      PrintError(err, status, invocation.address);
      exit_code = kExitCommandFailed;
      continue;
    }
    out << (invocation.json ? json : container) << '\n';
  }
  return exit_code;
}

int ExecuteInspect(const Invocation& invocation, client::Client& client, std::ostream& out,
                   std::ostream& err) {
  std::vector<v1::InspectContainerResponse> replies;
  int exit_code = 0;
  for (const std::string& container : invocation.containers) {
    auto result = client.Inspect(container);
    if (!result.ok()) {
      PrintError(err, result.status, invocation.address);
      exit_code = kExitCommandFailed;
      continue;
    }
    if (invocation.json) {
      out << ToJson(result.value) << '\n';
    } else {
      replies.push_back(std::move(result.value));
    }
  }
  if (!invocation.json) {
    out << FormatInspectArray(replies) << '\n';
  }
  return exit_code;
}

int ExecuteList(const Invocation& invocation, client::Client& client, std::ostream& out,
                std::ostream& err) {
  auto result = client.List(invocation.all, invocation.filters, invocation.limit);
  if (!result.ok()) {
    PrintError(err, result.status, invocation.address);
    return kExitCommandFailed;
  }
  if (invocation.json) {
    out << ToJson(result.value) << '\n';
  } else if (invocation.quiet) {
    for (const v1::ContainerSummary& container : result.value.containers()) {
      out << (invocation.no_trunc ? container.id() : container.id().substr(0, 12)) << '\n';
    }
  } else {
    out << FormatPsTable(result.value, std::chrono::system_clock::now(), invocation.no_trunc);
  }
  return 0;
}

int ExecuteWait(const Invocation& invocation, client::Client& client, std::ostream& out,
                std::ostream& err) {
  int exit_code = 0;
  for (const std::string& container : invocation.containers) {
    auto result = client.Wait(container, invocation.wait_timeout, invocation.condition);
    if (!result.ok()) {
      PrintError(err, result.status, invocation.address);
      exit_code = kExitCommandFailed;
      continue;
    }
    if (invocation.json) {
      out << ToJson(result.value) << '\n';
      continue;
    }
    if (!result.value.error().empty()) {
      fmt::print(err, "dockline: {}: {}\n", container, result.value.error());
    }
    out << result.value.exit_code() << '\n';
  }
  return exit_code;
}

int ExecuteVersion(const Invocation& invocation, client::Client& client, std::ostream& out,
                   std::ostream& err) {
  auto result = client.EngineInfo();
  if (invocation.json) {
    if (!result.ok()) {
      PrintError(err, result.status, invocation.address);
      return kExitCommandFailed;
    }
    out << ToJson(result.value) << '\n';
    return 0;
  }
  out << FormatVersion(DOCKLINE_VERSION, result.ok() ? &result.value : nullptr);
  if (!result.ok()) {
    PrintError(err, result.status, invocation.address);
    return kExitCommandFailed;
  }
  return 0;
}

std::string CodeName(grpc::StatusCode code) {
  static constexpr std::string_view kNames[] = {"OK",
                                                "CANCELLED",
                                                "UNKNOWN",
                                                "INVALID_ARGUMENT",
                                                "DEADLINE_EXCEEDED",
                                                "NOT_FOUND",
                                                "ALREADY_EXISTS",
                                                "PERMISSION_DENIED",
                                                "RESOURCE_EXHAUSTED",
                                                "FAILED_PRECONDITION",
                                                "ABORTED",
                                                "OUT_OF_RANGE",
                                                "UNIMPLEMENTED",
                                                "INTERNAL",
                                                "UNAVAILABLE",
                                                "DATA_LOSS",
                                                "UNAUTHENTICATED"};
  const auto index = static_cast<size_t>(code);
  return index < std::size(kNames) ? std::string(kNames[index]) : fmt::format("status {}", index);
}

}  // namespace

void PrintError(std::ostream& err, const grpc::Status& status, std::string_view address) {
  std::string message = status.error_message();
  if (message.empty()) {
    message = CodeName(status.error_code());
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    message += fmt::format(" (is docklined listening on {}?)", address);
  }
  fmt::print(err, "dockline: {}\n", message);
  err.flush();
}

Result<Invocation> ParseArgs(const std::vector<std::string>& args, const EnvLookup& env) {
  Invocation invocation;
  if (env) {
    if (std::optional<std::string> address = env("DOCKLINE_ADDR"); address && !address->empty()) {
      invocation.address = *address;
    }
  }
  CLI::App app("dockline: the Docker container lifecycle through docklined", "dockline");
  app.require_subcommand(0, 1);
  std::string timeout;
  app.add_option("--addr", invocation.address,
                 "docklined address, HOST:PORT or unix:///PATH (default: $DOCKLINE_ADDR, else "
                 "127.0.0.1:50051)");
  app.add_flag("--json", invocation.json, "Print replies as JSON");
  app.add_option("--timeout", timeout, "Deadline of each short call, e.g. 30s");

  RunFlags run_flags;
  CLI::App* run = app.add_subcommand(
      "run", "Create and run a new container: run [OPTIONS] IMAGE [COMMAND] [ARG...]");
  CLI::App* create = app.add_subcommand(
      "create", "Create a new container: create [OPTIONS] IMAGE [COMMAND] [ARG...]");
  for (CLI::App* command : {run, create}) {
    // Everything from IMAGE on belongs to the container, dashes included, as in docker.
    command->prefix_command();
    // -h is --hostname here, as in docker.
    command->set_help_flag("--help", "Print this help");
    AddRunFlags(*command, run_flags, command == run, invocation.json);
  }

  std::string stop_time;
  std::string wait_timeout;
  std::string condition;
  std::vector<std::string> filters;
  bool latest = false;
  const auto containers_command = [&](const char* name, const char* description) {
    CLI::App* command = app.add_subcommand(name, description);
    // Global flags may follow the command name too (`dockline ps --json`).
    command->fallthrough();
    command->add_option("CONTAINER", invocation.containers, "Container name, ID or ID prefix")
        ->required();
    return command;
  };
  CLI::App* start = containers_command("start", "Start one or more stopped containers");
  CLI::App* stop = containers_command("stop", "Stop one or more running containers");
  stop->add_option("-t,--time", stop_time, "Seconds to wait before killing the container");
  CLI::App* restart = containers_command("restart", "Restart one or more containers");
  restart->add_option("-t,--time", stop_time, "Seconds to wait before killing the container");
  CLI::App* kill = containers_command("kill", "Kill one or more running containers");
  kill->add_option("-s,--signal", invocation.signal, "Signal to send (default SIGKILL)");
  CLI::App* rm = containers_command("rm", "Remove one or more containers");
  rm->add_flag("-f,--force", invocation.force, "Force the removal of a running container");
  rm->add_flag("-v,--volumes", invocation.remove_volumes,
               "Remove anonymous volumes associated with the container");
  CLI::App* inspect = containers_command("inspect", "Print the daemon's view of containers");
  CLI::App* wait =
      containers_command("wait", "Block until containers stop, then print their exit codes");
  wait->add_option("--timeout", wait_timeout, "Give up after this long, e.g. 30s");
  wait->add_option("--condition", condition, "not-running (default), next-exit or removed");

  CLI::App* ps = app.add_subcommand("ps", "List containers");
  ps->fallthrough();
  ps->add_flag("-a,--all", invocation.all, "Show all containers (default shows just running)");
  AddList(*ps, "-f,--filter", filters, "Filter output: key=value (repeatable)");
  ps->add_flag("-q,--quiet", invocation.quiet, "Only display container IDs");
  ps->add_flag("--no-trunc", invocation.no_trunc, "Don't truncate output");
  ps->add_option("-n,--last", invocation.limit, "Show the n last created containers (all states)");
  ps->add_flag("-l,--latest", latest, "Show the latest created container (all states)");

  LogsFlags logs_flags;
  CLI::App* logs = AddLogsCommand(app, logs_flags, invocation.containers);

  ExecFlags exec_flags;
  CLI::App* exec = AddExecCommand(app, exec_flags);

  HealthFlags health_flags;
  CLI::App* health = AddHealthCommand(app, health_flags);
  PruneFlags prune_flags;
  CLI::App* prune = AddPruneCommand(app, prune_flags);

  CLI::App* version = app.add_subcommand("version", "Show the dockline and engine versions");
  version->fallthrough();

  try {
    // CLI11 consumes a vector from the back.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    invocation.kind = CommandKind::kHelp;
    invocation.help = app.help();
    return Ok(std::move(invocation));
  } catch (const CLI::ParseError& error) {
    return Error<Invocation>(InvalidArgument(error.what()));
  } catch (const CLI::Error& error) {
    return Error<Invocation>(InvalidArgument(error.what()));
  }

  if (!timeout.empty()) {
    auto parsed = ParseGoDuration(timeout);
    if (!parsed.ok() || parsed.value.count() <= 0) {
      return Error<Invocation>(InvalidArgument(
          fmt::format("invalid --timeout {:?}: want a positive duration, e.g. 30s", timeout)));
    }
    invocation.timeout = parsed.value;
  }

  const std::vector<std::pair<CLI::App*, CommandKind>> kinds = {
      {run, CommandKind::kRun},   {create, CommandKind::kCreate},   {start, CommandKind::kStart},
      {stop, CommandKind::kStop}, {restart, CommandKind::kRestart}, {kill, CommandKind::kKill},
      {rm, CommandKind::kRemove}, {inspect, CommandKind::kInspect}, {ps, CommandKind::kList},
      {wait, CommandKind::kWait}, {version, CommandKind::kVersion}, {logs, CommandKind::kLogs},
      {exec, CommandKind::kExec}, {health, CommandKind::kHealth},   {prune, CommandKind::kPrune},
  };
  CLI::App* chosen = nullptr;
  for (const auto& [command, kind] : kinds) {
    if (command->parsed()) {
      chosen = command;
      invocation.kind = kind;
    }
  }
  if (chosen == nullptr) {
    invocation.kind = CommandKind::kHelp;
    invocation.help = app.help();
    return Ok(std::move(invocation));
  }

  switch (invocation.kind) {
    case CommandKind::kRun:
    case CommandKind::kCreate: {
      auto spec = BuildSpec(run_flags, *chosen, env);
      if (!spec.ok()) {
        return Error<Invocation>(spec.status);
      }
      invocation.spec = std::move(spec.value);
      invocation.detach = run_flags.detach;
      break;
    }
    case CommandKind::kStop:
    case CommandKind::kRestart:
      if (!stop_time.empty()) {
        auto parsed = ParseSeconds(stop_time);
        if (!parsed.ok()) {
          return Error<Invocation>(
              InvalidArgument(fmt::format("--time: {}", parsed.status.error_message())));
        }
        invocation.stop_timeout = parsed.value;
      }
      break;
    case CommandKind::kList:
      for (const std::string& filter : filters) {
        auto parsed = ParseFilter(filter);
        if (!parsed.ok()) {
          return Error<Invocation>(parsed.status);
        }
        invocation.filters.push_back(std::move(parsed.value));
      }
      if (latest) {
        invocation.limit = 1;
      }
      if (invocation.limit < 0) {
        return Error<Invocation>(InvalidArgument("--last cannot be negative"));
      }
      // Docker's -n/-l cover stopped containers too.
      invocation.all = invocation.all || invocation.limit > 0;
      break;
    case CommandKind::kWait:
      if (!wait_timeout.empty()) {
        auto parsed = ParseGoDuration(wait_timeout);
        if (!parsed.ok() || parsed.value.count() <= 0) {
          return Error<Invocation>(InvalidArgument(fmt::format(
              "invalid --timeout {:?}: want a positive duration, e.g. 30s", wait_timeout)));
        }
        invocation.wait_timeout = parsed.value;
      }
      if (!condition.empty()) {
        auto parsed = ParseWaitCondition(condition);
        if (!parsed.ok()) {
          return Error<Invocation>(parsed.status);
        }
        invocation.condition = parsed.value;
      }
      break;
    case CommandKind::kExec:
      if (grpc::Status st = FinishExecArgs(exec_flags, *chosen, env, &invocation.exec); !st.ok()) {
        return Error<Invocation>(st);
      }
      break;
    case CommandKind::kHealth:
      if (grpc::Status st = FinishHealthArgs(health_flags, &invocation.health); !st.ok()) {
        return Error<Invocation>(st);
      }
      break;
    case CommandKind::kPrune:
      if (grpc::Status st =
              FinishPruneArgs(prune_flags, std::chrono::system_clock::now(), &invocation.prune);
          !st.ok()) {
        return Error<Invocation>(st);
      }
      break;
    case CommandKind::kLogs:
      if (grpc::Status st = FinishLogsArgs(logs_flags, &invocation.logs); !st.ok()) {
        return Error<Invocation>(st);
      }
      break;
    default:
      break;
  }
  return Ok(std::move(invocation));
}

int Execute(const Invocation& invocation, client::Client& client, std::ostream& out,
            std::ostream& err) {
  switch (invocation.kind) {
    case CommandKind::kHelp:
      out << invocation.help;
      return 0;
    case CommandKind::kRun:
      return ExecuteRun(invocation, client, out, err);
    case CommandKind::kCreate:
      return ExecuteCreate(invocation, client, out, err);
    case CommandKind::kStart:
      return ForEachContainer(invocation, out, err, [&](const std::string& c, std::string& json) {
        auto result = client.Start(c);
        json = ToJson(result.value);
        return result.status;
      });
    case CommandKind::kStop:
      return ForEachContainer(invocation, out, err, [&](const std::string& c, std::string& json) {
        auto result = client.Stop(c, invocation.stop_timeout);
        json = ToJson(result.value);
        return result.status;
      });
    case CommandKind::kRestart:
      return ForEachContainer(invocation, out, err, [&](const std::string& c, std::string&) {
        return client.Restart(c, invocation.stop_timeout);
      });
    case CommandKind::kKill:
      return ForEachContainer(invocation, out, err, [&](const std::string& c, std::string&) {
        return client.Kill(c, invocation.signal);
      });
    case CommandKind::kRemove:
      return ForEachContainer(invocation, out, err, [&](const std::string& c, std::string&) {
        return client.Remove(c, invocation.force, invocation.remove_volumes);
      });
    case CommandKind::kInspect:
      return ExecuteInspect(invocation, client, out, err);
    case CommandKind::kList:
      return ExecuteList(invocation, client, out, err);
    case CommandKind::kWait:
      return ExecuteWait(invocation, client, out, err);
    case CommandKind::kVersion:
      return ExecuteVersion(invocation, client, out, err);
    case CommandKind::kExec:
      return ExecuteExec(invocation, client, out, err);
    case CommandKind::kLogs:
      return ExecuteLogs(invocation, client, out, err);
    case CommandKind::kHealth:
      return ExecuteHealth(invocation, client, out, err);
    case CommandKind::kPrune:
      return ExecutePrune(invocation, client, out, err);
  }
  return kExitCommandFailed;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  Result<Invocation> invocation = ParseArgs(args, ProcessEnv);
  if (!invocation.ok()) {
    fmt::print(std::cerr, "dockline: {}\nSee 'dockline --help'.\n",
               invocation.status.error_message());
    return kExitDocklineError;
  }
  if (invocation.value.kind == CommandKind::kHelp) {
    std::cout << invocation.value.help;
    return 0;
  }
  client::ClientOptions options;
  options.default_timeout = invocation.value.timeout;
  client::Client client = client::Client::Connect(invocation.value.address, options);
  return Execute(invocation.value, client, std::cout, std::cerr);
}

}  // namespace dockline::cli
