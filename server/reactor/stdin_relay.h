#pragma once

#include <grpcpp/support/status.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

namespace dockline::server {

// The client-to-daemon half of an interactive bidi stream (AttachExec, AttachContainer): their
// requests share one shape (config first, then stdin, close_stdin, resize), and this keeps what
// follows the config: when to read the next client message, the stdin not yet written to the
// hijacked connection, the half-close after it, and the latest terminal size.
//
// Not thread-safe: its owner (a stream core) calls everything under its lock and performs the
// reads, writes and resizes it is told to after releasing the lock.
class StdinRelay {
 public:
  // Stdin received but not yet written to the daemon. Past this the client's next message is
  // not read (backpressure on the bidi stream).
  static constexpr size_t kMaxPendingBytes = 256 * 1024;

  // What the config said, once it has come.
  void Configure(bool stdin_enabled, bool tty) {
    stdin_enabled_ = stdin_enabled;
    tty_ = tty;
  }

  // True when the next client message should be read now; it is then counted as in flight.
  bool StartRead() {
    if (client_done_ || read_pending_ || bytes_ >= kMaxPendingBytes) {
      return false;
    }
    read_pending_ = true;
    return true;
  }
  // The read came back: `ok` false means the client half-closed (or left), which also closes
  // stdin.
  void ReadDone(bool ok) {
    read_pending_ = false;
    if (!ok) {
      client_done_ = true;
      close_requested_ = true;
    }
  }

  // A message after the config (stdin, close_stdin or resize). A status that is not OK ends
  // the call; `rpc` names it in the message.
  template <typename Request>
  grpc::Status Take(Request* request, const std::string& rpc) {
    if (request->has_resize()) {
      // Zero sizes are what an unknown terminal reports; docker skips them too.
      if (tty_ && request->resize().rows() > 0 && request->resize().columns() > 0) {
        resize_ = std::make_pair(request->resize().rows(), request->resize().columns());
      }
      return grpc::Status::OK;
    }
    if (request->has_close_stdin()) {
      // Harmless without stdin: there is nothing to close.
      if (request->close_stdin() && stdin_enabled_) {
        close_requested_ = true;
      }
      return grpc::Status::OK;
    }
    if (!request->has_stdin()) {
      return grpc::Status::OK;
    }
    if (!stdin_enabled_) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          rpc + ": stdin sent, but config.stdin was not set");
    }
    if (close_requested_) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          rpc + ": stdin sent after close_stdin");
    }
    if (!dead_ && !request->stdin().empty()) {
      bytes_ += request->stdin().size();
      pending_.push_back(std::move(*request->mutable_stdin()));
    }
    return grpc::Status::OK;
  }

  // The latest terminal size asked for, once.
  std::optional<std::pair<uint32_t, uint32_t>> TakeResize() {
    auto size = resize_;
    resize_.reset();
    return size;
  }

  // The next thing to do on the hijacked connection, once it is open: write `data`, close the
  // write side, or nothing. One at a time: the owner reports each with Written().
  struct Next {
    enum class Kind { kNone, kWrite, kClose };
    Kind kind = Kind::kNone;
    std::string data;
  };
  Next TakeNext() {
    Next next;
    if (!stdin_enabled_ || closed_ || writing_) {
      return next;
    }
    if (dead_) {
      pending_.clear();
      bytes_ = 0;
    }
    if (!pending_.empty()) {
      writing_ = true;
      next.kind = Next::Kind::kWrite;
      next.data = std::move(pending_.front());
      pending_.pop_front();
    } else if (close_requested_ && !dead_) {
      closed_ = true;
      writing_ = true;
      next.kind = Next::Kind::kClose;
    }
    return next;
  }
  // A write of `size` bytes (0: the close) completed. Not ok: the process has exited or the
  // connection closed; its output and exit code still matter, so the rest of stdin is dropped
  // rather than failing the call.
  void Written(bool ok, size_t size) {
    writing_ = false;
    bytes_ -= size;
    if (!ok) {
      dead_ = true;
    }
  }

 private:
  bool stdin_enabled_ = false;
  bool tty_ = false;
  bool read_pending_ = false;
  bool client_done_ = false;
  std::deque<std::string> pending_;
  size_t bytes_ = 0;  // pending plus the write in flight
  bool writing_ = false;
  bool close_requested_ = false;
  bool closed_ = false;
  bool dead_ = false;
  std::optional<std::pair<uint32_t, uint32_t>> resize_;
};

}  // namespace dockline::server
