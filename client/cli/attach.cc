#include "client/cli/attach.h"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <signal.h>
#include <string.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "client/cli/cli.h"
#include "client/cli/format.h"
#include "client/cli/terminal.h"

namespace dockline::cli {
namespace {

// Relays an attachment opened on `container` and turns its outcome into the shell's exit
// status (`failed` for dockline's own failures).
int Relay(const Invocation& invocation, client::Client& client, const std::string& container,
          client::ContainerAttachment& attachment, bool forward_stdin, bool sig_proxy,
          std::ostream& out, std::ostream& err, int failed) {
  RelayOptions relay;
  relay.forward_stdin = forward_stdin;
  relay.tty = attachment.tty();
  if (sig_proxy && !attachment.tty()) {
    // As docker: without a TTY the signals go to the container's process, which decides how
    // its run ends.
    relay.proxy_signal = [&client, container](int signal_number) {
      return client.Kill(container, std::to_string(signal_number)).ok();
    };
  }
  RelayOutcome outcome = RelayAttachment(attachment, relay, out, err);
  if (outcome.interrupted != 0) {
    return 128 + outcome.interrupted;
  }
  if (!outcome.status.ok()) {
    PrintError(err, outcome.status, invocation.address);
    return failed;
  }
  if (attachment.detached()) {
    return 0;
  }
  return attachment.exit_code().value_or(0) & 0xff;
}

}  // namespace

CLI::App* AddAttachCommand(CLI::App& app, AttachInvocation& attach,
                           std::vector<std::string>& containers) {
  CLI::App* command = app.add_subcommand(
      "attach", "Attach local standard input, output, and error streams to a running container");
  command->add_flag("--no-stdin", attach.no_stdin, "Do not attach STDIN");
  command->add_option("--sig-proxy", attach.sig_proxy,
                      "Proxy all received signals to the process (default true)");
  command->add_option("--detach-keys", attach.detach_keys,
                      "Override the key sequence for detaching a container");
  command->add_option("container", containers, "CONTAINER")->required()->expected(1);
  return command;
}

int ExecuteAttach(const Invocation& invocation, client::Client& client, std::ostream& out,
                  std::ostream& err) {
  const std::string& container = invocation.containers.front();
  const AttachInvocation& flags = invocation.attach;
  // docker attaches stdin only to a container that keeps it open.
  bool stdin_open = false;
  if (!flags.no_stdin) {
    auto inspected = client.Inspect(container);
    if (!inspected.ok()) {
      PrintError(err, inspected.status, invocation.address);
      return kExitCommandFailed;
    }
    auto doc = nlohmann::json::parse(inspected.value.raw_json(), nullptr, false);
    const auto config = doc.is_object() ? doc.find("Config") : doc.end();
    if (doc.is_object() && config != doc.end() && config->is_object()) {
      auto open = config->find("OpenStdin");
      stdin_open = open != config->end() && open->is_boolean() && open->get<bool>();
    }
  }
  client::AttachOptions options;
  options.stdin = stdin_open;
  options.detach_keys = flags.detach_keys;
  auto attached = client.Attach(container, options);
  if (!attached.ok()) {
    PrintError(err, attached.status, invocation.address);
    return kExitCommandFailed;
  }
  return Relay(invocation, client, container, *attached.value, stdin_open, flags.sig_proxy, out,
               err, kExitCommandFailed);
}

int ExecuteRunAttached(const Invocation& invocation, client::Client& client, std::ostream& out,
                       std::ostream& err) {
  v1::ContainerSpec spec = invocation.spec;
  // docker run -i: the container's stdin closes when ours does, so `cat` sees EOF.
  spec.set_stdin_once(true);
  auto created = client.Create(spec, invocation.pull);
  if (!created.ok()) {
    PrintError(err, created.status, invocation.address);
    return kExitDocklineError;
  }
  for (const std::string& warning : created.value.warnings()) {
    fmt::print(err, "WARNING: {}\n", warning);
  }
  const std::string id = created.value.id();
  client::AttachOptions options;
  options.stdin = true;
  options.start = true;
  auto attached = client.Attach(id, options);
  if (!attached.ok()) {
    PrintError(err, attached.status, invocation.address);
    if (spec.auto_remove()) {
      // Never started, so the daemon's auto-remove will not come: --rm is ours to honour.
      client.Remove(id, true, true);
    }
    return kExitDocklineError;
  }
  return Relay(invocation, client, id, *attached.value, true, true, out, err, kExitDocklineError);
}

}  // namespace dockline::cli
