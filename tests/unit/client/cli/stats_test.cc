// `dockline stats`: parsing and docker stats' table.

#include "client/cli/stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/cli/cli.h"
#include "client/cli/format.h"

namespace dockline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(StatsCliTest, StreamsOneContainerOrSamplesSeveral) {
  auto one = cli::ParseArgs({"stats", "web"});
  ASSERT_TRUE(one.ok()) << one.status.error_message();
  EXPECT_EQ(one.value.kind, cli::CommandKind::kStats);
  EXPECT_THAT(one.value.stats.containers, ElementsAre("web"));
  EXPECT_FALSE(one.value.stats.no_stream);

  auto several = cli::ParseArgs({"stats", "--no-stream", "--no-trunc", "a", "b"});
  ASSERT_TRUE(several.ok()) << several.status.error_message();
  EXPECT_THAT(several.value.stats.containers, ElementsAre("a", "b"));
  EXPECT_TRUE(several.value.stats.no_trunc);

  auto refused = cli::ParseArgs({"stats", "a", "b"});
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.status.error_message(), HasSubstr("add --no-stream"));
  EXPECT_FALSE(cli::ParseArgs({"stats"}).ok());
}

TEST(StatsCliTest, TheTableIsDockers) {
  v1::ContainerStats s;
  s.set_id("0123456789abcdef0123");
  s.set_name("web");
  s.set_cpu_percent(12.5);
  s.set_memory_usage(2000000);
  s.set_memory_limit(8348520448);
  s.set_memory_percent(0.02396);
  s.set_network_rx_bytes(1090);
  s.set_block_write_bytes(4096);
  s.set_pids(3);
  EXPECT_EQ(cli::FormatStatsTable({s}, false),
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT     MEM %     NET I/O       "
            "BLOCK I/O      PIDS\n"
            "0123456789ab   web       12.50%    1.907MiB / 7.775GiB   0.02%     1.09kB / 0B   "
            "0B / 4.096kB   3\n");
  EXPECT_THAT(cli::FormatStatsTable({s}, true), HasSubstr("0123456789abcdef0123   web"));
  EXPECT_EQ(cli::BytesSize(0), "0B");
  EXPECT_EQ(cli::BytesSize(1024), "1KiB");
  EXPECT_EQ(cli::BytesSize(64 << 20), "64MiB");
}

}  // namespace
}  // namespace dockline
