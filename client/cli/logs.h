#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <string_view>

#include "client/cli/values.h"  // ParseTimeArg, for --since and --until
#include "client/client.h"
#include "client/result.h"

namespace CLI {
class App;
}

namespace dockline::cli {

struct Invocation;

// The raw flag values of `dockline logs`, turned into LogsOptions by FinishLogsArgs.
struct LogsFlags {
  bool follow = false;
  bool timestamps = false;
  bool stdout_only = false;
  bool stderr_only = false;
  std::string since;
  std::string until;
  std::string tail = "all";
  std::string resume_file;
};

// Adds `logs [-f] [--since] [--until] [--tail N] [-t] [--stdout-only|--stderr-only]
// [--resume-file F] CONTAINER`.
CLI::App* AddLogsCommand(CLI::App& app, LogsFlags& flags, std::vector<std::string>& containers);
// With --resume-file, reads the cursor the file keeps (if any) into options->resume_from.
grpc::Status FinishLogsArgs(const LogsFlags& flags, client::LogsOptions* options);

// Prints the log: stdout to `out`, stderr to `err`, each as it arrives.
int ExecuteLogs(const Invocation& invocation, client::Client& client, std::ostream& out,
                std::ostream& err);

}  // namespace dockline::cli
