#include "client/cli/images.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "client/cli/cli.h"

namespace dockline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

v1::PullProgress Progress(const std::string& id, const std::string& status, int64_t current = 0,
                          int64_t total = 0) {
  v1::PullProgress p;
  p.set_id(id);
  p.set_status(status);
  p.set_current(current);
  p.set_total(total);
  return p;
}

TEST(ImagesCliTest, ParsesPullImagesRmiAndRunPull) {
  auto pull = cli::ParseArgs({"pull", "--platform", "linux/amd64", "-q", "app:1"});
  ASSERT_TRUE(pull.ok()) << pull.status.error_message();
  EXPECT_EQ(pull.value.kind, cli::CommandKind::kPull);
  EXPECT_THAT(pull.value.images.images, ElementsAre("app:1"));
  EXPECT_EQ(pull.value.images.platform, "linux/amd64");
  EXPECT_TRUE(pull.value.images.quiet);
  EXPECT_FALSE(cli::ParseArgs({"pull"}).ok());

  auto images = cli::ParseArgs({"images", "-a", "--filter", "dangling=true", "app"});
  ASSERT_TRUE(images.ok()) << images.status.error_message();
  EXPECT_EQ(images.value.kind, cli::CommandKind::kImages);
  EXPECT_TRUE(images.value.images.all);
  EXPECT_THAT(images.value.images.filters, ElementsAre(Pair("dangling", "true")));
  EXPECT_THAT(images.value.images.images, ElementsAre("app"));

  auto rmi = cli::ParseArgs({"rmi", "-f", "--no-prune", "a", "b"});
  ASSERT_TRUE(rmi.ok()) << rmi.status.error_message();
  EXPECT_EQ(rmi.value.kind, cli::CommandKind::kRemoveImages);
  EXPECT_THAT(rmi.value.images.images, ElementsAre("a", "b"));
  EXPECT_TRUE(rmi.value.images.force);
  EXPECT_TRUE(rmi.value.images.no_prune);

  EXPECT_EQ(cli::ParseArgs({"run", "--pull", "always", "app"}).value.pull, v1::PULL_POLICY_ALWAYS);
  EXPECT_EQ(cli::ParseArgs({"create", "--pull", "never", "app"}).value.pull, v1::PULL_POLICY_NEVER);
  EXPECT_EQ(cli::ParseArgs({"run", "app"}).value.pull, v1::PULL_POLICY_UNSPECIFIED);
  auto bad = cli::ParseArgs({"run", "--pull", "sometimes", "app"});
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.status.error_message(), HasSubstr("want missing, always or never"));
}

TEST(PullDisplayTest, ElsewhereALinePerChangeOfALayersStatus) {
  std::ostringstream out;
  cli::PullDisplay display(out, false);
  display.Show(Progress("v1", "Pulling from team/app"));
  display.Show(Progress("abc", "Pulling fs layer"));
  display.Show(Progress("abc", "Downloading", 100, 1000));
  display.Show(Progress("abc", "Downloading", 900, 1000));
  display.Show(Progress("abc", "Pull complete"));
  display.Show(Progress("", "Digest: sha256:feed"));
  EXPECT_EQ(out.str(),
            "v1: Pulling from team/app\n"
            "abc: Pulling fs layer\n"
            "abc: Downloading\n"
            "abc: Pull complete\n"
            "Digest: sha256:feed\n");
}

TEST(PullDisplayTest, OnATerminalALayersLineIsRedrawnInPlace) {
  std::ostringstream out;
  cli::PullDisplay display(out, true);
  display.Show(Progress("abc", "Pulling fs layer"));
  display.Show(Progress("def", "Pulling fs layer"));
  display.Show(Progress("abc", "Downloading", 1500, 3000000));
  EXPECT_EQ(out.str(),
            "abc: Pulling fs layer\n"
            "def: Pulling fs layer\n"
            "\x1b[2A\r\x1b[2Kabc: Downloading  1.5kB/3MB\x1b[2B\r");
}

TEST(ImagesTableTest, OneRowPerTagAndNoneForUntagged) {
  v1::ListImagesResponse list;
  auto* tagged = list.add_images();
  tagged->set_id("sha256:0123456789abcdef0123");
  tagged->add_repo_tags("127.0.0.1:5000/team/app:v1");
  tagged->add_repo_tags("app:latest");
  tagged->mutable_created()->set_seconds(1700000000);
  tagged->set_size(4261000);
  auto* dangling = list.add_images();
  dangling->set_id("sha256:fedcba9876543210fedc");
  dangling->add_repo_tags("<none>:<none>");
  dangling->set_size(0);
  const auto now = std::chrono::system_clock::from_time_t(1700000000 + 3 * 3600);
  EXPECT_EQ(cli::FormatImagesTable(list, now, false),
            "REPOSITORY                TAG       IMAGE ID       CREATED       SIZE\n"
            "127.0.0.1:5000/team/app   v1        0123456789ab   3 hours ago   4.261MB\n"
            "app                       latest    0123456789ab   3 hours ago   4.261MB\n"
            "<none>                    <none>    fedcba987654                 0B\n");
}

}  // namespace
}  // namespace dockline
