#pragma once

// `dockline run` and `dockline create`: their shared flags, the ContainerSpec they build, and
// running or creating the container.

#include <ostream>
#include <string>
#include <vector>

#include "client/cli/values.h"
#include "client/client.h"
#include "client/result.h"
#include "dockline/v1/dockline.pb.h"

namespace CLI {
class App;
}

namespace dockline::cli {

struct Invocation;

// The raw values of the run/create flags; BuildSpec turns them into a ContainerSpec.
struct RunFlags {
  bool rm = false;
  bool detach = false;
  bool read_only = false;
  bool init = false;
  bool tty = false;
  bool interactive = false;
  bool no_healthcheck = false;
  std::string pull;  // --pull: missing, always, never
  std::string name;
  std::string hostname;
  std::string workdir;
  std::string user;
  std::string network;
  std::string restart;
  std::string stop_signal;
  std::string stop_timeout;
  std::string memory;
  std::string cpus;
  std::string entrypoint;
  std::vector<std::string> publish;
  std::vector<std::string> env;
  std::vector<std::string> volumes;
  std::vector<std::string> mounts;
  std::vector<std::string> tmpfs;
  std::vector<std::string> labels;
  std::string health_cmd;
  std::string health_interval;
  std::string health_timeout;
  std::string health_retries;
  std::string health_start_period;
  std::string health_start_interval;
};

// A repeatable flag taking one value per occurrence. CLI11's default for a vector is to keep
// taking words, which would swallow IMAGE after `-p 80`. (ps's --filter is one too.)
void AddList(CLI::App& command, const std::string& name, std::vector<std::string>& values,
             const std::string& description);

// Adds the run/create flags to `command` (-d only for run).
void AddRunFlags(CLI::App& command, RunFlags& flags, bool is_run, bool& json);

// The ContainerSpec of `run`/`create`: IMAGE [COMMAND] [ARG...] is what `command` left over.
Result<v1::ContainerSpec> BuildSpec(const RunFlags& flags, const CLI::App& command,
                                    const EnvLookup& env);

// Runs the container and relays its output; returns its exit code (the low 8 bits), or
// kExitDocklineError when dockline itself failed. With -d, prints the container's id.
int ExecuteRun(const Invocation& invocation, client::Client& client, std::ostream& out,
               std::ostream& err);

// Creates the container and prints its id (and the daemon's warnings).
int ExecuteCreate(const Invocation& invocation, client::Client& client, std::ostream& out,
                  std::ostream& err);

}  // namespace dockline::cli
