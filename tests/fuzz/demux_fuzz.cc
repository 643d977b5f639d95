// The demultiplexers see every byte the daemon sends on logs, attach and exec streams. Each one
// is fed the input whole and again cut into small reads: frame borders never line up with reads,
// so both runs must report the same payload bytes per stream, the same entries and the same end
// status. Anything else means output was lost, duplicated or moved between stdout and stderr.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/demux.h"
#include "fuzz/fuzz_input.h"
#include "server/codec/exec_codec.h"

namespace dockline::fuzz {
namespace {

using engine::Code;
using engine::FrameDemuxer;
using engine::LogEntryParser;
using engine::StreamKind;

struct DemuxRun {
  std::array<std::string, 4> by_kind;
  Code feed_code = Code::kOk;
  Code finish_code = Code::kOk;
  size_t frames = 0;
};

DemuxRun RunDemuxer(std::string_view bytes, size_t chunk) {
  DemuxRun run;
  FrameDemuxer demux;
  FeedInChunks(bytes, chunk, [&](std::string_view read) {
    engine::Status status = demux.FeedPieces(read, [&](const engine::PayloadPiece& piece) {
      run.by_kind[static_cast<size_t>(piece.kind)].append(piece.data);
      if (piece.frame_end) ++run.frames;
    });
    run.feed_code = status.code();
    return status.ok();
  });
  if (run.feed_code == Code::kOk) {
    run.finish_code = demux.Finish().code();
    DOCKLINE_FUZZ_CHECK((run.finish_code == Code::kOk) == demux.AtFrameBoundary());
  }
  return run;
}

struct Entry {
  StreamKind kind;
  std::string timestamp;
  std::string data;
  bool ended = false;
  bool operator==(const Entry&) const = default;
};

class RecordingSink : public LogEntryParser::Sink {
 public:
  // A raw (TTY) stream without timestamps reports bare data and no entries.
  explicit RecordingSink(bool bare) : bare_(bare) {}

  void OnEntry(StreamKind kind, std::string_view timestamp) override {
    DOCKLINE_FUZZ_CHECK(!bare_);
    // An entry begins only after the previous one ended.
    DOCKLINE_FUZZ_CHECK(entries.empty() || entries.back().ended);
    entries.push_back(Entry{kind, std::string(timestamp), {}, false});
  }
  void OnData(StreamKind kind, std::string_view data) override {
    if (bare_) {
      DOCKLINE_FUZZ_CHECK(kind == StreamKind::kStdout);
      bare.append(data);
      return;
    }
    DOCKLINE_FUZZ_CHECK(!entries.empty() && !entries.back().ended);
    DOCKLINE_FUZZ_CHECK(entries.back().kind == kind);
    entries.back().data.append(data);
  }
  void OnEntryEnd() override {
    DOCKLINE_FUZZ_CHECK(!entries.empty() && !entries.back().ended);
    entries.back().ended = true;
  }
  std::vector<Entry> entries;
  std::string bare;

 private:
  bool bare_;
};

struct ParserRun {
  std::vector<Entry> entries;
  std::string bare;
  Code feed_code = Code::kOk;
  Code finish_code = Code::kOk;
};

ParserRun RunParser(std::string_view bytes, size_t chunk, bool tty, bool timestamps) {
  ParserRun run;
  LogEntryParser parser(tty, timestamps);
  RecordingSink sink(tty && !timestamps);
  FeedInChunks(bytes, chunk, [&](std::string_view read) {
    engine::Status status = parser.Feed(read, sink);
    run.feed_code = status.code();
    return status.ok();
  });
  if (run.feed_code == Code::kOk) run.finish_code = parser.Finish().code();
  run.entries = std::move(sink.entries);
  run.bare = std::move(sink.bare);
  return run;
}

struct ExecRun {
  std::array<std::string, 3> by_kind;
  Code feed_code = Code::kOk;
  Code finish_code = Code::kOk;
};

ExecRun RunExecDecoder(std::string_view bytes, size_t chunk, bool tty, bool out, bool err) {
  ExecRun run;
  server::ExecOutputDecoder decoder(tty, out, err);
  FeedInChunks(bytes, chunk, [&](std::string_view read) {
    std::vector<server::OutputPiece> pieces;
    engine::Status status = decoder.Feed(read, &pieces);
    for (const auto& piece : pieces) {
      DOCKLINE_FUZZ_CHECK(piece.kind == StreamKind::kStdout || piece.kind == StreamKind::kStderr);
      DOCKLINE_FUZZ_CHECK(piece.kind != StreamKind::kStdout || out || tty);
      run.by_kind[static_cast<size_t>(piece.kind)].append(piece.data);
    }
    run.feed_code = status.code();
    return status.ok();
  });
  if (run.feed_code == Code::kOk) run.finish_code = decoder.Finish().code();
  return run;
}

}  // namespace
}  // namespace dockline::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dockline::fuzz;
  Input input;
  if (!SplitMode(data, size, &input)) return 0;
  const size_t chunk = (input.mode >> 3) % 17 + 1;  // reads of 1..17 bytes
  const bool tty = input.mode & 1;
  const bool flag_a = input.mode & 2;
  const bool flag_b = input.mode & 4;
  const std::string_view bytes = input.bytes;

  DemuxRun whole = RunDemuxer(bytes, bytes.size() + 1);
  DemuxRun cut = RunDemuxer(bytes, chunk);
  DOCKLINE_FUZZ_CHECK(whole.by_kind == cut.by_kind);
  DOCKLINE_FUZZ_CHECK(whole.feed_code == cut.feed_code);
  DOCKLINE_FUZZ_CHECK(whole.finish_code == cut.finish_code);
  DOCKLINE_FUZZ_CHECK(whole.frames == cut.frames);
  size_t payload = 0;
  for (const auto& s : whole.by_kind) payload += s.size();
  // Every frame costs an 8-byte header on top of its payload.
  DOCKLINE_FUZZ_CHECK(payload + 8 * whole.frames <= bytes.size());

  ParserRun entries_whole = RunParser(bytes, bytes.size() + 1, tty, flag_a);
  ParserRun entries_cut = RunParser(bytes, chunk, tty, flag_a);
  DOCKLINE_FUZZ_CHECK(entries_whole.entries == entries_cut.entries);
  DOCKLINE_FUZZ_CHECK(entries_whole.bare == entries_cut.bare);
  if (tty && !flag_a) DOCKLINE_FUZZ_CHECK(entries_whole.bare == bytes);
  DOCKLINE_FUZZ_CHECK(entries_whole.feed_code == entries_cut.feed_code);
  DOCKLINE_FUZZ_CHECK(entries_whole.finish_code == entries_cut.finish_code);
  if (!tty) {
    // Without a TTY the parser and the plain demuxer read the same frames.
    DOCKLINE_FUZZ_CHECK(entries_whole.feed_code == whole.feed_code);
    DOCKLINE_FUZZ_CHECK(entries_whole.finish_code == whole.finish_code);
  }

  ExecRun exec_whole = RunExecDecoder(bytes, bytes.size() + 1, tty, flag_a, flag_b);
  ExecRun exec_cut = RunExecDecoder(bytes, chunk, tty, flag_a, flag_b);
  DOCKLINE_FUZZ_CHECK(exec_whole.by_kind == exec_cut.by_kind);
  DOCKLINE_FUZZ_CHECK(exec_whole.feed_code == exec_cut.feed_code);
  DOCKLINE_FUZZ_CHECK(exec_whole.finish_code == exec_cut.finish_code);
  // A TTY exec has one stream, relayed as stdout when stdout is asked for.
  if (tty) DOCKLINE_FUZZ_CHECK(exec_whole.by_kind[1] == (flag_a ? bytes : std::string_view()));
  return 0;
}
