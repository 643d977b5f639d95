#pragma once

// `dockline pull`, `dockline images` and `dockline rmi`, and the pull progress display that
// `run` shares.

#include <chrono>
#include <map>
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

// `pull`, `images` and `rmi` after parsing.
struct ImagesInvocation {
  std::vector<std::string> images;  // pull: one; images: an optional reference; rmi: several
  std::string platform;             // pull
  bool quiet = false;               // pull: no progress; images: ids only
  bool all = false;                 // images: intermediate images too
  bool no_trunc = false;            // images
  client::Filters filters;          // images
  bool force = false;               // rmi
  bool no_prune = false;            // rmi
};

// The raw flag values of the three commands.
struct ImagesFlags {
  std::vector<std::string> filters;
};

struct ImageCommands {
  CLI::App* pull = nullptr;
  CLI::App* images = nullptr;
  CLI::App* rmi = nullptr;
};

ImageCommands AddImageCommands(CLI::App& app, ImagesFlags& flags, ImagesInvocation& images);
grpc::Status FinishImagesArgs(const ImagesFlags& flags, ImagesInvocation* images);

// "missing" (docker's default), "always" or "never", as `run --pull` takes it.
client::Result<v1::PullPolicy> ParsePullPolicy(const std::string& text);

int ExecutePull(const Invocation& invocation, client::Client& client, std::ostream& out,
                std::ostream& err);
int ExecuteImages(const Invocation& invocation, client::Client& client, std::ostream& out,
                  std::ostream& err);
int ExecuteRemoveImages(const Invocation& invocation, client::Client& client, std::ostream& out,
                        std::ostream& err);

// docker's pull display. On a terminal, one line per layer, rewritten in place as its status
// and byte counts change; elsewhere (a pipe, a log), a line each time a layer's status changes,
// without the byte counts that would repeat it many times a second.
class PullDisplay {
 public:
  PullDisplay(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}
  void Show(const v1::PullProgress& progress);

 private:
  std::ostream& out_;
  const bool terminal_;
  std::vector<std::string> ids_;             // layer lines in the order they first came
  std::map<std::string, std::string> last_;  // the status last printed per id
};

// `docker pull`'s last line, a progress line's text ("a3ed95caeb02: Downloading  1.2MB/2.8MB"),
// and the `images` table: REPOSITORY, TAG, IMAGE ID, CREATED, SIZE.
std::string ProgressLine(const v1::PullProgress& progress);
std::string FormatImagesTable(const v1::ListImagesResponse& list,
                              std::chrono::system_clock::time_point now, bool no_trunc);

}  // namespace dockline::cli
