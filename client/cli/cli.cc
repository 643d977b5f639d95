#include "client/cli/cli.h"

#include <absl/status/status.h>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <climits>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <utility>

#include "client/cli/exec.h"
#include "client/cli/format.h"
#include "client/cli/health.h"
#include "client/cli/logs.h"
#include "client/cli/ping.h"
#include "client/cli/prune.h"
#include "client/cli/run.h"
#include "client/quote.h"

#ifndef DOCKLINE_VERSION
#define DOCKLINE_VERSION "unknown"
#endif

namespace dockline::cli {
namespace {

using client::Error;
using client::InvalidArgument;
using client::Ok;

// Applies `call` to each container like docker does: report each failure, carry on, and print
// the name as given for each success.
int ForEachContainer(
    const Invocation& invocation, std::ostream& out, std::ostream& err,
    const std::function<grpc::Status(const std::string&, std::string& json)>& call) {
  int exit_code = 0;
  for (const std::string& container : invocation.containers) {
    std::string json = "{}";
    grpc::Status status = call(container, json);
    if (!status.ok()) {
      PrintError(err, status, invocation.address);
      exit_code = kExitCommandFailed;
      continue;
    }
    out << (invocation.json ? json : container) << '\n';
  }
  return exit_code;
}

int ExecuteInspect(const Invocation& invocation, client::Client& client, std::ostream& out,
                   std::ostream& err) {
  std::vector<v1::InspectContainerResponse> replies;
  int exit_code = 0;
  for (const std::string& container : invocation.containers) {
    auto result = client.Inspect(container);
    if (!result.ok()) {
      PrintError(err, result.status, invocation.address);
      exit_code = kExitCommandFailed;
      continue;
    }
    if (invocation.json) {
      out << ToJson(result.value) << '\n';
    } else {
      replies.push_back(std::move(result.value));
    }
  }
  if (!invocation.json) {
    out << FormatInspectArray(replies) << '\n';
  }
  return exit_code;
}

int ExecuteList(const Invocation& invocation, client::Client& client, std::ostream& out,
                std::ostream& err) {
  auto result = client.List(invocation.all, invocation.filters, invocation.limit);
  if (!result.ok()) {
    PrintError(err, result.status, invocation.address);
    return kExitCommandFailed;
  }
  if (invocation.json) {
    out << ToJson(result.value) << '\n';
  } else if (invocation.quiet) {
    for (const v1::ContainerSummary& container : result.value.containers()) {
      out << (invocation.no_trunc ? container.id() : container.id().substr(0, 12)) << '\n';
    }
  } else {
    out << FormatPsTable(result.value, std::chrono::system_clock::now(), invocation.no_trunc);
  }
  return 0;
}

int ExecuteWait(const Invocation& invocation, client::Client& client, std::ostream& out,
                std::ostream& err) {
  int exit_code = 0;
  for (const std::string& container : invocation.containers) {
    auto result = client.Wait(container, invocation.wait_timeout, invocation.condition);
    if (!result.ok()) {
      PrintError(err, result.status, invocation.address);
      exit_code = kExitCommandFailed;
      continue;
    }
    if (invocation.json) {
      out << ToJson(result.value) << '\n';
      continue;
    }
    if (!result.value.error().empty()) {
      fmt::print(err, "dockline: {}: {}\n", container, result.value.error());
    }
    out << result.value.exit_code() << '\n';
  }
  return exit_code;
}

int ExecuteVersion(const Invocation& invocation, client::Client& client, std::ostream& out,
                   std::ostream& err) {
  auto result = client.EngineInfo();
  if (invocation.json) {
    if (!result.ok()) {
      PrintError(err, result.status, invocation.address);
      return kExitCommandFailed;
    }
    out << ToJson(result.value) << '\n';
    return 0;
  }
  out << FormatVersion(DOCKLINE_VERSION, result.ok() ? &result.value : nullptr);
  if (!result.ok()) {
    PrintError(err, result.status, invocation.address);
    return kExitCommandFailed;
  }
  return 0;
}

// CLI11 quotes arguments in some of its errors (an extra value, a repeated option), and a token
// given on the command line must not reach the terminal or a log through one.
std::string RedactTokens(std::string message, const std::vector<std::string>& args) {
  constexpr std::string_view kFlag = "--token";
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view token;
    if (args[i] == kFlag && i + 1 < args.size()) {
      token = args[i + 1];
    } else if (args[i].starts_with(std::string(kFlag) + "=")) {
      token = std::string_view(args[i]).substr(kFlag.size() + 1);
    }
    if (token.empty()) {
      continue;
    }
    for (size_t at = message.find(token); at != std::string::npos;
         at = message.find(token, at + 1)) {
      message.replace(at, token.size(), "<redacted>");
    }
  }
  return message;
}

std::string CodeName(grpc::StatusCode code) {
  // gRPC's codes are absl's, number for number.
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? fmt::format("status {}", static_cast<int>(code)) : name;
}

}  // namespace

void PrintError(std::ostream& err, const grpc::Status& status, std::string_view address) {
  std::string message = status.error_message();
  if (message.empty()) {
    message = CodeName(status.error_code());
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    // docklined says "Docker daemon" when it was the daemon behind it that could not be
    // reached; anything else is the channel to docklined itself.
    message += message.find("Docker daemon") != std::string::npos
                   ? fmt::format(" (docklined at {} answered; its Docker daemon did not)", address)
                   : fmt::format(" (is docklined listening on {}?)", address);
  } else if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    message = fmt::format(
        "the server at {} wants credentials: {} (use --token or DOCKLINE_TOKEN, or "
        "--tls-cert/--tls-key)",
        address, message);
  }
  fmt::print(err, "dockline: {}\n", message);
  err.flush();
}

namespace {

// -H values (a context's name, or an address: anything with ':' in it) and --all-contexts.
Result<std::vector<Invocation::Target>> ResolveHosts(const std::vector<std::string>& hosts,
                                                     bool all_contexts, const EnvLookup& env) {
  using Targets = std::vector<Invocation::Target>;
  Targets targets;
  std::optional<client::ContextStore> store;
  auto open_store = [&]() -> grpc::Status {
    if (!store) {
      auto opened = client::ContextStore::ForUser(env);
      if (!opened.ok()) {
        return opened.status;
      }
      store = std::move(opened.value);
    }
    return grpc::Status::OK;
  };
  if (all_contexts) {
    if (grpc::Status st = open_store(); !st.ok()) {
      return Error<Targets>(st);
    }
    auto contexts = store->List();
    if (!contexts.ok()) {
      return Error<Targets>(contexts.status);
    }
    if (contexts.value.empty()) {
      return Error<Targets>(InvalidArgument("--all-contexts: there are no contexts"));
    }
    for (client::ContextEndpoint& c : contexts.value) {
      targets.push_back({c.name, c.address, std::move(c)});
    }
  }
  for (const std::string& host : hosts) {
    if (host.find(':') != std::string::npos) {
      targets.push_back({host, host, std::nullopt});
      continue;
    }
    if (grpc::Status st = open_store(); !st.ok()) {
      return Error<Targets>(st);
    }
    auto context = store->Get(host);
    if (!context.ok()) {
      return Error<Targets>(
          grpc::Status(context.status.error_code(),
                       fmt::format("-H {}: {} (an address needs its port, HOST:PORT)", host,
                                   context.status.error_message())));
    }
    targets.push_back({host, context.value.address, std::move(context.value)});
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (targets[i].name == targets[j].name) {
        return Error<Targets>(InvalidArgument(fmt::format("-H {}: given twice", targets[i].name)));
      }
    }
  }
  return Ok(std::move(targets));
}

}  // namespace

Result<Invocation> ParseArgs(const std::vector<std::string>& args, const EnvLookup& env) {
  Invocation invocation;
  std::optional<std::string> env_address;
  if (env) {
    if (std::optional<std::string> address = env("DOCKLINE_ADDR"); address && !address->empty()) {
      env_address = address;
    }
  }
  CLI::App app("dockline: the Docker container lifecycle through docklined", "dockline");
  app.require_subcommand(0, 1);
  std::string timeout;
  CLI::Option* addr_option =
      app.add_option("--addr", invocation.address,
                     "docklined address, HOST:PORT or unix:///PATH (default: the --context, "
                     "$DOCKLINE_ADDR, $DOCKLINE_CONTEXT or `context use`'s, else 127.0.0.1:50051)");
  std::string context_flag;
  app.add_option("-c,--context", context_flag,
                 "Use this context (dockline context ls); --addr wins over it");
  std::vector<std::string> host_flags;
  AddList(app, "-H,--host", host_flags,
          "A host: a context's name or an address (repeatable: ps and version ask every one)");
  bool all_contexts = false;
  app.add_flag("--all-contexts", all_contexts, "ps and version ask every context's host");
  std::string on_host;
  app.add_option("--on", on_host, "With several hosts: run this command on the one named");
  app.add_flag("--strict", invocation.strict, "With several hosts: fail if any cannot answer");
  app.add_flag("--json", invocation.json, "Print replies as JSON");
  app.add_option("--timeout", timeout, "Deadline of each short call, e.g. 30s");
  // No default is captured for these: --help must never show a secret or a path from the
  // environment.
  app.add_flag("--tls", invocation.tls, "Use TLS, trusting the system's CAs unless --tls-ca");
  app.add_option("--tls-ca", invocation.tls_ca,
                 "Trust only the CA in this PEM file to sign the server's certificate (implies "
                 "--tls)");
  app.add_option("--tls-cert", invocation.tls_cert,
                 "Client certificate PEM file, for mutual TLS (implies --tls; needs --tls-key)");
  app.add_option("--tls-key", invocation.tls_key,
                 "Private key PEM file of --tls-cert (implies --tls)");
  app.add_option("--tls-server-name", invocation.tls_server_name,
                 "Check the server's certificate for this name instead of --addr's host (implies "
                 "--tls)");
  std::string keepalive_time;
  app.add_option("--keepalive-time", keepalive_time,
                 "Ping the server after this long without traffic during a call, e.g. 30s "
                 "(default), 0 for never; a dead server then ends the call");
  std::string token_flag;
  CLI::Option* token_option =
      app.add_option("--token", token_flag,
                     "Bearer token for the server (default: $DOCKLINE_TOKEN, which keeps it out of "
                     "the process list); sent only over TLS or to a loopback or unix address");

  RunFlags run_flags;
  CLI::App* run = app.add_subcommand(
      "run", "Create and run a new container: run [OPTIONS] IMAGE [COMMAND] [ARG...]");
  CLI::App* create = app.add_subcommand(
      "create", "Create a new container: create [OPTIONS] IMAGE [COMMAND] [ARG...]");
  for (CLI::App* command : {run, create}) {
    // Everything from IMAGE on belongs to the container, dashes included, as in docker.
    command->prefix_command();
    // -h is --hostname here, as in docker.
    command->set_help_flag("--help", "Print this help");
    AddRunFlags(*command, run_flags, command == run, invocation.json);
  }

  std::string stop_time;
  std::string wait_timeout;
  std::string condition;
  std::vector<std::string> filters;
  bool latest = false;
  const auto containers_command = [&](const char* name, const char* description) {
    CLI::App* command = app.add_subcommand(name, description);
    // Global flags may follow the command name too (`dockline ps --json`).
    command->fallthrough();
    command->add_option("CONTAINER", invocation.containers, "Container name, ID or ID prefix")
        ->required();
    return command;
  };
  CLI::App* start = containers_command("start", "Start one or more stopped containers");
  CLI::App* stop = containers_command("stop", "Stop one or more running containers");
  stop->add_option("-t,--time", stop_time, "Seconds to wait before killing the container");
  CLI::App* restart = containers_command("restart", "Restart one or more containers");
  restart->add_option("-t,--time", stop_time, "Seconds to wait before killing the container");
  CLI::App* kill = containers_command("kill", "Kill one or more running containers");
  kill->add_option("-s,--signal", invocation.signal, "Signal to send (default SIGKILL)");
  CLI::App* rm = containers_command("rm", "Remove one or more containers");
  rm->add_flag("-f,--force", invocation.force, "Force the removal of a running container");
  rm->add_flag("-v,--volumes", invocation.remove_volumes,
               "Remove anonymous volumes associated with the container");
  CLI::App* inspect = containers_command("inspect", "Print the daemon's view of containers");
  CLI::App* wait =
      containers_command("wait", "Block until containers stop, then print their exit codes");
  wait->add_option("--timeout", wait_timeout, "Give up after this long, e.g. 30s");
  wait->add_option("--condition", condition, "not-running (default), next-exit or removed");

  CLI::App* ps = app.add_subcommand("ps", "List containers");
  ps->fallthrough();
  ps->add_flag("-a,--all", invocation.all, "Show all containers (default shows just running)");
  AddList(*ps, "-f,--filter", filters, "Filter output: key=value (repeatable)");
  ps->add_flag("-q,--quiet", invocation.quiet, "Only display container IDs");
  ps->add_flag("--no-trunc", invocation.no_trunc, "Don't truncate output");
  ps->add_option("-n,--last", invocation.limit, "Show the n last created containers (all states)");
  ps->add_flag("-l,--latest", latest, "Show the latest created container (all states)");

  LogsFlags logs_flags;
  CLI::App* logs = AddLogsCommand(app, logs_flags, invocation.containers);

  ExecFlags exec_flags;
  CLI::App* exec = AddExecCommand(app, exec_flags);
  CLI::App* attach = AddAttachCommand(app, invocation.attach, invocation.containers);

  HealthFlags health_flags;
  CLI::App* health = AddHealthCommand(app, health_flags);
  PruneFlags prune_flags;
  CLI::App* prune = AddPruneCommand(app, prune_flags);
  CLI::App* ping = AddPingCommand(app, invocation.ping);
  ImagesFlags images_flags;
  ImageCommands image_commands = AddImageCommands(app, images_flags, invocation.images);
  CLI::App* stats = AddStatsCommand(app, invocation.stats);
  CLI::App* cp = AddCpCommand(app, invocation.cp);
  EventsFlags events_flags;
  CLI::App* events = AddEventsCommand(app, events_flags);

  CLI::App* context = AddContextCommand(app, invocation.context_command);
  CLI::App* version = app.add_subcommand("version", "Show the dockline and engine versions");
  version->fallthrough();

  try {
    // CLI11 consumes a vector from the back.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    invocation.kind = CommandKind::kHelp;
    invocation.help = app.help();
    return Ok(std::move(invocation));
  } catch (const CLI::ParseError& error) {
    return Error<Invocation>(InvalidArgument(RedactTokens(error.what(), args)));
  } catch (const CLI::Error& error) {
    return Error<Invocation>(InvalidArgument(RedactTokens(error.what(), args)));
  }

  // The context's store is read only by commands that connect: `context use default` must work
  // whatever state the current context is in.
  if (addr_option->count() == 0 && !context->parsed()) {
    if (context_flag.empty() && env_address) {
      invocation.address = *env_address;  // docker's order: DOCKER_HOST over DOCKER_CONTEXT
    } else {
      client::Result<client::ContextStore> store = client::ContextStore::ForUser(env);
      if (!store.ok() && !context_flag.empty()) {
        return Error<Invocation>(store.status);
      }
      if (store.ok()) {
        auto resolved = client::ResolveContext(store.value, context_flag, env);
        if (!resolved.ok()) {
          return Error<Invocation>(resolved.status);
        }
        if (resolved.value) {
          invocation.address = resolved.value->address;
          invocation.context = std::move(resolved.value);
        }
      }
    }
  }

  if ((!host_flags.empty() || all_contexts) && !context->parsed()) {
    if (addr_option->count() > 0 || !context_flag.empty()) {
      return Error<Invocation>(
          InvalidArgument("-H/--all-contexts name the hosts: not with --addr or --context"));
    }
    auto targets = ResolveHosts(host_flags, all_contexts, env);
    if (!targets.ok()) {
      return Error<Invocation>(targets.status);
    }
    invocation.fleet = std::move(targets.value);
  }
  if (!on_host.empty()) {
    auto on = std::find_if(invocation.fleet.begin(), invocation.fleet.end(),
                           [&](const Invocation::Target& t) { return t.name == on_host; });
    if (on == invocation.fleet.end()) {
      return Error<Invocation>(InvalidArgument(fmt::format(
          "--on {}: not one of the hosts given (-H, --all-contexts)", client::Quote(on_host))));
    }
    Invocation::Target chosen = *on;
    invocation.fleet = {std::move(chosen)};
  }
  if (invocation.fleet.size() == 1) {
    // One host is the ordinary case.
    invocation.address = invocation.fleet.front().address;
    invocation.context = invocation.fleet.front().context;
    invocation.fleet.clear();
  }

  // The flag wins over the context's token, which wins over the environment's.
  if (token_option->count() > 0) {
    invocation.token = std::move(token_flag);
    invocation.token_from_flag = true;
  } else if (env && !(invocation.context && !invocation.context->token_file.empty())) {
    invocation.token = env("DOCKLINE_TOKEN").value_or("");
  }

  if (!timeout.empty()) {
    auto parsed = ParseDuration(timeout);
    if (!parsed.ok() || parsed.value.count() <= 0) {
      return Error<Invocation>(InvalidArgument(fmt::format(
          "invalid --timeout {}: want a positive duration, e.g. 30s", client::Quote(timeout))));
    }
    invocation.timeout = parsed.value;
  }

  if (!keepalive_time.empty()) {
    auto parsed = ParseDuration(keepalive_time);
    // gRPC takes whole milliseconds in an int.
    if (!parsed.ok() || parsed.value.count() < 0 ||
        (parsed.value.count() > 0 && parsed.value < std::chrono::milliseconds(1)) ||
        parsed.value > std::chrono::milliseconds(INT_MAX)) {
      return Error<Invocation>(InvalidArgument(
          fmt::format("invalid --keepalive-time {}: want 0 (never) or 1ms to 596h, e.g. 30s",
                      client::Quote(keepalive_time))));
    }
    invocation.keepalive_time = parsed.value;
  }

  const std::vector<std::pair<CLI::App*, CommandKind>> kinds = {
      {run, CommandKind::kRun},
      {create, CommandKind::kCreate},
      {start, CommandKind::kStart},
      {stop, CommandKind::kStop},
      {restart, CommandKind::kRestart},
      {kill, CommandKind::kKill},
      {rm, CommandKind::kRemove},
      {inspect, CommandKind::kInspect},
      {ps, CommandKind::kList},
      {wait, CommandKind::kWait},
      {version, CommandKind::kVersion},
      {logs, CommandKind::kLogs},
      {exec, CommandKind::kExec},
      {attach, CommandKind::kAttach},
      {health, CommandKind::kHealth},
      {prune, CommandKind::kPrune},
      {ping, CommandKind::kPing},
      {image_commands.pull, CommandKind::kPull},
      {image_commands.images, CommandKind::kImages},
      {image_commands.rmi, CommandKind::kRemoveImages},
      {stats, CommandKind::kStats},
      {cp, CommandKind::kCp},
      {events, CommandKind::kEvents},
      {context, CommandKind::kContext},
  };
  CLI::App* chosen = nullptr;
  for (const auto& [command, kind] : kinds) {
    if (command->parsed()) {
      chosen = command;
      invocation.kind = kind;
    }
  }
  if (!invocation.fleet.empty() && chosen != nullptr && invocation.kind != CommandKind::kList &&
      invocation.kind != CommandKind::kVersion && invocation.kind != CommandKind::kContext) {
    std::vector<std::string> names;
    for (const Invocation::Target& t : invocation.fleet) {
      names.push_back(t.name);
    }
    return Error<Invocation>(InvalidArgument(
        fmt::format("\"dockline {}\" runs on one host: name it with --on HOST (one of {})",
                    chosen->get_name(), fmt::join(names, ", "))));
  }
  if (chosen == nullptr) {
    invocation.kind = CommandKind::kHelp;
    invocation.help = app.help();
    return Ok(std::move(invocation));
  }

  switch (invocation.kind) {
    case CommandKind::kRun:
    case CommandKind::kCreate: {
      auto spec = BuildSpec(run_flags, *chosen, env);
      if (!spec.ok()) {
        return Error<Invocation>(spec.status);
      }
      invocation.spec = std::move(spec.value);
      invocation.detach = run_flags.detach;
      if (!run_flags.pull.empty()) {
        auto pull = ParsePullPolicy(run_flags.pull);
        if (!pull.ok()) {
          return Error<Invocation>(pull.status);
        }
        invocation.pull = pull.value;
      }
      break;
    }
    case CommandKind::kStop:
    case CommandKind::kRestart:
      if (!stop_time.empty()) {
        auto parsed = ParseSeconds(stop_time);
        if (!parsed.ok()) {
          return Error<Invocation>(
              InvalidArgument(fmt::format("--time: {}", parsed.status.error_message())));
        }
        invocation.stop_timeout = parsed.value;
      }
      break;
    case CommandKind::kList:
      for (const std::string& filter : filters) {
        auto parsed = ParseFilter(filter);
        if (!parsed.ok()) {
          return Error<Invocation>(parsed.status);
        }
        invocation.filters.push_back(std::move(parsed.value));
      }
      if (latest) {
        invocation.limit = 1;
      }
      if (invocation.limit < 0) {
        return Error<Invocation>(InvalidArgument("--last cannot be negative"));
      }
      // Docker's -n/-l cover stopped containers too.
      invocation.all = invocation.all || invocation.limit > 0;
      break;
    case CommandKind::kWait:
      if (!wait_timeout.empty()) {
        auto parsed = ParseDuration(wait_timeout);
        if (!parsed.ok() || parsed.value.count() <= 0) {
          return Error<Invocation>(InvalidArgument(
              fmt::format("invalid --timeout {}: want a positive duration, e.g. 30s",
                          client::Quote(wait_timeout))));
        }
        invocation.wait_timeout = parsed.value;
      }
      if (!condition.empty()) {
        auto parsed = ParseWaitCondition(condition);
        if (!parsed.ok()) {
          return Error<Invocation>(parsed.status);
        }
        invocation.condition = parsed.value;
      }
      break;
    case CommandKind::kExec:
      if (grpc::Status st = FinishExecArgs(exec_flags, *chosen, env, &invocation.exec); !st.ok()) {
        return Error<Invocation>(st);
      }
      break;
    case CommandKind::kContext:
      if (grpc::Status st = FinishContextArgs(&invocation.context_command); !st.ok()) {
        return Error<Invocation>(st);
      }
      break;
    case CommandKind::kHealth:
      if (grpc::Status st = FinishHealthArgs(health_flags, &invocation.health); !st.ok()) {
        return Error<Invocation>(st);
      }
      break;
    case CommandKind::kPrune:
      if (grpc::Status st =
              FinishPruneArgs(prune_flags, std::chrono::system_clock::now(), &invocation.prune);
          !st.ok()) {
        return Error<Invocation>(st);
      }
      break;
    case CommandKind::kStats:
      if (grpc::Status st = FinishStatsArgs(invocation.stats); !st.ok()) {
        return Error<Invocation>(st);
      }
      break;
    case CommandKind::kCp:
      if (grpc::Status st = FinishCpArgs(&invocation.cp); !st.ok()) {
        return Error<Invocation>(st);
      }
      break;
    case CommandKind::kEvents:
      if (grpc::Status st =
              FinishEventsArgs(events_flags, std::chrono::system_clock::now(), &invocation.events);
          !st.ok()) {
        return Error<Invocation>(st);
      }
      break;
    case CommandKind::kImages:
      if (grpc::Status st = FinishImagesArgs(images_flags, &invocation.images); !st.ok()) {
        return Error<Invocation>(st);
      }
      break;
    case CommandKind::kLogs:
      invocation.logs_resume_file = logs_flags.resume_file;
      if (grpc::Status st = FinishLogsArgs(logs_flags, &invocation.logs); !st.ok()) {
        return Error<Invocation>(st);
      }
      break;
    default:
      break;
  }
  return Ok(std::move(invocation));
}

int Execute(const Invocation& invocation, client::Client& client, std::ostream& out,
            std::ostream& err) {
  switch (invocation.kind) {
    case CommandKind::kHelp:
      out << invocation.help;
      return 0;
    case CommandKind::kRun:
      return ExecuteRun(invocation, client, out, err);
    case CommandKind::kCreate:
      return ExecuteCreate(invocation, client, out, err);
    case CommandKind::kStart:
      return ForEachContainer(invocation, out, err, [&](const std::string& c, std::string& json) {
        auto result = client.Start(c);
        json = ToJson(result.value);
        return result.status;
      });
    case CommandKind::kStop:
      return ForEachContainer(invocation, out, err, [&](const std::string& c, std::string& json) {
        auto result = client.Stop(c, invocation.stop_timeout);
        json = ToJson(result.value);
        return result.status;
      });
    case CommandKind::kRestart:
      return ForEachContainer(invocation, out, err, [&](const std::string& c, std::string&) {
        return client.Restart(c, invocation.stop_timeout);
      });
    case CommandKind::kKill:
      return ForEachContainer(invocation, out, err, [&](const std::string& c, std::string&) {
        return client.Kill(c, invocation.signal);
      });
    case CommandKind::kRemove:
      return ForEachContainer(invocation, out, err, [&](const std::string& c, std::string&) {
        return client.Remove(c, invocation.force, invocation.remove_volumes);
      });
    case CommandKind::kInspect:
      return ExecuteInspect(invocation, client, out, err);
    case CommandKind::kList:
      return ExecuteList(invocation, client, out, err);
    case CommandKind::kWait:
      return ExecuteWait(invocation, client, out, err);
    case CommandKind::kVersion:
      return ExecuteVersion(invocation, client, out, err);
    case CommandKind::kExec:
      return ExecuteExec(invocation, client, out, err);
    case CommandKind::kAttach:
      return ExecuteAttach(invocation, client, out, err);
    case CommandKind::kLogs:
      return ExecuteLogs(invocation, client, out, err);
    case CommandKind::kHealth:
      return ExecuteHealth(invocation, client, out, err);
    case CommandKind::kPrune:
      return ExecutePrune(invocation, client, out, err);
    case CommandKind::kPing:
      return ExecutePing(invocation, out, err);
    case CommandKind::kPull:
      return ExecutePull(invocation, client, out, err);
    case CommandKind::kImages:
      return ExecuteImages(invocation, client, out, err);
    case CommandKind::kRemoveImages:
      return ExecuteRemoveImages(invocation, client, out, err);
    case CommandKind::kStats:
      return ExecuteStats(invocation, client, out, err);
    case CommandKind::kEvents:
      return ExecuteEvents(invocation, client, out, err);
    case CommandKind::kCp:
      return ExecuteCp(invocation, client, out, err);
    case CommandKind::kContext:
      // Needs no connection: Main runs it before making a client.
      return ExecuteContext(invocation.context_command, invocation.json, ProcessEnv, out, err);
  }
  return kExitCommandFailed;
}

int ExecuteFleet(const Invocation& invocation, client::Fleet& fleet, std::ostream& out,
                 std::ostream& err) {
  size_t failed = 0;
  auto report = [&](const std::string& host, const grpc::Status& status) {
    ++failed;
    fmt::print(err, "dockline: {}: {}\n", host, status.error_message());
  };
  const auto& hosts = fleet.hosts();
  if (invocation.kind == CommandKind::kVersion) {
    auto results = fleet.EngineInfo();
    nlohmann::json all = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows = {
        {"HOST", "ADDRESS", "ENGINE", "API", "OS/ARCH", "DOCKLINED"}};
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& [host, result] = results[i];
      if (!result.ok()) {
        report(host, result.status);
        continue;
      }
      const v1::GetEngineInfoResponse& info = result.value;
      nlohmann::json entry = nlohmann::json::parse(ToJson(info), nullptr, false);
      entry["host"] = host;
      all.push_back(std::move(entry));
      rows.push_back({host, hosts[i].address, info.engine_version(), info.api_version(),
                      info.os() + "/" + info.arch(), info.dockline_version()});
    }
    out << (invocation.json ? all.dump() + "\n" : FormatTable(rows));
  } else {
    auto results = fleet.List(invocation.all, invocation.filters, invocation.limit);
    const auto now = std::chrono::system_clock::now();
    nlohmann::json all = nlohmann::json::array();
    std::string table;
    for (const auto& [host, result] : results) {
      if (!result.ok()) {
        report(host, result.status);
        continue;
      }
      for (const v1::ContainerSummary& c : result.value.containers()) {
        if (invocation.json) {
          nlohmann::json entry = nlohmann::json::parse(ToJson(c), nullptr, false);
          entry["host"] = host;
          all.push_back(std::move(entry));
        } else if (invocation.quiet) {
          table += host + " " + (invocation.no_trunc ? c.id() : c.id().substr(0, 12)) + "\n";
        }
      }
    }
    if (invocation.json) {
      out << all.dump() << '\n';
    } else if (invocation.quiet) {
      out << table;
    } else {
      std::vector<std::pair<std::string, const v1::ListContainersResponse*>> answered;
      for (const auto& [host, result] : results) {
        if (result.ok()) {
          answered.emplace_back(host, &result.value);
        }
      }
      out << FormatFleetPsTable(answered, now, invocation.no_trunc);
    }
  }
  if (failed == hosts.size() || (invocation.strict && failed > 0)) {
    return kExitCommandFailed;
  }
  return 0;
}

Result<client::ClientOptions> MakeClientOptions(const Invocation& invocation) {
  client::ClientOptions options;
  options.default_timeout = invocation.timeout;
  options.token = invocation.token;
  if (invocation.keepalive_time) {
    options.keepalive_time =
        std::chrono::duration_cast<std::chrono::milliseconds>(*invocation.keepalive_time);
  }
  const bool tls_flags = invocation.tls || !invocation.tls_ca.empty() ||
                         !invocation.tls_cert.empty() || !invocation.tls_key.empty() ||
                         !invocation.tls_server_name.empty();
  if (invocation.context) {
    auto with_context = client::ContextClientOptions(*invocation.context, options);
    if (!with_context.ok()) {
      return Error<client::ClientOptions>(
          grpc::Status(with_context.status.error_code(),
                       fmt::format("context \"{}\": {}", invocation.context->name,
                                   with_context.status.error_message())));
    }
    options = std::move(with_context.value);
    if (invocation.token_from_flag) {
      options.token = invocation.token;
    }
    if (tls_flags) {
      options.tls.reset();  // the flags say how, whole
    }
  }
  if (!tls_flags) {
    return Ok(std::move(options));
  }
  // Caught here rather than by the library so that the message names the flag to add.
  if (invocation.tls_cert.empty() != invocation.tls_key.empty()) {
    return Error<client::ClientOptions>(InvalidArgument(
        invocation.tls_cert.empty() ? "--tls-key needs --tls-cert" : "--tls-cert needs --tls-key"));
  }
  client::TlsOptions& tls = options.tls.emplace();
  tls.server_name = invocation.tls_server_name;
  const std::pair<const char*, const std::string*> files[] = {
      {"--tls-ca", &invocation.tls_ca},
      {"--tls-cert", &invocation.tls_cert},
      {"--tls-key", &invocation.tls_key},
  };
  std::string* const contents[] = {&tls.root_ca_pem, &tls.cert_chain_pem, &tls.private_key_pem};
  for (size_t i = 0; i < std::size(files); ++i) {
    const auto& [flag, path] = files[i];
    if (path->empty()) {
      continue;
    }
    Result<std::string> pem = client::ReadPemFile(*path);
    if (!pem.ok()) {
      return Error<client::ClientOptions>(
          InvalidArgument(fmt::format("{}: {}", flag, pem.status.error_message())));
    }
    *contents[i] = std::move(pem.value);
  }
  return Ok(std::move(options));
}

int Main(const std::vector<std::string>& args, const EnvLookup& env, std::ostream& out,
         std::ostream& err) {
  Result<Invocation> invocation = ParseArgs(args, env);
  if (!invocation.ok()) {
    fmt::print(err, "dockline: {}\nSee 'dockline --help'.\n", invocation.status.error_message());
    return kExitDocklineError;
  }
  if (invocation.value.kind == CommandKind::kHelp) {
    out << invocation.value.help;
    return 0;
  }
  if (invocation.value.kind == CommandKind::kContext) {
    return ExecuteContext(invocation.value.context_command, invocation.value.json, env, out, err);
  }
  if (!invocation.value.fleet.empty()) {
    std::vector<client::FleetHost> hosts;
    for (const Invocation::Target& target : invocation.value.fleet) {
      Invocation one = invocation.value;
      one.address = target.address;
      one.context = target.context;
      Result<client::ClientOptions> options = MakeClientOptions(one);
      if (!options.ok()) {
        fmt::print(err, "dockline: {}: {}\n", target.name, options.status.error_message());
        return kExitDocklineError;
      }
      // Each host's deadline: one that does not answer must not hold the others' output.
      if (!options.value.default_timeout) {
        options.value.default_timeout = kFleetHostTimeout;
      }
      hosts.push_back({target.name, target.address, std::move(options.value)});
    }
    client::Fleet fleet(std::move(hosts));
    return ExecuteFleet(invocation.value, fleet, out, err);
  }
  Result<client::ClientOptions> options = MakeClientOptions(invocation.value);
  if (!options.ok()) {
    fmt::print(err, "dockline: {}\n", options.status.error_message());
    return kExitDocklineError;
  }
  Result<std::unique_ptr<client::Client>> client =
      client::Client::Open(invocation.value.address, std::move(options.value));
  if (!client.ok()) {
    fmt::print(err, "dockline: {}\n", client.status.error_message());
    return kExitDocklineError;
  }
  return Execute(invocation.value, *client.value, out, err);
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  return Main(args, ProcessEnv, std::cout, std::cerr);
}

}  // namespace dockline::cli
