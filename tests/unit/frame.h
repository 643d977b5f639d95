#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dockline::testing {

// One frame of the Engine API's multiplexed stream: stream byte, three zero bytes, big-endian
// length, payload.
inline std::string Frame(uint8_t stream, std::string_view payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  uint32_t n = static_cast<uint32_t>(payload.size());
  out[4] = static_cast<char>((n >> 24) & 0xff);
  out[5] = static_cast<char>((n >> 16) & 0xff);
  out[6] = static_cast<char>((n >> 8) & 0xff);
  out[7] = static_cast<char>(n & 0xff);
  out.append(payload);
  return out;
}

}  // namespace dockline::testing
