#include "client/cli/logs.h"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <google/protobuf/util/time_util.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "client/cli/cli.h"
#include "client/quote.h"

namespace dockline::cli {

CLI::App* AddLogsCommand(CLI::App& app, LogsFlags& flags, std::vector<std::string>& containers) {
  CLI::App* logs = app.add_subcommand("logs", "Fetch the logs of a container");
  logs->fallthrough();
  logs->add_option("CONTAINER", containers, "Container name, ID or ID prefix")
      ->required()
      ->expected(1);
  logs->add_flag("-f,--follow", flags.follow, "Follow log output");
  logs->add_flag("-t,--timestamps", flags.timestamps, "Show timestamps");
  logs->add_option("--since", flags.since,
                   "Show logs since a time (2026-11-28T06:00:00Z, Unix seconds) or for a "
                   "duration back (10m)");
  logs->add_option("--until", flags.until, "Show logs before a time or a duration back");
  logs->add_option("-n,--tail", flags.tail, "Number of lines to show from the end, or all");
  auto* out_only = logs->add_flag("--stdout-only", flags.stdout_only, "Only the stdout stream");
  auto* err_only = logs->add_flag("--stderr-only", flags.stderr_only, "Only the stderr stream");
  out_only->excludes(err_only);
  logs->add_option("--resume-file", flags.resume_file,
                   "Keep the position in this file: a later run with the same file goes on "
                   "exactly after what this one printed (--since and --tail apply to the first run "
                   "only)");
  return logs;
}

grpc::Status FinishLogsArgs(const LogsFlags& flags, client::LogsOptions* options) {
  options->follow = flags.follow;
  options->timestamps = flags.timestamps;
  options->stdout_stream = !flags.stderr_only;
  options->stderr_stream = !flags.stdout_only;
  if (grpc::Status st = ParseSinceUntil(flags.since, flags.until, std::chrono::system_clock::now(),
                                        &options->since, &options->until);
      !st.ok()) {
    return st;
  }
  if (flags.tail != "all" && !flags.tail.empty()) {
    int64_t n = -1;
    auto [end, ec] = std::from_chars(flags.tail.data(), flags.tail.data() + flags.tail.size(), n);
    if (ec != std::errc() || end != flags.tail.data() + flags.tail.size() || n < 0) {
      return client::InvalidArgument(fmt::format(
          "--tail: want a number of lines or \"all\", got {}", client::Quote(flags.tail)));
    }
    options->tail = n;
  }
  if (!flags.resume_file.empty()) {
    std::ifstream in(flags.resume_file);
    std::string cursor;
    if (in) {
      std::getline(in, cursor);
    } else if (std::filesystem::exists(flags.resume_file)) {
      return client::InvalidArgument(
          fmt::format("--resume-file: cannot read {}", client::Quote(flags.resume_file)));
    }
    if (!cursor.empty()) {
      // Where the last run stopped, not where the first one began.
      options->resume_from = cursor;
      options->since.reset();
      options->tail.reset();
    }
  }
  return grpc::Status::OK;
}

namespace {

// Replaces `path` with `cursor` in one step, so that a run stopped at any moment leaves a
// cursor it printed up to.
bool SaveCursor(const std::string& path, const std::string& cursor) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << cursor << '\n';
    if (!f.flush()) {
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

}  // namespace

int ExecuteLogs(const Invocation& invocation, client::Client& client, std::ostream& out,
                std::ostream& err) {
  auto stream = client.StreamLogs(invocation.containers.at(0), invocation.logs);
  v1::OutputChunk chunk;
  while (stream->Next(&chunk)) {
    std::ostream& to = chunk.stream() == v1::STREAM_STDERR ? err : out;
    if (invocation.logs.timestamps && chunk.has_timestamp()) {
      // One entry per chunk when timestamps are on: docker's "<RFC3339Nano> line" form.
      to << google::protobuf::util::TimeUtil::ToString(chunk.timestamp()) << ' ';
    }
    to << chunk.data();
    to.flush();
    // Only once the chunk is out: the file never points past what was printed.
    if (!invocation.logs_resume_file.empty() && !chunk.cursor().empty() &&
        !SaveCursor(invocation.logs_resume_file, chunk.cursor())) {
      stream->Cancel();
      stream->Finish();
      fmt::print(err, "dockline: --resume-file: cannot write {}\n",
                 client::Quote(invocation.logs_resume_file));
      return kExitCommandFailed;
    }
  }
  grpc::Status status = stream->Finish();
  if (!status.ok()) {
    PrintError(err, status, invocation.address);
    return kExitCommandFailed;
  }
  return 0;
}

}  // namespace dockline::cli
