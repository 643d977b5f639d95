#include "server/auth/limits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <climits>
#include <string>

#include "client/client.h"
#include "dockline/v1/dockline.pb.h"

namespace dockline::server::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(CheckRequestSizeTest, OverTheLimitNamesBothSizesAndTheFlag) {
  v1::InspectContainerRequest request;
  request.set_container(std::string(100, 'a'));
  const size_t size = request.ByteSizeLong();
  ASSERT_GT(size, 100u);

  EXPECT_TRUE(CheckRequestSize(request, size).ok());
  EXPECT_TRUE(CheckRequestSize(request, size + 1).ok());
  grpc::Status over = CheckRequestSize(request, size - 1);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(over.error_message(), "request is " + std::to_string(size) + " bytes; the limit is " +
                                      std::to_string(size - 1) + " (--max-request-size)");
  EXPECT_TRUE(CheckRequestSize(v1::InspectContainerRequest(), 0).ok());
}

TEST(ReceiveLimitForTest, TwiceTheLimitUpToIntMax) {
  EXPECT_EQ(ReceiveLimitFor(kDefaultMaxRequestBytes), 8 << 20);
  EXPECT_EQ(ReceiveLimitFor(1), 2);
  EXPECT_EQ(ReceiveLimitFor(size_t{INT_MAX} / 2), INT_MAX - 1);
  EXPECT_EQ(ReceiveLimitFor(size_t{INT_MAX} / 2 + 1), INT_MAX);
  EXPECT_EQ(ReceiveLimitFor(size_t{1} << 40), INT_MAX);
}

TEST(ParseByteSizeFlagTest, ExecOutputCapUnits) {
  EXPECT_EQ(ParseByteSizeFlag("--max-request-size", "4m").value(), size_t{4} << 20);
  EXPECT_EQ(ParseByteSizeFlag("--max-request-size", "512k").value(), size_t{512} << 10);
  EXPECT_EQ(ParseByteSizeFlag("--max-request-size", "1.5g").value(), size_t{3} << 29);
  EXPECT_EQ(ParseByteSizeFlag("--max-request-size", "1000").value(), 1000u);
  for (const char* bad : {"", "4x", "m", "-1m", "4 m"}) {
    auto parsed = ParseByteSizeFlag("--max-request-size", bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.status().message(), StartsWith("--max-request-size: invalid size")) << bad;
    // The spec field ParseMemory usually names would only confuse here.
    EXPECT_THAT(parsed.status().message(), Not(HasSubstr("spec.memory"))) << bad;
  }
  EXPECT_EQ(ParseByteSizeFlag("--max-request-size", "0").status().message(),
            "--max-request-size: must be at least 1 byte");
}

TEST(ParseDurationFlagTest, GoStyleDurations) {
  using std::chrono::milliseconds;
  EXPECT_EQ(ParseDurationFlag("--keepalive-time", "30s").value(), milliseconds(30000));
  EXPECT_EQ(ParseDurationFlag("--keepalive-time", "2m").value(), milliseconds(120000));
  EXPECT_EQ(ParseDurationFlag("--keepalive-time", "1h30m").value(), milliseconds(5400000));
  EXPECT_EQ(ParseDurationFlag("--keepalive-time", "500ms").value(), milliseconds(500));
  EXPECT_EQ(ParseDurationFlag("--keepalive-time", "1.5s").value(), milliseconds(1500));
  for (const char* bad : {"", "30", "abc", "30 s", "1d", "inf", "-inf", "s"}) {
    auto parsed = ParseDurationFlag("--keepalive-timeout", bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.status().message(), StartsWith("--keepalive-timeout: invalid duration \""))
        << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("e.g. 30s")) << bad;
  }
  for (const char* too_short : {"0", "0s", "-1s", "500us"}) {
    auto parsed = ParseDurationFlag("--keepalive-time", too_short);
    ASSERT_FALSE(parsed.ok()) << too_short;
    EXPECT_THAT(parsed.status().message(), HasSubstr("is too short: at least 1ms")) << too_short;
  }
  EXPECT_THAT(ParseDurationFlag("--keepalive-time", "1000h").status().message(),
              HasSubstr("\"1000h\" is too long"));
}

// A client on its defaults must never ping more often than docklined accepts.
TEST(KeepalivePolicyTest, ClientDefaultIsWithinTheServersPingPolicy) {
  EXPECT_LE(kMinClientPingInterval, client::kDefaultKeepaliveTime);
  EXPECT_LE(kMinClientPingInterval, client::ClientOptions{}.keepalive_time);
}

}  // namespace
}  // namespace dockline::server::auth
