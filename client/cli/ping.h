#pragma once

// `dockline ping`: grpc.health.v1.Health/Check against docklined, for healthchecks (the sidecar
// image's HEALTHCHECK) and scripts that wait for a server.

#include <chrono>
#include <ostream>
#include <string>

namespace CLI {
class App;
}

namespace dockline::cli {

struct Invocation;

// A probe must end on its own: without --timeout a server that accepts connections but never
// answers would hang the healthcheck until Docker kills it, and report nothing.
inline constexpr std::chrono::seconds kDefaultPingTimeout{5};

// `dockline ping` after parsing. Its deadline is the global --timeout (which may follow `ping`),
// else kDefaultPingTimeout.
struct PingInvocation {
  std::string service;  // --service; "" asks about the server as a whole
};

// Adds `ping [--service NAME]`, writing straight into `ping`.
CLI::App* AddPingCommand(CLI::App& app, PingInvocation& ping);

// Calls Health/Check over the channel the invocation's flags describe (address, TLS, token) and
// prints the status: SERVING (exit 0), or NOT_SERVING, another status or the call's error (exit
// kExitCommandFailed).
int ExecutePing(const Invocation& invocation, std::ostream& out, std::ostream& err);

}  // namespace dockline::cli
