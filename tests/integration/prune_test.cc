// PruneContainers/Images/Volumes/Networks (and `dockline prune`) against the real daemon.
// Every prune is filtered by this run's label plus a label unique to the test, so parallel tests
// and other users' objects are never touched; each reply is checked against what the daemon
// still has.

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>

#include <map>
#include <string>
#include <vector>

#include "prune_fixture.h"

namespace dockline::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using json = nlohmann::json;

TEST_F(PruneTest, ContainersDryRunUntilLabelNegationThenPrune) {
  std::string a = Exited();
  std::string b = Exited();
  std::string kept = Exited({{"keep", "yes"}});
  std::string running = CreateAndStart(MySpec({"sleep", "300"}));
  ASSERT_FALSE(running.empty());

  v1::PruneContainersRequest req;
  *req.mutable_filters() = Mine();
  req.mutable_filters()->add_labels_not("keep");
  req.set_dry_run(true);
  v1::PruneContainersResponse dry;
  auto ctx = Context();
  ASSERT_TRUE(stub().PruneContainers(ctx.get(), req, &dry).ok());
  EXPECT_THAT(dry.containers_deleted(), UnorderedElementsAre(a, b));
  EXPECT_TRUE(ContainerExists(a) && ContainerExists(b)) << "a dry run deleted something";

  // Created less than an hour ago: an age filter of an hour spares them.
  req.set_dry_run(false);
  req.mutable_filters()->mutable_older_than()->set_seconds(3600);
  v1::PruneContainersResponse young;
  auto ctx2 = Context();
  ASSERT_TRUE(stub().PruneContainers(ctx2.get(), req, &young).ok());
  EXPECT_THAT(young.containers_deleted(), IsEmpty());
  EXPECT_TRUE(ContainerExists(a) && ContainerExists(b));

  // An until time in the future takes them.
  *req.mutable_filters()->mutable_until_time() =
      google::protobuf::util::TimeUtil::GetCurrentTime() +
      google::protobuf::util::TimeUtil::SecondsToDuration(3600);
  v1::PruneContainersResponse pruned;
  auto ctx3 = Context();
  grpc::Status st = stub().PruneContainers(ctx3.get(), req, &pruned);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(pruned.containers_deleted(), UnorderedElementsAre(a, b));
  EXPECT_FALSE(ContainerExists(a));
  EXPECT_FALSE(ContainerExists(b));
  EXPECT_TRUE(ContainerExists(kept)) << "label! was ignored";
  EXPECT_TRUE(ContainerExists(running)) << "a running container was pruned";
}

TEST_F(PruneTest, ImagesDanglingByDefaultEveryUnusedWithDanglingFalse) {
  std::string source = Exited();
  std::string dangling = CommitImage(source);
  std::string repo = "dl-prune-" + unique_;
  std::string tagged = CommitImage(source, repo);
  ASSERT_FALSE(dangling.empty());
  ASSERT_FALSE(tagged.empty());

  v1::PruneImagesRequest req;
  *req.mutable_filters() = Mine();
  req.set_dry_run(true);
  v1::PruneImagesResponse dry;
  auto ctx = Context();
  ASSERT_TRUE(stub().PruneImages(ctx.get(), req, &dry).ok());
  ASSERT_EQ(dry.images_deleted_size(), 1);
  EXPECT_EQ(dry.images_deleted(0).deleted(), dangling);
  EXPECT_TRUE(Exists("/images/" + dangling + "/json")) << "a dry run deleted something";

  req.set_dry_run(false);
  v1::PruneImagesResponse pruned;
  auto ctx2 = Context();
  ASSERT_TRUE(stub().PruneImages(ctx2.get(), req, &pruned).ok());
  std::vector<std::string> deleted;
  for (const auto& item : pruned.images_deleted()) {
    if (!item.deleted().empty()) {
      deleted.push_back(item.deleted());
    }
  }
  EXPECT_THAT(deleted, ElementsAre(dangling));
  EXPECT_FALSE(Exists("/images/" + dangling + "/json"));
  EXPECT_TRUE(Exists("/images/" + tagged + "/json")) << "a tagged image went with dangling=true";

  // dangling=false: every unused image that matches, tags and all.
  req.set_dangling(false);
  req.set_dry_run(true);
  v1::PruneImagesResponse dry_all;
  auto ctx3 = Context();
  ASSERT_TRUE(stub().PruneImages(ctx3.get(), req, &dry_all).ok());
  ASSERT_EQ(dry_all.images_deleted_size(), 2);
  EXPECT_EQ(dry_all.images_deleted(0).untagged(), repo + ":t");
  EXPECT_EQ(dry_all.images_deleted(1).deleted(), tagged);

  req.set_dry_run(false);
  v1::PruneImagesResponse all;
  auto ctx4 = Context();
  ASSERT_TRUE(stub().PruneImages(ctx4.get(), req, &all).ok());
  ImagesGone gone = Split(all.images_deleted());
  EXPECT_THAT(gone.untagged, ElementsAre(repo + ":t"));
  EXPECT_THAT(gone.deleted, ElementsAre(tagged));
  EXPECT_FALSE(Exists("/images/" + tagged + "/json"));
  EXPECT_TRUE(Exists("/images/" + Image() + "/json")) << "the base image went";
}

TEST_F(PruneTest, VolumesAnonymousOnlyUnlessAllWhateverTheApiVersion) {
  std::string named = CreateVolume(UniqueName("vol"));
  std::string anonymous = CreateVolume("");
  std::string in_use = CreateVolume(UniqueName("vol-used"));
  ASSERT_EQ(anonymous.size(), 64u) << anonymous;

  // Some bytes in the anonymous volume, so the reclaimed space is something.
  v1::ContainerSpec writer = MySpec({"sh", "-c", "head -c 100000 /dev/zero > /data/f"});
  auto* mount = writer.add_mounts();
  mount->set_type(v1::MOUNT_TYPE_VOLUME);
  mount->set_source(anonymous);
  mount->set_target("/data");
  std::string writer_id = CreateAndStart(writer);
  ASSERT_TRUE(
      PollUntil([&] { return DaemonInspect(writer_id)["State"].value("Status", "") == "exited"; },
                std::chrono::seconds(60)));
  ASSERT_TRUE(Daemon(engine::ApiRequest("DELETE", "/containers/" + writer_id)).ok());
  // A container (even one never started) keeps its volume.
  v1::ContainerSpec user = MySpec({"true"});
  auto* used = user.add_mounts();
  used->set_type(v1::MOUNT_TYPE_VOLUME);
  used->set_source(in_use);
  used->set_target("/data");
  std::string user_id;
  ASSERT_TRUE(Create(user, &user_id).ok());
  containers_.push_back(user_id);

  v1::PruneVolumesRequest req;
  *req.mutable_filters() = Mine();
  req.set_dry_run(true);
  v1::PruneVolumesResponse dry;
  auto ctx = Context();
  ASSERT_TRUE(stub().PruneVolumes(ctx.get(), req, &dry).ok());
  EXPECT_THAT(dry.volumes_deleted(), ElementsAre(anonymous));
  EXPECT_GE(dry.space_reclaimed(), 100000u);
  EXPECT_TRUE(Exists("/volumes/" + anonymous)) << "a dry run deleted something";

  // all=false: on API 1.41 the daemon's own prune would take the named volume too.
  req.set_dry_run(false);
  v1::PruneVolumesResponse pruned;
  auto ctx2 = Context();
  grpc::Status st = stub().PruneVolumes(ctx2.get(), req, &pruned);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(pruned.volumes_deleted(), ElementsAre(anonymous));
  EXPECT_GE(pruned.space_reclaimed(), 100000u);
  EXPECT_FALSE(Exists("/volumes/" + anonymous));
  EXPECT_TRUE(Exists("/volumes/" + named)) << "all=false removed a named volume";

  req.set_all(true);
  v1::PruneVolumesResponse all;
  auto ctx3 = Context();
  ASSERT_TRUE(stub().PruneVolumes(ctx3.get(), req, &all).ok());
  EXPECT_THAT(all.volumes_deleted(), ElementsAre(named));
  EXPECT_FALSE(Exists("/volumes/" + named));
  EXPECT_TRUE(Exists("/volumes/" + in_use)) << "a volume in use was pruned";

  v1::PruneVolumesRequest until;
  until.mutable_filters()->mutable_older_than()->set_seconds(60);
  v1::PruneVolumesResponse refused;
  auto ctx4 = Context();
  st = stub().PruneVolumes(ctx4.get(), until, &refused);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("filters.older_than"));
}

TEST_F(PruneTest, NetworksDryRunThenPrune) {
  std::string net = CreateNetwork();
  v1::PruneNetworksRequest req;
  *req.mutable_filters() = Mine();
  req.set_dry_run(true);
  v1::PruneNetworksResponse dry;
  auto ctx = Context();
  ASSERT_TRUE(stub().PruneNetworks(ctx.get(), req, &dry).ok());
  EXPECT_THAT(dry.networks_deleted(), ElementsAre(net));
  EXPECT_TRUE(Exists("/networks/" + net)) << "a dry run deleted something";

  req.set_dry_run(false);
  req.mutable_filters()->mutable_older_than()->set_seconds(3600);
  v1::PruneNetworksResponse young;
  auto ctx2 = Context();
  ASSERT_TRUE(stub().PruneNetworks(ctx2.get(), req, &young).ok());
  EXPECT_THAT(young.networks_deleted(), IsEmpty());

  req.mutable_filters()->clear_older_than();
  v1::PruneNetworksResponse pruned;
  auto ctx3 = Context();
  ASSERT_TRUE(stub().PruneNetworks(ctx3.get(), req, &pruned).ok());
  EXPECT_THAT(pruned.networks_deleted(), ElementsAre(net));
  EXPECT_FALSE(Exists("/networks/" + net));
}

TEST_F(PruneTest, CliSummariesAndJson) {
  std::string a = Exited();
  std::vector<std::string> args = {"prune", "containers", "--dry-run"};
  for (const std::string& arg : LabelArgs()) {
    args.push_back(arg);
  }
  CommandResult dry = Cli(args);
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("Would delete Containers:\n" + a + "\n"));
  EXPECT_THAT(dry.out, HasSubstr("1 container would be deleted"));
  EXPECT_THAT(dry.out, HasSubstr("Total reclaimable space: "));
  EXPECT_TRUE(ContainerExists(a));

  args.erase(args.begin() + 2);
  args.push_back("--json");
  CommandResult pruned = Cli(args);
  EXPECT_EQ(pruned.exit_code, 0) << pruned.err;
  auto j = json::parse(pruned.out, nullptr, false);
  EXPECT_EQ(j["containersDeleted"], json::array({a})) << pruned.out;
  EXPECT_FALSE(ContainerExists(a));

  std::string net = CreateNetwork();
  std::vector<std::string> net_args = {"prune", "networks"};
  for (const std::string& arg : LabelArgs()) {
    net_args.push_back(arg);
  }
  CommandResult networks = Cli(net_args);
  EXPECT_EQ(networks.exit_code, 0) << networks.err;
  EXPECT_EQ(networks.out, "Deleted Networks:\n" + net + "\n\n1 network deleted\n");

  CommandResult bad = Cli({"prune", "volumes", "--filter", "until=1h"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("until"));
}

}  // namespace
}  // namespace dockline::testing
