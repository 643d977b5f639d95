#pragma once

// The daemon's documents the health tests feed in: a container inspect with its State.Health,
// for the verdict codec, the event follower and the health RPCs.

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace dockline::testing {

inline const std::string kId(64, 'a');

inline nlohmann::json Inspect(bool running, nlohmann::json health, std::string status = "") {
  nlohmann::json state = {{"Running", running},
                          {"Status", status.empty() ? (running ? "running" : "exited") : status}};
  if (!health.is_null()) {
    state["Health"] = std::move(health);
  }
  return nlohmann::json{{"Id", kId}, {"State", state}};
}

inline nlohmann::json HealthJson(std::string status, int streak = 0, int exit_code = 0,
                                 std::string output = "") {
  nlohmann::json log = nlohmann::json::array();
  if (!output.empty() || exit_code != 0) {
    log.push_back({{"Start", "2026-11-28T06:13:40.015701729Z"},
                   {"End", "2026-11-28T06:13:40.027Z"},
                   {"ExitCode", exit_code},
                   {"Output", output}});
  }
  return nlohmann::json{{"Status", status}, {"FailingStreak", streak}, {"Log", log}};
}

}  // namespace dockline::testing
