#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dockline::fuzz {

// The fuzzer's bytes with the first one taken off as a mode byte (flags and a chunk size), so
// one corpus entry drives both what is parsed and how it is cut into reads.
struct Input {
  uint8_t mode = 0;
  std::string_view bytes;
};

inline bool SplitMode(const uint8_t* data, size_t size, Input* input) {
  if (size == 0) return false;
  input->mode = data[0];
  input->bytes = std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1);
  return true;
}

// Feeds `bytes` to `feed` in reads of `chunk` bytes (the last may be shorter), stopping at the
// first read `feed` refuses. Returns false when one was refused.
template <typename Feed>
bool FeedInChunks(std::string_view bytes, size_t chunk, Feed&& feed) {
  for (size_t at = 0; at < bytes.size(); at += chunk) {
    if (!feed(bytes.substr(at, chunk))) return false;
  }
  return true;
}

// A finding: libFuzzer reports the abort with the input that caused it.
#define DOCKLINE_FUZZ_CHECK(condition)  \
  do {                                  \
    if (!(condition)) __builtin_trap(); \
  } while (0)

}  // namespace dockline::fuzz
