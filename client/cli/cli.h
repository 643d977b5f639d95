#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "client/cli/attach.h"
#include "client/cli/context.h"
#include "client/cli/cp.h"
#include "client/cli/events.h"
#include "client/cli/exec.h"
#include "client/cli/health.h"
#include "client/cli/images.h"
#include "client/cli/ping.h"
#include "client/cli/prune.h"
#include "client/cli/stats.h"
#include "client/cli/values.h"
#include "client/client.h"
#include "client/fleet.h"
#include "client/result.h"
#include "dockline/v1/dockline.pb.h"

// The `dockline` command line: parsing (ParseArgs) apart from doing (Execute), so that tests can
// check what a command line means without a server.
namespace dockline::cli {

// docker's exit status for its own failures (bad flags, daemon errors) on run and create.
inline constexpr int kExitDocklineError = 125;
// docker's exit status for a failed command other than run and create.
inline constexpr int kExitCommandFailed = 1;
// With several hosts, each one's deadline unless --timeout says otherwise.
inline constexpr std::chrono::seconds kFleetHostTimeout{10};

inline constexpr char kDefaultAddress[] = "127.0.0.1:50051";

enum class CommandKind {
  kHelp,
  kRun,
  kCreate,
  kStart,
  kStop,
  kRestart,
  kKill,
  kRemove,
  kInspect,
  kList,
  kWait,
  kVersion,
  kLogs,
  kExec,
  kHealth,
  kPrune,
  kPing,
  kPull,
  kImages,
  kRemoveImages,
  kStats,
  kCp,
  kEvents,
  kAttach,
  kContext,
};

// What one command line asks for. Fields beyond `kind` and the global ones are read only by the
// commands named in their comments.
struct Invocation {
  CommandKind kind = CommandKind::kHelp;

  // Global: --addr, else --context, else $DOCKLINE_ADDR, else $DOCKLINE_CONTEXT, else the
  // context `dockline context use` chose, else kDefaultAddress; --json, --timeout.
  std::string address = kDefaultAddress;
  // The context the address came from, whose TLS material and token apply unless flags say
  // otherwise.
  std::optional<client::ContextEndpoint> context;
  bool token_from_flag = false;
  // Several hosts (-H given more than once, --all-contexts): ps and version ask them all.
  struct Target {
    std::string name;  // the context's name, or the address
    std::string address;
    std::optional<client::ContextEndpoint> context;
  };
  std::vector<Target> fleet;
  bool strict = false;  // --strict: any unreachable host fails the command
  bool json = false;
  std::optional<std::chrono::nanoseconds> timeout;
  // Global: --tls, --tls-ca, --tls-cert, --tls-key (paths, read by MakeClientOptions), --token
  // (else $DOCKLINE_TOKEN). The token is a secret: never printed, never in a message.
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;  // --tls-server-name (implies --tls)
  std::string token;
  // Global: --keepalive-time (0 turns pings off); unset: the library's default.
  std::optional<std::chrono::nanoseconds> keepalive_time;

  std::string help;  // kHelp: the text to print

  v1::ContainerSpec spec;                             // run, create
  bool detach = false;                                // run
  v1::PullPolicy pull = v1::PULL_POLICY_UNSPECIFIED;  // run, create: --pull

  // start, stop, restart, kill, rm, inspect, wait
  std::vector<std::string> containers;
  std::optional<std::chrono::nanoseconds> stop_timeout;  // stop, restart: -t
  std::string signal;                                    // kill: -s
  bool force = false;                                    // rm: -f
  bool remove_volumes = false;                           // rm: -v

  // ps
  bool all = false;
  bool quiet = false;
  bool no_trunc = false;
  int limit = 0;
  client::Filters filters;

  client::LogsOptions logs;           // logs (containers[0])
  std::string logs_resume_file;       // logs --resume-file
  ExecInvocation exec;                // exec
  HealthInvocation health;            // health
  PruneInvocation prune;              // prune
  PingInvocation ping;                // ping
  ImagesInvocation images;            // pull, images, rmi
  StatsInvocation stats;              // stats
  CpInvocation cp;                    // cp
  EventsInvocation events;            // events
  AttachInvocation attach;            // attach (containers[0])
  ContextInvocation context_command;  // context

  // wait
  std::optional<std::chrono::nanoseconds> wait_timeout;
  v1::WaitCondition condition = v1::WAIT_CONDITION_UNSPECIFIED;
};

// `args` is argv without the program name. `env` supplies $DOCKLINE_ADDR and the values of
// `-e NAME`. Errors (unknown flags, bad values) are INVALID_ARGUMENT with a message for the user.
Result<Invocation> ParseArgs(const std::vector<std::string>& args,
                             const EnvLookup& env = ProcessEnv);

// The client options a command line asks for, with the TLS files read. A file that cannot be
// read is INVALID_ARGUMENT naming its flag.
Result<client::ClientOptions> MakeClientOptions(const Invocation& invocation);
// ps and version across invocation.fleet: one table with a HOST column (JSON: "host" on each
// entry), unreachable hosts on stderr; fails when every host failed, or any with --strict.
int ExecuteFleet(const Invocation& invocation, client::Fleet& fleet, std::ostream& out,
                 std::ostream& err);

// Runs a parsed command and returns the process exit status: the container's for `run`,
// kExitDocklineError for failures of run and create, kExitCommandFailed for other failures.
// Container output goes to `out`/`err` as it arrives.
int Execute(const Invocation& invocation, client::Client& client, std::ostream& out,
            std::ostream& err);

// The CLI's one error line, "dockline: <message>", with a hint when the server is unreachable
// or wants credentials.
void PrintError(std::ostream& err, const grpc::Status& status, std::string_view address);

// The whole program: parse, connect, execute.
int Main(int argc, char** argv);
// The same with the environment and streams given, for tests.
int Main(const std::vector<std::string>& args, const EnvLookup& env, std::ostream& out,
         std::ostream& err);

}  // namespace dockline::cli
