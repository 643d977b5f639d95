#pragma once

// The exec config the exec tests start from: the codec's plan, the session and the RPCs.

#include <string>
#include <utility>
#include <vector>

#include "dockline/v1/dockline.pb.h"

namespace dockline::testing {

inline v1::ExecConfig Config(std::vector<std::string> cmd, std::string container = "c1") {
  v1::ExecConfig config;
  config.set_container(std::move(container));
  for (auto& arg : cmd) {
    config.add_cmd(arg);
  }
  return config;
}

}  // namespace dockline::testing
