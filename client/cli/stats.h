#pragma once

// `dockline stats`: docker stats' table of CPU, memory, network and block I/O and pids.

#include <ostream>
#include <string>
#include <vector>

#include "client/client.h"
#include "dockline/v1/dockline.pb.h"

namespace CLI {
class App;
}

namespace dockline::cli {

struct Invocation;

// `dockline stats` after parsing.
struct StatsInvocation {
  std::vector<std::string> containers;
  bool no_stream = false;  // one sample each, then exit
  bool no_trunc = false;   // full container ids
};

// Adds `stats [--no-stream] [--no-trunc] CONTAINER...` (streaming takes one container).
CLI::App* AddStatsCommand(CLI::App& app, StatsInvocation& stats);
grpc::Status FinishStatsArgs(const StatsInvocation& stats);

// --no-stream: one table of every container's sample. Otherwise the table again for each new
// sample (on a terminal, redrawn in place) until the container is removed or the user stops it.
// --json: a line of JSON per sample.
int ExecuteStats(const Invocation& invocation, client::Client& client, std::ostream& out,
                 std::ostream& err);

// docker stats' table (CONTAINER ID, NAME, CPU %, MEM USAGE / LIMIT, MEM %, NET I/O, BLOCK I/O,
// PIDS), exposed for tests.
std::string FormatStatsTable(const std::vector<v1::ContainerStats>& samples, bool no_trunc);

}  // namespace dockline::cli
