#include "client/cli/prune.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string_view>
#include <utility>

#include "client/cli/cli.h"
#include "client/cli/format.h"
#include "client/cli/values.h"
#include "client/quote.h"
#include "client/spec_values.h"

namespace dockline::cli {
namespace {

using client::InvalidArgument;
using google::protobuf::util::TimeUtil;

std::string Plural(size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
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
        return InvalidArgument(
            fmt::format("invalid until filter {}: negative age", client::Quote(value)));
      }
      *filters.mutable_older_than() = client::ToProtoDuration(age.value);
    } else {
      auto when = ParseTimeArg(value, now);
      if (!when.ok()) {
        return InvalidArgument(fmt::format(
            "invalid until filter {}: want a time (RFC 3339 or Unix seconds) or an age such "
            "as 24h",
            client::Quote(value)));
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
          fmt::format("invalid dangling filter {}: want true or false", client::Quote(value)));
    }
  } else {
    return InvalidArgument(
        fmt::format("invalid filter {}: prune takes until, label, label!{}", client::Quote(key),
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
  if (invocation.prune.plan) {
    out << ToJson(result.value.plan()) << '\n';
  } else if (invocation.json) {
    out << ToJson(result.value) << '\n';
  } else {
    out << FormatPrune(result.value, invocation.prune.options.dry_run)
        << FormatSkipped(result.value.skipped());
  }
  return 0;
}

std::string_view SkipReasonText(v1::PruneSkipReason reason) {
  switch (reason) {
    case v1::PRUNE_SKIP_REASON_GONE:
      return "gone";
    case v1::PRUNE_SKIP_REASON_RUNNING:
      return "running";
    case v1::PRUNE_SKIP_REASON_IN_USE:
      return "in use";
    case v1::PRUNE_SKIP_REASON_NOT_PRUNABLE:
      return "never pruned";
    default:
      return "skipped";
  }
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
  command->add_flag("--plan", flags.plan,
                    "Remove nothing; print the plan (JSON, with a token) for --apply");
  command->add_option("--apply", flags.apply,
                      "Remove exactly the objects of a --plan file (- for stdin) that are still "
                      "prunable; report the others");
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
    return InvalidArgument(
        fmt::format("unknown prune type {}: want containers, images, volumes or networks",
                    client::Quote(flags.target)));
  }
  if (flags.all && prune->target != PruneTarget::kImages &&
      prune->target != PruneTarget::kVolumes) {
    return InvalidArgument("--all is for images and volumes");
  }
  if (!flags.apply.empty() &&
      (flags.plan || flags.dry_run || flags.all || !flags.filters.empty())) {
    return InvalidArgument(
        "--apply takes no --plan, --dry-run, --all or --filter: the plan chose its objects");
  }
  prune->plan = flags.plan;
  prune->apply_file = flags.apply;
  prune->options.all = flags.all;
  prune->options.dry_run = flags.dry_run || flags.plan;
  for (const std::string& filter : flags.filters) {
    if (grpc::Status status = AddPruneFilter(filter, now, prune); !status.ok()) {
      return status;
    }
  }
  return grpc::Status::OK;
}

grpc::Status ReadPlanFile(const std::string& text, client::PruneOptions* options) {
  v1::PrunePlan plan;
  if (auto st = google::protobuf::util::JsonStringToMessage(text, &plan); !st.ok()) {
    return InvalidArgument(
        fmt::format("not a plan from prune --plan: {}", std::string(st.message())));
  }
  // The items are what was reviewed: an item deleted from the file is kept.
  for (const v1::PrunePlanItem& item : plan.items()) {
    options->apply_ids.push_back(item.id());
  }
  if (options->apply_ids.empty()) {
    // Nothing listed: the token's own plan (empty when the dry run found nothing).
    if (plan.token().empty()) {
      return InvalidArgument("the plan has no items and no token: nothing to apply");
    }
    options->apply_plan = plan.token();
  }
  return grpc::Status::OK;
}

int ExecutePrune(const Invocation& invocation, client::Client& client, std::ostream& out,
                 std::ostream& err) {
  client::PruneOptions options = invocation.prune.options;
  if (const std::string& file = invocation.prune.apply_file; !file.empty()) {
    std::string text;
    if (file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else if (std::ifstream in(file, std::ios::binary); in) {
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } else {
      err << "dockline: --apply " << client::Quote(file) << ": cannot read it\n";
      return kExitCommandFailed;
    }
    if (grpc::Status st = ReadPlanFile(text, &options); !st.ok()) {
      err << "dockline: --apply " << client::Quote(file) << ": " << st.error_message() << '\n';
      return kExitCommandFailed;
    }
  }
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

std::string FormatSkipped(const google::protobuf::RepeatedPtrField<v1::PruneSkipped>& skipped) {
  std::vector<std::string> lines;
  for (const v1::PruneSkipped& s : skipped) {
    lines.push_back(fmt::format("{}  {}{}{}", s.id(), SkipReasonText(s.reason()),
                                s.detail().empty() ? "" : ": ", s.detail()));
  }
  if (lines.empty()) {
    return "";
  }
  std::string text = "\nSkipped:\n";
  for (const std::string& line : lines) {
    text += line + "\n";
  }
  return text;
}

std::string FormatPrune(const v1::PruneNetworksResponse& reply, bool dry_run) {
  std::vector<std::string> names(reply.networks_deleted().begin(), reply.networks_deleted().end());
  // Networks take no disk space: the daemon reports none, and neither does docker.
  return ListSection("Networks", names, dry_run) +
         fmt::format("{} {}\n", Plural(names.size(), "network", "networks"),
                     dry_run ? "would be deleted" : "deleted");
}

}  // namespace dockline::cli
