// Log cursors (server/codec/log_resume.h): the marks at a chunk's end, and their token.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "server/codec/log_resume.h"

namespace dockline {
namespace {

using engine::StreamKind;
using server::LogCursor;
using server::LogResume;
using ::testing::HasSubstr;

struct Entry {
  StreamKind kind;
  std::string ts;
  std::vector<std::string> pieces;  // as the reads cut it
};

// Feeds `entries` through `resume` and returns what it lets through.
std::string Relay(LogResume& resume, const std::vector<Entry>& entries) {
  resume.BeginPass();
  std::string out;
  for (const Entry& e : entries) {
    resume.OnEntry(e.kind, e.ts);
    for (const std::string& piece : e.pieces) {
      out += resume.OnData(piece);
    }
    resume.OnEntryEnd();
  }
  return out;
}

const std::vector<Entry> kLog = {
    {StreamKind::kStdout, "2026-12-03T10:00:00.000000001Z", {"abc\n"}},
    {StreamKind::kStderr, "2026-12-03T10:00:00.000000002Z", {"de", "f\n"}},
    // Partial entries of one long line share a timestamp.
    {StreamKind::kStdout, "2026-12-03T10:00:01Z", {"gh"}},
    {StreamKind::kStdout, "2026-12-03T10:00:01Z", {"ij\n"}},
};

TEST(LogCursorTest, EveryByteOffsetResumesToExactlyTheRest) {
  LogResume first;
  const std::string all = Relay(first, kLog);
  ASSERT_EQ(all, "abc\ndef\nghij\n");
  for (size_t cut = 1; cut <= all.size(); ++cut) {
    SCOPED_TRACE(cut);
    LogResume relay;
    Relay(relay, kLog);
    LogCursor cursor;
    cursor.container_id = "c1";
    cursor.marks = relay.MarksAt(cut);
    LogCursor decoded;
    ASSERT_TRUE(
        server::DecodeLogCursor(server::EncodeLogCursor(cursor), "resume_from", &decoded).ok());
    EXPECT_EQ(decoded.container_id, "c1");
    EXPECT_EQ(decoded.marks, cursor.marks);
    LogResume resumed;
    resumed.Restore(decoded.marks);
    EXPECT_EQ(Relay(resumed, kLog), all.substr(cut));
  }
}

TEST(LogCursorTest, MarksAtAChunkEndInsideAnEntryCountOnlyItsBytes) {
  LogResume relay;
  Relay(relay, kLog);
  LogResume::Marks at = relay.MarksAt(6);  // "abc\nde": inside stderr's entry
  ASSERT_TRUE(at[1].ts.has_value());
  EXPECT_EQ(at[1].bytes, 2u);
  EXPECT_FALSE(at[1].complete);
  EXPECT_TRUE(at[0].complete);
  EXPECT_EQ(at[0].bytes, 4u);
  at = relay.MarksAt(13);
  EXPECT_EQ(at[0].same_ts, 2) << "two partial entries stamped alike";
  EXPECT_TRUE(at[0].complete);
}

TEST(LogCursorTest, TtyCursorsCarryBytesAndSince) {
  LogCursor tty;
  tty.container_id = "c2";
  tty.tty = true;
  tty.since = "1700000000.000000001";
  tty.bytes = 12345;
  LogCursor decoded;
  ASSERT_TRUE(server::DecodeLogCursor(server::EncodeLogCursor(tty), "f", &decoded).ok());
  EXPECT_TRUE(decoded.tty);
  EXPECT_EQ(decoded.since, tty.since);
  EXPECT_EQ(decoded.bytes, 12345u);
}

TEST(LogCursorTest, DamagedCursorsNameTheField) {
  LogCursor c;
  c.container_id = "c3";
  const std::string good = server::EncodeLogCursor(c);
  LogCursor out;
  for (std::string_view bad :
       {std::string_view("dlplan1.e30"), std::string_view("dlcur1.!!"),
        std::string_view(good).substr(0, good.size() - 3), std::string_view("dlcur1.e30"),
        // {"c":"x","t":1,"s":"1;rm"}: a since that is not a time
        std::string_view("dlcur1.eyJjIjoieCIsInQiOjEsInMiOiIxO3JtIn0")}) {
    grpc::Status st = server::DecodeLogCursor(bad, "resume_from", &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(st.error_message(), HasSubstr("resume_from")) << bad;
  }
}

}  // namespace
}  // namespace dockline
