#include "engine/api_version.h"

#include <charconv>
#include <utility>

namespace dockline::engine {
namespace {

// "1.41" -> {1, 41}; {0, 0} for anything that is not two dot-separated numbers.
std::pair<int, int> SplitVersion(const std::string& v) {
  int major = 0;
  int minor = 0;
  const char* end = v.data() + v.size();
  auto [p, ec] = std::from_chars(v.data(), end, major);
  if (ec != std::errc() || p == v.data()) {
    return {0, 0};
  }
  if (p != end && *p == '.') {
    auto [q, ec2] = std::from_chars(p + 1, end, minor);
    if (ec2 != std::errc() || q == p + 1) {
      return {0, 0};
    }
  }
  return {major, minor};
}

}  // namespace

int CompareApiVersions(const std::string& a, const std::string& b) {
  auto va = SplitVersion(a);
  auto vb = SplitVersion(b);
  if (va == vb) {
    return 0;
  }
  return va < vb ? -1 : 1;
}

Result<std::string> NegotiateApiVersion(const std::string& daemon_version) {
  if (daemon_version.empty() || SplitVersion(daemon_version) == std::pair{0, 0}) {
    return Status(Code::kUnsupportedVersion,
                  "the Docker daemon did not report its API version; dockline needs API " +
                      std::string(kOldestApiVersion) + " or newer");
  }
  if (CompareApiVersions(daemon_version, kOldestApiVersion) < 0) {
    return Status(Code::kUnsupportedVersion, "the Docker daemon speaks API " + daemon_version +
                                                 ", older than the oldest dockline supports (" +
                                                 kOldestApiVersion + ")");
  }
  if (CompareApiVersions(daemon_version, kNewestApiVersion) > 0) {
    return std::string(kNewestApiVersion);
  }
  return daemon_version;
}

}  // namespace dockline::engine
