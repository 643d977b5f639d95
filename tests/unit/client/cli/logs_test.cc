#include "client/cli/logs.h"

#include <gtest/gtest.h>

#include <string>

namespace dockline {
namespace {

TEST(FinishLogsArgsTest, FlagsToOptions) {
  cli::LogsFlags flags;
  flags.follow = true;
  flags.stderr_only = true;
  flags.tail = "25";
  client::LogsOptions options;
  ASSERT_TRUE(cli::FinishLogsArgs(flags, &options).ok());
  EXPECT_TRUE(options.follow);
  EXPECT_FALSE(options.stdout_stream);
  EXPECT_TRUE(options.stderr_stream);
  EXPECT_EQ(options.tail, 25);
  flags.tail = "-3";
  EXPECT_FALSE(cli::FinishLogsArgs(flags, &options).ok());
  flags.tail = "all";
  flags.since = "garbage";
  grpc::Status st = cli::FinishLogsArgs(flags, &options);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error_message().find("--since"), std::string::npos);
}

}  // namespace
}  // namespace dockline
