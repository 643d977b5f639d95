#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace dockline::engine {

// The stream byte of Docker's multiplexed framing (Go's stdcopy).
enum class StreamKind { kStdin = 0, kStdout = 1, kStderr = 2, kSystemErr = 3 };

// A piece of one frame's payload. A frame may arrive in several pieces across Feed calls;
// `frame_start`/`frame_end` say whether this piece begins/ends its frame, which a caller needs
// when each frame carries a prefix (the "<RFC3339Nano> " of logs?timestamps=1).
struct PayloadPiece {
  StreamKind kind = StreamKind::kStdout;
  std::string_view data;
  bool frame_start = false;
  bool frame_end = false;
};

// Splits Docker's multiplexed stream (non-TTY logs, attach, exec): frames of an 8-byte header
// (stream byte, three zero bytes, big-endian u32 payload length) and a payload. Frame borders
// do not line up with reads, so the demuxer keeps at most a partial header between calls and
// hands out payload bytes as views into the caller's buffer, without copying or waiting for
// whole frames. Not thread-safe: feed it from one strand.
class FrameDemuxer {
 public:
  using PayloadCallback = std::function<void(StreamKind kind, std::string_view payload)>;
  using PieceCallback = std::function<void(const PayloadPiece& piece)>;

  // Calls `on_payload` for every non-empty payload piece in `bytes`, in order. Returns
  // Code::kProtocolError on a bad header (stream byte above 3 or nonzero padding, e.g. a TTY
  // stream read as multiplexed); once failed, every later call returns the same error.
  Status Feed(std::string_view bytes, const PayloadCallback& on_payload);

  // As Feed, with frame borders. Zero-length frames are reported as one empty piece with both
  // flags set, so a caller counting frames sees them.
  Status FeedPieces(std::string_view bytes, const PieceCallback& on_piece);

  // True when no frame is partly read: a stream that ends while this is false was truncated.
  bool AtFrameBoundary() const { return header_size_ == 0 && remaining_ == 0; }
  // For the end of the stream: OK at a frame boundary, else Code::kDataLoss saying what was cut
  // (a stream that ends cleanly inside a frame lost output, which must not pass as success).
  Status Finish() const;

 private:
  static constexpr size_t kHeaderSize = 8;

  Status ParseHeader();

  std::array<uint8_t, kHeaderSize> header_{};
  size_t header_size_ = 0;   // bytes of the next header collected so far
  uint32_t remaining_ = 0;   // payload bytes of the current frame still to come
  uint32_t frame_size_ = 0;  // the payload size the current frame's header announced
  bool at_frame_start_ = false;
  StreamKind kind_ = StreamKind::kStdout;
  Status error_;
};

// Splits the "<RFC3339Nano> " prefix the daemon puts at the start of every log message when
// timestamps=1. On success `timestamp` is the text before the first space and `rest` what
// follows the space. Returns false (outputs untouched) when there is no space or the prefix
// does not start like a date.
bool SplitTimestamp(std::string_view payload, std::string_view* timestamp, std::string_view* rest);

// Splits the body of GET /containers/{id}/logs into log entries, for run and logs alike. Without
// a TTY an entry is a multiplexed frame; with a TTY the stream is raw and, when timestamps were
// asked for, an entry is a line. With timestamps=1 each entry starts with "<RFC3339Nano> ",
// which is taken off and reported to OnEntry; a prefix that is not a timestamp stays data.
// Not thread-safe: feed it from one strand or under one lock.
class LogEntryParser {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    // An entry of `kind` begins (kStdout for a TTY); `timestamp` is empty when timestamps were
    // not asked for.
    virtual void OnEntry(StreamKind kind, std::string_view timestamp) = 0;
    virtual void OnData(StreamKind kind, std::string_view data) = 0;
    virtual void OnEntryEnd() = 0;
  };

  LogEntryParser(bool tty, bool timestamps) : tty_(tty), timestamps_(timestamps) {}

  Status Feed(std::string_view bytes, Sink& sink);
  // For the end of the stream: Code::kDataLoss when it ended inside a frame. A raw (TTY) stream
  // has no frames, so whatever came is all there was.
  Status Finish() const { return tty_ ? Status::Ok() : demux_.Finish(); }

 private:
  // Handles bytes of the current entry's start: gathers the prefix, then passes the rest on.
  void Data(StreamKind kind, std::string_view data, bool entry_start, bool entry_end, Sink& sink);

  static constexpr size_t kMaxPrefix = 64;
  bool tty_;
  bool timestamps_;
  FrameDemuxer demux_;
  bool in_entry_ = false;
  bool in_prefix_ = false;
  std::string prefix_;
};

}  // namespace dockline::engine
