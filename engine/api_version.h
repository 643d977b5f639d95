#pragma once

#include <string>

#include "engine/status.h"

namespace dockline::engine {

// The Engine API versions dockline speaks. The newest bounds negotiation from above (a newer
// daemon is spoken to at this version); a daemon whose newest is below the oldest is refused.
inline constexpr char kNewestApiVersion[] = "1.47";
inline constexpr char kOldestApiVersion[] = "1.40";

// Compares "1.41"-style versions numerically: <0, 0, >0.
int CompareApiVersions(const std::string& a, const std::string& b);

// min(daemon's, newest we speak); an error status when the daemon is older than we support or
// sent no version at all.
Result<std::string> NegotiateApiVersion(const std::string& daemon_version);

}  // namespace dockline::engine
