#pragma once

#include <string>
#include <string_view>

namespace dockline::engine {

// Percent-encodes everything but RFC 3986 unreserved characters, so any input is safe as a query
// key, a query value or one path segment. Ids reach the Engine API only through this.
std::string UrlEncode(std::string_view component);

}  // namespace dockline::engine
