#pragma once

// `dockline prune TYPE`: parsing, the four prunes, and docker's report of what they deleted.

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "client/cli/format.h"  // HumanSize
#include "client/client.h"
#include "dockline/v1/dockline.pb.h"

namespace CLI {
class App;
}

namespace dockline::cli {

struct Invocation;

enum class PruneTarget { kContainers, kImages, kVolumes, kNetworks };

// `dockline prune` after parsing.
struct PruneInvocation {
  PruneTarget target = PruneTarget::kContainers;
  client::PruneOptions options;
  bool plan = false;       // --plan: print the dry run's plan as JSON
  std::string apply_file;  // --apply FILE ("-": stdin): the plan to apply
};

// The raw flag values of `dockline prune`, turned into a PruneInvocation by FinishPruneArgs.
struct PruneFlags {
  std::string target;
  std::vector<std::string> filters;
  bool dry_run = false;
  bool all = false;
  bool force = false;  // accepted for docker's habits: dockline never asks
  bool plan = false;
  std::string apply;
};

// Adds `prune containers|images|volumes|networks [--filter K=V]... [--dry-run] [--all] [-f]
// [--plan | --apply FILE]`.
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

// The human summaries of the four prunes.
std::string FormatPrune(const v1::PruneContainersResponse& reply, bool dry_run);
std::string FormatPrune(const v1::PruneImagesResponse& reply, bool dry_run);
std::string FormatPrune(const v1::PruneVolumesResponse& reply, bool dry_run);
std::string FormatPrune(const v1::PruneNetworksResponse& reply, bool dry_run);
// An applied plan's objects that were left, one line each: "<id>  <reason>[: <daemon's words>]".
std::string FormatSkipped(const google::protobuf::RepeatedPtrField<v1::PruneSkipped>& skipped);

// The plan in a --plan file (what `prune --plan` printed): the ids of its items, which the user
// may have cut down to what they reviewed; with no items, its token.
grpc::Status ReadPlanFile(const std::string& text, client::PruneOptions* options);

}  // namespace dockline::cli
