#pragma once

// `dockline context create|ls|use|rm|inspect|show`: the named endpoints of client/contexts.h.
// These commands read and write the store only; they never connect.

#include <iosfwd>
#include <string>
#include <vector>

#include "client/cli/values.h"
#include "client/contexts.h"

namespace CLI {
class App;
}

namespace dockline::cli {

enum class ContextAction { kNone, kCreate, kList, kUse, kRemove, kInspect, kShow };

// `dockline context ...` after parsing.
struct ContextInvocation {
  ContextAction action = ContextAction::kNone;
  client::ContextSpec spec;        // create
  std::vector<std::string> names;  // use (one), rm, inspect
  bool quiet = false;              // ls -q
  // The subcommands, to tell which one was given.
  CLI::App* create = nullptr;
  CLI::App* list = nullptr;
  CLI::App* use = nullptr;
  CLI::App* remove = nullptr;
  CLI::App* inspect = nullptr;
  CLI::App* show = nullptr;
};

CLI::App* AddContextCommand(CLI::App& app, ContextInvocation& context);
// Which subcommand ran; INVALID_ARGUMENT when none.
grpc::Status FinishContextArgs(ContextInvocation* context);

// Runs it against the user's store (XDG_CONFIG_HOME or HOME from `env`). `json`: --json.
int ExecuteContext(const ContextInvocation& context, bool json, const EnvLookup& env,
                   std::ostream& out, std::ostream& err);

}  // namespace dockline::cli
