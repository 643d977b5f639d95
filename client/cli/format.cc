#include "client/cli/format.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <vector>

namespace dockline::cli {
namespace {

constexpr size_t kShortIdLength = 12;
constexpr size_t kCommandWidth = 20;
constexpr size_t kMinColumnWidth = 10;
constexpr size_t kColumnPadding = 3;

// Display width of UTF-8 text: one per code point, which is what tabwriter counts.
size_t Width(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// docker's Ellipsis: at most `width` code points, the last one "…" when cut.
std::string Ellipsis(std::string_view text, size_t width) {
  if (Width(text) <= width) {
    return std::string(text);
  }
  std::string out;
  size_t points = 0;
  for (char c : text) {
    const bool starts_point = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (starts_point && ++points > width - 1) {
      break;
    }
    out.push_back(c);
  }
  return out + "\u2026";
}

// Go's strconv.Quote for the common cases: docker quotes the COMMAND cell with it.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out.push_back(c);
    }
  }
  return out + "\"";
}

std::string_view ProtocolName(v1::Protocol protocol) {
  switch (protocol) {
    case v1::PROTOCOL_UDP:
      return "udp";
    case v1::PROTOCOL_SCTP:
      return "sctp";
    default:
      return "tcp";
  }
}

}  // namespace

std::string HumanDuration(std::chrono::nanoseconds duration) {
  using std::chrono::duration_cast;
  const auto seconds = duration_cast<std::chrono::seconds>(duration).count();
  if (seconds < 1) {
    return "Less than a second";
  }
  if (seconds == 1) {
    return "1 second";
  }
  if (seconds < 60) {
    return fmt::format("{} seconds", seconds);
  }
  const auto minutes = seconds / 60;
  if (minutes == 1) {
    return "About a minute";
  }
  if (minutes < 60) {
    return fmt::format("{} minutes", minutes);
  }
  // Go rounds to the nearest hour here (d.Round(time.Hour)).
  const auto hours = (seconds + 1800) / 3600;
  if (hours == 1) {
    return "About an hour";
  }
  if (hours < 48) {
    return fmt::format("{} hours", hours);
  }
  if (hours < 24 * 7 * 2) {
    return fmt::format("{} days", hours / 24);
  }
  if (hours < 24 * 30 * 2) {
    return fmt::format("{} weeks", hours / 24 / 7);
  }
  if (hours < 24 * 365 * 2) {
    return fmt::format("{} months", hours / 24 / 30);
  }
  return fmt::format("{} years", seconds / 3600 / 24 / 365);
}

std::string FormatPorts(const v1::ContainerSummary& container) {
  std::vector<std::string> cells;
  for (const v1::PortMapping& port : container.ports()) {
    const std::string target =
        fmt::format("{}/{}", port.container_port(), ProtocolName(port.protocol()));
    if (port.host_port() == 0) {
      cells.push_back(target);
      continue;
    }
    const bool ipv6 = port.host_ip().find(':') != std::string::npos;
    const std::string host =
        ipv6 ? fmt::format("[{}]:{}", port.host_ip(), port.host_port())
             : fmt::format("{}:{}", port.host_ip().empty() ? "0.0.0.0" : port.host_ip(),
                           port.host_port());
    cells.push_back(fmt::format("{}->{}", host, target));
  }
  return fmt::format("{}", fmt::join(cells, ", "));
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], std::max(kMinColumnWidth, Width(row[i]) + kColumnPadding));
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line.append(widths[i] - Width(row[i]), ' ');
      }
    }
    // tabwriter leaves no trailing blanks when the last cells are empty.
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

std::string CreatedAgo(const google::protobuf::Timestamp& created,
                       std::chrono::system_clock::time_point now) {
  const auto created_at = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(
          google::protobuf::util::TimeUtil::TimestampToNanoseconds(created))));
  return HumanDuration(now - created_at) + " ago";
}

namespace {

std::vector<std::string> PsRow(const v1::ContainerSummary& c,
                               std::chrono::system_clock::time_point now, bool no_trunc) {
  return {
      no_trunc ? c.id() : c.id().substr(0, kShortIdLength),
      c.image(),
      Quote(no_trunc ? c.command() : Ellipsis(c.command(), kCommandWidth)),
      c.has_created() ? CreatedAgo(c.created(), now) : "",
      c.status(),
      FormatPorts(c),
      fmt::format("{}", fmt::join(c.names(), ",")),
  };
}

const std::vector<std::string> kPsHeader = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
                                            "STATUS",       "PORTS", "NAMES"};

}  // namespace

std::string FormatPsTable(const v1::ListContainersResponse& list,
                          std::chrono::system_clock::time_point now, bool no_trunc) {
  std::vector<std::vector<std::string>> rows = {kPsHeader};
  for (const v1::ContainerSummary& c : list.containers()) {
    rows.push_back(PsRow(c, now, no_trunc));
  }
  return FormatTable(rows);
}

std::string FormatFleetPsTable(
    const std::vector<std::pair<std::string, const v1::ListContainersResponse*>>& hosts,
    std::chrono::system_clock::time_point now, bool no_trunc) {
  std::vector<std::vector<std::string>> rows = {kPsHeader};
  rows.front().insert(rows.front().begin(), "HOST");
  for (const auto& [host, list] : hosts) {
    for (const v1::ContainerSummary& c : list->containers()) {
      rows.push_back(PsRow(c, now, no_trunc));
      rows.back().insert(rows.back().begin(), host);
    }
  }
  return FormatTable(rows);
}

namespace {

// docker's units.CustomSize("%.4g%s", size, base, units).
template <size_t N>
std::string CustomSize(uint64_t bytes, double base, const char* const (&units)[N]) {
  double size = static_cast<double>(bytes);
  size_t unit = 0;
  while (size >= base && unit + 1 < N) {
    size /= base;
    ++unit;
  }
  return fmt::format("{:.4g}{}", size, units[unit]);
}

}  // namespace

std::string HumanSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  return CustomSize(bytes, 1000.0, kUnits);
}

std::string BytesSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  return CustomSize(bytes, 1024.0, kUnits);
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    return "{}";
  }
  return json;
}

std::string FormatInspectArray(const std::vector<v1::InspectContainerResponse>& replies) {
  // ordered_json keeps the daemon's key order (Id, Created, Path, ...), as docker prints it.
  using Json = nlohmann::ordered_json;
  Json array = Json::array();
  for (const v1::InspectContainerResponse& reply : replies) {
    Json document = Json::parse(reply.raw_json(), nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) {
      document = Json::parse(ToJson(reply.container()), nullptr, false);
    }
    array.push_back(std::move(document));
  }
  // The daemon's strings may hold invalid UTF-8 (env values, labels); replace, never throw.
  return array.dump(4, ' ', false, Json::error_handler_t::replace);
}

std::string FormatVersion(std::string_view client_version,
                          const v1::GetEngineInfoResponse* engine) {
  std::string out = fmt::format("Client:\n Version:           {}\n", client_version);
  if (engine != nullptr) {
    out += fmt::format(
        "\nServer:\n"
        " Dockline version:  {}\n"
        " Engine version:    {}\n"
        " API version:       {} (engine: {}, minimum {})\n"
        " OS/Arch:           {}/{}\n"
        " Kernel version:    {}\n",
        engine->dockline_version(), engine->engine_version(), engine->api_version(),
        engine->engine_api_version(), engine->engine_min_api_version(), engine->os(),
        engine->arch(), engine->kernel_version());
  }
  return out;
}

}  // namespace dockline::cli
