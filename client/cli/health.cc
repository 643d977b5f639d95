#include "client/cli/health.h"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <google/protobuf/util/time_util.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "client/cli/cli.h"
#include "client/cli/format.h"
#include "client/cli/values.h"
#include "client/quote.h"

namespace dockline::cli {
namespace {

using client::InvalidArgument;
using google::protobuf::util::TimeUtil;

// Probe output shown per line of `dockline health`; the full text is in --json.
constexpr size_t kProbeOutputWidth = 60;
// How often the --wait progress line is redrawn.
constexpr std::chrono::milliseconds kProgressTick(250);

std::string HealthWord(v1::HealthStatus status) {
  switch (status) {
    case v1::HEALTH_STATUS_NONE:
      return "none";
    case v1::HEALTH_STATUS_STARTING:
      return "starting";
    case v1::HEALTH_STATUS_HEALTHY:
      return "healthy";
    case v1::HEALTH_STATUS_UNHEALTHY:
      return "unhealthy";
    default:
      return "unknown";
  }
}

std::string ContainerWord(v1::ContainerStatus status) {
  switch (status) {
    case v1::CONTAINER_STATUS_CREATED:
      return "created";
    case v1::CONTAINER_STATUS_RUNNING:
      return "running";
    case v1::CONTAINER_STATUS_PAUSED:
      return "paused";
    case v1::CONTAINER_STATUS_RESTARTING:
      return "restarting";
    case v1::CONTAINER_STATUS_REMOVING:
      return "removing";
    case v1::CONTAINER_STATUS_EXITED:
      return "exited";
    case v1::CONTAINER_STATUS_DEAD:
      return "dead";
    default:
      return "";
  }
}

// RFC 3339 in UTC to the millisecond: "2026-11-28T06:13:40.015Z".
std::string ShortTime(const google::protobuf::Timestamp& t) {
  std::string text = TimeUtil::ToString(t);
  size_t dot = text.find('.');
  if (dot != std::string::npos && text.size() > dot + 4) {
    text = text.substr(0, dot + 4) + "Z";
  }
  return text;
}

// The first line of a probe's output, shortened for a table cell.
std::string OutputCell(const std::string& output) {
  std::string line = output.substr(0, output.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
    line.pop_back();
  }
  if (line.size() > kProbeOutputWidth) {
    line = line.substr(0, kProbeOutputWidth - 3) + "...";
  }
  return line;
}

std::string ProbeLine(const v1::HealthProbe& probe) {
  std::string took = "-";
  if (probe.has_start() && probe.has_end()) {
    int64_t ms = TimeUtil::DurationToMilliseconds(probe.end() - probe.start());
    took = fmt::format("{}ms", ms);
  }
  return fmt::format("  {:<26} exit {:<4} {:>8}  {}\n",
                     probe.has_start() ? ShortTime(probe.start()) : "-", probe.exit_code(), took,
                     OutputCell(probe.output()));
}

int WaitHealthy(const Invocation& invocation, client::Client& client, std::ostream& out,
                std::ostream& err) {
  const HealthInvocation& health = invocation.health;
  const bool progress = &out == &std::cout && isatty(STDOUT_FILENO) == 1 && !invocation.json;
  client::Result<v1::WaitHealthyResponse> result;
  if (!progress) {
    result = client.WaitHealthy(health.container, health.timeout);
  } else {
    // The wait is one blocking RPC; the indicator is drawn beside it until it returns.
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::thread waiter([&] {
      auto r = client.WaitHealthy(health.container, health.timeout);
      std::lock_guard<std::mutex> lock(mu);
      result = std::move(r);
      done = true;
      cv.notify_one();
    });
    static constexpr char kSpinner[] = {'|', '/', '-', '\\'};
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mu);
    for (size_t tick = 0; !cv.wait_for(lock, kProgressTick, [&] { return done; }); ++tick) {
      auto secs =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start)
              .count();
      fmt::print(out, "\r{} waiting for {} to become healthy ({}s)", kSpinner[tick % 4],
                 health.container, secs);
      out.flush();
    }
    lock.unlock();
    waiter.join();
    out << "\r\033[K";
    out.flush();
  }
  if (!result.ok()) {
    PrintError(err, result.status, invocation.address);
    return kExitCommandFailed;
  }
  if (invocation.json) {
    out << ToJson(result.value) << '\n';
  } else {
    out << HealthWord(result.value.health().status()) << '\n';
  }
  return 0;
}

int WatchHealth(const Invocation& invocation, client::Client& client, std::ostream& out,
                std::ostream& err) {
  grpc::Status status =
      client.WatchHealth(invocation.health.container, [&](const v1::WatchHealthResponse& change) {
        out << (invocation.json ? ToJson(change) + "\n" : FormatHealthChange(change));
        out.flush();
        return true;
      });
  if (!status.ok()) {
    PrintError(err, status, invocation.address);
    return kExitCommandFailed;
  }
  return 0;
}

}  // namespace

CLI::App* AddHealthCommand(CLI::App& app, HealthFlags& flags) {
  CLI::App* command = app.add_subcommand(
      "health", "Show a container's health; --wait until it is healthy, --watch its changes");
  command->fallthrough();
  command->add_option("CONTAINER", flags.container, "Container name, ID or ID prefix")->required();
  command->add_flag("--wait", flags.wait,
                    "Block until the container is healthy (exit 1 if it turns unhealthy, has no "
                    "healthcheck or stops)");
  command->add_option("--timeout", flags.timeout, "With --wait: give up after this long, e.g. 30s");
  command->add_flag("--watch", flags.watch,
                    "Print the health, then each change, until the container stops");
  return command;
}

grpc::Status FinishHealthArgs(const HealthFlags& flags, HealthInvocation* health) {
  health->container = flags.container;
  health->wait = flags.wait;
  health->watch = flags.watch;
  if (flags.wait && flags.watch) {
    return InvalidArgument("--wait and --watch cannot be combined");
  }
  if (!flags.timeout.empty()) {
    if (!flags.wait) {
      return InvalidArgument("--timeout goes with --wait");
    }
    auto parsed = ParseDuration(flags.timeout);
    if (!parsed.ok() || parsed.value.count() <= 0) {
      return InvalidArgument(fmt::format("invalid --timeout {}: want a positive duration, e.g. 30s",
                                         client::Quote(flags.timeout)));
    }
    health->timeout = parsed.value;
  }
  return grpc::Status::OK;
}

int ExecuteHealth(const Invocation& invocation, client::Client& client, std::ostream& out,
                  std::ostream& err) {
  if (invocation.health.wait) {
    return WaitHealthy(invocation, client, out, err);
  }
  if (invocation.health.watch) {
    return WatchHealth(invocation, client, out, err);
  }
  auto result = client.GetHealth(invocation.health.container);
  if (!result.ok()) {
    PrintError(err, result.status, invocation.address);
    return kExitCommandFailed;
  }
  out << (invocation.json ? ToJson(result.value) + "\n" : FormatHealth(result.value));
  return 0;
}

std::string FormatHealth(const v1::GetHealthResponse& reply) {
  const v1::Health& health = reply.health();
  std::string status = HealthWord(health.status());
  const v1::ContainerStatus container = reply.container_status();
  const bool stopped = container != v1::CONTAINER_STATUS_UNSPECIFIED &&
                       container != v1::CONTAINER_STATUS_RUNNING &&
                       container != v1::CONTAINER_STATUS_PAUSED;
  if (stopped && health.status() != v1::HEALTH_STATUS_NONE) {
    // The daemon keeps the last status (and reads a stop as unhealthy): say so.
    status +=
        fmt::format(" (container {}: last status before it stopped)", ContainerWord(container));
  }
  std::string text = fmt::format("Status:          {}\n", status);
  if (health.status() == v1::HEALTH_STATUS_NONE) {
    return text;
  }
  text += fmt::format("Failing streak:  {}\n", health.failing_streak());
  if (health.log_size() == 0) {
    return text + "Last probes:     none yet\n";
  }
  text += "Last probes:\n";
  for (const v1::HealthProbe& probe : health.log()) {
    text += ProbeLine(probe);
  }
  return text;
}

std::string FormatHealthChange(const v1::WatchHealthResponse& change) {
  const v1::Health& health = change.health();
  std::string text = fmt::format("{}  {}", change.has_time() ? ShortTime(change.time()) : "-",
                                 HealthWord(health.status()));
  if (health.failing_streak() > 0) {
    text += fmt::format("  failing streak {}", health.failing_streak());
  }
  if (health.log_size() > 0) {
    const v1::HealthProbe& last = health.log(health.log_size() - 1);
    text += fmt::format("  last probe: exit {}", last.exit_code());
    if (std::string output = OutputCell(last.output()); !output.empty()) {
      text += fmt::format(" {}", client::Quote(output));
    }
  }
  return text + "\n";
}

}  // namespace dockline::cli
