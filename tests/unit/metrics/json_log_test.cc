#include "server/metrics/json_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace dockline::server::metrics {
namespace {

using ::testing::MatchesRegex;

std::string Format(std::string_view payload, spdlog::level::level_enum level = spdlog::level::info,
                   std::string_view logger = "docklined",
                   spdlog::log_clock::time_point time = spdlog::log_clock::now()) {
  spdlog::details::log_msg msg(time, spdlog::source_loc{},
                               spdlog::string_view_t(logger.data(), logger.size()), level,
                               spdlog::string_view_t(payload.data(), payload.size()));
  spdlog::memory_buf_t buf;
  JsonLogFormatter().format(msg, buf);
  return std::string(buf.data(), buf.size());
}

// One line: the object, then exactly one newline at the end.
nlohmann::json ParseLine(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  return nlohmann::json::parse(line, nullptr, false);
}

TEST(JsonLogFormatterTest, TheFourFields) {
  // 2026-12-02T16:58:19.012345Z
  const auto time = spdlog::log_clock::time_point(std::chrono::microseconds(1796230699012345));
  nlohmann::json line =
      ParseLine(Format("docklined 0.1.0 serving", spdlog::level::warn, "docklined", time));
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line.size(), 4u);
  EXPECT_EQ(line["time"], "2026-12-02T16:58:19.012345Z");
  EXPECT_EQ(line["level"], "warning");
  EXPECT_EQ(line["logger"], "docklined");
  EXPECT_EQ(line["msg"], "docklined 0.1.0 serving");
}

TEST(JsonLogFormatterTest, TimeIsRfc3339InUtcWithMicroseconds) {
  nlohmann::json line = ParseLine(Format("x"));
  EXPECT_THAT(
      line["time"].get<std::string>(),
      MatchesRegex(
          R"(20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{6}Z)"));
}

TEST(JsonLogFormatterTest, QuotesNewlinesAndControlCharactersStayInsideTheLine) {
  const std::string nasty = std::string("say \"hi\"\\ then\nnext line\r\tand \x01\x1f") + '\0' +
                            "\x7f end}{\"level\":\"fake\"";
  const std::string text = Format(nasty);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find('\x01'), std::string::npos);
  EXPECT_EQ(text.find('\0'), std::string::npos);
  EXPECT_NE(text.find(R"(\"hi\")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(\n)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(\u0001)"), std::string::npos) << text;
  nlohmann::json line = ParseLine(text);
  ASSERT_TRUE(line.is_object()) << text;
  EXPECT_EQ(line["msg"], nasty);
  EXPECT_EQ(line["level"], "info");
}

TEST(JsonLogFormatterTest, InvalidUtf8IsReplacedNotThrown) {
  nlohmann::json line = ParseLine(Format("bad \xff\xfe bytes"));
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line["msg"], "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
}

TEST(JsonLogFormatterTest, CloneFormatsTheSame) {
  JsonLogFormatter formatter;
  auto clone = formatter.clone();
  const auto time = spdlog::log_clock::now();
  spdlog::details::log_msg msg(time, spdlog::source_loc{}, "grpc", spdlog::level::err, "boom");
  spdlog::memory_buf_t a;
  spdlog::memory_buf_t b;
  formatter.format(msg, a);
  clone->format(msg, b);
  EXPECT_EQ(std::string(a.data(), a.size()), std::string(b.data(), b.size()));
  EXPECT_EQ(ParseLine(std::string(b.data(), b.size()))["logger"], "grpc");
}

}  // namespace
}  // namespace dockline::server::metrics
