#include "server/codec/validate.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <string>
#include <system_error>
#include <utility>

#include "server/codec/field_error.h"

namespace dockline::server {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Quotes a client-supplied value for an error message; control bytes are escaped so that a
// message never carries raw terminal sequences, and long values are cut.
std::string QuoteValueImpl(std::string_view value) {
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

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

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

std::string QuoteValue(std::string_view value) { return QuoteValueImpl(value); }

grpc::Status ValidateTimeWindow(const google::protobuf::Timestamp* since,
                                const google::protobuf::Timestamp* until) {
  for (auto [name, ts] : {std::make_pair("since", since), std::make_pair("until", until)}) {
    if (ts != nullptr && (ts->seconds() < 0 || ts->nanos() < 0 || ts->nanos() > 999999999)) {
      return InvalidField(name, "must be a valid time after 1970");
    }
  }
  if (since != nullptr && until != nullptr &&
      std::make_pair(since->seconds(), since->nanos()) >
          std::make_pair(until->seconds(), until->nanos())) {
    return InvalidField("since", "must not be after until");
  }
  return grpc::Status::OK;
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
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

grpc::Status ParseMemory(std::string_view text, int64_t* bytes) {
  auto bad = [&] {
    return InvalidField("spec.memory", "invalid size " + QuoteValue(text) +
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
  auto too_large = [&] { return InvalidField("spec.memory", QuoteValue(text) + " is too large"); };
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
    return InvalidField(
        field,
        "must match [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least two characters, an optional "
        "leading \"/\"), got " +
            QuoteValue(name));
  }
  if (name.size() > kMaxContainerRefLength) {
    return InvalidField(field, "must be at most " + std::to_string(kMaxContainerRefLength) +
                                   " bytes, got " + std::to_string(name.size()));
  }
  return grpc::Status::OK;
}

grpc::Status ValidateContainerRef(std::string_view field, std::string_view value) {
  if (value.empty()) {
    return InvalidField(field, "must not be empty");
  }
  if (value.size() > kMaxContainerRefLength) {
    return InvalidField(field, "must be at most " + std::to_string(kMaxContainerRefLength) +
                                   " bytes (a Docker id is 64 characters), got " +
                                   std::to_string(value.size()));
  }
  if (HasControl(value)) {
    return InvalidField(field, "must not contain control characters, got " + QuoteValue(value));
  }
  // It becomes one URL path segment, and the daemon's router unescapes it and then cleans the
  // path, answering a redirect to wherever "." or ".." (or an escaped '/') leads.
  if (value == "." || value == "..") {
    return InvalidField(field, "must not be \".\" or \"..\", got " + QuoteValue(value));
  }
  // '?' and '#' would be harmless escaped, but no Docker id or name holds them: refusing them
  // answers a probe without a daemon round trip.
  if (value.find_first_of("/?#") != std::string_view::npos) {
    return InvalidField(field, "must not contain '/', '?' or '#', got " + QuoteValue(value));
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
      return InvalidField(field, "a signal number must be 1-64, got " + QuoteValue(signal));
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
    return InvalidField(field,
                        "unknown signal " + QuoteValue(signal) +
                            " (use a name such as \"SIGTERM\" or \"TERM\", or a number 1-64)");
  }
  return grpc::Status::OK;
}

}  // namespace dockline::server
