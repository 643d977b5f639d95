#pragma once

// `dockline events`: the daemon's events as `docker events` prints them.

#include <chrono>
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

// The flags as typed, read by FinishEventsArgs.
struct EventsFlags {
  std::vector<std::string> filters;
  std::string since;
  std::string until;
  std::string format;
};

// `dockline events` after parsing.
struct EventsInvocation {
  client::EventsOptions options;
  bool format_json = false;  // --format json: docker's event objects, one a line
};

// Adds `events [--since T] [--until T] [-f k=v]... [--format json]`.
CLI::App* AddEventsCommand(CLI::App& app, EventsFlags& flags);
// Filters as docker's k=v, --since/--until as RFC 3339, Unix seconds or a duration back from
// `now`, --format only "json" (docker's Go templates are not read).
grpc::Status FinishEventsArgs(const EventsFlags& flags, std::chrono::system_clock::time_point now,
                              EventsInvocation* events);

// docker events' line: "2026-12-03T11:45:00.123456789Z container start <id> (image=busybox,
// name=x)", the time in UTC, the attributes sorted.
std::string FormatEventLine(const v1::Event& event);
// The daemon's own event object (Type, Action, Actor{ID, Attributes}, scope, time, timeNano),
// what `docker events --format json` and docker-py print.
std::string FormatEventJson(const v1::Event& event);

// Each event as it comes until --until passes (exit 0), the user stops it or the call fails.
// --json: the typed event as proto JSON, a line each.
int ExecuteEvents(const Invocation& invocation, client::Client& client, std::ostream& out,
                  std::ostream& err);

}  // namespace dockline::cli
