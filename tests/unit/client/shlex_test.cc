#include "client/shlex.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string_view>

namespace dockline::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ShlexSplitTest, SplitsLikePython) {
  const auto split = [](std::string_view command) {
    auto result = ShlexSplit(command);
    EXPECT_TRUE(result.ok()) << command << ": " << result.status.error_message();
    return result.value;
  };
  EXPECT_THAT(split("sh -c \"echo hi; exit 3\""), ElementsAre("sh", "-c", "echo hi; exit 3"));
  EXPECT_THAT(split("python -c 'print(1+1)'"), ElementsAre("python", "-c", "print(1+1)"));
  EXPECT_THAT(split("  a\t b\n c  "), ElementsAre("a", "b", "c"));
  EXPECT_THAT(split(""), ElementsAre());
  EXPECT_THAT(split("a'b c'd"), ElementsAre("ab cd"));
  EXPECT_THAT(split("'' \"\""), ElementsAre("", ""));
  EXPECT_THAT(split(R"(a\ b)"), ElementsAre("a b"));
  EXPECT_THAT(split(R"("a \"q\" \\ \n")"), ElementsAre(R"(a "q" \ \n)"));
  EXPECT_THAT(split(R"('it''s' 'a\b')"), ElementsAre("its", R"(a\b)"));
  EXPECT_THAT(split("echo $HOME 'a;b' #x"), ElementsAre("echo", "$HOME", "a;b", "#x"));
}

TEST(ShlexSplitTest, RejectsUnbalancedInput) {
  EXPECT_THAT(ShlexSplit("sh -c 'exit 3").status.error_message(),
              HasSubstr("no closing quotation"));
  EXPECT_THAT(ShlexSplit("a \"b").status.error_message(), HasSubstr("no closing quotation"));
  EXPECT_THAT(ShlexSplit("a \\").status.error_message(), HasSubstr("no escaped character"));
  EXPECT_EQ(ShlexSplit("'").status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace dockline::client
