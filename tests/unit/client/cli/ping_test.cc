#include "client/cli/ping.h"

#include <gtest/gtest.h>

#include <chrono>

#include "client/cli/cli.h"
#include "unit/client/cli/parse_args.h"

namespace dockline {
namespace {

using testing::FakeEnv;
using testing::Parse;

TEST(PingCliTest, ParsesServiceAndGlobalFlagsOnEitherSide) {
  auto plain = Parse({"ping"});
  ASSERT_TRUE(plain.ok()) << plain.status.error_message();
  EXPECT_EQ(plain.value.kind, cli::CommandKind::kPing);
  EXPECT_EQ(plain.value.ping.service, "");
  // No --timeout: ExecutePing falls back to kDefaultPingTimeout, never to no deadline.
  EXPECT_FALSE(plain.value.timeout.has_value());

  // As the image's HEALTHCHECK writes it: the global flags after the command name.
  auto after = Parse({"ping", "--service", "dockline.v1.Dockline", "--timeout", "2s", "--addr",
                      "unix:///run/dockline/dockline.sock", "--json"});
  ASSERT_TRUE(after.ok()) << after.status.error_message();
  EXPECT_EQ(after.value.kind, cli::CommandKind::kPing);
  EXPECT_EQ(after.value.ping.service, "dockline.v1.Dockline");
  EXPECT_EQ(after.value.timeout, std::chrono::seconds(2));
  EXPECT_EQ(after.value.address, "unix:///run/dockline/dockline.sock");
  EXPECT_TRUE(after.value.json);

  auto before = Parse({"--timeout", "500ms", "ping"},
                      FakeEnv({{"DOCKLINE_ADDR", "unix:///tmp/d.sock"}, {"DOCKLINE_TOKEN", "t"}}));
  ASSERT_TRUE(before.ok()) << before.status.error_message();
  EXPECT_EQ(before.value.timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(before.value.address, "unix:///tmp/d.sock");
  EXPECT_EQ(before.value.token, "t");

  EXPECT_FALSE(Parse({"ping", "--timeout", "0s"}).ok());
  EXPECT_FALSE(Parse({"ping", "extra"}).ok());
  EXPECT_FALSE(Parse({"ping", "--service"}).ok());
}

}  // namespace
}  // namespace dockline
