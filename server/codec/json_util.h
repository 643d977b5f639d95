#pragma once

// The codecs read daemon JSON with the engine's non-throwing accessors (one set for both
// layers: docker_api parses reply documents too).
#include "engine/json_util.h"

namespace dockline::server {

using engine::GetBool;
using engine::GetInt;
using engine::GetString;
using engine::Member;

}  // namespace dockline::server
