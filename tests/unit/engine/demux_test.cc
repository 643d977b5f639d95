#include "engine/demux.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "unit/frame.h"

namespace dockline::engine {
namespace {

using testing::Frame;

// Collects delivered bytes, merging consecutive pieces of one stream so that results do not
// depend on how the input was cut.
struct Collected {
  std::vector<std::pair<StreamKind, std::string>> runs;
  int calls = 0;

  FrameDemuxer::PayloadCallback Callback() {
    return [this](StreamKind kind, std::string_view payload) {
      ++calls;
      EXPECT_FALSE(payload.empty());
      if (!runs.empty() && runs.back().first == kind) {
        runs.back().second.append(payload);
      } else {
        runs.emplace_back(kind, std::string(payload));
      }
    };
  }
};

using Runs = std::vector<std::pair<StreamKind, std::string>>;

TEST(FrameDemuxerTest, SeveralFramesInOneFeed) {
  std::string input = Frame(2, "err1\n") + Frame(1, "out1\n") + Frame(1, "no-newlineout2\n");
  FrameDemuxer demuxer;
  Collected got;
  ASSERT_TRUE(demuxer.Feed(input, got.Callback()).ok());
  EXPECT_EQ(got.runs, (Runs{{StreamKind::kStderr, "err1\n"},
                            {StreamKind::kStdout, "out1\nno-newlineout2\n"}}));
  EXPECT_EQ(got.calls, 3);
  EXPECT_TRUE(demuxer.AtFrameBoundary());
}

TEST(FrameDemuxerTest, SplitAtEveryByteBoundary) {
  std::string input = Frame(1, "hello") + Frame(2, "") + Frame(2, "world!\n") + Frame(1, "x") +
                      Frame(3, "daemon error");
  Runs want = {{StreamKind::kStdout, "hello"},
               {StreamKind::kStderr, "world!\n"},
               {StreamKind::kStdout, "x"},
               {StreamKind::kSystemErr, "daemon error"}};
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    FrameDemuxer demuxer;
    Collected got;
    ASSERT_TRUE(demuxer.Feed(std::string_view(input).substr(0, cut), got.Callback()).ok());
    ASSERT_TRUE(demuxer.Feed(std::string_view(input).substr(cut), got.Callback()).ok());
    EXPECT_EQ(got.runs, want) << "cut at " << cut;
    EXPECT_TRUE(demuxer.AtFrameBoundary());
  }
}

TEST(FrameDemuxerTest, OneByteAtATime) {
  std::string input = Frame(1, "abc") + Frame(2, "de") + Frame(1, "f");
  FrameDemuxer demuxer;
  Collected got;
  for (char c : input) {
    ASSERT_TRUE(demuxer.Feed(std::string_view(&c, 1), got.Callback()).ok());
  }
  EXPECT_EQ(got.runs, (Runs{{StreamKind::kStdout, "abc"},
                            {StreamKind::kStderr, "de"},
                            {StreamKind::kStdout, "f"}}));
  // Payload bytes are handed out as they arrive, not held back until the frame is whole.
  EXPECT_EQ(got.calls, 6);
}

TEST(FrameDemuxerTest, PayloadDeliveredBeforeFrameComplete) {
  std::string input = Frame(1, "0123456789");
  FrameDemuxer demuxer;
  Collected got;
  ASSERT_TRUE(demuxer.Feed(std::string_view(input).substr(0, 12), got.Callback()).ok());
  EXPECT_EQ(got.runs, (Runs{{StreamKind::kStdout, "0123"}}));
  EXPECT_FALSE(demuxer.AtFrameBoundary());
  ASSERT_TRUE(demuxer.Feed(std::string_view(input).substr(12), got.Callback()).ok());
  EXPECT_EQ(got.runs, (Runs{{StreamKind::kStdout, "0123456789"}}));
  EXPECT_TRUE(demuxer.AtFrameBoundary());
}

TEST(FrameDemuxerTest, PayloadIsAViewIntoTheInput) {
  std::string input = Frame(1, "payload");
  FrameDemuxer demuxer;
  const char* seen = nullptr;
  ASSERT_TRUE(
      demuxer.Feed(input, [&](StreamKind, std::string_view payload) { seen = payload.data(); })
          .ok());
  EXPECT_EQ(seen, input.data() + 8);
}

TEST(FrameDemuxerTest, ZeroLengthFramesDeliverNothing) {
  std::string input = Frame(1, "") + Frame(2, "") + Frame(1, "a") + Frame(1, "");
  FrameDemuxer demuxer;
  Collected got;
  ASSERT_TRUE(demuxer.Feed(input, got.Callback()).ok());
  EXPECT_EQ(got.runs, (Runs{{StreamKind::kStdout, "a"}}));
  EXPECT_EQ(got.calls, 1);
  EXPECT_TRUE(demuxer.AtFrameBoundary());
}

TEST(FrameDemuxerTest, TruncatedStreamIsNotAtBoundary) {
  FrameDemuxer demuxer;
  Collected got;
  EXPECT_TRUE(demuxer.AtFrameBoundary());
  std::string header_only = Frame(1, "abc").substr(0, 5);
  ASSERT_TRUE(demuxer.Feed(header_only, got.Callback()).ok());
  EXPECT_FALSE(demuxer.AtFrameBoundary());  // partial header
  FrameDemuxer demuxer2;
  ASSERT_TRUE(demuxer2.Feed(Frame(1, "abc").substr(0, 9), got.Callback()).ok());
  EXPECT_FALSE(demuxer2.AtFrameBoundary());  // partial payload
}

TEST(FrameDemuxerTest, FinishSaysWhatACutStreamLost) {
  Collected got;
  FrameDemuxer whole;
  ASSERT_TRUE(whole.Feed(Frame(1, "abc") + Frame(2, ""), got.Callback()).ok());
  EXPECT_TRUE(whole.Finish().ok());

  FrameDemuxer in_header;
  ASSERT_TRUE(in_header.Feed(Frame(1, "abc") + Frame(2, "x").substr(0, 5), got.Callback()).ok());
  Status st = in_header.Finish();
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_NE(st.message().find("frame header (5 of 8 bytes)"), std::string::npos) << st.message();

  FrameDemuxer in_payload;
  ASSERT_TRUE(in_payload.Feed(Frame(2, std::string(100, 'e')).substr(0, 18), got.Callback()).ok());
  st = in_payload.Finish();
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_NE(st.message().find("stderr frame: 90 of its 100 bytes never came"), std::string::npos)
      << st.message();

  // A header announcing 2 GiB, then the end: the largest loss a header can claim.
  FrameDemuxer huge;
  ASSERT_TRUE(huge.Feed(std::string("\x01\0\0\0\x7f\xff\xff\xff", 8) + "abc", got.Callback()).ok());
  st = huge.Finish();
  EXPECT_EQ(st.code(), Code::kDataLoss);
  EXPECT_NE(st.message().find("2147483644 of its 2147483647 bytes"), std::string::npos)
      << st.message();

  FrameDemuxer bad;
  EXPECT_FALSE(bad.Feed(std::string("\x09\0\0\0\0\0\0\x01", 8), got.Callback()).ok());
  EXPECT_EQ(bad.Finish().code(), Code::kProtocolError);
}

TEST(FrameDemuxerTest, LargeLengthUsesAllFourBytes) {
  std::string payload(70000, 'z');
  std::string input = Frame(2, payload);
  EXPECT_EQ(input[5], '\x01');
  FrameDemuxer demuxer;
  Collected got;
  ASSERT_TRUE(demuxer.Feed(input, got.Callback()).ok());
  EXPECT_EQ(got.runs, (Runs{{StreamKind::kStderr, payload}}));
}

TEST(FrameDemuxerTest, BadStreamByte) {
  FrameDemuxer demuxer;
  Collected got;
  std::string input = Frame(1, "ok") + Frame(4, "bad") + Frame(1, "after");
  Status status = demuxer.Feed(input, got.Callback());
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), Code::kProtocolError);
  EXPECT_NE(status.message().find("04 00 00 00"), std::string::npos) << status.message();
  EXPECT_EQ(got.runs, (Runs{{StreamKind::kStdout, "ok"}}));
  // Sticky: nothing more is decoded.
  EXPECT_EQ(demuxer.Feed(Frame(1, "x"), got.Callback()).code(), Code::kProtocolError);
  EXPECT_EQ(got.runs.size(), 1u);
}

TEST(FrameDemuxerTest, NonzeroPadding) {
  for (int byte = 1; byte <= 3; ++byte) {
    std::string input = Frame(1, "abc");
    input[byte] = '\x01';
    FrameDemuxer demuxer;
    Collected got;
    EXPECT_EQ(demuxer.Feed(input, got.Callback()).code(), Code::kProtocolError);
    EXPECT_TRUE(got.runs.empty());
  }
}

TEST(FrameDemuxerTest, TtyTextIsRefused) {
  FrameDemuxer demuxer;
  Collected got;
  EXPECT_EQ(demuxer.Feed("out1\r\nerr1\r\n", got.Callback()).code(), Code::kProtocolError);
}

TEST(FrameDemuxerTest, InterleavingOrderKept) {
  std::string input;
  Runs want;
  for (int i = 0; i < 50; ++i) {
    uint8_t stream = (i % 3 == 0) ? 2 : 1;
    std::string payload = "line" + std::to_string(i) + "\n";
    input += Frame(stream, payload);
    StreamKind kind = stream == 2 ? StreamKind::kStderr : StreamKind::kStdout;
    if (!want.empty() && want.back().first == kind) {
      want.back().second += payload;
    } else {
      want.emplace_back(kind, payload);
    }
  }
  for (size_t step : {1u, 3u, 7u, 8u, 13u, 64u, 4096u}) {
    FrameDemuxer demuxer;
    Collected got;
    for (size_t pos = 0; pos < input.size(); pos += step) {
      ASSERT_TRUE(demuxer.Feed(std::string_view(input).substr(pos, step), got.Callback()).ok());
    }
    EXPECT_EQ(got.runs, want) << "step " << step;
  }
}

TEST(FrameDemuxerTest, PiecesCarryFrameBorders) {
  std::string input = Frame(1, "2026-11-27T00:01:44.254699673Z out1\n") + Frame(2, "");
  FrameDemuxer demuxer;
  std::vector<PayloadPiece> pieces;
  std::vector<std::string> data;
  auto on_piece = [&](const PayloadPiece& piece) {
    pieces.push_back(piece);
    data.emplace_back(piece.data);
  };
  ASSERT_TRUE(demuxer.FeedPieces(std::string_view(input).substr(0, 20), on_piece).ok());
  ASSERT_TRUE(demuxer.FeedPieces(std::string_view(input).substr(20), on_piece).ok());
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_TRUE(pieces[0].frame_start);
  EXPECT_FALSE(pieces[0].frame_end);
  EXPECT_EQ(data[0], "2026-11-27T0");
  EXPECT_FALSE(pieces[1].frame_start);
  EXPECT_TRUE(pieces[1].frame_end);
  EXPECT_EQ(data[0] + data[1], "2026-11-27T00:01:44.254699673Z out1\n");
  EXPECT_EQ(pieces[2].kind, StreamKind::kStderr);
  EXPECT_TRUE(pieces[2].frame_start);
  EXPECT_TRUE(pieces[2].frame_end);
  EXPECT_TRUE(data[2].empty());
}

TEST(SplitTimestampTest, Splits) {
  std::string_view ts;
  std::string_view rest;
  ASSERT_TRUE(SplitTimestamp("2026-11-27T00:01:44.254699673Z out1\n", &ts, &rest));
  EXPECT_EQ(ts, "2026-11-27T00:01:44.254699673Z");
  EXPECT_EQ(rest, "out1\n");
  ASSERT_TRUE(SplitTimestamp("2026-11-27T00:01:44Z  two spaces", &ts, &rest));
  EXPECT_EQ(ts, "2026-11-27T00:01:44Z");
  EXPECT_EQ(rest, " two spaces");
  ASSERT_TRUE(SplitTimestamp("2026-11-27T00:01:44Z ", &ts, &rest));
  EXPECT_EQ(rest, "");
}

TEST(SplitTimestampTest, Refuses) {
  std::string_view ts = "untouched";
  std::string_view rest = "untouched";
  EXPECT_FALSE(SplitTimestamp("", &ts, &rest));
  EXPECT_FALSE(SplitTimestamp("2026-11-27T00:01:44Z", &ts, &rest));
  EXPECT_FALSE(SplitTimestamp(" out", &ts, &rest));
  EXPECT_FALSE(SplitTimestamp("hello world", &ts, &rest));
  EXPECT_EQ(ts, "untouched");
  EXPECT_EQ(rest, "untouched");
}

struct Recorder : LogEntryParser::Sink {
  std::vector<std::string> events;
  void OnEntry(StreamKind kind, std::string_view ts) override {
    events.push_back(std::string(kind == StreamKind::kStderr ? "entry(err) " : "entry ") +
                     std::string(ts));
  }
  void OnData(StreamKind kind, std::string_view data) override {
    events.push_back((kind == StreamKind::kStderr ? "err " : "out ") + std::string(data));
  }
  void OnEntryEnd() override { events.push_back("end"); }
};

// Whatever the read boundaries, the entries and their timestamps come out the same.
TEST(LogEntryParserTest, TimestampsTakenOffFramesAtEverySplit) {
  std::string ts1 = "2026-11-27T00:01:44.254699673Z";
  std::string ts2 = "2026-11-27T00:01:45.1Z";
  std::string body = Frame(1, ts1 + " out1\n") + Frame(2, ts2 + " err1\n");
  for (size_t split = 0; split <= body.size(); ++split) {
    LogEntryParser parser(false, true);
    Recorder r;
    ASSERT_TRUE(parser.Feed(std::string_view(body).substr(0, split), r).ok());
    ASSERT_TRUE(parser.Feed(std::string_view(body).substr(split), r).ok());
    std::string joined;
    for (const auto& e : r.events) {
      joined += e + "|";
    }
    EXPECT_NE(joined.find("entry " + ts1 + "|"), std::string::npos) << split;
    EXPECT_NE(joined.find("entry(err) " + ts2 + "|"), std::string::npos) << split;
    std::string out;
    std::string err;
    for (const auto& e : r.events) {
      if (e.rfind("out ", 0) == 0) {
        out += e.substr(4);
      } else if (e.rfind("err ", 0) == 0) {
        err += e.substr(4);
      }
    }
    EXPECT_EQ(out, "out1\n") << split;
    EXPECT_EQ(err, "err1\n") << split;
    EXPECT_TRUE(parser.Finish().ok());
  }
}

// A first word longer than any timestamp is data, whether it came in one read or in many (found
// by demux_fuzz: in one read it used to become a 100-byte "timestamp").
TEST(LogEntryParserTest, AnOverlongFirstWordIsDataAtEverySplit) {
  const std::string word = "2026-" + std::string(95, 'W');
  const std::string body = Frame(1, word + " rest\n");
  std::vector<std::string> expected;
  for (size_t split = 0; split <= body.size(); ++split) {
    LogEntryParser parser(false, true);
    Recorder r;
    ASSERT_TRUE(parser.Feed(std::string_view(body).substr(0, split), r).ok());
    ASSERT_TRUE(parser.Feed(std::string_view(body).substr(split), r).ok());
    ASSERT_EQ(r.events.front(), "entry ") << split;
    std::string out;
    for (const auto& e : r.events) {
      if (e.rfind("out ", 0) == 0) out += e.substr(4);
    }
    EXPECT_EQ(out, word + " rest\n") << split;
  }
}

TEST(LogEntryParserTest, TtyLinesWithTimestamps) {
  LogEntryParser parser(true, true);
  Recorder r;
  ASSERT_TRUE(parser.Feed("2026-11-27T00:01:44Z out\r\n2026-11-27T00:01:45Z er", r).ok());
  // A raw stream has no frames: a last line without its newline is all there was.
  EXPECT_TRUE(parser.Finish().ok());
  ASSERT_TRUE(parser.Feed("r\r\n", r).ok());
  EXPECT_EQ(r.events,
            (std::vector<std::string>{"entry 2026-11-27T00:01:44Z", "out out\r\n", "end",
                                      "entry 2026-11-27T00:01:45Z", "out er", "out r\r\n", "end"}));
}

TEST(LogEntryParserTest, AMultiplexedStreamCutInAFrameIsDataLoss) {
  LogEntryParser parser(false, true);
  Recorder r;
  ASSERT_TRUE(parser.Feed(Frame(1, "2026-11-27T00:01:44Z whole\n"), r).ok());
  EXPECT_TRUE(parser.Finish().ok());
  ASSERT_TRUE(parser.Feed(Frame(1, "2026-11-27T00:01:45Z cut here\n").substr(0, 20), r).ok());
  EXPECT_EQ(parser.Finish().code(), Code::kDataLoss);
}

TEST(LogEntryParserTest, NoTimestampsMeansNoPrefixHandling) {
  LogEntryParser parser(false, false);
  Recorder r;
  ASSERT_TRUE(parser.Feed(Frame(1, "2026 looks like a date\n"), r).ok());
  EXPECT_EQ(r.events, (std::vector<std::string>{"entry ", "out 2026 looks like a date\n", "end"}));
}

}  // namespace
}  // namespace dockline::engine
