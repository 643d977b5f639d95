#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "engine/demux.h"

namespace dockline::server {

// Joins consecutive payload pieces of one stream into chunks of at most `max_chunk` bytes, so
// that a busy log is relayed as a few large messages rather than one per line. A chunk is
// emitted when the stream changes, when it reaches `max_chunk`, or on Flush; the caller
// flushes on its own timer, so nothing waits here. Concatenating the emitted chunks of a stream
// gives exactly the bytes added for it.
class Coalescer {
 public:
  static constexpr size_t kDefaultMaxChunk = 32 * 1024;
  using EmitCallback = std::function<void(engine::StreamKind kind, std::string&& chunk)>;

  explicit Coalescer(size_t max_chunk = kDefaultMaxChunk);

  void Add(engine::StreamKind kind, std::string_view data, const EmitCallback& emit);
  void Flush(const EmitCallback& emit);

  bool empty() const { return pending_.empty(); }
  size_t pending_bytes() const { return pending_.size(); }
  // The stream of the pending bytes; meaningful only when !empty().
  engine::StreamKind pending_kind() const { return kind_; }

 private:
  void EmitPending(const EmitCallback& emit);

  size_t max_chunk_;
  engine::StreamKind kind_ = engine::StreamKind::kStdout;
  std::string pending_;
};

}  // namespace dockline::server
