#include "client/cli/exec.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <utility>

#include "client/cli/cli.h"
#include "client/cli/format.h"
#include "client/cli/terminal.h"
#include "client/quote.h"
#include "client/shlex.h"

namespace dockline::cli {
namespace {

using client::InvalidArgument;

int ExitStatus(int exit_code) { return exit_code & 0xff; }

int ExecuteAttached(const Invocation& invocation, client::Client& client, std::ostream& out,
                    std::ostream& err) {
  const ExecInvocation& exec = invocation.exec;
  client::ExecOptions options = exec.options;
  options.stdin = exec.interactive;
  auto attached = client.ExecAttach(exec.container, exec.cmd, options);
  if (!attached.ok()) {
    PrintError(err, attached.status, invocation.address);
    return kExitCommandFailed;
  }
  RelayOptions relay;
  relay.forward_stdin = exec.interactive;
  relay.tty = options.tty;
  RelayOutcome outcome = RelayAttachment(*attached.value, relay, out, err);
  if (outcome.interrupted != 0) {
    return 128 + outcome.interrupted;
  }
  if (!outcome.status.ok()) {
    PrintError(err, outcome.status, invocation.address);
    return kExitCommandFailed;
  }
  return ExitStatus(attached.value->exit_code().value_or(0));
}

}  // namespace

CLI::App* AddExecCommand(CLI::App& app, ExecFlags& flags) {
  CLI::App* exec = app.add_subcommand(
      "exec",
      "Run a command in a running container: exec [OPTIONS] CONTAINER COMMAND [ARG...]. A "
      "single COMMAND word with spaces is split like a shell line (\"sh -c 'echo hi'\")");
  exec->prefix_command();
  exec->add_flag("-i,--interactive", flags.interactive, "Keep STDIN open and forward it");
  exec->add_flag("-t,--tty", flags.tty, "Allocate a pseudo-TTY");
  exec->add_flag("-d,--detach", flags.detach, "Detached mode: run the command in the background");
  exec->add_flag("--privileged", flags.privileged, "Give extended privileges to the command");
  exec->add_option("-e,--env", flags.env, "Set an environment variable: K=V, or K (repeatable)")
      ->allow_extra_args(false);
  exec->add_option("-w,--workdir", flags.workdir, "Working directory inside the container");
  exec->add_option("-u,--user", flags.user, "Username or UID (format: <name|uid>[:<group|gid>])");
  exec->add_flag("--retain", flags.retain,
                 "Keep the output on the server: reattach when the connection drops, and with "
                 "-d read it later with --resume");
  exec->add_option("--resume", flags.resume,
                   "Print the retained output of exec EXEC_ID (started with --retain) and exit "
                   "with its exit code; no CONTAINER or COMMAND");
  exec->add_option("--offset", flags.offset,
                   "With --resume: skip the first N bytes of the output (what was already read)");
  return exec;
}

grpc::Status FinishExecArgs(const ExecFlags& flags, const CLI::App& command, const EnvLookup& env,
                            ExecInvocation* exec) {
  const std::vector<std::string> rest = command.remaining();
  if (!rest.empty() && rest.front().starts_with('-')) {
    // CLI11 leaves unknown flags in front of the container.
    return InvalidArgument(fmt::format("unknown flag: {}", rest.front()));
  }
  if (!flags.resume.empty()) {
    if (!rest.empty() || flags.detach || flags.interactive || flags.tty || flags.retain) {
      return InvalidArgument(
          "--resume EXEC_ID takes no CONTAINER, COMMAND, -d, -i, -t or --retain: the exec "
          "already runs");
    }
    exec->resume = flags.resume;
    exec->resume_offset = flags.offset;
    return grpc::Status::OK;
  }
  if (command.count("--offset") > 0) {
    return InvalidArgument("--offset is only for --resume");
  }
  if (rest.size() < 2) {
    return InvalidArgument(
        "\"dockline exec\" requires at least 2 arguments: CONTAINER COMMAND [ARG...]");
  }
  if (flags.detach && flags.interactive) {
    return InvalidArgument("-d and -i cannot be combined: a detached command gets no stdin");
  }
  if (flags.retain && flags.interactive) {
    return InvalidArgument(
        "--retain and -i cannot be combined: stdin cannot be resent after a dropped connection");
  }
  exec->container = rest.front();
  exec->cmd.assign(rest.begin() + 1, rest.end());
  if (exec->cmd.size() == 1 && exec->cmd.front().find_first_of(" \t\n") != std::string::npos) {
    auto split = client::ShlexSplit(exec->cmd.front());
    if (!split.ok()) {
      return InvalidArgument(fmt::format("command {}: {}", client::Quote(exec->cmd.front()),
                                         split.status.error_message()));
    }
    exec->cmd = std::move(split.value);
  }
  exec->interactive = flags.interactive;
  exec->detach = flags.detach;
  client::ExecOptions& options = exec->options;
  options.retain_output = flags.retain;
  options.tty = flags.tty;
  options.privileged = flags.privileged;
  options.user = flags.user;
  options.workdir = flags.workdir;
  for (const std::string& entry : flags.env) {
    auto parsed = ParseEnv(entry, env);
    if (!parsed.ok()) {
      return parsed.status;
    }
    options.env.push_back(std::move(parsed.value));
  }
  return grpc::Status::OK;
}

int ExecuteExec(const Invocation& invocation, client::Client& client, std::ostream& out,
                std::ostream& err) {
  const ExecInvocation& exec = invocation.exec;
  if (exec.detach) {
    auto started = client.ExecStart(exec.container, exec.cmd, exec.options);
    if (!started.ok()) {
      PrintError(err, started.status, invocation.address);
      return kExitCommandFailed;
    }
    if (invocation.json) {
      v1::StartExecResponse response;
      response.set_exec_id(started.value);
      out << ToJson(response) << '\n';
    } else {
      // docker prints nothing here; the id is what `InspectExec` needs later.
      out << started.value << '\n';
    }
    return 0;
  }
  if (exec.interactive || (exec.options.tty && !exec.options.retain_output)) {
    return ExecuteAttached(invocation, client, out, err);
  }
  client::ExecOptions options = exec.options;
  options.collect_output = false;
  options.on_output = [&out, &err](v1::Stream stream, std::string_view data) {
    std::ostream& sink = stream == v1::STREAM_STDERR ? err : out;
    sink.write(data.data(), static_cast<std::streamsize>(data.size()));
    sink.flush();
  };
  auto result = exec.resume.empty() ? client.ExecStream(exec.container, exec.cmd, options)
                                    : client.ExecResume(exec.resume, exec.resume_offset, options);
  if (result.value.lost_bytes > 0) {
    err << "dockline: " << result.value.lost_bytes
        << " bytes of the output were no longer kept (docklined --exec-retain-size)\n";
  }
  if (!result.ok()) {
    PrintError(err, result.status, invocation.address);
    return kExitCommandFailed;
  }
  return ExitStatus(result.value.exit_code);
}

}  // namespace dockline::cli
