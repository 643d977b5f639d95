#include "server/codec/prune_codec.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace dockline {
namespace {

using google::protobuf::util::TimeUtil;
using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PruneFiltersTest, UntilLabelsAndNegation) {
  v1::PruneFilters filters;
  *filters.mutable_until_time() = TimeUtil::NanosecondsToTimestamp(1700000000500000000);
  filters.add_labels("dockline-test=1");
  filters.add_labels("tier");
  filters.add_labels_not("keep");
  json out;
  ASSERT_TRUE(server::PruneFiltersToJson(server::PruneKind::kContainers, filters, &out).ok());
  EXPECT_EQ(out, (json{{"until", {"1700000000.500000000"}},
                       {"label", {"dockline-test=1", "tier"}},
                       {"label!", {"keep"}}}));

  v1::PruneFilters age;
  age.mutable_older_than()->set_seconds(3600);
  ASSERT_TRUE(server::PruneFiltersToJson(server::PruneKind::kNetworks, age, &out).ok());
  EXPECT_EQ(out, (json{{"until", {"3600s"}}}));

  v1::PruneFilters none;
  ASSERT_TRUE(server::PruneFiltersToJson(server::PruneKind::kImages, none, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(PruneFiltersTest, GoDurations) {
  google::protobuf::Duration d;
  d.set_seconds(90);
  EXPECT_EQ(server::GoDurationText(d), "90s");
  d.set_seconds(1);
  d.set_nanos(500000000);
  EXPECT_EQ(server::GoDurationText(d), "1.5s");
  d.set_seconds(0);
  d.set_nanos(1);
  EXPECT_EQ(server::GoDurationText(d), "0.000000001s");
}

TEST(PruneFiltersTest, RefusesWhatTheDaemonWouldNamingTheField) {
  json out;
  v1::PruneFilters until;
  until.mutable_older_than()->set_seconds(60);
  grpc::Status st = server::PruneFiltersToJson(server::PruneKind::kVolumes, until, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("filters.older_than"));

  v1::PruneFilters negative;
  negative.mutable_older_than()->set_seconds(-5);
  st = server::PruneFiltersToJson(server::PruneKind::kContainers, negative, &out);
  EXPECT_THAT(st.error_message(), HasSubstr("filters.older_than"));

  v1::PruneFilters empty_label;
  empty_label.add_labels("a");
  empty_label.add_labels("");
  st = server::PruneFiltersToJson(server::PruneKind::kContainers, empty_label, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("filters.labels[1]"));

  v1::PruneFilters no_key;
  no_key.add_labels_not("=x");
  st = server::PruneFiltersToJson(server::PruneKind::kNetworks, no_key, &out);
  EXPECT_THAT(st.error_message(), HasSubstr("filters.labels_not[0]"));
}

TEST(PruneFiltersTest, LabelMatchingFollowsTheDaemon) {
  v1::PruneFilters filters;
  filters.add_labels("a=1");
  filters.add_labels("b");
  EXPECT_TRUE(server::MatchPruneLabels(filters, json{{"a", "1"}, {"b", "x"}}));
  EXPECT_FALSE(server::MatchPruneLabels(filters, json{{"a", "2"}, {"b", "x"}}));
  EXPECT_FALSE(server::MatchPruneLabels(filters, json{{"a", "1"}}));
  EXPECT_FALSE(server::MatchPruneLabels(filters, nullptr));

  // label! excludes only when all of its entries match (filters.Args.MatchKVList).
  v1::PruneFilters negated;
  negated.add_labels_not("keep");
  negated.add_labels_not("tier=db");
  EXPECT_TRUE(server::MatchPruneLabels(negated, json{{"keep", ""}}));
  EXPECT_FALSE(server::MatchPruneLabels(negated, json{{"keep", ""}, {"tier", "db"}}));
  EXPECT_TRUE(server::MatchPruneLabels(negated, nullptr));
}

TEST(PruneFiltersTest, UntilBound) {
  v1::PruneFilters filters;
  EXPECT_FALSE(server::PruneUntilNanos(filters, 100).has_value());
  filters.mutable_older_than()->set_seconds(10);
  EXPECT_EQ(server::PruneUntilNanos(filters, 50000000000), 40000000000);
}

TEST(PruneVolumesTest, AnonymousByVersion) {
  json anonymous = {{"Name", std::string(64, 'c')}, {"Labels", nullptr}};
  json named = {{"Name", "data"}, {"Labels", {{"x", "1"}}}};
  json labelled = {{"Name", "whatever"}, {"Labels", {{"com.docker.volume.anonymous", ""}}}};
  EXPECT_TRUE(server::IsAnonymousVolume(anonymous, "1.41"));
  EXPECT_FALSE(server::IsAnonymousVolume(named, "1.41"));
  EXPECT_TRUE(server::IsAnonymousVolume(labelled, "1.41"));
  // 1.42 and later go by the label only, as the daemon does.
  EXPECT_FALSE(server::IsAnonymousVolume(anonymous, "1.44"));
  EXPECT_TRUE(server::IsAnonymousVolume(labelled, "1.44"));
  EXPECT_FALSE(server::IsAnonymousVolume(json{{"Name", std::string(64, 'C')}}, "1.41"));
}

TEST(PruneRepliesTest, NullListsAreEmpty) {
  v1::PruneContainersResponse containers;
  server::ContainersPruneFromJson(json::parse(R"({"ContainersDeleted":null,"SpaceReclaimed":0})"),
                                  &containers);
  EXPECT_EQ(containers.containers_deleted_size(), 0);
  server::ContainersPruneFromJson(
      json::parse(R"({"ContainersDeleted":["a","b"],"SpaceReclaimed":102400})"), &containers);
  EXPECT_THAT(containers.containers_deleted(), ElementsAre("a", "b"));
  EXPECT_EQ(containers.space_reclaimed(), 102400u);

  v1::PruneImagesResponse images;
  server::ImagesPruneFromJson(
      json::parse(
          R"({"ImagesDeleted":[{"Untagged":"x:1"},{"Deleted":"sha256:9"}],"SpaceReclaimed":51205})"),
      &images);
  ASSERT_EQ(images.images_deleted_size(), 2);
  EXPECT_EQ(images.images_deleted(0).untagged(), "x:1");
  EXPECT_EQ(images.images_deleted(1).deleted(), "sha256:9");
  EXPECT_EQ(images.space_reclaimed(), 51205u);

  v1::PruneVolumesResponse volumes;
  server::VolumesPruneFromJson(json::parse(R"({"VolumesDeleted":null,"SpaceReclaimed":-1})"),
                               &volumes);
  EXPECT_EQ(volumes.volumes_deleted_size(), 0);
  EXPECT_EQ(volumes.space_reclaimed(), 0u);

  v1::PruneNetworksResponse networks;
  server::NetworksPruneFromJson(json::parse(R"({"NetworksDeleted":["n1"]})"), &networks);
  EXPECT_THAT(networks.networks_deleted(), ElementsAre("n1"));
}

}  // namespace
}  // namespace dockline
