#include "client/cli/images.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <utility>

#include "client/cli/cli.h"
#include "client/cli/format.h"
#include "client/cli/prune.h"
#include "client/cli/run.h"
#include "client/cli/values.h"
#include "client/quote.h"

namespace dockline::cli {
namespace {

using client::InvalidArgument;

constexpr size_t kShortIdLength = 12;

// "sha256:0123..." -> "0123456789ab", as docker shows ids.
std::string ShortId(const std::string& id, bool no_trunc) {
  if (no_trunc) {
    return id;
  }
  std::string hex = id.starts_with("sha256:") ? id.substr(7) : id;
  return hex.substr(0, kShortIdLength);
}

// "repo:tag" -> {"repo", "tag"}; the last ':' after the last '/' separates them.
std::pair<std::string, std::string> SplitTag(const std::string& reference) {
  size_t slash = reference.rfind('/');
  size_t colon = reference.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
    return {reference, "<none>"};
  }
  return {reference.substr(0, colon), reference.substr(colon + 1)};
}

// Whether `out` is this process's terminal: the progress is redrawn in place only there.
bool IsTerminal(const std::ostream& out) {
  if (&out == &std::cout) {
    return isatty(STDOUT_FILENO) == 1;
  }
  if (&out == &std::cerr) {
    return isatty(STDERR_FILENO) == 1;
  }
  return false;
}

}  // namespace

ImageCommands AddImageCommands(CLI::App& app, ImagesFlags& flags, ImagesInvocation& images) {
  ImageCommands commands;
  commands.pull = app.add_subcommand("pull", "Download an image from a registry: pull NAME[:TAG]");
  commands.pull->fallthrough();
  commands.pull->add_option("NAME", images.images, "Image reference, e.g. busybox:1.36")
      ->required()
      ->expected(1);
  commands.pull->add_option("--platform", images.platform, "os[/arch[/variant]], e.g. linux/amd64");
  commands.pull->add_flag("-q,--quiet", images.quiet, "Suppress the progress output");

  commands.images =
      app.add_subcommand("images", "List images: images [OPTIONS] [REPOSITORY[:TAG]]");
  commands.images->fallthrough();
  commands.images->add_option("REPOSITORY", images.images, "Only images of this reference")
      ->expected(0, 1);
  commands.images->add_flag("-a,--all", images.all, "Show all images (intermediate ones too)");
  AddList(*commands.images, "-f,--filter", flags.filters,
          "Filter output: dangling=true, label=<k>[=<v>], before=, since=, reference= "
          "(repeatable)");
  commands.images->add_flag("-q,--quiet", images.quiet, "Only show image IDs");
  commands.images->add_flag("--no-trunc", images.no_trunc, "Don't truncate output");

  commands.rmi = app.add_subcommand("rmi", "Remove one or more images: rmi IMAGE [IMAGE...]");
  commands.rmi->fallthrough();
  commands.rmi->add_option("IMAGE", images.images, "Image reference or id")->required();
  commands.rmi->add_flag("-f,--force", images.force, "Force removal of the image");
  commands.rmi->add_flag("--no-prune", images.no_prune, "Do not delete untagged parents");
  return commands;
}

grpc::Status FinishImagesArgs(const ImagesFlags& flags, ImagesInvocation* images) {
  for (const std::string& filter : flags.filters) {
    auto parsed = ParseFilter(filter);
    if (!parsed.ok()) {
      return parsed.status;
    }
    images->filters.push_back(std::move(parsed.value));
  }
  return grpc::Status::OK;
}

client::Result<v1::PullPolicy> ParsePullPolicy(const std::string& text) {
  if (text == "missing") {
    return client::Ok(v1::PULL_POLICY_MISSING);
  }
  if (text == "always") {
    return client::Ok(v1::PULL_POLICY_ALWAYS);
  }
  if (text == "never") {
    return client::Ok(v1::PULL_POLICY_NEVER);
  }
  return client::Error<v1::PullPolicy>(InvalidArgument(
      fmt::format("invalid --pull {}: want missing, always or never", client::Quote(text))));
}

std::string ProgressLine(const v1::PullProgress& progress) {
  std::string line = progress.id().empty()
                         ? progress.status()
                         : fmt::format("{}: {}", progress.id(), progress.status());
  if (progress.total() > 0) {
    line += fmt::format("  {}/{}",
                        HumanSize(static_cast<uint64_t>(std::max<int64_t>(progress.current(), 0))),
                        HumanSize(static_cast<uint64_t>(progress.total())));
  } else if (progress.current() > 0) {
    line += fmt::format("  {}", HumanSize(static_cast<uint64_t>(progress.current())));
  }
  return line;
}

void PullDisplay::Show(const v1::PullProgress& progress) {
  // A line without an id, or naming the tag ("latest: Pulling from ..."), is about the whole
  // pull: printed once, in order.
  const bool layer =
      !progress.id().empty() && progress.status().find("Pulling from") == std::string::npos;
  if (!layer) {
    out_ << ProgressLine(progress) << '\n';
    out_.flush();
    if (terminal_) {
      ids_.clear();  // later layers start below this line
    }
    return;
  }
  auto it = std::find(ids_.begin(), ids_.end(), progress.id());
  if (!terminal_) {
    std::string& last = last_[progress.id()];
    if (last == progress.status()) {
      return;
    }
    last = progress.status();
    out_ << progress.id() << ": " << progress.status() << '\n';
    out_.flush();
    return;
  }
  if (it == ids_.end()) {
    ids_.push_back(progress.id());
    out_ << ProgressLine(progress) << '\n';
  } else {
    // Up to the layer's line, rewrite it, and back down (docker's jsonmessage does the same).
    const auto up = ids_.end() - it;
    out_ << fmt::format("\x1b[{}A\r\x1b[2K{}\x1b[{}B\r", up, ProgressLine(progress), up);
  }
  out_.flush();
}

std::string FormatImagesTable(const v1::ListImagesResponse& list,
                              std::chrono::system_clock::time_point now, bool no_trunc) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
  for (const v1::ImageSummary& image : list.images()) {
    std::vector<std::pair<std::string, std::string>> names;
    for (const std::string& tag : image.repo_tags()) {
      if (tag != "<none>:<none>") {
        names.push_back(SplitTag(tag));
      }
    }
    if (names.empty()) {
      names.emplace_back("<none>", "<none>");
    }
    for (const auto& [repository, tag] : names) {
      rows.push_back({repository, tag, ShortId(image.id(), no_trunc),
                      image.has_created() ? CreatedAgo(image.created(), now) : "",
                      HumanSize(static_cast<uint64_t>(std::max<int64_t>(image.size(), 0)))});
    }
  }
  return FormatTable(rows);
}

int ExecutePull(const Invocation& invocation, client::Client& client, std::ostream& out,
                std::ostream& err) {
  const ImagesInvocation& images = invocation.images;
  client::PullOptions options;
  options.platform = images.platform;
  options.timeout = invocation.timeout;
  PullDisplay display(out, IsTerminal(out));
  if (invocation.json) {
    options.on_progress = [&out](const v1::PullProgress& progress) {
      out << ToJson(progress) << '\n';
      out.flush();
    };
  } else if (!images.quiet) {
    options.on_progress = [&display](const v1::PullProgress& progress) { display.Show(progress); };
  }
  auto result = client.Pull(images.images.at(0), options);
  if (!result.ok()) {
    PrintError(err, result.status, invocation.address);
    return kExitCommandFailed;
  }
  if (invocation.json) {
    out << ToJson(result.value) << '\n';
  } else {
    out << result.value.image() << '\n';
  }
  return 0;
}

int ExecuteImages(const Invocation& invocation, client::Client& client, std::ostream& out,
                  std::ostream& err) {
  const ImagesInvocation& images = invocation.images;
  auto result = client.ListImages(images.images.empty() ? "" : images.images.front(), images.all,
                                  images.filters);
  if (!result.ok()) {
    PrintError(err, result.status, invocation.address);
    return kExitCommandFailed;
  }
  if (invocation.json) {
    out << ToJson(result.value) << '\n';
  } else if (images.quiet) {
    for (const v1::ImageSummary& image : result.value.images()) {
      out << ShortId(image.id(), images.no_trunc) << '\n';
    }
  } else {
    out << FormatImagesTable(result.value, std::chrono::system_clock::now(), images.no_trunc);
  }
  return 0;
}

int ExecuteRemoveImages(const Invocation& invocation, client::Client& client, std::ostream& out,
                        std::ostream& err) {
  const ImagesInvocation& images = invocation.images;
  int exit_code = 0;
  for (const std::string& image : images.images) {
    auto result = client.RemoveImage(image, images.force, images.no_prune);
    if (!result.ok()) {
      PrintError(err, result.status, invocation.address);
      exit_code = kExitCommandFailed;
      continue;
    }
    if (invocation.json) {
      out << ToJson(result.value) << '\n';
      continue;
    }
    for (const v1::ImageDeleted& deleted : result.value.deleted()) {
      if (!deleted.untagged().empty()) {
        out << "Untagged: " << deleted.untagged() << '\n';
      }
      if (!deleted.deleted().empty()) {
        out << "Deleted: " << deleted.deleted() << '\n';
      }
    }
  }
  return exit_code;
}

}  // namespace dockline::cli
