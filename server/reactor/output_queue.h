#pragma once

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "engine/demux.h"
#include "engine/engine.h"
#include "server/reactor/coalescer.h"

namespace dockline::server {

// The outbound side of a server-streaming reactor that relays a daemon's output: a bounded
// queue of messages with at most one write in flight, and a Coalescer in front of it.
//
// Policy (shared by every output stream): output gathers in the coalescer while a write is in
// flight. When the writer is idle, a chunk of kEagerBytes or more goes at once; a smaller one
// waits up to kFlushDelay for more. The daemon sends each log line in its own HTTP chunk, so
// flushing every piece the moment the writer is idle made one gRPC message per line whenever
// the client kept up, and dockline spent more CPU per line than the daemon. While the queue is
// full the owner stops reading from the daemon (HasRoom), so memory stays bounded whatever the
// client's speed.
//
// Not thread-safe: the owner calls everything under its own lock, and performs the StartWrite
// that NextWrite() asks for after releasing that lock. The message NextWrite() returns stays
// valid (at the front of the queue) until WriteDone().
template <typename Response>
class OutputQueue {
 public:
  using Clock = std::chrono::steady_clock;
  // Builds the message for one coalesced chunk.
  using MakeChunk = std::function<Response(engine::StreamKind kind, std::string&& chunk)>;

  static constexpr size_t kDefaultMaxMessages = 8;
  static constexpr size_t kEagerBytes = 16 * 1024;
  static constexpr std::chrono::milliseconds kFlushDelay{2};

  explicit OutputQueue(MakeChunk make_chunk, size_t max_messages = kDefaultMaxMessages,
                       size_t max_chunk = Coalescer::kDefaultMaxChunk,
                       std::function<Clock::time_point()> clock = Clock::now)
      : make_chunk_(std::move(make_chunk)),
        max_messages_(max_messages),
        coalescer_(max_chunk),
        clock_(std::move(clock)) {}

  // A message of its own (started, exec id, exit). Pending output goes first, so order holds.
  void Push(Response message) {
    Flush();
    queue_.push_back(std::move(message));
  }

  // Output bytes; a change of stream or a full chunk moves the pending chunk to the queue.
  void Add(engine::StreamKind kind, std::string_view data) {
    bool restarted = coalescer_.empty();
    coalescer_.Add(kind, data, [this, &restarted](engine::StreamKind k, std::string&& chunk) {
      queue_.push_back(make_chunk_(k, std::move(chunk)));
      restarted = true;
    });
    if (restarted && !coalescer_.empty()) {
      pending_since_ = clock_();
    }
  }

  // Moves the pending chunk to the queue.
  void Flush() {
    coalescer_.Flush([this](engine::StreamKind k, std::string&& chunk) {
      queue_.push_back(make_chunk_(k, std::move(chunk)));
    });
  }

  // When the writer is idle and nothing else waits, flushes a pending chunk that is large or
  // has waited kFlushDelay. Returns how long until a held chunk is due (zero when none is held):
  // the owner calls again then (see FlushTimer).
  std::chrono::milliseconds FlushIfIdle() {
    if (writing_ || !queue_.empty() || coalescer_.empty()) {
      return std::chrono::milliseconds(0);
    }
    auto waited = clock_() - pending_since_;
    if (coalescer_.pending_bytes() >= kEagerBytes || waited >= kFlushDelay) {
      Flush();
      return std::chrono::milliseconds(0);
    }
    auto left = std::chrono::ceil<std::chrono::milliseconds>(kFlushDelay - waited);
    return std::max(left, std::chrono::milliseconds(1));
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
  Coalescer coalescer_;
  std::function<Clock::time_point()> clock_;
  Clock::time_point pending_since_;
  std::deque<Response> queue_;
  bool writing_ = false;
};

// At most one engine timer at a time that calls its owner back when a held chunk is due.
// The owner calls Arm and Fired under its own lock; Arm's result (if any) runs after the lock
// is released.
class FlushTimer {
 public:
  std::function<void()> Arm(std::chrono::milliseconds wait,
                            const std::shared_ptr<engine::Engine>& engine,
                            std::function<void()> on_due) {
    if (wait.count() <= 0 || armed_) {
      return nullptr;
    }
    armed_ = true;
    return [engine, wait, on_due = std::move(on_due)] {
      engine->Schedule(wait, [on_due](bool) { on_due(); });
    };
  }
  void Fired() { armed_ = false; }

 private:
  bool armed_ = false;
};

}  // namespace dockline::server
