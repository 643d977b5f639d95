#include "server/auth/tokens.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dockline::server::auth {
namespace {

using ::testing::HasSubstr;

// sha256("alice-token") as `printf %s alice-token | sha256sum` prints it.
constexpr char kAliceDigest[] = "9c220f200955d76c0a38d308225e0ef10c5f971acaf2f8d1d8f732affa5bd1dc";

TEST(Sha256Test, KnownVector) {
  EXPECT_EQ(DigestHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokenTableTest, ParsesEntriesCommentsAndBlankLines) {
  std::string text = "# who may call\n\nalice sha256:" + DigestHex(Sha256("alice-token")) +
                     "\n  bob\tsha256:" + DigestHex(Sha256("bob-token")) + "  \r\n# end\n";
  auto table = TokenTable::Parse(text, "tokens");
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->size(), 2u);
  EXPECT_EQ(table->Match("alice-token"), "alice");
  EXPECT_EQ(table->Match("bob-token"), "bob");
  EXPECT_EQ(table->Match("carol-token"), std::nullopt);
  EXPECT_EQ(table->Match(""), std::nullopt);
  EXPECT_EQ(table->Match("alice-token "), std::nullopt);
}

TEST(TokenTableTest, UpperCaseHexAndSeveralTokensForOneIdentity) {
  std::string upper = DigestHex(Sha256("one"));
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  auto table = TokenTable::Parse(
      "ci sha256:" + upper + "\nci sha256:" + DigestHex(Sha256("two")) + "\n", "tokens");
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->Match("one"), "ci");
  EXPECT_EQ(table->Match("two"), "ci");
}

TEST(TokenTableTest, MalformedLinesNameTheLine) {
  std::string good = "alice sha256:" + DigestHex(Sha256("a")) + "\n";
  struct Case {
    std::string text;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {good + "bob\n", "tokens.txt:2: expected 'IDENTITY sha256:<64 hex digits>'"},
           {good + "# c\nbob sha256:" + std::string(64, 'a') + " extra\n", "tokens.txt:3:"},
           {"bob " + DigestHex(Sha256("b")) + "\n",
            "tokens.txt:1: the token must be given as sha256:"},
           {"bob sha256:" + std::string(63, 'a') + "\n", "tokens.txt:1: the token must"},
           {"bob sha256:" + std::string(63, 'a') + "g\n", "tokens.txt:1: the token must"},
           {"bob md5:" + std::string(64, 'a') + "\n", "tokens.txt:1: the token must"},
           {"local sha256:" + std::string(64, 'a') + "\n", "tokens.txt:1: identity 'local' is"},
           {"anonymous sha256:" + std::string(64, 'a') + "\n", "'anonymous' is reserved"},
           {good + "bob sha256:" + DigestHex(Sha256("a")) + "\n",
            "tokens.txt:2: this token is already"},
           {"# nothing\n\n", "tokens.txt: names no identity"},
       }) {
    auto table = TokenTable::Parse(c.text, "tokens.txt");
    ASSERT_FALSE(table.ok()) << c.text;
    EXPECT_THAT(table.status().message(), HasSubstr(c.want)) << c.text;
  }
}

TEST(TokenTableTest, LoadNamesAMissingFile) {
  auto table = TokenTable::Load("/nonexistent/dockline-tokens");
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().message(), HasSubstr("/nonexistent/dockline-tokens"));
}

TEST(TokenTableTest, DigestFromTheDocumentedCommandMatches) {
  // The README tells operators to make lines with sha256sum; the digest text is the same.
  auto table = TokenTable::Parse(std::string("alice sha256:") + kAliceDigest, "t");
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->Match("alice-token"), "alice");
}

}  // namespace
}  // namespace dockline::server::auth
