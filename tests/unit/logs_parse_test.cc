#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client/cli/logs.h"
#include "engine/demux.h"
#include "unit/frame.h"

namespace dockline {
namespace {

using testing::Frame;

using engine::LogEntryParser;
using engine::StreamKind;

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
    EXPECT_TRUE(parser.AtEntryBoundary());
  }
}

TEST(LogEntryParserTest, TtyLinesWithTimestamps) {
  LogEntryParser parser(true, true);
  Recorder r;
  ASSERT_TRUE(parser.Feed("2026-11-27T00:01:44Z out\r\n2026-11-27T00:01:45Z er", r).ok());
  EXPECT_FALSE(parser.AtEntryBoundary());
  ASSERT_TRUE(parser.Feed("r\r\n", r).ok());
  EXPECT_EQ(r.events,
            (std::vector<std::string>{"entry 2026-11-27T00:01:44Z", "out out\r\n", "end",
                                      "entry 2026-11-27T00:01:45Z", "out er", "out r\r\n", "end"}));
}

TEST(LogEntryParserTest, NoTimestampsMeansNoPrefixHandling) {
  LogEntryParser parser(false, false);
  Recorder r;
  ASSERT_TRUE(parser.Feed(Frame(1, "2026 looks like a date\n"), r).ok());
  EXPECT_EQ(r.events, (std::vector<std::string>{"entry ", "out 2026 looks like a date\n", "end"}));
}

TEST(ParseTimeArgTest, DockerForms) {
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1800000000));
  auto secs = [](auto tp) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count();
  };
  EXPECT_EQ(secs(cli::ParseTimeArg("1700000000", now).value), 1700000000000000000LL);
  EXPECT_EQ(secs(cli::ParseTimeArg("1700000000.5", now).value), 1700000000500000000LL);
  EXPECT_EQ(secs(cli::ParseTimeArg("10m", now).value), (1800000000LL - 600) * 1000000000LL);
  EXPECT_EQ(secs(cli::ParseTimeArg("1h30m", now).value), (1800000000LL - 5400) * 1000000000LL);
  EXPECT_EQ(secs(cli::ParseTimeArg("2023-11-14T22:13:20Z", now).value), 1700000000000000000LL);
  EXPECT_EQ(secs(cli::ParseTimeArg("2023-11-14T22:13:20.25+00:00", now).value),
            1700000000250000000LL);
  EXPECT_FALSE(cli::ParseTimeArg("yesterday", now).ok());
  EXPECT_FALSE(cli::ParseTimeArg("", now).ok());
}

TEST(FinishLogsArgsTest, FlagsToOptions) {
  cli::LogsFlags flags;
  flags.follow = true;
  flags.stderr_only = true;
  flags.tail = "25";
  client::LogsOptions options;
  ASSERT_TRUE(cli::FinishLogsArgs(flags, &options).ok());
  EXPECT_TRUE(options.follow);
  EXPECT_FALSE(options.stdout_stream);
  EXPECT_TRUE(options.stderr_stream);
  EXPECT_EQ(options.tail, 25);
  flags.tail = "-3";
  EXPECT_FALSE(cli::FinishLogsArgs(flags, &options).ok());
  flags.tail = "all";
  flags.since = "garbage";
  grpc::Status st = cli::FinishLogsArgs(flags, &options);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error_message().find("--since"), std::string::npos);
}

}  // namespace
}  // namespace dockline
