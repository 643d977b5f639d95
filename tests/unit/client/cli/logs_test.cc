#include "client/cli/logs.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
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

TEST(FinishLogsArgsTest, ResumeFileWithACursorReplacesSinceAndTail) {
  char dir_template[] = "/tmp/dockline-logs-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string file = std::string(dir_template) + "/cursor";
  cli::LogsFlags flags;
  flags.tail = "10";
  flags.since = "10m";
  flags.resume_file = file;
  client::LogsOptions first;
  ASSERT_TRUE(cli::FinishLogsArgs(flags, &first).ok()) << "a missing file is a first run";
  EXPECT_EQ(first.tail, 10);
  EXPECT_TRUE(first.since.has_value());
  EXPECT_EQ(first.resume_from, "");
  std::ofstream(file) << "dlcur1.abc\n";
  client::LogsOptions later;
  ASSERT_TRUE(cli::FinishLogsArgs(flags, &later).ok());
  EXPECT_EQ(later.resume_from, "dlcur1.abc");
  EXPECT_FALSE(later.tail.has_value());
  EXPECT_FALSE(later.since.has_value());
  std::filesystem::remove_all(dir_template);
}

}  // namespace
}  // namespace dockline
