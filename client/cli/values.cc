#include "client/cli/values.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <tuple>

#include "client/quote.h"
#include "client/spec_values.h"

namespace dockline::cli {
namespace {

using client::Error;
using client::InvalidArgument;
using client::Ok;

// Prefixes a nested parser's message with what was being parsed.
grpc::Status Wrap(std::string_view what, std::string_view value, const grpc::Status& status) {
  return InvalidArgument(
      fmt::format("invalid {} {}: {}", what, client::Quote(value), status.error_message()));
}

grpc::Status Invalid(std::string_view what, std::string_view value, std::string_view reason) {
  return InvalidArgument(fmt::format("invalid {} {}: {}", what, client::Quote(value), reason));
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(separator, start);
    if (at == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

template <class Int>
bool ParseInt(std::string_view text, Int& value, int base = 10) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

bool IsIpAddress(const std::string& ip) {
  unsigned char buffer[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, ip.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, ip.c_str(), buffer) == 1;
}

// Go's strconv.ParseBool, which docker's --mount uses.
std::optional<bool> ParseBool(std::string_view text) {
  if (text == "1" || text == "t" || text == "T" || text == "true" || text == "TRUE" ||
      text == "True") {
    return true;
  }
  if (text == "0" || text == "f" || text == "F" || text == "false" || text == "FALSE" ||
      text == "False") {
    return false;
  }
  return std::nullopt;
}

struct PortRange {
  uint32_t first = 0;
  uint32_t last = 0;
  uint32_t size() const { return last - first + 1; }
};

Result<PortRange> ParsePortRange(std::string_view text, bool allow_zero) {
  const size_t dash = text.find('-');
  auto first = client::ParsePortNumber(text.substr(0, dash), allow_zero);
  if (!first.ok()) {
    return Error<PortRange>(first.status);
  }
  if (dash == std::string_view::npos) {
    return Ok(PortRange{first.value, first.value});
  }
  auto last = client::ParsePortNumber(text.substr(dash + 1), /*allow_zero=*/false);
  if (!last.ok() || first.value == 0 || last.value < first.value) {
    return Error<PortRange>(
        InvalidArgument(fmt::format("invalid port range {}", client::Quote(text))));
  }
  return Ok(PortRange{first.value, last.value});
}

// Go's encoding/csv for one record, as docker's --mount reads it: a field may be quoted, with
// "" standing for a quote inside.
Result<std::vector<std::string>> SplitCsv(std::string_view text) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (true) {
    std::string field;
    if (i < text.size() && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field.push_back(text[i++]);
      }
      if (!closed || (i < text.size() && text[i] != ',')) {
        return Error<std::vector<std::string>>(InvalidArgument("bad quoting"));
      }
    } else {
      const size_t comma = std::min(text.find(',', i), text.size());
      field.assign(text.substr(i, comma - i));
      if (field.find('"') != std::string::npos) {
        return Error<std::vector<std::string>>(InvalidArgument("bare \" in an unquoted field"));
      }
      i = comma;
    }
    fields.push_back(std::move(field));
    if (i >= text.size()) {
      return Ok(std::move(fields));
    }
    ++i;  // the comma
  }
}

void SetMapEntry(std::string_view entry, google::protobuf::Map<std::string, std::string>& map) {
  const size_t equals = entry.find('=');
  if (equals == std::string_view::npos) {
    map[std::string(entry)] = "";
  } else {
    map[std::string(entry.substr(0, equals))] = std::string(entry.substr(equals + 1));
  }
}

}  // namespace

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text) {
  using Nanos = std::chrono::nanoseconds;
  const auto invalid = [text](std::string_view reason) {
    return Error<Nanos>(Invalid("duration", text, reason));
  };
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  if (rest == "0") {
    return Ok(Nanos(0));
  }
  if (rest.empty()) {
    return invalid("want a number and a unit, e.g. 1m30s, 500ms, 2h");
  }
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t total = 0;
  while (!rest.empty()) {
    uint64_t whole = 0;
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) {
      if (whole > (kMax - (rest[digits] - '0')) / 10) {
        return invalid("out of range");
      }
      whole = whole * 10 + static_cast<uint64_t>(rest[digits] - '0');
      ++digits;
    }
    rest.remove_prefix(digits);
    // Integer arithmetic, so that "0.3s" is exactly 300ms; digits past 18 are below 1ns anyway.
    uint64_t fraction = 0;
    uint64_t fraction_scale = 1;
    size_t fraction_digits = 0;
    if (!rest.empty() && rest.front() == '.') {
      rest.remove_prefix(1);
      while (fraction_digits < rest.size() &&
             std::isdigit(static_cast<unsigned char>(rest[fraction_digits]))) {
        if (fraction_digits < 18) {
          fraction = fraction * 10 + static_cast<uint64_t>(rest[fraction_digits] - '0');
          fraction_scale *= 10;
        }
        ++fraction_digits;
      }
      rest.remove_prefix(fraction_digits);
    }
    if (digits == 0 && fraction_digits == 0) {
      return invalid("want a number and a unit, e.g. 1m30s, 500ms, 2h");
    }
    size_t unit_length = 0;
    while (unit_length < rest.size() && rest[unit_length] != '.' &&
           !std::isdigit(static_cast<unsigned char>(rest[unit_length]))) {
      ++unit_length;
    }
    const std::string_view unit = rest.substr(0, unit_length);
    rest.remove_prefix(unit_length);
    uint64_t scale = 0;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs") {
      scale = 1'000;
    } else if (unit == "ms") {
      scale = 1'000'000;
    } else if (unit == "s") {
      scale = 1'000'000'000;
    } else if (unit == "m") {
      scale = 60'000'000'000;
    } else if (unit == "h") {
      scale = 3'600'000'000'000;
    } else if (unit.empty()) {
      return invalid("missing unit (ns, us, ms, s, m or h)");
    } else {
      return invalid(
          fmt::format("unknown unit {} (want ns, us, ms, s, m or h)", client::Quote(unit)));
    }
    if (whole > kMax / scale) {
      return invalid("out of range");
    }
    const uint64_t value =
        whole * scale +
        static_cast<uint64_t>(static_cast<unsigned __int128>(fraction) * scale / fraction_scale);
    if (value > kMax - total) {
      return invalid("out of range");
    }
    total += value;
  }
  const auto signed_total = static_cast<int64_t>(total);
  return Ok(Nanos(negative ? -signed_total : signed_total));
}

grpc::Status ParseSinceUntil(const std::string& since, const std::string& until,
                             std::chrono::system_clock::time_point now,
                             std::optional<std::chrono::system_clock::time_point>* since_out,
                             std::optional<std::chrono::system_clock::time_point>* until_out) {
  for (auto [flag, text, target] : {std::make_tuple("--since", &since, since_out),
                                    std::make_tuple("--until", &until, until_out)}) {
    if (!text->empty()) {
      auto parsed = ParseTimeArg(*text, now);
      if (!parsed.ok()) {
        return InvalidArgument(fmt::format("{}: {}", flag, parsed.status.error_message()));
      }
      *target = parsed.value;
    }
  }
  return grpc::Status::OK;
}

client::Result<std::chrono::system_clock::time_point> ParseTimeArg(
    std::string_view text, std::chrono::system_clock::time_point now) {
  using TimePoint = std::chrono::system_clock::time_point;
  if (text.empty()) {
    return Error<TimePoint>(InvalidArgument("empty time"));
  }
  const auto out_of_range = [text] {
    return Error<TimePoint>(InvalidArgument(
        fmt::format("invalid time {}: out of range (years 1678 to 2262)", client::Quote(text))));
  };
  // system_clock counts nanoseconds in an int64: about 292 years either side of 1970.
  const auto to_time_point = [&](int64_t seconds, int64_t nanos) -> client::Result<TimePoint> {
    constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
    if (seconds > kMaxSeconds || seconds < -kMaxSeconds) {
      return out_of_range();
    }
    return Ok(TimePoint(std::chrono::duration_cast<TimePoint::duration>(
        std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos))));
  };
  // Unix seconds, optionally with a fraction.
  if (text.find_first_not_of("0123456789.") == std::string_view::npos &&
      std::count(text.begin(), text.end(), '.') <= 1 && text != ".") {
    const std::string_view whole = text.substr(0, text.find('.'));
    int64_t seconds = 0;
    if (!whole.empty()) {
      const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), seconds);
      if (ec != std::errc() || end != whole.data() + whole.size()) {
        return out_of_range();
      }
    }
    int64_t nanos = 0;
    if (whole.size() < text.size()) {
      std::string frac(text.substr(whole.size() + 1, 9));
      frac.resize(9, '0');
      std::from_chars(frac.data(), frac.data() + frac.size(), nanos);
    }
    return to_time_point(seconds, nanos);
  }
  // A duration back from now.
  if (auto duration = ParseGoDuration(text); duration.ok()) {
    return Ok(now - std::chrono::duration_cast<TimePoint::duration>(duration.value));
  }
  // RFC 3339; a bare date means its midnight UTC, as docker reads it.
  std::string rfc(text);
  if (rfc.size() == 10) {
    rfc += "T00:00:00Z";
  }
  google::protobuf::Timestamp ts;
  if (google::protobuf::util::TimeUtil::FromString(rfc, &ts)) {
    return to_time_point(ts.seconds(), ts.nanos());
  }
  return Error<TimePoint>(InvalidArgument(fmt::format(
      "invalid time {}: want RFC 3339 (2026-11-28T06:00:00Z), Unix seconds or a duration "
      "such as 10m",
      client::Quote(std::string(text)))));
}

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  const bool bare =
      !text.empty() && text.find_first_not_of("0123456789.") == std::string_view::npos;
  if (bare) {
    if (auto seconds = ParseGoDuration(std::string(text) + "s"); seconds.ok()) {
      return seconds;
    }
  }
  return ParseGoDuration(text);
}

Result<std::chrono::nanoseconds> ParseSeconds(std::string_view text) {
  int64_t seconds = 0;
  if (!ParseInt(text, seconds) || seconds < 0 || seconds > 1'000'000'000) {
    return Error<std::chrono::nanoseconds>(
        Invalid("timeout", text, "want a whole number of seconds, 0 or more"));
  }
  return Ok(std::chrono::nanoseconds(std::chrono::seconds(seconds)));
}

Result<std::vector<v1::PortBinding>> ParsePublish(std::string_view spec) {
  using Bindings = std::vector<v1::PortBinding>;
  static constexpr std::string_view kWhat = "publish spec";
  if (spec.empty()) {
    return Error<Bindings>(Invalid(kWhat, spec, "empty"));
  }
  // Docker's splitParts: the last part is the container port, the one before it the host port,
  // and anything before that (colons and all) the address.
  const std::vector<std::string_view> parts = Split(spec, ':');
  const size_t n = parts.size();
  std::string_view container = parts[n - 1];
  std::string_view host_port;
  std::string host_ip;
  if (n >= 2) {
    host_port = parts[n - 2];
  }
  if (n >= 3) {
    const size_t ip_end = spec.size() - container.size() - host_port.size() - 2;
    host_ip = std::string(spec.substr(0, ip_end));
    if (host_ip.starts_with('[')) {
      if (!host_ip.ends_with(']')) {
        return Error<Bindings>(
            Invalid(kWhat, spec, fmt::format("invalid IP address {}", client::Quote(host_ip))));
      }
      host_ip = host_ip.substr(1, host_ip.size() - 2);
    }
    if (host_ip.empty() || !IsIpAddress(host_ip)) {
      return Error<Bindings>(
          Invalid(kWhat, spec, fmt::format("invalid IP address {}", client::Quote(host_ip))));
    }
  }
  std::string_view protocol_text;
  if (const size_t slash = container.find('/'); slash != std::string_view::npos) {
    protocol_text = container.substr(slash + 1);
    container = container.substr(0, slash);
    if (protocol_text.empty()) {
      return Error<Bindings>(Invalid(kWhat, spec, "missing protocol after \"/\""));
    }
  }
  auto protocol = client::ParseProtocol(protocol_text);
  if (!protocol.ok()) {
    return Error<Bindings>(Wrap(kWhat, spec, protocol.status));
  }
  auto container_range = ParsePortRange(container, /*allow_zero=*/false);
  if (!container_range.ok()) {
    return Error<Bindings>(Wrap(kWhat, spec, container_range.status));
  }
  PortRange host_range;
  if (!host_port.empty()) {
    auto parsed = ParsePortRange(host_port, /*allow_zero=*/true);
    if (!parsed.ok()) {
      return Error<Bindings>(Wrap(kWhat, spec, parsed.status));
    }
    host_range = parsed.value;
    if (host_range.size() != container_range.value.size()) {
      // Docker lets one container port take "any free port of a host range"; PortBinding holds a
      // single host port, so only equal ranges can be expressed.
      return Error<Bindings>(
          Invalid(kWhat, spec, "host and container port ranges must have the same length"));
    }
  }
  Bindings bindings;
  for (uint32_t i = 0; i < container_range.value.size(); ++i) {
    v1::PortBinding& binding = bindings.emplace_back();
    binding.set_container_port(container_range.value.first + i);
    binding.set_protocol(protocol.value);
    binding.set_host_ip(host_ip);
    binding.set_host_port(host_port.empty() ? 0 : host_range.first + i);
  }
  return Ok(std::move(bindings));
}

grpc::Status ParseVolume(std::string_view volume, v1::ContainerSpec& spec) {
  static constexpr std::string_view kWhat = "volume spec";
  const std::vector<std::string_view> parts = Split(volume, ':');
  if (std::any_of(parts.begin(), parts.end(), [](std::string_view p) { return p.empty(); })) {
    return Invalid(kWhat, volume, "empty part; want [SOURCE:]TARGET[:MODE]");
  }
  grpc::Status status;
  switch (parts.size()) {
    case 1:
      status = client::AddVolume("", parts[0], "", spec);
      break;
    case 2:
      // Like docker: "/data:ro" is an anonymous volume with a mode, "src:/data" a bind.
      if (!parts[1].starts_with('/') && client::ParseVolumeMode(parts[1]).ok()) {
        status = client::AddVolume("", parts[0], parts[1], spec);
      } else {
        status = client::AddVolume(parts[0], parts[1], "", spec);
      }
      break;
    case 3:
      status = client::AddVolume(parts[0], parts[1], parts[2], spec);
      break;
    default:
      return Invalid(kWhat, volume, "too many colons; want [SOURCE:]TARGET[:MODE]");
  }
  return status.ok() ? status : Wrap(kWhat, volume, status);
}

Result<v1::Mount> ParseMount(std::string_view mount_spec) {
  static constexpr std::string_view kWhat = "mount spec";
  const auto invalid = [mount_spec](std::string_view reason) {
    return Error<v1::Mount>(Invalid(kWhat, mount_spec, reason));
  };
  auto fields = SplitCsv(mount_spec);
  if (!fields.ok()) {
    return Error<v1::Mount>(Wrap(kWhat, mount_spec, fields.status));
  }
  v1::Mount mount;
  mount.set_type(v1::MOUNT_TYPE_VOLUME);
  bool bind_options = false;
  bool volume_options = false;
  bool tmpfs_options = false;
  for (const std::string& field : fields.value) {
    const size_t equals = field.find('=');
    std::string key = field.substr(0, equals);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool has_value = equals != std::string::npos;
    const std::string value = has_value ? field.substr(equals + 1) : "";
    // A few keys are flags that may stand alone ("readonly" = "readonly=true").
    const auto flag = [&](bool& out) -> bool {
      if (!has_value) {
        out = true;
        return true;
      }
      std::optional<bool> parsed = ParseBool(value);
      if (!parsed) {
        return false;
      }
      out = *parsed;
      return true;
    };
    if (key == "readonly" || key == "ro") {
      bool read_only = false;
      if (!flag(read_only)) {
        return invalid(fmt::format("invalid boolean {} for {}", client::Quote(value), key));
      }
      mount.set_read_only(read_only);
      continue;
    }
    if (key == "volume-nocopy") {
      bool no_copy = false;
      if (!flag(no_copy)) {
        return invalid(fmt::format("invalid boolean {} for {}", client::Quote(value), key));
      }
      mount.set_no_copy(no_copy);
      volume_options = true;
      continue;
    }
    if (!has_value) {
      return invalid(fmt::format("field {} must be a key=value pair", client::Quote(field)));
    }
    if (key == "type") {
      if (value == "bind") {
        mount.set_type(v1::MOUNT_TYPE_BIND);
      } else if (value == "volume") {
        mount.set_type(v1::MOUNT_TYPE_VOLUME);
      } else if (value == "tmpfs") {
        mount.set_type(v1::MOUNT_TYPE_TMPFS);
      } else {
        return invalid(fmt::format("unsupported mount type {} (want bind, volume or tmpfs)",
                                   client::Quote(value)));
      }
    } else if (key == "source" || key == "src") {
      mount.set_source(value);
    } else if (key == "target" || key == "dst" || key == "destination") {
      mount.set_target(value);
    } else if (key == "consistency") {
      // Docker Desktop's hint; dockerd on Linux ignores it.
    } else if (key == "bind-propagation") {
      if (!client::IsPropagation(value)) {
        return invalid(fmt::format("invalid bind-propagation {}", client::Quote(value)));
      }
      mount.set_propagation(value);
      bind_options = true;
    } else if (key == "volume-label") {
      SetMapEntry(value, *mount.mutable_volume_labels());
      volume_options = true;
    } else if (key == "volume-driver") {
      mount.set_volume_driver(value);
      volume_options = true;
    } else if (key == "volume-opt") {
      SetMapEntry(value, *mount.mutable_volume_driver_options());
      volume_options = true;
    } else if (key == "tmpfs-size") {
      auto bytes = ParseRamBytes(value);
      if (!bytes.ok()) {
        return Error<v1::Mount>(Wrap(kWhat, mount_spec, bytes.status));
      }
      mount.set_tmpfs_size_bytes(bytes.value);
      tmpfs_options = true;
    } else if (key == "tmpfs-mode") {
      uint32_t mode = 0;
      if (!ParseInt(value, mode, 8) || mode > 07777) {
        return invalid(
            fmt::format("invalid tmpfs-mode {}: want octal, e.g. 1777", client::Quote(value)));
      }
      mount.set_tmpfs_mode(mode);
      tmpfs_options = true;
    } else {
      return invalid(fmt::format("unexpected key {}", client::Quote(key)));
    }
  }
  if (mount.target().empty()) {
    return invalid("target is required");
  }
  const std::string_view type = mount.type() == v1::MOUNT_TYPE_BIND     ? "bind"
                                : mount.type() == v1::MOUNT_TYPE_VOLUME ? "volume"
                                                                        : "tmpfs";
  if (bind_options && mount.type() != v1::MOUNT_TYPE_BIND) {
    return invalid(
        fmt::format("cannot mix bind-* options with mount type {}", client::Quote(type)));
  }
  if (volume_options && mount.type() != v1::MOUNT_TYPE_VOLUME) {
    return invalid(
        fmt::format("cannot mix volume-* options with mount type {}", client::Quote(type)));
  }
  if (tmpfs_options && mount.type() != v1::MOUNT_TYPE_TMPFS) {
    return invalid(
        fmt::format("cannot mix tmpfs-* options with mount type {}", client::Quote(type)));
  }
  if (mount.type() == v1::MOUNT_TYPE_BIND && mount.source().empty()) {
    return invalid("a bind mount needs a source");
  }
  if (mount.type() == v1::MOUNT_TYPE_TMPFS && !mount.source().empty()) {
    return invalid("a tmpfs mount takes no source");
  }
  return Ok(std::move(mount));
}

Result<std::pair<std::string, std::string>> ParseTmpfs(std::string_view tmpfs) {
  const size_t colon = tmpfs.find(':');
  std::string target(tmpfs.substr(0, colon));
  std::string options(colon == std::string_view::npos ? "" : tmpfs.substr(colon + 1));
  if (!target.starts_with('/')) {
    return Error<std::pair<std::string, std::string>>(
        Invalid("tmpfs spec", tmpfs, "want an absolute path, then optionally :OPTIONS"));
  }
  return Ok(std::pair(std::move(target), std::move(options)));
}

Result<v1::RestartPolicy> ParseRestart(std::string_view restart) {
  const size_t colon = restart.find(':');
  const std::string_view name = restart.substr(0, colon);
  int count = 0;
  if (colon != std::string_view::npos && !ParseInt(restart.substr(colon + 1), count)) {
    return Error<v1::RestartPolicy>(
        Invalid("restart policy", restart, "the maximum retry count must be an integer"));
  }
  auto policy = client::MakeRestartPolicy(name, count);
  if (!policy.ok()) {
    return Error<v1::RestartPolicy>(Wrap("restart policy", restart, policy.status));
  }
  return policy;
}

Result<int64_t> ParseCpus(std::string_view cpus) {
  // Exact decimal arithmetic, as docker's big.Rat does: 0.1 CPU is exactly 100000000.
  const size_t dot = cpus.find('.');
  const std::string_view whole = cpus.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? "" : cpus.substr(dot + 1);
  const auto all_digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  int64_t units = 0;
  if ((whole.empty() && fraction.empty()) || !all_digits(whole) || !all_digits(fraction) ||
      (!whole.empty() && !ParseInt(whole, units)) || units > 1'000'000) {
    return Error<int64_t>(Invalid("cpus", cpus, "want a non-negative decimal number, e.g. 0.5"));
  }
  if (fraction.size() > 9) {
    return Error<int64_t>(Invalid("cpus", cpus, "too precise: at most 9 decimal places"));
  }
  int64_t nanos = 0;
  if (!fraction.empty()) {
    ParseInt(fraction, nanos);
    for (size_t i = fraction.size(); i < 9; ++i) {
      nanos *= 10;
    }
  }
  return Ok(units * 1'000'000'000 + nanos);
}

Result<int64_t> ParseRamBytes(std::string_view size) {
  // go-units: ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$ with binary multipliers.
  const auto invalid = [size]() {
    return Error<int64_t>(Invalid("size", size, "want a number with an optional unit, e.g. 64m"));
  };
  size_t i = 0;
  while (i < size.size() && (std::isdigit(static_cast<unsigned char>(size[i])) || size[i] == '.')) {
    ++i;
  }
  const std::string number(size.substr(0, i));
  std::string_view suffix = size.substr(i);
  if (number.empty() || !std::isdigit(static_cast<unsigned char>(number.front())) ||
      !std::isdigit(static_cast<unsigned char>(number.back())) ||
      std::count(number.begin(), number.end(), '.') > 1) {
    return invalid();
  }
  if (suffix.starts_with(' ')) {
    suffix.remove_prefix(1);
  }
  double multiplier = 1;
  if (!suffix.empty()) {
    switch (std::tolower(static_cast<unsigned char>(suffix.front()))) {
      case 'k':
        multiplier = 1024.0;
        break;
      case 'm':
        multiplier = 1024.0 * 1024;
        break;
      case 'g':
        multiplier = 1024.0 * 1024 * 1024;
        break;
      case 't':
        multiplier = 1024.0 * 1024 * 1024 * 1024;
        break;
      case 'p':
        multiplier = 1024.0 * 1024 * 1024 * 1024 * 1024;
        break;
      default:
        break;
    }
    if (multiplier != 1) {
      suffix.remove_prefix(1);
    }
  }
  if (!suffix.empty() && (suffix.front() == 'i' || suffix.front() == 'I')) {
    suffix.remove_prefix(1);
  }
  if (!suffix.empty() && (suffix.front() == 'b' || suffix.front() == 'B')) {
    suffix.remove_prefix(1);
  }
  if (!suffix.empty()) {
    return invalid();
  }
  const double bytes = std::strtod(number.c_str(), nullptr) * multiplier;
  if (!(bytes < 9.2e18)) {
    return invalid();
  }
  return Ok(static_cast<int64_t>(bytes));
}

Result<std::string> ParseEnv(std::string_view entry, const EnvLookup& env) {
  const size_t equals = entry.find('=');
  const std::string name(entry.substr(0, equals));
  if (name.empty()) {
    return Error<std::string>(Invalid("environment variable", entry, "the name is empty"));
  }
  if (equals != std::string_view::npos) {
    return Ok(std::string(entry));
  }
  if (name.find_first_of(" \t") != std::string::npos) {
    return Error<std::string>(Invalid("environment variable", entry, "the name has whitespace"));
  }
  if (std::optional<std::string> value = env ? env(name) : std::nullopt) {
    return Ok(fmt::format("{}={}", name, *value));
  }
  return Ok(name);
}

Result<std::pair<std::string, std::string>> ParseLabel(std::string_view label) {
  const size_t equals = label.find('=');
  std::string key(label.substr(0, equals));
  if (key.empty()) {
    return Error<std::pair<std::string, std::string>>(Invalid("label", label, "the key is empty"));
  }
  std::string value(equals == std::string_view::npos ? "" : label.substr(equals + 1));
  return Ok(std::pair(std::move(key), std::move(value)));
}

Result<std::pair<std::string, std::string>> ParseFilter(std::string_view filter) {
  const size_t equals = filter.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return Error<std::pair<std::string, std::string>>(Invalid("filter", filter, "want key=value"));
  }
  return Ok(
      std::pair(std::string(filter.substr(0, equals)), std::string(filter.substr(equals + 1))));
}

Result<v1::WaitCondition> ParseWaitCondition(std::string_view condition) {
  if (condition.empty() || condition == "not-running") {
    return Ok(v1::WAIT_CONDITION_NOT_RUNNING);
  }
  if (condition == "next-exit") {
    return Ok(v1::WAIT_CONDITION_NEXT_EXIT);
  }
  if (condition == "removed") {
    return Ok(v1::WAIT_CONDITION_REMOVED);
  }
  return Error<v1::WaitCondition>(
      Invalid("wait condition", condition, "want not-running, next-exit or removed"));
}

}  // namespace dockline::cli
