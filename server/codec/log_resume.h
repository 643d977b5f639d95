#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
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

 private:
  // A daemon timestamp as (seconds, nanos): the text form drops trailing zeros, so it does not
  // sort.
  using TimeKey = std::pair<int64_t, int32_t>;

  // What has been relayed of one stream.
  struct Mark {
    std::optional<TimeKey> ts;  // of the last entry begun
    int same_ts = 0;            // entries begun with that timestamp
    bool complete = true;       // the last entry was relayed to its end
    size_t bytes = 0;           // bytes relayed of the last entry
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

  std::array<Mark, 2> marks_;
  std::array<Resume, 2> resume_;
  // The current entry.
  size_t entry_stream_ = 0;
  bool skip_entry_ = false;
  size_t skip_bytes_ = 0;
};

}  // namespace dockline::server
