#include "client/cli/stats.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "client/cli/cli.h"
#include "client/cli/format.h"

namespace dockline::cli {
namespace {

constexpr size_t kShortId = 12;

// docker clears the screen before each table when it draws on a terminal.
bool DrawsOnTerminal(const std::ostream& out) { return &out == &std::cout && isatty(1) == 1; }

}  // namespace

CLI::App* AddStatsCommand(CLI::App& app, StatsInvocation& stats) {
  CLI::App* command = app.add_subcommand(
      "stats", "Display a container's resource use: stats [--no-stream] CONTAINER...");
  command->fallthrough();
  command->add_option("CONTAINER", stats.containers, "Containers (one, unless --no-stream)")
      ->required();
  command->add_flag("--no-stream", stats.no_stream, "One sample, then exit");
  command->add_flag("--no-trunc", stats.no_trunc, "Don't truncate container ids");
  return command;
}

grpc::Status FinishStatsArgs(const StatsInvocation& stats) {
  if (!stats.no_stream && stats.containers.size() > 1) {
    return client::InvalidArgument(
        "stats streams one container; for several, add --no-stream (one sample each)");
  }
  return grpc::Status::OK;
}

std::string FormatStatsTable(const std::vector<v1::ContainerStats>& samples, bool no_trunc) {
  std::vector<std::vector<std::string>> rows = {{"CONTAINER ID", "NAME", "CPU %",
                                                 "MEM USAGE / LIMIT", "MEM %", "NET I/O",
                                                 "BLOCK I/O", "PIDS"}};
  for (const v1::ContainerStats& s : samples) {
    rows.push_back({no_trunc ? s.id() : s.id().substr(0, kShortId), s.name(),
                    fmt::format("{:.2f}%", s.cpu_percent()),
                    BytesSize(s.memory_usage()) + " / " + BytesSize(s.memory_limit()),
                    fmt::format("{:.2f}%", s.memory_percent()),
                    HumanSize(s.network_rx_bytes()) + " / " + HumanSize(s.network_tx_bytes()),
                    HumanSize(s.block_read_bytes()) + " / " + HumanSize(s.block_write_bytes()),
                    std::to_string(s.pids())});
  }
  return FormatTable(rows);
}

int ExecuteStats(const Invocation& invocation, client::Client& client, std::ostream& out,
                 std::ostream& err) {
  const StatsInvocation& stats = invocation.stats;
  if (stats.no_stream) {
    std::vector<v1::ContainerStats> samples;
    for (const std::string& container : stats.containers) {
      auto sample = client.GetStats(container);
      if (!sample.ok()) {
        PrintError(err, sample.status, invocation.address);
        return kExitCommandFailed;
      }
      if (invocation.json) {
        out << ToJson(sample.value) << '\n';
      }
      samples.push_back(std::move(sample.value));
    }
    if (!invocation.json) {
      out << FormatStatsTable(samples, stats.no_trunc);
    }
    return 0;
  }
  const bool redraw = !invocation.json && DrawsOnTerminal(out);
  grpc::Status st =
      client.StreamStats(stats.containers.front(), [&](const v1::ContainerStats& sample) {
        if (invocation.json) {
          out << ToJson(sample) << '\n';
        } else {
          out << (redraw ? "\033[2J\033[H" : "") << FormatStatsTable({sample}, stats.no_trunc);
        }
        out.flush();
        return static_cast<bool>(out);
      });
  if (!st.ok()) {
    PrintError(err, st, invocation.address);
    return kExitCommandFailed;
  }
  return 0;
}

}  // namespace dockline::cli
