#include "server/auth/listener.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dockline::server {
namespace {

using ::testing::HasSubstr;

TEST(IsLocalListenAddressTest, LoopbackLiteralsLocalhostAndUnix) {
  for (const char* local :
       {"127.0.0.1:50051", "127.1.2.3:0", "localhost:1", "[::1]:50051", "unix:///run/dockline.sock",
        "unix:rel.sock", "ipv4:127.0.0.1:5", "dns:localhost:5"}) {
    EXPECT_TRUE(IsLocalListenAddress(local)) << local;
  }
  for (const char* remote :
       {"0.0.0.0:50051", "10.0.0.1:1", "[::]:1", "example.com:1", "127.example.com:50051",
        "127.0.0.1.nip.io:1", "localhost.example.com:1", "unix-abstract:x", "[::ffff:1.2.3.4]:1"}) {
    EXPECT_FALSE(IsLocalListenAddress(remote)) << remote;
  }
}

TEST(UnixSocketPathTest, Forms) {
  EXPECT_EQ(auth::UnixSocketPath("unix:///run/d.sock"), "/run/d.sock");
  EXPECT_EQ(auth::UnixSocketPath("unix:/run/d.sock"), "/run/d.sock");
  EXPECT_EQ(auth::UnixSocketPath("unix:d.sock"), "d.sock");
  EXPECT_EQ(auth::UnixSocketPath("127.0.0.1:1"), std::nullopt);
}

TEST(ParseListenModeTest, OctalOnly) {
  EXPECT_EQ(auth::ParseListenMode("0660").value(), 0660u);
  EXPECT_EQ(auth::ParseListenMode("600").value(), 0600u);
  EXPECT_EQ(auth::ParseListenMode("0o644").value(), 0644u);
  for (const char* bad : {"", "rw-rw----", "0680", "-1", "01777", "12345", "0x1ff"}) {
    auto mode = auth::ParseListenMode(bad);
    ASSERT_FALSE(mode.ok()) << bad;
    EXPECT_THAT(mode.status().message(), HasSubstr("--listen-mode")) << bad;
  }
}

TEST(LookupGroupTest, UnknownGroupIsNamed) {
  auto gid = auth::LookupGroup("dockline-no-such-group");
  ASSERT_FALSE(gid.ok());
  EXPECT_THAT(gid.status().message(), HasSubstr("dockline-no-such-group"));
  EXPECT_TRUE(auth::LookupGroup("root").ok());
}

TEST(ServerCredentialsFromFilesTest, FlagsThatGoTogether) {
  EXPECT_TRUE(auth::ServerCredentialsFromFiles({}).ok());
  auto only_cert = auth::ServerCredentialsFromFiles({"/c.pem", "", ""});
  ASSERT_FALSE(only_cert.ok());
  EXPECT_THAT(only_cert.status().message(), HasSubstr("--tls-cert and --tls-key go together"));
  auto ca_alone = auth::ServerCredentialsFromFiles({"", "", "/ca.pem"});
  ASSERT_FALSE(ca_alone.ok());
  EXPECT_THAT(ca_alone.status().message(), HasSubstr("--tls-client-ca needs --tls-cert"));
  auto missing = auth::ServerCredentialsFromFiles({"/nonexistent/c.pem", "/nonexistent/k.pem", ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/c.pem"));
}

}  // namespace
}  // namespace dockline::server
