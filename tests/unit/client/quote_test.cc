#include "client/quote.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/cli/values.h"
#include "client/shlex.h"

namespace dockline::client {
namespace {

using ::testing::HasSubstr;

TEST(QuoteTest, QuotesAndEscapesAsGoDoes) {
  EXPECT_EQ(Quote("web"), "\"web\"");
  EXPECT_EQ(Quote(""), "\"\"");
  EXPECT_EQ(Quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quote("1\n2\r3\t4\x01\x7f"), "\"1\\n2\\r3\\t4\\x01\\x7f\"");
}

TEST(QuoteTest, KeepsValidUtf8AndEscapesEveryInvalidByte) {
  EXPECT_EQ(Quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(Quote("\xef"
                  "nA\xef"),
            "\"\\xefnA\\xef\"");
  EXPECT_EQ(Quote("\xc3\xa9\xc3"), "\"\xc3\xa9\\xc3\"");
  EXPECT_EQ(Quote(std::string_view("\0", 1)), "\"\\x00\"");
}

// This binary loads libspdlog, as docklined does: fmt 9's {:?} aborted here on invalid UTF-8
// (found by values_fuzz). The parsers now refuse such values with a message.
TEST(QuoteTest, ParsersRefuseInvalidUtf8WithAMessage) {
  auto duration = cli::ParseGoDuration(
      "\xef"
      "nA\xef");
  ASSERT_FALSE(duration.ok());
  EXPECT_THAT(duration.status.error_message(), HasSubstr("\"\\xefnA\\xef\""));
  auto words = ShlexSplit("echo '\xff");
  ASSERT_FALSE(words.ok());
  EXPECT_THAT(words.status.error_message(), HasSubstr("\\xff"));
}

}  // namespace
}  // namespace dockline::client
