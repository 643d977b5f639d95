#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dockline::server {

// Base64 in the URL alphabet ('-' and '_'), padded: what the daemon reads in X-Registry-Auth
// (docker-py's urlsafe_b64encode) and what prune plan tokens are made of.
std::string Base64UrlEncode(std::string_view bytes);
// The bytes of `text` (padded or not); nullopt when it is not base64url.
std::optional<std::string> Base64UrlDecode(std::string_view text);
// The bytes of standard-alphabet base64 `text` (padded or not): the daemon's
// X-Docker-Container-Path-Stat header (Go's base64.StdEncoding).
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace dockline::server
