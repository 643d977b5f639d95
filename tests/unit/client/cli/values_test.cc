#include "client/cli/values.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string_view>

namespace dockline::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

TEST(ValueParsersTest, GoDurations) {
  const auto parse = [](std::string_view text) {
    auto result = ParseGoDuration(text);
    EXPECT_TRUE(result.ok()) << text << ": " << result.status.error_message();
    return result.value;
  };
  EXPECT_EQ(parse("1m30s"), 90s);
  EXPECT_EQ(parse("500ms"), 500ms);
  EXPECT_EQ(parse("10s"), 10s);
  EXPECT_EQ(parse("2h"), 2h);
  EXPECT_EQ(parse("1.5h"), 90min);
  EXPECT_EQ(parse("0.3s"), 300ms);
  EXPECT_EQ(parse(".5s"), 500ms);
  EXPECT_EQ(parse("1.s"), 1s);
  EXPECT_EQ(parse("0"), 0s);
  EXPECT_EQ(parse("-1.5s"), -1500ms);
  EXPECT_EQ(parse("+3s"), 3s);
  EXPECT_EQ(parse("1h2m3s4ms5us6ns"), 1h + 2min + 3s + 4ms + 5us + 6ns);
  EXPECT_EQ(parse("7\u00b5s"), 7us);
  EXPECT_EQ(parse("7\u03bcs"), 7us);
  EXPECT_EQ(parse("2562047h"), 2562047h);
  for (std::string_view bad : {"", "10", "s", "1x", "1.2.3s", "-", "1h 2m", "9999999999h", "."}) {
    EXPECT_FALSE(ParseGoDuration(bad).ok()) << bad;
  }
  EXPECT_THAT(ParseGoDuration("10").status.error_message(),
              AllOf(StartsWith("invalid duration \"10\""), HasSubstr("missing unit")));
  EXPECT_THAT(ParseGoDuration("3d").status.error_message(), HasSubstr("unknown unit \"d\""));
}

TEST(ValueParsersTest, DurationFlagsTakeBareSecondsToo) {
  EXPECT_EQ(ParseDuration("30").value, 30s);
  EXPECT_EQ(ParseDuration("1.5").value, 1500ms);
  EXPECT_EQ(ParseDuration("0").value, 0s);
  EXPECT_EQ(ParseDuration("2m").value, 2min);
  for (std::string_view bad : {"", "1.2.3", ".", "-1", "10x"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
  EXPECT_THAT(ParseDuration("1.2.3").status.error_message(),
              StartsWith("invalid duration \"1.2.3\""));
}

TEST(ValueParsersTest, RamBytes) {
  EXPECT_EQ(ParseRamBytes("64m").value, 64 << 20);
  EXPECT_EQ(ParseRamBytes("1.5g").value, 1536LL << 20);
  EXPECT_EQ(ParseRamBytes("100").value, 100);
  EXPECT_EQ(ParseRamBytes("1KiB").value, 1024);
  EXPECT_EQ(ParseRamBytes("2 MB").value, 2 << 20);
  EXPECT_EQ(ParseRamBytes("3b").value, 3);
  for (std::string_view bad : {"", "m", "1x", "1.2.3m", "-1m", "1mm", ".5m"}) {
    EXPECT_FALSE(ParseRamBytes(bad).ok()) << bad;
  }
}

// Found by values_fuzz: Unix seconds past int64 nanoseconds overflowed (undefined behaviour),
// and seconds past int64 itself silently became 0 (the epoch).
TEST(ParseTimeArgTest, OutOfRangeTimesAreRefused) {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1800000000));
  for (const char* text : {"7000001700000000.5", "99999999999999999999", "9999-12-31T00:00:00Z",
                           "1600-01-01T00:00:00Z"}) {
    auto parsed = cli::ParseTimeArg(text, now);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_THAT(parsed.status.error_message(), HasSubstr("out of range")) << text;
  }
  EXPECT_FALSE(cli::ParseTimeArg(".", now).ok());
  EXPECT_TRUE(cli::ParseTimeArg("2262-01-01T00:00:00Z", now).ok());
  EXPECT_TRUE(cli::ParseTimeArg(".5", now).ok());
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

}  // namespace
}  // namespace dockline::cli
