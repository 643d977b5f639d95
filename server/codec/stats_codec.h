#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "dockline/v1/dockline.pb.h"

// A daemon stats sample (GET /containers/{id}/stats) as `docker stats` shows it. Pure: no engine
// calls (server/rpc/stats.cc makes them).

namespace dockline::server {

// Fills `out` from `sample` (the daemon's JSON) and keeps `raw` (its text) in raw_json. The
// formulas are docker's (cli/command/container/stats_helpers.go): CPU percent from the deltas
// to precpu_stats times the CPUs online; memory without the inactive page cache; network and
// block I/O summed over interfaces and devices. Missing or mistyped fields count as zero (a
// stopped container's samples have none), so nothing here fails or throws.
void StatsFromJson(const nlohmann::json& sample, std::string raw, v1::ContainerStats* out);

}  // namespace dockline::server
