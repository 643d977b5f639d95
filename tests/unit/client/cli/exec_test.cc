#include "client/cli/exec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "client/cli/cli.h"

namespace dockline::cli {
namespace {

Result<Invocation> Parse(std::vector<std::string> args) {
  return ParseArgs(args, [](const std::string& name) -> std::optional<std::string> {
    if (name == "FROM_HOST") {
      return "yes";
    }
    return std::nullopt;
  });
}

TEST(ExecArgsTest, FlagsContainerAndCommand) {
  auto r = Parse({"exec", "-it", "-e", "A=1", "-e", "FROM_HOST", "-w", "/w", "-u", "user",
                  "--privileged", "web", "sh", "-c", "echo -i"});
  ASSERT_TRUE(r.ok()) << r.status.error_message();
  EXPECT_EQ(r.value.kind, CommandKind::kExec);
  const ExecInvocation& e = r.value.exec;
  EXPECT_EQ(e.container, "web");
  EXPECT_THAT(e.cmd, ::testing::ElementsAre("sh", "-c", "echo -i"));
  EXPECT_TRUE(e.interactive);
  EXPECT_TRUE(e.options.tty);
  EXPECT_TRUE(e.options.privileged);
  EXPECT_FALSE(e.detach);
  EXPECT_THAT(e.options.env, ::testing::ElementsAre("A=1", "FROM_HOST=yes"));
  EXPECT_EQ(e.options.workdir, "/w");
  EXPECT_EQ(e.options.user, "user");
}

TEST(ExecArgsTest, OneWordWithSpacesIsAShellLine) {
  auto r = Parse({"exec", "web", "sh -c 'echo hi; exit 3'"});
  ASSERT_TRUE(r.ok()) << r.status.error_message();
  EXPECT_THAT(r.value.exec.cmd, ::testing::ElementsAre("sh", "-c", "echo hi; exit 3"));
  auto plain = Parse({"exec", "web", "ls"});
  ASSERT_TRUE(plain.ok());
  EXPECT_THAT(plain.value.exec.cmd, ::testing::ElementsAre("ls"));
  EXPECT_EQ(Parse({"exec", "web", "sh -c 'open"}).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(ExecArgsTest, Refusals) {
  EXPECT_EQ(Parse({"exec", "web"}).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Parse({"exec"}).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Parse({"exec", "-d", "-i", "web", "cat"}).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Parse({"exec", "--nope", "web", "ls"}).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  auto detach = Parse({"exec", "-d", "web", "sleep", "1"});
  ASSERT_TRUE(detach.ok());
  EXPECT_TRUE(detach.value.exec.detach);
}

}  // namespace
}  // namespace dockline::cli
