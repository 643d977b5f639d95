#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

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

enum class PruneTarget { kContainers, kImages, kVolumes, kNetworks };

// `dockline prune` after parsing.
struct PruneInvocation {
  PruneTarget target = PruneTarget::kContainers;
  client::PruneOptions options;
};

// The raw flag values of `dockline prune`, turned into a PruneInvocation by FinishPruneArgs.
struct PruneFlags {
  std::string target;
  std::vector<std::string> filters;
  bool dry_run = false;
  bool all = false;
  bool force = false;  // accepted for docker's habits: dockline never asks
};

// Adds `prune containers|images|volumes|networks [--filter K=V]... [--dry-run] [--all] [-f]`.
CLI::App* AddPruneCommand(CLI::App& app, PruneFlags& flags);
// Filters are docker's: until=<time or age> (RFC 3339, Unix seconds, or a Go duration such as
// 24h), label=<key>[=<value>], label!=<key>[=<value>], and for images dangling=true|false. --all
// is for images (every unused image) and volumes (named volumes too).
grpc::Status FinishPruneArgs(const PruneFlags& flags, std::chrono::system_clock::time_point now,
                             PruneInvocation* prune);

// Prints what was deleted and the space reclaimed (docker's layout), or the reply as JSON.
int ExecutePrune(const Invocation& invocation, client::Client& client, std::ostream& out,
                 std::ostream& err);

// ---------------------------------------------------------------------------------------------
// Formatting, exposed for tests.

// docker's units.HumanSize: decimal units, 4 significant digits ("1.235MB", "0B", "999B").
std::string HumanSize(uint64_t bytes);

// The report of `dockline health CONTAINER`.
std::string FormatHealth(const v1::GetHealthResponse& health);

// One line per WatchHealth message.
std::string FormatHealthChange(const v1::WatchHealthResponse& change);

// The human summaries of the four prunes.
std::string FormatPrune(const v1::PruneContainersResponse& reply, bool dry_run);
std::string FormatPrune(const v1::PruneImagesResponse& reply, bool dry_run);
std::string FormatPrune(const v1::PruneVolumesResponse& reply, bool dry_run);
std::string FormatPrune(const v1::PruneNetworksResponse& reply, bool dry_run);

}  // namespace dockline::cli
