#include "engine/url.h"

#include <gtest/gtest.h>

namespace dockline::engine {
namespace {

TEST(UrlEncodeTest, Cases) {
  EXPECT_EQ(UrlEncode("abcXYZ019-._~"), "abcXYZ019-._~");
  EXPECT_EQ(UrlEncode("a b/c?d#e&f=g+h%"), "a%20b%2Fc%3Fd%23e%26f%3Dg%2Bh%25");
  EXPECT_EQ(UrlEncode(R"({"label":["a=1"]})"), "%7B%22label%22%3A%5B%22a%3D1%22%5D%7D");
  EXPECT_EQ(UrlEncode("\xc3\xa9\x01"), "%C3%A9%01");
  EXPECT_EQ(UrlEncode(""), "");
  EXPECT_EQ(UrlEncode("demo-full"), "demo-full");
  EXPECT_EQ(UrlEncode("a:b c"), "a%3Ab%20c");
}

}  // namespace
}  // namespace dockline::engine
