#include "client/cli/events.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include <CLI/CLI.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "client/cli/cli.h"
#include "client/cli/format.h"
#include "client/cli/run.h"
#include "client/cli/values.h"
#include "client/quote.h"

namespace dockline::cli {
namespace {

// RFC 3339 in UTC with all nine fraction digits, as docker's rfc3339NanoFixed keeps them (it
// prints local time; UTC reads the same on every host).
std::string EventTime(const google::protobuf::Timestamp& time) {
  google::protobuf::Timestamp whole;
  whole.set_seconds(time.seconds());
  std::string text = google::protobuf::util::TimeUtil::ToString(whole);  // "...:00Z"
  text.pop_back();
  return fmt::format("{}.{:09d}Z", text, time.nanos());
}

// proto maps do not keep an order; docker sorts the attributes.
std::map<std::string, std::string> SortedAttributes(const v1::Event& event) {
  return {event.attributes().begin(), event.attributes().end()};
}

}  // namespace

CLI::App* AddEventsCommand(CLI::App& app, EventsFlags& flags) {
  CLI::App* command = app.add_subcommand(
      "events", "Get real time events from the server: events [--since T] [--until T] [-f k=v]");
  command->fallthrough();
  AddList(*command, "-f,--filter", flags.filters,
          "Filter: container, event, image, label, type, volume, network, daemon, plugin, "
          "node, service, secret, config, scope (repeatable)");
  command->add_option("--since", flags.since, "Show events since a time or duration (10m)");
  command->add_option("--until", flags.until, "Stream events until this time or duration");
  command->add_option("--format", flags.format, "json: one JSON object per line");
  return command;
}

grpc::Status FinishEventsArgs(const EventsFlags& flags, std::chrono::system_clock::time_point now,
                              EventsInvocation* events) {
  for (const std::string& filter : flags.filters) {
    auto parsed = ParseFilter(filter);
    if (!parsed.ok()) {
      return parsed.status;
    }
    events->options.filters.push_back(std::move(parsed.value));
  }
  if (grpc::Status st = ParseSinceUntil(flags.since, flags.until, now, &events->options.since,
                                        &events->options.until);
      !st.ok()) {
    return st;
  }
  if (!flags.format.empty() && flags.format != "json") {
    return client::InvalidArgument(
        fmt::format("--format: only \"json\" is supported, got {}", client::Quote(flags.format)));
  }
  events->format_json = flags.format == "json";
  return grpc::Status::OK;
}

std::string FormatEventLine(const v1::Event& event) {
  std::string line = fmt::format("{} {} {} {}", EventTime(event.time()), event.type(),
                                 event.action(), event.actor_id());
  std::string attributes;
  for (const auto& [key, value] : SortedAttributes(event)) {
    attributes += fmt::format("{}{}={}", attributes.empty() ? "" : ", ", key, value);
  }
  if (!attributes.empty()) {
    line += " (" + attributes + ")";
  }
  return line;
}

std::string FormatEventJson(const v1::Event& event) {
  const int64_t nanos = google::protobuf::util::TimeUtil::TimestampToNanoseconds(event.time());
  nlohmann::json object = {
      {"Type", event.type()},
      {"Action", event.action()},
      {"Actor", {{"ID", event.actor_id()}, {"Attributes", SortedAttributes(event)}}},
      {"scope", event.scope()},
      {"time", event.time().seconds()},
      {"timeNano", nanos}};
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int ExecuteEvents(const Invocation& invocation, client::Client& client, std::ostream& out,
                  std::ostream& err) {
  const EventsInvocation& events = invocation.events;
  grpc::Status st = client.WatchEvents(events.options, [&](const v1::Event& event) {
    if (invocation.json) {
      out << ToJson(event) << '\n';
    } else if (events.format_json) {
      out << FormatEventJson(event) << '\n';
    } else {
      out << FormatEventLine(event) << '\n';
    }
    out.flush();
    return out.good();
  });
  if (!st.ok()) {
    PrintError(err, st, invocation.address);
    return kExitCommandFailed;
  }
  return 0;
}

}  // namespace dockline::cli
