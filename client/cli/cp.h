#pragma once

// `dockline cp`: docker cp's two forms, CONTAINER:SRC DEST and SRC CONTAINER:DEST, with `-` for
// a tar archive on stdout/stdin; archives are packed and extracted with libarchive.

#include <ostream>
#include <string>

#include "client/client.h"

namespace CLI {
class App;
}

namespace dockline::cli {

struct Invocation;

// `dockline cp` after parsing.
struct CpInvocation {
  std::string source;       // as given
  std::string destination;  // as given
  bool archive = false;     // -a: entries take the container user's uid/gid (copy-in)
  // Set by FinishCpArgs.
  bool to_container = false;
  std::string container;
  std::string container_path;  // absolute
  std::string host_path;       // "-": a tar on stdin/stdout
};

// docker's splitCpArg: "name:path" names a container path unless the text is an absolute path
// or starts with '.' (./a:b is a host file).
bool SplitContainerArg(const std::string& arg, std::string* container, std::string* path);

CLI::App* AddCpCommand(CLI::App& app, CpInvocation& cp);
grpc::Status FinishCpArgs(CpInvocation* cp);

// Copy-out: the tar to stdout (`-`), or extracted as docker cp does: DEST missing is created
// with SRC's content, an existing directory gets SRC inside it; an entry that would land
// outside DEST is refused. Copy-in: SRC packed (or stdin's tar) and extracted by the daemon,
// with the same rules for the container's DEST.
int ExecuteCp(const Invocation& invocation, client::Client& client, std::ostream& out,
              std::ostream& err);

}  // namespace dockline::cli
