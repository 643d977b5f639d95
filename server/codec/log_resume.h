#pragma once

#include <grpcpp/support/status.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "engine/demux.h"

namespace dockline::server {

// What a run has relayed of each output stream, so that a log pass resumed after an earlier one
// ended skips exactly that. dockerd 20.10 can end a follow stream before the end of the log, and
// RunContainer then reads again from what it relayed.
//
// The daemon stamps stdout and stderr entries in separate goroutines and writes them under one
// lock, so across the two streams the log can be slightly out of time order, but within one
// stream it never is: every entry of a stream older than its mark has been relayed. A single
// since=<last timestamp> would lose an entry of the other stream stamped just before it but
// written after it; so each stream keeps its own mark, and a pass starts at the earliest.
//
// Not thread-safe: its owner calls it under its own lock, in the order the log parser reports
// entries (OnEntry, OnData..., OnEntryEnd).
class LogResume {
 public:
  // How far the daemon may write an entry of one stream after a later-stamped entry of the
  // other: the time between a copier goroutine stamping a line and taking the log's lock.
  static constexpr std::chrono::seconds kReorderWindow{1};

  // A daemon timestamp as (seconds, nanos): the text form drops trailing zeros, so it does not
  // sort.
  using TimeKey = std::pair<int64_t, int32_t>;
  // What has been relayed of one stream.
  struct Mark {
    std::optional<TimeKey> ts;  // of the last entry begun
    int same_ts = 0;            // entries begun with that timestamp
    bool complete = true;       // the last entry was relayed to its end
    size_t bytes = 0;           // bytes relayed of the last entry
    bool operator==(const Mark&) const = default;
  };
  // Where a relay stands, stdout's mark then stderr's: all a later pass needs, so it outlives
  // the call (a cursor carries it).
  using Marks = std::array<Mark, 2>;

  // Continues after `marks` (a cursor's): the next pass skips what they cover.
  void Restore(const Marks& marks) { marks_ = marks; }

  // A new pass begins: from here on, what the marks cover is skipped.
  void BeginPass();
  // The since= of the next pass, "<seconds>.<nanos>"; empty: from the beginning.
  std::string Since() const;

  // An entry of `kind` stamped `timestamp` begins. True when it is a new entry to relay (its
  // first bytes start a chunk of their own when chunks carry timestamps); false when it is
  // skipped, or is the entry an earlier pass stopped inside and relaying continues in it.
  bool OnEntry(engine::StreamKind kind, std::string_view timestamp);
  // Bytes of the current entry: the part of `data` to relay (a suffix, possibly empty).
  std::string_view OnData(std::string_view data);
  void OnEntryEnd();

  // The marks just after the first `relayed` bytes OnData let through (counted across passes).
  // The output queue joins and splits what OnData returns into chunks, so a chunk's end is
  // known only once it is emitted, by then the marks have moved on: OnData keeps the marks at
  // the end of each entry's bytes, and this finds the chunk's end among them. Calls must come
  // with `relayed` non-decreasing; what they pass is dropped.
  Marks MarksAt(uint64_t relayed);

 private:
  // The marks when the relayed bytes reached `end`, inside entry `entry` of `stream`.
  struct Trail {
    uint64_t end;
    uint64_t entry;
    size_t stream;
    Marks marks;
  };
  // Where the current pass starts relaying again, for one stream.
  struct Resume {
    bool active = false;
    TimeKey ts;
    int skip_full = 0;  // entries at `ts` relayed whole
    bool partial = false;
    size_t partial_bytes = 0;
  };

  static std::optional<TimeKey> ParseTimeKey(std::string_view ts);

  Marks marks_;
  std::array<Resume, 2> resume_;
  uint64_t relayed_ = 0;
  uint64_t entries_ = 0;  // OnEntry calls, numbering the entries for the trail
  std::deque<Trail> trail_;
  // The current entry.
  size_t entry_stream_ = 0;
  bool skip_entry_ = false;
  size_t skip_bytes_ = 0;
};

// Where a relayed log stands, as OutputChunk.cursor carries it.
struct LogCursor {
  std::string container_id;
  // Without a TTY: each stream's mark.
  LogResume::Marks marks;
  // With a TTY the log has no entry boundaries a relay can find (dockerd stamps each read of the
  // terminal, not each line, so timestamps cannot be told from output): the position is the
  // bytes relayed from `since` (the daemon's since= parameter, empty: the beginning).
  bool tty = false;
  std::string since;
  uint64_t bytes = 0;
};

// "dlcur1." and the base64url of the cursor's fields. Opaque to clients, and self-contained,
// so that it resumes a log after a reconnect or a restart of docklined.
std::string EncodeLogCursor(const LogCursor& cursor);
// INVALID_ARGUMENT naming `field` when `text` is not a cursor EncodeLogCursor made.
grpc::Status DecodeLogCursor(std::string_view text, std::string_view field, LogCursor* cursor);

}  // namespace dockline::server
