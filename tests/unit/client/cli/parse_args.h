#pragma once

// Command lines parsed as `dockline` would, with the environment the test gives.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/cli/cli.h"
#include "client/cli/values.h"

namespace dockline::testing {

inline cli::EnvLookup FakeEnv(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

inline cli::Result<cli::Invocation> Parse(std::vector<std::string> args,
                                          const cli::EnvLookup& env = FakeEnv({})) {
  return cli::ParseArgs(args, env);
}

}  // namespace dockline::testing
