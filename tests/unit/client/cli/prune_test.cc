#include "client/cli/prune.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/cli/cli.h"

namespace dockline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PruneCliTest, ParsesTargetsFiltersAndFlags) {
  auto parsed = cli::ParseArgs({"prune", "containers", "--filter", "label=a=b", "--filter",
                                "label!=keep", "--filter", "until=24h", "--dry-run"});
  ASSERT_TRUE(parsed.ok()) << parsed.status.error_message();
  EXPECT_EQ(parsed.value.kind, cli::CommandKind::kPrune);
  const auto& prune = parsed.value.prune;
  EXPECT_EQ(prune.target, cli::PruneTarget::kContainers);
  EXPECT_TRUE(prune.options.dry_run);
  EXPECT_THAT(prune.options.filters.labels(), ElementsAre("a=b"));
  EXPECT_THAT(prune.options.filters.labels_not(), ElementsAre("keep"));
  EXPECT_EQ(prune.options.filters.older_than().seconds(), 24 * 3600);

  auto stamp = cli::ParseArgs(
      {"prune", "images", "--filter", "until=1700000000", "--filter", "dangling=false"});
  ASSERT_TRUE(stamp.ok()) << stamp.status.error_message();
  EXPECT_EQ(stamp.value.prune.options.filters.until_time().seconds(), 1700000000);
  EXPECT_TRUE(stamp.value.prune.options.all);

  auto volumes = cli::ParseArgs({"prune", "volumes", "--all", "--json"});
  ASSERT_TRUE(volumes.ok()) << volumes.status.error_message();
  EXPECT_EQ(volumes.value.prune.target, cli::PruneTarget::kVolumes);
  EXPECT_TRUE(volumes.value.prune.options.all);
  EXPECT_TRUE(volumes.value.json);

  EXPECT_FALSE(cli::ParseArgs({"prune", "things"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"prune", "networks", "--all"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"prune", "volumes", "--filter", "until=1h"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"prune", "containers", "--filter", "dangling=true"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"prune", "containers", "--filter", "bogus=1"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"prune", "containers", "--filter", "until=yesterday"}).ok());
}

TEST(PruneCliTest, HumanSizeLikeDocker) {
  EXPECT_EQ(cli::HumanSize(0), "0B");
  EXPECT_EQ(cli::HumanSize(999), "999B");
  EXPECT_EQ(cli::HumanSize(1000), "1kB");
  EXPECT_EQ(cli::HumanSize(1234567), "1.235MB");
  EXPECT_EQ(cli::HumanSize(102400), "102.4kB");
  EXPECT_EQ(cli::HumanSize(5000000000), "5GB");
}

TEST(PruneCliTest, Summaries) {
  v1::PruneContainersResponse containers;
  containers.add_containers_deleted("abc");
  containers.add_containers_deleted("def");
  containers.set_space_reclaimed(1234567);
  EXPECT_EQ(cli::FormatPrune(containers, false),
            "Deleted Containers:\nabc\ndef\n\n2 containers deleted\nTotal reclaimed space: "
            "1.235MB\n");
  EXPECT_EQ(cli::FormatPrune(v1::PruneContainersResponse(), true),
            "0 containers would be deleted\nTotal reclaimable space: 0B\n");

  v1::PruneImagesResponse images;
  images.add_images_deleted()->set_untagged("x:1");
  images.add_images_deleted()->set_deleted("sha256:1");
  EXPECT_THAT(cli::FormatPrune(images, false),
              HasSubstr("untagged: x:1\ndeleted: sha256:1\n\n1 image, 1 tag deleted\n"));

  v1::PruneNetworksResponse networks;
  networks.add_networks_deleted("n1");
  EXPECT_EQ(cli::FormatPrune(networks, true),
            "Would delete Networks:\nn1\n\n1 network would be deleted\n");
}

}  // namespace
}  // namespace dockline
