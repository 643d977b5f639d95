#include "engine/api_version.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dockline::engine {
namespace {

using ::testing::HasSubstr;

TEST(NegotiateApiVersionTest, TakesTheLowerOfTheDaemonsAndOurs) {
  EXPECT_EQ(NegotiateApiVersion("1.41").value(), "1.41");
  EXPECT_EQ(NegotiateApiVersion("1.52").value(), kNewestApiVersion);
  EXPECT_EQ(NegotiateApiVersion("1.47").value(), "1.47");
  EXPECT_EQ(NegotiateApiVersion("1.40").value(), "1.40");
}

TEST(NegotiateApiVersionTest, RefusesOldOrMissingVersions) {
  auto old = NegotiateApiVersion("1.24");
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), Code::kUnsupportedVersion);
  EXPECT_THAT(old.status().message(), HasSubstr("1.24"));
  EXPECT_THAT(old.status().message(), HasSubstr(kOldestApiVersion));
  EXPECT_FALSE(NegotiateApiVersion("").ok());
  EXPECT_FALSE(NegotiateApiVersion("garbage").ok());
}

TEST(CompareApiVersionsTest, Numeric) {
  EXPECT_LT(CompareApiVersions("1.9", "1.41"), 0);
  EXPECT_GT(CompareApiVersions("1.100", "1.47"), 0);
  EXPECT_EQ(CompareApiVersions("1.41", "1.41"), 0);
}

}  // namespace
}  // namespace dockline::engine
