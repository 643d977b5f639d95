#include "client/cli/attach.h"

#include <gtest/gtest.h>

#include "client/cli/cli.h"
#include "parse_args.h"

namespace dockline::testing {
namespace {

TEST(AttachArgsTest, DockersFlagsAndOneContainer) {
  auto r = Parse({"attach", "web"});
  ASSERT_TRUE(r.ok()) << r.status.error_message();
  EXPECT_EQ(r.value.kind, cli::CommandKind::kAttach);
  ASSERT_EQ(r.value.containers.size(), 1u);
  EXPECT_EQ(r.value.containers[0], "web");
  EXPECT_FALSE(r.value.attach.no_stdin);
  EXPECT_TRUE(r.value.attach.sig_proxy);

  r = Parse({"attach", "--no-stdin", "--sig-proxy=false", "--detach-keys", "ctrl-x,x", "web"});
  ASSERT_TRUE(r.ok()) << r.status.error_message();
  EXPECT_TRUE(r.value.attach.no_stdin);
  EXPECT_FALSE(r.value.attach.sig_proxy);
  EXPECT_EQ(r.value.attach.detach_keys, "ctrl-x,x");

  EXPECT_FALSE(Parse({"attach"}).ok());
  EXPECT_FALSE(Parse({"attach", "a", "b"}).ok());
}

TEST(AttachArgsTest, RunInteractiveKeepsStdinOpen) {
  auto r = Parse({"run", "-it", "--rm", "busybox", "sh"});
  ASSERT_TRUE(r.ok()) << r.status.error_message();
  EXPECT_TRUE(r.value.spec.stdin_open());
  EXPECT_TRUE(r.value.spec.tty());
  EXPECT_TRUE(r.value.spec.auto_remove());
  EXPECT_FALSE(r.value.detach);
}

}  // namespace
}  // namespace dockline::testing
