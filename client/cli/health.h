#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>

#include "client/client.h"
#include "client/result.h"
#include "dockline/v1/dockline.pb.h"

namespace CLI {
class App;
}

namespace dockline::cli {

struct Invocation;

// `dockline health` after parsing.
struct HealthInvocation {
  std::string container;
  bool wait = false;   // --wait: block until healthy (exit 1 if it cannot become so)
  bool watch = false;  // --watch: print each transition until the container stops
  std::optional<std::chrono::nanoseconds> timeout;  // --wait only
};

// The raw flag values of `dockline health`, turned into a HealthInvocation by FinishHealthArgs.
struct HealthFlags {
  bool wait = false;
  bool watch = false;
  std::string timeout;
  std::string container;
};

// Adds `health [--wait [--timeout D]] [--watch] CONTAINER`.
CLI::App* AddHealthCommand(CLI::App& app, HealthFlags& flags);
grpc::Status FinishHealthArgs(const HealthFlags& flags, HealthInvocation* health);

// Prints the health (or waits / watches). Exit status 0, or kExitCommandFailed when the call
// failed or --wait did not end healthy. A progress line is drawn on `out` only when it is the
// process's stdout and a terminal.
int ExecuteHealth(const Invocation& invocation, client::Client& client, std::ostream& out,
                  std::ostream& err);

// ---------------------------------------------------------------------------------------------
// Formatting, exposed for tests.

// The report of `dockline health CONTAINER`.
std::string FormatHealth(const v1::GetHealthResponse& health);

// One line per WatchHealth message.
std::string FormatHealthChange(const v1::WatchHealthResponse& change);

}  // namespace dockline::cli
