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
#include "client/cli/logs.h"
#include "client/cli/values.h"
#include "client/spec_values.h"

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

std::string Plural(size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
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

grpc::Status AddPruneFilter(const std::string& text, std::chrono::system_clock::time_point now,
                            PruneInvocation* prune) {
  auto parsed = ParseFilter(text);
  if (!parsed.ok()) {
    return parsed.status;
  }
  const auto& [key, value] = parsed.value;
  v1::PruneFilters& filters = prune->options.filters;
  if (key == "label") {
    filters.add_labels(value);
  } else if (key == "label!") {
    filters.add_labels_not(value);
  } else if (key == "until") {
    if (prune->target == PruneTarget::kVolumes) {
      return InvalidArgument("volume prune has no until filter (the daemon refuses it)");
    }
    // An age goes to the server as one, so it counts back from the daemon's clock.
    if (auto age = ParseGoDuration(value); age.ok()) {
      if (age.value.count() < 0) {
        return InvalidArgument(fmt::format("invalid until filter {:?}: negative age", value));
      }
      *filters.mutable_older_than() = client::ToProtoDuration(age.value);
    } else {
      auto when = ParseTimeArg(value, now);
      if (!when.ok()) {
        return InvalidArgument(fmt::format(
            "invalid until filter {:?}: want a time (RFC 3339 or Unix seconds) or an age such "
            "as 24h",
            value));
      }
      *filters.mutable_until_time() = TimeUtil::NanosecondsToTimestamp(
          std::chrono::duration_cast<std::chrono::nanoseconds>(when.value.time_since_epoch())
              .count());
    }
  } else if (key == "dangling") {
    if (prune->target != PruneTarget::kImages) {
      return InvalidArgument("the dangling filter is for images only");
    }
    if (value == "true" || value == "1") {
      prune->options.all = false;
    } else if (value == "false" || value == "0") {
      prune->options.all = true;
    } else {
      return InvalidArgument(
          fmt::format("invalid dangling filter {:?}: want true or false", value));
    }
  } else {
    return InvalidArgument(
        fmt::format("invalid filter {:?}: prune takes until, label, label!{}", key,
                    prune->target == PruneTarget::kImages ? " and dangling" : ""));
  }
  return grpc::Status::OK;
}

template <typename Reply>
int PrintPrune(const Invocation& invocation, const client::Result<Reply>& result, std::ostream& out,
               std::ostream& err) {
  if (!result.ok()) {
    PrintError(err, result.status, invocation.address);
    return kExitCommandFailed;
  }
  if (invocation.json) {
    out << ToJson(result.value) << '\n';
  } else {
    out << FormatPrune(result.value, invocation.prune.options.dry_run);
  }
  return 0;
}

std::string SpaceLine(uint64_t bytes, bool dry_run) {
  return fmt::format("Total {} space: {}\n", dry_run ? "reclaimable" : "reclaimed",
                     HumanSize(bytes));
}

// docker's layout: a heading, one line per object, a blank line, then the totals.
std::string ListSection(std::string_view heading, const std::vector<std::string>& lines,
                        bool dry_run) {
  if (lines.empty()) {
    return "";
  }
  std::string text = fmt::format("{} {}:\n", dry_run ? "Would delete" : "Deleted", heading);
  for (const std::string& line : lines) {
    text += line + "\n";
  }
  return text + "\n";
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
    auto parsed = ParseGoDuration(flags.timeout);
    if (!parsed.ok() || parsed.value.count() <= 0) {
      return InvalidArgument(
          fmt::format("invalid --timeout {:?}: want a positive duration, e.g. 30s", flags.timeout));
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

CLI::App* AddPruneCommand(CLI::App& app, PruneFlags& flags) {
  CLI::App* command = app.add_subcommand(
      "prune", "Remove unused containers, images, volumes or networks: prune TYPE [OPTIONS]");
  command->fallthrough();
  command->add_option("TYPE", flags.target, "containers, images, volumes or networks")->required();
  command
      ->add_option("--filter", flags.filters,
                   "until=<time|age>, label=<k>[=<v>], label!=<k>[=<v>], dangling=<bool> "
                   "(images) (repeatable)")
      ->allow_extra_args(false);
  command->add_flag("--dry-run", flags.dry_run, "List what would be removed; remove nothing");
  command->add_flag("-a,--all", flags.all,
                    "Images: every unused image, not just dangling ones. Volumes: named volumes "
                    "too, not just anonymous ones");
  command->add_flag("-f,--force", flags.force, "Accepted for docker's habits; never prompts");
  return command;
}

grpc::Status FinishPruneArgs(const PruneFlags& flags, std::chrono::system_clock::time_point now,
                             PruneInvocation* prune) {
  static const std::pair<std::string_view, PruneTarget> kTargets[] = {
      {"containers", PruneTarget::kContainers}, {"container", PruneTarget::kContainers},
      {"images", PruneTarget::kImages},         {"image", PruneTarget::kImages},
      {"volumes", PruneTarget::kVolumes},       {"volume", PruneTarget::kVolumes},
      {"networks", PruneTarget::kNetworks},     {"network", PruneTarget::kNetworks},
  };
  bool known = false;
  for (const auto& [name, target] : kTargets) {
    if (flags.target == name) {
      prune->target = target;
      known = true;
    }
  }
  if (!known) {
    return InvalidArgument(fmt::format(
        "unknown prune type {:?}: want containers, images, volumes or networks", flags.target));
  }
  if (flags.all && prune->target != PruneTarget::kImages &&
      prune->target != PruneTarget::kVolumes) {
    return InvalidArgument("--all is for images and volumes");
  }
  prune->options.all = flags.all;
  prune->options.dry_run = flags.dry_run;
  for (const std::string& filter : flags.filters) {
    if (grpc::Status status = AddPruneFilter(filter, now, prune); !status.ok()) {
      return status;
    }
  }
  return grpc::Status::OK;
}

int ExecutePrune(const Invocation& invocation, client::Client& client, std::ostream& out,
                 std::ostream& err) {
  const client::PruneOptions& options = invocation.prune.options;
  switch (invocation.prune.target) {
    case PruneTarget::kContainers:
      return PrintPrune(invocation, client.PruneContainers(options), out, err);
    case PruneTarget::kImages:
      return PrintPrune(invocation, client.PruneImages(options), out, err);
    case PruneTarget::kVolumes:
      return PrintPrune(invocation, client.PruneVolumes(options), out, err);
    case PruneTarget::kNetworks:
      return PrintPrune(invocation, client.PruneNetworks(options), out, err);
  }
  return kExitCommandFailed;
}

std::string HumanSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double size = static_cast<double>(bytes);
  size_t unit = 0;
  while (size >= 1000.0 && unit + 1 < std::size(kUnits)) {
    size /= 1000.0;
    ++unit;
  }
  return fmt::format("{:.4g}{}", size, kUnits[unit]);
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
      text += fmt::format(" {:?}", output);
    }
  }
  return text + "\n";
}

std::string FormatPrune(const v1::PruneContainersResponse& reply, bool dry_run) {
  std::vector<std::string> ids(reply.containers_deleted().begin(),
                               reply.containers_deleted().end());
  return ListSection("Containers", ids, dry_run) +
         fmt::format("{} {}\n", Plural(ids.size(), "container", "containers"),
                     dry_run ? "would be deleted" : "deleted") +
         SpaceLine(reply.space_reclaimed(), dry_run);
}

std::string FormatPrune(const v1::PruneImagesResponse& reply, bool dry_run) {
  std::vector<std::string> lines;
  size_t deleted = 0;
  size_t untagged = 0;
  for (const v1::ImageDeleted& image : reply.images_deleted()) {
    if (!image.untagged().empty()) {
      lines.push_back("untagged: " + image.untagged());
      ++untagged;
    }
    if (!image.deleted().empty()) {
      lines.push_back("deleted: " + image.deleted());
      ++deleted;
    }
  }
  return ListSection("Images", lines, dry_run) +
         fmt::format("{}, {} {}\n", Plural(deleted, "image", "images"),
                     Plural(untagged, "tag", "tags"), dry_run ? "would be deleted" : "deleted") +
         SpaceLine(reply.space_reclaimed(), dry_run);
}

std::string FormatPrune(const v1::PruneVolumesResponse& reply, bool dry_run) {
  std::vector<std::string> names(reply.volumes_deleted().begin(), reply.volumes_deleted().end());
  return ListSection("Volumes", names, dry_run) +
         fmt::format("{} {}\n", Plural(names.size(), "volume", "volumes"),
                     dry_run ? "would be deleted" : "deleted") +
         SpaceLine(reply.space_reclaimed(), dry_run);
}

std::string FormatPrune(const v1::PruneNetworksResponse& reply, bool dry_run) {
  std::vector<std::string> names(reply.networks_deleted().begin(), reply.networks_deleted().end());
  // Networks take no disk space: the daemon reports none, and neither does docker.
  return ListSection("Networks", names, dry_run) +
         fmt::format("{} {}\n", Plural(names.size(), "network", "networks"),
                     dry_run ? "would be deleted" : "deleted");
}

}  // namespace dockline::cli
