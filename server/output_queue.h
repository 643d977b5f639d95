#pragma once

#include <cassert>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "engine/demux.h"

namespace dockline::server {

// The outbound side of a server-streaming reactor that relays a daemon's output: a bounded
// queue of messages with at most one write in flight, and a Coalescer in front of it.
//
// Policy (shared by every output stream): output gathers in the coalescer while a write is in
// flight and goes out as soon as the writer is idle, so a busy stream sends few large messages
// and an idle one sends each piece at once, with no timer. While the queue is full the owner
// stops reading from the daemon (HasRoom), so memory stays bounded whatever the client's speed.
//
// Not thread-safe: the owner calls everything under its own lock, and performs the StartWrite
// that NextWrite() asks for after releasing that lock. The message NextWrite() returns stays
// valid (at the front of the queue) until WriteDone().
template <typename Response>
class OutputQueue {
 public:
  // Builds the message for one coalesced chunk.
  using MakeChunk = std::function<Response(engine::StreamKind kind, std::string&& chunk)>;

  static constexpr size_t kDefaultMaxMessages = 8;

  explicit OutputQueue(MakeChunk make_chunk, size_t max_messages = kDefaultMaxMessages,
                       size_t max_chunk = engine::Coalescer::kDefaultMaxChunk)
      : make_chunk_(std::move(make_chunk)), max_messages_(max_messages), coalescer_(max_chunk) {}

  // A message of its own (started, exec id, exit). Pending output goes first, so order holds.
  void Push(Response message) {
    Flush();
    queue_.push_back(std::move(message));
  }

  // Output bytes; a change of stream or a full chunk moves the pending chunk to the queue.
  void Add(engine::StreamKind kind, std::string_view data) {
    coalescer_.Add(kind, data, [this](engine::StreamKind k, std::string&& chunk) {
      queue_.push_back(make_chunk_(k, std::move(chunk)));
    });
  }

  // Moves the pending chunk to the queue.
  void Flush() {
    coalescer_.Flush([this](engine::StreamKind k, std::string&& chunk) {
      queue_.push_back(make_chunk_(k, std::move(chunk)));
    });
  }

  // Flushes only when the writer is idle and nothing else waits: the low-latency path.
  void FlushIfIdle() {
    if (!writing_ && queue_.empty()) {
      Flush();
    }
  }

  // Whether the owner may read more from the daemon.
  bool HasRoom() const { return queue_.size() < max_messages_; }

  // The next message to hand to StartWrite, or nullptr when a write is in flight or nothing is
  // queued. A non-null result marks the write as in flight.
  const Response* NextWrite() {
    if (writing_ || queue_.empty()) {
      return nullptr;
    }
    writing_ = true;
    return &queue_.front();
  }

  // The write NextWrite() started has completed (successfully or not).
  void WriteDone() {
    assert(writing_);
    writing_ = false;
    if (!queue_.empty()) {
      queue_.pop_front();
    }
  }

  bool writing() const { return writing_; }
  // Nothing queued, nothing pending in the coalescer, no write in flight.
  bool drained() const { return !writing_ && queue_.empty() && coalescer_.empty(); }

  // For owners that stamp chunks with per-chunk data (run's timestamps): whether a chunk is
  // being gathered.
  bool coalescing() const { return !coalescer_.empty(); }

 private:
  MakeChunk make_chunk_;
  size_t max_messages_;
  engine::Coalescer coalescer_;
  std::deque<Response> queue_;
  bool writing_ = false;
};

}  // namespace dockline::server
