#pragma once

#include <ostream>
#include <string>

#include "client/client.h"

namespace CLI {
class App;
}

namespace dockline::cli {

struct Invocation;

// `dockline attach` after parsing.
struct AttachInvocation {
  bool no_stdin = false;    // --no-stdin
  bool sig_proxy = true;    // --sig-proxy: SIGINT/SIGTERM/SIGHUP go to the container (no TTY)
  std::string detach_keys;  // --detach-keys
};

// Adds `attach [--no-stdin] [--sig-proxy=false] [--detach-keys KEYS] CONTAINER`.
CLI::App* AddAttachCommand(CLI::App& app, AttachInvocation& attach,
                           std::vector<std::string>& containers);

// docker attach: the container's output until it exits, stdin forwarded when the container has
// it open (unless --no-stdin), its TTY in raw mode. Returns the container's exit code (the low 8
// bits), 0 after a detach, or kExitCommandFailed.
int ExecuteAttach(const Invocation& invocation, client::Client& client, std::ostream& out,
                  std::ostream& err);

// docker run -i / -it: create, attach with stdin, start through the attach, relay until the
// exit. Returns the container's exit code (the low 8 bits) or kExitDocklineError.
int ExecuteRunAttached(const Invocation& invocation, client::Client& client, std::ostream& out,
                       std::ostream& err);

}  // namespace dockline::cli
