#include "client/cli/health.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "client/cli/cli.h"

namespace dockline {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

TEST(HealthCliTest, ParsesHealthForms) {
  auto plain = cli::ParseArgs({"health", "web"});
  ASSERT_TRUE(plain.ok()) << plain.status.error_message();
  EXPECT_EQ(plain.value.kind, cli::CommandKind::kHealth);
  EXPECT_EQ(plain.value.health.container, "web");
  EXPECT_FALSE(plain.value.health.wait);

  auto wait = cli::ParseArgs({"health", "--wait", "--timeout", "30s", "web", "--json"});
  ASSERT_TRUE(wait.ok()) << wait.status.error_message();
  EXPECT_TRUE(wait.value.health.wait);
  EXPECT_EQ(wait.value.health.timeout, std::chrono::seconds(30));
  EXPECT_TRUE(wait.value.json);

  EXPECT_TRUE(cli::ParseArgs({"health", "--watch", "web"}).value.health.watch);
  EXPECT_FALSE(cli::ParseArgs({"health", "--wait", "--watch", "web"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"health", "--timeout", "5s", "web"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"health", "--wait", "--timeout", "soon", "web"}).ok());
  // The issue's `health --wait --timeout 30`: bare seconds, as docker's timeouts.
  EXPECT_EQ(cli::ParseArgs({"health", "--wait", "--timeout", "30", "web"}).value.health.timeout,
            std::chrono::seconds(30));
  EXPECT_FALSE(cli::ParseArgs({"health"}).ok());
}

TEST(HealthCliTest, ReportSaysWhenTheContainerStopped) {
  v1::GetHealthResponse reply;
  reply.mutable_health()->set_status(v1::HEALTH_STATUS_UNHEALTHY);
  reply.mutable_health()->set_failing_streak(2);
  auto* probe = reply.mutable_health()->add_log();
  *probe->mutable_start() = TimeUtil::NanosecondsToTimestamp(1795738021000000000);
  *probe->mutable_end() = TimeUtil::NanosecondsToTimestamp(1795738021012000000);
  probe->set_exit_code(1);
  probe->set_output("no\n");
  reply.set_container_status(v1::CONTAINER_STATUS_EXITED);
  std::string text = cli::FormatHealth(reply);
  EXPECT_THAT(text, HasSubstr("unhealthy (container exited"));
  EXPECT_THAT(text, HasSubstr("Failing streak:  2"));
  EXPECT_THAT(text, HasSubstr("exit 1"));
  EXPECT_THAT(text, HasSubstr("12ms"));
  EXPECT_THAT(text, HasSubstr(" no\n"));

  v1::GetHealthResponse none;
  none.mutable_health()->set_status(v1::HEALTH_STATUS_NONE);
  none.set_container_status(v1::CONTAINER_STATUS_RUNNING);
  EXPECT_EQ(cli::FormatHealth(none), "Status:          none\n");
}

}  // namespace
}  // namespace dockline
