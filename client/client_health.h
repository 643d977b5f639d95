#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dockline/v1/dockline.pb.h"

// Option types of Client's health, events, prune and stats calls (client_health.cc).
namespace dockline::client {

// Each message of WatchHealth: the current state first, then one per transition. Return false
// to stop watching.
using HealthWatchCallback = std::function<bool(const v1::WatchHealthResponse&)>;

// Each sample of StreamStats. Return false to stop.
using StatsCallback = std::function<bool(const v1::ContainerStats&)>;

// client.events(since, until, filters). Unset since: from now; unset until: follow until the
// callback returns false or the call fails.
struct EventsOptions {
  std::vector<std::pair<std::string, std::string>> filters;  // {{"type", "container"}, ...}
  std::optional<std::chrono::system_clock::time_point> since;
  std::optional<std::chrono::system_clock::time_point> until;
};

// Each event of WatchEvents. Return false to stop.
using EventCallback = std::function<bool(const v1::Event&)>;

// The prune calls' options, docker-py's `filters=` typed.
struct PruneOptions {
  v1::PruneFilters filters;  // until (time or age), label, label!
  bool dry_run = false;      // list what would go, delete nothing
  // Volumes: named volumes too (otherwise anonymous only, whatever the daemon's API version).
  // Images: every unused image, not only dangling ones (docker image prune -a).
  bool all = false;
  // Plan-then-apply: remove exactly a dry run's plan (its plan.token) or, when that is empty,
  // these ids, each only if it is still prunable. Not with filters, dry_run or all.
  std::string apply_plan;
  std::vector<std::string> apply_ids;
};

}  // namespace dockline::client
