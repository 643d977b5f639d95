#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "client/cli/values.h"
#include "client/client.h"
#include "client/result.h"

namespace CLI {
class App;
}

namespace dockline::cli {

struct Invocation;

// `dockline exec` after parsing.
struct ExecInvocation {
  std::string container;
  // The command: argv as given, or, when it is one word with spaces in it, that word split
  // like docker-py splits a string command (shlex): `exec c "sh -c 'echo hi'"`.
  std::vector<std::string> cmd;
  bool interactive = false;  // -i: forward stdin
  bool detach = false;       // -d: print the exec id and return
  // --resume: no command; the retained output of this exec from `resume_offset`.
  std::string resume;
  uint64_t resume_offset = 0;
  client::ExecOptions options;  // tty, privileged, user, env, workdir, retain_output
};

// The raw flag values; FinishExecArgs turns them into an ExecInvocation.
struct ExecFlags {
  bool interactive = false;
  bool tty = false;
  bool detach = false;
  bool privileged = false;
  std::vector<std::string> env;
  std::string workdir;
  std::string user;
  bool retain = false;
  std::string resume;
  uint64_t offset = 0;
};

// Adds `exec [-i] [-t] [-d] [-e K=V] [-w DIR] [-u USER] [--privileged] [--retain] CONTAINER
// CMD...` and `exec --resume EXEC_ID [--offset N]`. Everything from CONTAINER on is positional,
// dashes included, as in docker.
CLI::App* AddExecCommand(CLI::App& app, ExecFlags& flags);
grpc::Status FinishExecArgs(const ExecFlags& flags, const CLI::App& command, const EnvLookup& env,
                            ExecInvocation* exec);

// Runs the command and returns its exit code (the low 8 bits, as a shell sees it), or
// kExitCommandFailed when dockline itself failed. With -t and -i on a terminal, the terminal
// is in raw mode while the command runs (restored on every way out), stdin is forwarded and
// window size changes (SIGWINCH) are sent to the command's TTY.
int ExecuteExec(const Invocation& invocation, client::Client& client, std::ostream& out,
                std::ostream& err);

}  // namespace dockline::cli
