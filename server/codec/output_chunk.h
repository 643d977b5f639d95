#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "dockline/v1/dockline.pb.h"
#include "engine/demux.h"
#include "server/codec/inspect_codec.h"

namespace dockline::server {

// A response whose `output` is one coalesced chunk of the hijacked streams (StreamExec,
// AttachExec, AttachContainer): the output queue's chunk maker.
template <typename Response>
Response OutputMessage(engine::StreamKind kind, std::string&& chunk) {
  Response msg;
  auto* out = msg.mutable_output();
  out->set_stream(kind == engine::StreamKind::kStderr ? v1::STREAM_STDERR : v1::STREAM_STDOUT);
  out->set_data(std::move(chunk));
  return msg;
}

// Relayed log output as OutputChunks (RunContainer, StreamLogs): a chunk gathers the bytes of
// one or more entries and carries the daemon's time of its first one.
//
// Not thread-safe: its owner calls it under its own lock, from the log parser's Sink (BeginEntry,
// BeforeAdd) and from the output queue's chunk maker (Fill), in the order the bytes arrive.
class ChunkStamps {
 public:
  // An entry stamped `timestamp` begins (empty when timestamps were not asked for).
  void BeginEntry(std::string_view timestamp) { entry_ts_ = std::string(timestamp); }

  // Bytes of the current entry are about to be added; `coalescing`: a chunk is already being
  // gathered, so they join it and its stamp stays.
  void BeforeAdd(bool coalescing) {
    if (!coalescing) {
      chunk_ts_ = entry_ts_;
    }
  }

  // One coalesced chunk, stamped with its first entry's time when `stamp`. What stays pending
  // after it belongs to the current entry.
  void Fill(engine::StreamKind kind, std::string&& chunk, bool stamp, v1::OutputChunk* out) {
    out->set_stream(kind == engine::StreamKind::kStderr ? v1::STREAM_STDERR : v1::STREAM_STDOUT);
    out->set_data(std::move(chunk));
    if (stamp && !chunk_ts_.empty()) {
      ParseDockerTime(chunk_ts_, out->mutable_timestamp());
    }
    chunk_ts_ = entry_ts_;
  }

 private:
  std::string entry_ts_;
  std::string chunk_ts_;  // of the first entry in the chunk being gathered
};

}  // namespace dockline::server
