#include "server/codec/spec_codec.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/api_version.h"
#include "server/codec/field_error.h"

namespace dockline::server {
namespace {

using nlohmann::json;

constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kNanosPerMilli = 1'000'000;

// Quotes a client-supplied value for an error message; control bytes are escaped so that a
// message never carries raw terminal sequences, and long values are cut.
std::string Quote(std::string_view value) {
  constexpr size_t kMaxQuoted = 200;
  std::string out = "\"";
  for (size_t i = 0; i < value.size() && i < kMaxQuoted; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out.append(hex);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (value.size() > kMaxQuoted) {
    out.append("...");
  }
  out.push_back('"');
  return out;
}

std::string At(std::string_view base, int index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

std::string Field(std::string_view base, std::string_view name) {
  return std::string(base) + "." + std::string(name);
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Parses a non-empty run of decimal digits that fits in [0, max].
bool ParseDecimal(std::string_view s, int64_t max, int64_t* out) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), IsDigit)) {
    return false;
  }
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || value > max) {
    return false;
  }
  *out = value;
  return true;
}

template <typename Map>
std::vector<std::string> SortedKeys(const Map& map) {
  std::vector<std::string> keys;
  keys.reserve(map.size());
  for (const auto& [key, value] : map) {
    keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

template <typename Map>
json StringMap(const Map& map) {
  json out = json::object();
  for (const auto& [key, value] : map) {
    out[key] = value;
  }
  return out;
}

json StringArray(const google::protobuf::RepeatedPtrField<std::string>& values) {
  json out = json::array();
  for (const std::string& value : values) {
    out.push_back(value);
  }
  return out;
}

// Converts a proto Duration to nanoseconds; false when it is malformed or overflows int64.
bool DurationToNanos(const google::protobuf::Duration& d, int64_t* out) {
  int64_t seconds = d.seconds();
  int64_t nanos = d.nanos();
  if (nanos <= -kNanosPerSecond || nanos >= kNanosPerSecond) {
    return false;
  }
  if ((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    return false;
  }
  int64_t scaled = 0;
  if (__builtin_mul_overflow(seconds, kNanosPerSecond, &scaled) ||
      __builtin_add_overflow(scaled, nanos, out)) {
    return false;
  }
  return true;
}

bool ApiAtLeast(std::string_view version, const char* wanted) {
  return engine::CompareApiVersions(std::string(version), wanted) >= 0;
}

bool IsAbsolute(std::string_view path) { return !path.empty() && path.front() == '/'; }

bool ValidPropagation(std::string_view p) {
  static constexpr std::array<std::string_view, 6> kModes = {"private", "rprivate", "shared",
                                                             "rshared", "slave",    "rslave"};
  return std::find(kModes.begin(), kModes.end(), p) != kModes.end();
}

grpc::Status ValidatePropagation(std::string_view path, std::string_view propagation) {
  if (!propagation.empty() && !ValidPropagation(propagation)) {
    return InvalidField(path, "must be one of private, rprivate, shared, rshared, slave, rslave, got " +
                             Quote(propagation));
  }
  return grpc::Status::OK;
}

template <typename Map>
grpc::Status ValidateMapKeys(std::string_view path, const Map& map) {
  for (const auto& [key, value] : map) {
    if (key.empty()) {
      return InvalidField(path, "keys must not be empty");
    }
  }
  return grpc::Status::OK;
}

grpc::Status ValidatePorts(const v1::ContainerSpec& spec) {
  for (int i = 0; i < spec.ports_size(); ++i) {
    const v1::PortBinding& port = spec.ports(i);
    std::string path = At("spec.ports", i);
    if (port.container_port() == 0 || port.container_port() > 65535) {
      return InvalidField(Field(path, "container_port"),
                     "must be 1-65535, got " + std::to_string(port.container_port()));
    }
    if (!v1::Protocol_IsValid(port.protocol())) {
      return InvalidField(Field(path, "protocol"),
                     "unknown value " + std::to_string(static_cast<int>(port.protocol())));
    }
    if (port.host_port() > 65535) {
      return InvalidField(Field(path, "host_port"), "must be 0-65535 (0: the daemon picks), got " +
                                                   std::to_string(port.host_port()));
    }
    if (HasControl(port.host_ip())) {
      return InvalidField(Field(path, "host_ip"), "not an IP address: " + Quote(port.host_ip()));
    }
  }
  return grpc::Status::OK;
}

grpc::Status ValidateVolumes(const v1::ContainerSpec& spec) {
  for (int i = 0; i < spec.volumes_size(); ++i) {
    const v1::VolumeBind& volume = spec.volumes(i);
    std::string path = At("spec.volumes", i);
    if (volume.source().empty()) {
      return InvalidField(Field(path, "source"), "must not be empty (a host path or a volume name)");
    }
    // Binds are "src:dst:mode" strings: a ':' inside a part would shift the others.
    if (volume.source().find(':') != std::string::npos || HasControl(volume.source())) {
      return InvalidField(Field(path, "source"),
                     "must not contain ':' or control characters, got " + Quote(volume.source()));
    }
    if (volume.target().empty()) {
      return InvalidField(Field(path, "target"), "must not be empty");
    }
    if (!IsAbsolute(volume.target())) {
      return InvalidField(Field(path, "target"),
                     "must be an absolute path, got " + Quote(volume.target()));
    }
    if (volume.target().find(':') != std::string::npos || HasControl(volume.target())) {
      return InvalidField(Field(path, "target"),
                     "must not contain ':' or control characters, got " + Quote(volume.target()));
    }
    if (grpc::Status s = ValidatePropagation(Field(path, "propagation"), volume.propagation());
        !s.ok()) {
      return s;
    }
  }
  return grpc::Status::OK;
}

grpc::Status ValidateMounts(const v1::ContainerSpec& spec) {
  for (int i = 0; i < spec.mounts_size(); ++i) {
    const v1::Mount& mount = spec.mounts(i);
    std::string path = At("spec.mounts", i);
    v1::MountType type = mount.type();
    if (type == v1::MOUNT_TYPE_UNSPECIFIED) {
      return InvalidField(Field(path, "type"), "must be set: bind, volume or tmpfs");
    }
    if (!v1::MountType_IsValid(type)) {
      return InvalidField(Field(path, "type"),
                     "unknown value " + std::to_string(static_cast<int>(type)));
    }
    std::string type_name = MountTypeName(type);
    if (mount.target().empty()) {
      return InvalidField(Field(path, "target"), "must not be empty");
    }
    if (!IsAbsolute(mount.target())) {
      return InvalidField(Field(path, "target"),
                     "must be an absolute path, got " + Quote(mount.target()));
    }
    if (type == v1::MOUNT_TYPE_BIND) {
      if (mount.source().empty()) {
        return InvalidField(Field(path, "source"), "a bind mount needs a host path");
      }
      if (!IsAbsolute(mount.source())) {
        return InvalidField(Field(path, "source"),
                       "a bind mount needs an absolute host path, got " + Quote(mount.source()));
      }
    }
    if (type == v1::MOUNT_TYPE_TMPFS && !mount.source().empty()) {
      return InvalidField(Field(path, "source"), "must be empty for a tmpfs mount");
    }
    auto only_for = [&](std::string_view field, std::string_view wanted) {
      return InvalidField(Field(path, field), "applies to " + std::string(wanted) +
                                             " mounts only, not to a " + type_name + " mount");
    };
    if (type != v1::MOUNT_TYPE_BIND && !mount.propagation().empty()) {
      return only_for("propagation", "bind");
    }
    if (type != v1::MOUNT_TYPE_VOLUME) {
      if (mount.no_copy()) {
        return only_for("no_copy", "volume");
      }
      if (!mount.volume_labels().empty()) {
        return only_for("volume_labels", "volume");
      }
      if (!mount.volume_driver().empty()) {
        return only_for("volume_driver", "volume");
      }
      if (!mount.volume_driver_options().empty()) {
        return only_for("volume_driver_options", "volume");
      }
    }
    if (type != v1::MOUNT_TYPE_TMPFS) {
      if (mount.tmpfs_size_bytes() != 0) {
        return only_for("tmpfs_size_bytes", "tmpfs");
      }
      if (mount.tmpfs_mode() != 0) {
        return only_for("tmpfs_mode", "tmpfs");
      }
    }
    if (grpc::Status s = ValidatePropagation(Field(path, "propagation"), mount.propagation());
        !s.ok()) {
      return s;
    }
    if (grpc::Status s = ValidateMapKeys(Field(path, "volume_labels"), mount.volume_labels());
        !s.ok()) {
      return s;
    }
    if (grpc::Status s =
            ValidateMapKeys(Field(path, "volume_driver_options"), mount.volume_driver_options());
        !s.ok()) {
      return s;
    }
    if (mount.tmpfs_size_bytes() < 0) {
      return InvalidField(Field(path, "tmpfs_size_bytes"),
                     "must not be negative, got " + std::to_string(mount.tmpfs_size_bytes()));
    }
    if (mount.tmpfs_mode() > 07777) {
      return InvalidField(Field(path, "tmpfs_mode"),
                     "must be a permission mode up to 07777 (4095), got " +
                         std::to_string(mount.tmpfs_mode()));
    }
  }
  return grpc::Status::OK;
}

grpc::Status ValidateNetwork(std::string_view network) {
  if (HasControl(network)) {
    return InvalidField("spec.network", "must not contain control characters");
  }
  if (network == "container:") {
    return InvalidField("spec.network", "\"container:\" needs a container id or name after it");
  }
  return grpc::Status::OK;
}

bool IsBuiltinNetworkMode(std::string_view network) {
  return network == "none" || network == "host" || network == "bridge" || network == "default" ||
         network.starts_with("container:");
}

grpc::Status ValidateRestart(const v1::ContainerSpec& spec, bool auto_remove) {
  if (!spec.has_restart_policy()) {
    return grpc::Status::OK;
  }
  const v1::RestartPolicy& policy = spec.restart_policy();
  if (!v1::RestartPolicyName_IsValid(policy.name())) {
    return InvalidField("spec.restart_policy.name",
                   "unknown value " + std::to_string(static_cast<int>(policy.name())));
  }
  if (policy.maximum_retry_count() < 0) {
    return InvalidField("spec.restart_policy.maximum_retry_count",
                   "must not be negative, got " + std::to_string(policy.maximum_retry_count()));
  }
  if (policy.maximum_retry_count() > 0 && policy.name() != v1::RESTART_POLICY_NAME_ON_FAILURE) {
    return InvalidField("spec.restart_policy.maximum_retry_count",
                   "applies to the on-failure policy only, not to \"" +
                       std::string(RestartPolicyJsonName(policy.name())) + "\"");
  }
  bool restarts = policy.name() != v1::RESTART_POLICY_NAME_UNSPECIFIED &&
                  policy.name() != v1::RESTART_POLICY_NAME_NO;
  if (auto_remove && restarts) {
    return InvalidField("spec.auto_remove",
                   "cannot be combined with restart_policy \"" +
                       std::string(RestartPolicyJsonName(policy.name())) +
                       "\" (a container cannot be both removed and restarted on exit)");
  }
  return grpc::Status::OK;
}

// Healthcheck durations: 0 takes the daemon's default, anything else must be at least 1ms
// (the daemon's own rule; checking here gives a field path instead of a 400 text).
grpc::Status HealthDuration(std::string_view name, bool present,
                            const google::protobuf::Duration& d, int64_t* nanos) {
  *nanos = 0;
  if (!present) {
    return grpc::Status::OK;
  }
  std::string path = Field("spec.healthcheck", name);
  if (!DurationToNanos(d, nanos)) {
    return InvalidField(path, "not a valid duration or too large");
  }
  if (*nanos < 0) {
    return InvalidField(path, "must not be negative");
  }
  if (*nanos != 0 && *nanos < kNanosPerMilli) {
    return InvalidField(path, "must be at least 1ms (or zero for the daemon's default), got " +
                             std::to_string(*nanos) + "ns");
  }
  return grpc::Status::OK;
}

grpc::Status ValidateHealthTest(const google::protobuf::RepeatedPtrField<std::string>& test) {
  if (test.empty()) {
    return grpc::Status::OK;
  }
  const std::string& kind = test[0];
  if (kind == "NONE") {
    if (test.size() > 1) {
      return InvalidField("spec.healthcheck.test", "\"NONE\" takes nothing after it");
    }
    return grpc::Status::OK;
  }
  if (kind != "CMD" && kind != "CMD-SHELL") {
    return InvalidField("spec.healthcheck.test[0]",
                   "must be \"CMD\", \"CMD-SHELL\" or \"NONE\", got " + Quote(kind));
  }
  // dockerd 20.10 accepts ["CMD"] at create and then panics (and exits) at the first probe.
  bool has_command = std::any_of(test.begin() + 1, test.end(),
                                 [](const std::string& part) { return !part.empty(); });
  if (!has_command) {
    return InvalidField("spec.healthcheck.test", Quote(kind) + " needs a command after it");
  }
  if (kind == "CMD" && test[1].empty()) {
    return InvalidField("spec.healthcheck.test[1]", "the executable must not be empty");
  }
  return grpc::Status::OK;
}

grpc::Status ValidateEnv(const v1::ContainerSpec& spec) {
  for (int i = 0; i < spec.env_size(); ++i) {
    const std::string& entry = spec.env(i);
    if (entry.empty() || entry.front() == '=') {
      return InvalidField(At("spec.env", i),
                     "needs a variable name (\"KEY=value\" or \"KEY\"), got " + Quote(entry));
    }
  }
  return grpc::Status::OK;
}

grpc::Status ValidateTmpfs(const v1::ContainerSpec& spec) {
  for (const std::string& target : SortedKeys(spec.tmpfs())) {
    if (!IsAbsolute(target)) {
      return InvalidField("spec.tmpfs", "keys must be absolute paths, got " + Quote(target));
    }
  }
  return grpc::Status::OK;
}

// Fills `memory` with the limit in bytes (0 when none).
grpc::Status MemoryLimit(const v1::ContainerSpec& spec, int64_t* memory) {
  *memory = 0;
  switch (spec.memory_limit_case()) {
    case v1::ContainerSpec::kMemoryBytes:
      if (spec.memory_bytes() < 0) {
        return InvalidField("spec.memory_bytes",
                       "must not be negative, got " + std::to_string(spec.memory_bytes()));
      }
      *memory = spec.memory_bytes();
      return grpc::Status::OK;
    case v1::ContainerSpec::kMemory:
      return ParseMemory(spec.memory(), memory);
    default:
      return grpc::Status::OK;
  }
}

// Stop timeout in whole seconds; a fraction rounds up so that the grace period never shrinks.
grpc::Status StopTimeoutSeconds(const v1::ContainerSpec& spec, int64_t* seconds) {
  *seconds = 0;
  if (!spec.has_stop_timeout()) {
    return grpc::Status::OK;
  }
  int64_t nanos = 0;
  if (!DurationToNanos(spec.stop_timeout(), &nanos)) {
    return InvalidField("spec.stop_timeout", "not a valid duration or too large");
  }
  if (nanos < 0) {
    return InvalidField("spec.stop_timeout", "must not be negative");
  }
  *seconds = nanos / kNanosPerSecond + (nanos % kNanosPerSecond != 0 ? 1 : 0);
  return grpc::Status::OK;
}

bool IsKnownSignalName(std::string_view name) {
  static constexpr std::array<std::string_view, 34> kNames = {
      "ABRT", "ALRM",   "BUS",  "CHLD",   "CLD",   "CONT", "FPE",  "HUP",  "ILL",
      "INT",  "IO",     "IOT",  "KILL",   "PIPE",  "POLL", "PROF", "PWR",  "QUIT",
      "SEGV", "STKFLT", "STOP", "SYS",    "TERM",  "TRAP", "TSTP", "TTIN", "TTOU",
      "URG",  "USR1",   "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ"};
  if (std::find(kNames.begin(), kNames.end(), name) != kNames.end()) {
    return true;
  }
  // Real-time signals as Go's signal map names them: RTMIN, RTMIN+1..+15, RTMAX-14..-1, RTMAX.
  for (std::string_view base : {std::string_view("RTMIN"), std::string_view("RTMAX")}) {
    if (!name.starts_with(base)) {
      continue;
    }
    std::string_view rest = name.substr(base.size());
    if (rest.empty()) {
      return true;
    }
    char sign = base == "RTMIN" ? '+' : '-';
    int64_t offset = 0;
    return rest.front() == sign && ParseDecimal(rest.substr(1), 15, &offset) && offset >= 1 &&
           (sign == '+' || offset <= 14);
  }
  return false;
}

}  // namespace

const char* ProtocolName(v1::Protocol protocol) {
  switch (protocol) {
    case v1::PROTOCOL_UDP:
      return "udp";
    case v1::PROTOCOL_SCTP:
      return "sctp";
    default:
      return "tcp";
  }
}

const char* RestartPolicyJsonName(v1::RestartPolicyName name) {
  switch (name) {
    case v1::RESTART_POLICY_NAME_ALWAYS:
      return "always";
    case v1::RESTART_POLICY_NAME_UNLESS_STOPPED:
      return "unless-stopped";
    case v1::RESTART_POLICY_NAME_ON_FAILURE:
      return "on-failure";
    default:
      return "no";
  }
}

const char* MountTypeName(v1::MountType type) {
  switch (type) {
    case v1::MOUNT_TYPE_BIND:
      return "bind";
    case v1::MOUNT_TYPE_VOLUME:
      return "volume";
    case v1::MOUNT_TYPE_TMPFS:
      return "tmpfs";
    default:
      return "";
  }
}

grpc::Status ParseMemory(std::string_view text, int64_t* bytes) {
  auto bad = [&] {
    return InvalidField("spec.memory", "invalid size " + Quote(text) +
                                      ": use a number with an optional unit b, k, m or g "
                                      "(e.g. \"512m\", \"1.5g\", \"1073741824\")");
  };
  std::string_view s = text;
  if (s.empty()) {
    return bad();
  }
  // "512mb" means "512m"; a lone trailing "b" is the byte unit itself.
  if (s.size() >= 2 && Lower(s.back()) == 'b') {
    char unit = Lower(s[s.size() - 2]);
    if (unit == 'k' || unit == 'm' || unit == 'g') {
      s.remove_suffix(1);
    }
  }
  uint64_t unit = 1;
  switch (Lower(s.back())) {
    case 'b':
      unit = 1;
      s.remove_suffix(1);
      break;
    case 'k':
      unit = uint64_t{1} << 10;
      s.remove_suffix(1);
      break;
    case 'm':
      unit = uint64_t{1} << 20;
      s.remove_suffix(1);
      break;
    case 'g':
      unit = uint64_t{1} << 30;
      s.remove_suffix(1);
      break;
    default:
      break;
  }
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  auto all_digits = [](std::string_view part) {
    return std::all_of(part.begin(), part.end(), IsDigit);
  };
  if ((whole.empty() && fraction.empty()) || !all_digits(whole) || !all_digits(fraction)) {
    return bad();
  }
  constexpr auto kMax = static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max());
  auto too_large = [&] { return InvalidField("spec.memory", Quote(text) + " is too large"); };
  unsigned __int128 value = 0;
  for (char c : whole) {
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > kMax) {
      return too_large();
    }
  }
  value *= unit;
  // Exact arithmetic instead of docker-py's float: 18 fraction digits are more than any unit
  // here can turn into a whole byte.
  constexpr size_t kMaxFractionDigits = 18;
  unsigned __int128 numerator = 0;
  unsigned __int128 denominator = 1;
  for (size_t i = 0; i < fraction.size() && i < kMaxFractionDigits; ++i) {
    numerator = numerator * 10 + static_cast<unsigned>(fraction[i] - '0');
    denominator *= 10;
  }
  value += numerator * unit / denominator;
  if (value > kMax) {
    return too_large();
  }
  *bytes = static_cast<int64_t>(value);
  return grpc::Status::OK;
}

grpc::Status ValidateContainerName(std::string_view field, std::string_view name) {
  std::string_view rest = name;
  if (!rest.empty() && rest.front() == '/') {
    rest.remove_prefix(1);
  }
  bool ok = rest.size() >= 2 && IsAlnum(rest.front()) &&
            std::all_of(rest.begin() + 1, rest.end(),
                        [](char c) { return IsAlnum(c) || c == '_' || c == '.' || c == '-'; });
  if (!ok) {
    return InvalidField(field,
                   "must match [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least two characters, an optional "
                   "leading \"/\"), got " +
                       Quote(name));
  }
  return grpc::Status::OK;
}

grpc::Status ValidateContainerRef(std::string_view field, std::string_view value) {
  if (value.empty()) {
    return InvalidField(field, "must not be empty");
  }
  if (HasControl(value)) {
    return InvalidField(field, "must not contain control characters, got " + Quote(value));
  }
  // It becomes one URL path segment, and the daemon's router unescapes before matching.
  if (value.find_first_of("/?#") != std::string_view::npos) {
    return InvalidField(field, "must not contain '/', '?' or '#', got " + Quote(value));
  }
  return grpc::Status::OK;
}

grpc::Status ValidateSignal(std::string_view field, std::string_view signal) {
  if (signal.empty()) {
    return InvalidField(field, "must not be empty");
  }
  if (std::all_of(signal.begin(), signal.end(), IsDigit)) {
    int64_t number = 0;
    if (!ParseDecimal(signal, 64, &number) || number < 1) {
      return InvalidField(field, "a signal number must be 1-64, got " + Quote(signal));
    }
    return grpc::Status::OK;
  }
  std::string name;
  name.reserve(signal.size());
  for (char c : signal) {
    name.push_back(Upper(c));
  }
  std::string_view bare = name;
  if (bare.starts_with("SIG")) {
    bare.remove_prefix(3);
  }
  if (!IsKnownSignalName(bare)) {
    return InvalidField(field, "unknown signal " + Quote(signal) +
                              " (use a name such as \"SIGTERM\" or \"TERM\", or a number 1-64)");
  }
  return grpc::Status::OK;
}

grpc::Status ValidateContainerSpec(const v1::ContainerSpec& spec, const CreateOptions& options) {
  if (spec.image().empty()) {
    return InvalidField("spec.image", "must not be empty");
  }
  if (HasControl(spec.image())) {
    return InvalidField("spec.image", "must not contain control characters, got " + Quote(spec.image()));
  }
  if (!spec.name().empty()) {
    if (grpc::Status s = ValidateContainerName("spec.name", spec.name()); !s.ok()) {
      return s;
    }
  }
  if (grpc::Status s = ValidateEnv(spec); !s.ok()) {
    return s;
  }
  if (grpc::Status s = ValidatePorts(spec); !s.ok()) {
    return s;
  }
  if (grpc::Status s = ValidateNetwork(spec.network()); !s.ok()) {
    return s;
  }
  if (grpc::Status s = ValidateVolumes(spec); !s.ok()) {
    return s;
  }
  if (grpc::Status s = ValidateMounts(spec); !s.ok()) {
    return s;
  }
  if (grpc::Status s = ValidateTmpfs(spec); !s.ok()) {
    return s;
  }
  bool auto_remove = options.auto_remove.value_or(spec.auto_remove());
  if (grpc::Status s = ValidateRestart(spec, auto_remove); !s.ok()) {
    return s;
  }
  if (!spec.stop_signal().empty()) {
    if (grpc::Status s = ValidateSignal("spec.stop_signal", spec.stop_signal()); !s.ok()) {
      return s;
    }
  }
  int64_t memory = 0;
  if (grpc::Status s = MemoryLimit(spec, &memory); !s.ok()) {
    return s;
  }
  if (spec.nano_cpus() < 0) {
    return InvalidField("spec.nano_cpus",
                   "must not be negative, got " + std::to_string(spec.nano_cpus()));
  }
  if (grpc::Status s = ValidateMapKeys("spec.labels", spec.labels()); !s.ok()) {
    return s;
  }
  if (spec.has_healthcheck()) {
    const v1::Healthcheck& hc = spec.healthcheck();
    if (grpc::Status s = ValidateHealthTest(hc.test()); !s.ok()) {
      return s;
    }
    int64_t nanos = 0;
    for (auto [name, present, duration] :
         {std::make_tuple("interval", hc.has_interval(), &hc.interval()),
          std::make_tuple("timeout", hc.has_timeout(), &hc.timeout()),
          std::make_tuple("start_period", hc.has_start_period(), &hc.start_period()),
          std::make_tuple("start_interval", hc.has_start_interval(), &hc.start_interval())}) {
      if (grpc::Status s = HealthDuration(name, present, *duration, &nanos); !s.ok()) {
        return s;
      }
    }
    if (hc.has_start_interval() && !ApiAtLeast(options.api_version, "1.44")) {
      // An older daemon would drop it silently and the caller would believe it took effect.
      return InvalidField("spec.healthcheck.start_interval",
                     "needs Engine API 1.44 or newer; this daemon speaks " + options.api_version);
    }
    if (hc.retries() < 0) {
      return InvalidField("spec.healthcheck.retries",
                     "must not be negative, got " + std::to_string(hc.retries()));
    }
  }
  int64_t stop_seconds = 0;
  return StopTimeoutSeconds(spec, &stop_seconds);
}

grpc::Status BuildCreateBody(const v1::ContainerSpec& spec, const CreateOptions& options,
                             json* body) {
  if (grpc::Status s = ValidateContainerSpec(spec, options); !s.ok()) {
    return s;
  }
  json out = json::object();
  json host = json::object();

  out["Image"] = spec.image();
  if (!spec.command().empty()) {
    out["Cmd"] = StringArray(spec.command());
  }
  if (!spec.entrypoint().empty()) {
    out["Entrypoint"] = StringArray(spec.entrypoint());
  }
  if (!spec.hostname().empty()) {
    out["Hostname"] = spec.hostname();
  }
  if (!spec.env().empty()) {
    out["Env"] = StringArray(spec.env());
  }
  if (!spec.working_dir().empty()) {
    out["WorkingDir"] = spec.working_dir();
  }
  if (!spec.user().empty()) {
    out["User"] = spec.user();
  }
  if (!spec.labels().empty()) {
    out["Labels"] = StringMap(spec.labels());
  }
  if (!spec.stop_signal().empty()) {
    out["StopSignal"] = spec.stop_signal();
  }
  if (spec.has_stop_timeout()) {
    int64_t seconds = 0;
    (void)StopTimeoutSeconds(spec, &seconds);
    out["StopTimeout"] = seconds;
  }
  out["Tty"] = spec.tty();
  out["OpenStdin"] = spec.stdin_open();
  bool attach_stdin = spec.stdin_open() && options.attach;
  out["AttachStdin"] = attach_stdin;
  out["StdinOnce"] = attach_stdin;
  out["AttachStdout"] = options.attach;
  out["AttachStderr"] = options.attach;

  if (!spec.ports().empty()) {
    json exposed = json::object();
    json bindings = json::object();
    for (const v1::PortBinding& port : spec.ports()) {
      std::string key = std::to_string(port.container_port()) + "/" + ProtocolName(port.protocol());
      exposed[key] = json::object();
      std::string host_port = port.host_port() == 0 ? "" : std::to_string(port.host_port());
      json& list = bindings[key];
      if (!list.is_array()) {
        list = json::array();
      }
      list.push_back({{"HostIp", port.host_ip()}, {"HostPort", host_port}});
    }
    out["ExposedPorts"] = std::move(exposed);
    host["PortBindings"] = std::move(bindings);
  }

  if (!spec.volumes().empty()) {
    json volumes = json::object();
    json binds = json::array();
    for (const v1::VolumeBind& volume : spec.volumes()) {
      volumes[volume.target()] = json::object();
      std::string mode = volume.read_only() ? "ro" : "rw";
      if (!volume.propagation().empty()) {
        mode += "," + volume.propagation();
      }
      binds.push_back(volume.source() + ":" + volume.target() + ":" + mode);
    }
    out["Volumes"] = std::move(volumes);
    host["Binds"] = std::move(binds);
  }

  if (!spec.mounts().empty()) {
    json mounts = json::array();
    for (const v1::Mount& mount : spec.mounts()) {
      json m = {{"Type", MountTypeName(mount.type())},
                {"Target", mount.target()},
                {"ReadOnly", mount.read_only()}};
      if (!mount.source().empty()) {
        m["Source"] = mount.source();
      }
      if (!mount.propagation().empty()) {
        m["BindOptions"] = {{"Propagation", mount.propagation()}};
      }
      if (mount.type() == v1::MOUNT_TYPE_VOLUME) {
        json options_json = json::object();
        if (mount.no_copy()) {
          options_json["NoCopy"] = true;
        }
        if (!mount.volume_labels().empty()) {
          options_json["Labels"] = StringMap(mount.volume_labels());
        }
        if (!mount.volume_driver().empty() || !mount.volume_driver_options().empty()) {
          json driver = {{"Name", mount.volume_driver()}};
          if (!mount.volume_driver_options().empty()) {
            driver["Options"] = StringMap(mount.volume_driver_options());
          }
          options_json["DriverConfig"] = std::move(driver);
        }
        if (!options_json.empty()) {
          m["VolumeOptions"] = std::move(options_json);
        }
      }
      if (mount.type() == v1::MOUNT_TYPE_TMPFS &&
          (mount.tmpfs_size_bytes() != 0 || mount.tmpfs_mode() != 0)) {
        json tmpfs = json::object();
        if (mount.tmpfs_size_bytes() != 0) {
          tmpfs["SizeBytes"] = mount.tmpfs_size_bytes();
        }
        if (mount.tmpfs_mode() != 0) {
          tmpfs["Mode"] = mount.tmpfs_mode();
        }
        m["TmpfsOptions"] = std::move(tmpfs);
      }
      mounts.push_back(std::move(m));
    }
    host["Mounts"] = std::move(mounts);
  }

  if (!spec.tmpfs().empty()) {
    host["Tmpfs"] = StringMap(spec.tmpfs());
  }
  host["ReadonlyRootfs"] = spec.read_only();
  host["AutoRemove"] = options.auto_remove.value_or(spec.auto_remove());
  // Init is a *bool in the daemon: false would override a daemon configured with --init.
  if (spec.init()) {
    host["Init"] = true;
  }
  if (spec.has_restart_policy() &&
      spec.restart_policy().name() != v1::RESTART_POLICY_NAME_UNSPECIFIED) {
    host["RestartPolicy"] = {{"Name", RestartPolicyJsonName(spec.restart_policy().name())},
                             {"MaximumRetryCount", spec.restart_policy().maximum_retry_count()}};
  }
  int64_t memory = 0;
  (void)MemoryLimit(spec, &memory);
  if (memory != 0) {
    host["Memory"] = memory;
  }
  if (spec.nano_cpus() != 0) {
    host["NanoCpus"] = spec.nano_cpus();
  }
  if (!spec.network().empty()) {
    host["NetworkMode"] = spec.network();
    if (!IsBuiltinNetworkMode(spec.network())) {
      out["NetworkingConfig"] = {{"EndpointsConfig", {{spec.network(), json::object()}}}};
    }
  }

  if (spec.has_healthcheck()) {
    const v1::Healthcheck& hc = spec.healthcheck();
    json health = json::object();
    if (!hc.test().empty()) {
      health["Test"] = StringArray(hc.test());
    }
    auto put_duration = [&health](const char* key, bool present,
                                  const google::protobuf::Duration& d) {
      int64_t nanos = 0;
      if (present && DurationToNanos(d, &nanos) && nanos != 0) {
        health[key] = nanos;
      }
    };
    put_duration("Interval", hc.has_interval(), hc.interval());
    put_duration("Timeout", hc.has_timeout(), hc.timeout());
    put_duration("StartPeriod", hc.has_start_period(), hc.start_period());
    put_duration("StartInterval", hc.has_start_interval(), hc.start_interval());
    if (hc.retries() != 0) {
      health["Retries"] = hc.retries();
    }
    if (!health.empty()) {
      out["Healthcheck"] = std::move(health);
    }
  }

  out["HostConfig"] = std::move(host);
  *body = std::move(out);
  return grpc::Status::OK;
}

std::string UrlEncode(std::string_view component) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(component.size());
  for (char c : component) {
    if (IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      unsigned char u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0f]);
    }
  }
  return out;
}

std::string EscapePathSegment(std::string_view segment) { return UrlEncode(segment); }

json FiltersToJson(const google::protobuf::RepeatedPtrField<v1::Filter>& filters) {
  json out = json::object();
  for (const v1::Filter& filter : filters) {
    json& values = out[filter.key()];
    if (!values.is_array()) {
      values = json::array();
    }
    values.push_back(filter.value());
  }
  return out;
}

grpc::Status FiltersToJson(std::string_view field,
                           const google::protobuf::RepeatedPtrField<v1::Filter>& filters,
                           json* out) {
  for (int i = 0; i < filters.size(); ++i) {
    if (filters[i].key().empty()) {
      return InvalidField(Field(At(field, i), "key"), "must not be empty");
    }
  }
  *out = FiltersToJson(filters);
  return grpc::Status::OK;
}

}  // namespace dockline::server
