#include "server/rpc/prune.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "unit/fake_engine.h"
#include "unit/rpc/scripted_service_test.h"

// The prune RPCs against a scripted Engine: the volume-prune version split and dry runs.

namespace dockline {
namespace {

using engine::ApiRequest;
using engine::ApiResponse;
using engine::Result;
using testing::FakeEngine;
using testing::QueryValue;
using testing::Reply;
using testing::ScriptedServiceTest;
using json = nlohmann::json;
using ::testing::ElementsAre;

void ScriptVolumes(FakeEngine& engine) {
  engine.unary = [](const ApiRequest& request) {
    if (request.method == "GET" && request.path == "/volumes") {
      return Reply(json{{"Volumes",
                         {{{"Name", std::string(64, 'e')}, {"Labels", {{"t", "1"}}}},
                          {{"Name", "named"}, {"Labels", {{"t", "1"}}}}}},
                        {"Warnings", nullptr}});
    }
    if (request.path == "/system/df") {
      return Reply(json{{"Volumes",
                         {{{"Name", std::string(64, 'e')}, {"UsageData", {{"Size", 4096}}}},
                          {{"Name", "named"}, {"UsageData", {{"Size", 1}}}}}}});
    }
    if (request.method == "DELETE") {
      ApiResponse res;
      res.status = 204;
      return Result<ApiResponse>(res);
    }
    if (request.path == "/volumes/prune") {
      return Reply(json{{"VolumesDeleted", nullptr}, {"SpaceReclaimed", 0}});
    }
    return Result<ApiResponse>(engine::Status(engine::Code::kNotFound, "unscripted"));
  };
}

TEST_F(ScriptedServiceTest, VolumePruneOn141KeepsNamedVolumesByDeletingOneByOne) {
  ScriptVolumes(*engine_);
  v1::PruneVolumesRequest request;
  request.mutable_filters()->add_labels("t=1");
  v1::PruneVolumesResponse response;
  auto ctx = Context();
  grpc::Status st = stub_->PruneVolumes(ctx.get(), request, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(response.volumes_deleted(), ElementsAre(std::string(64, 'e')));
  EXPECT_EQ(response.space_reclaimed(), 4096u);
  EXPECT_THAT(engine_->Calls(), ElementsAre("UNARY GET /volumes", "UNARY GET /system/df",
                                            "UNARY DELETE /volumes/" + std::string(64, 'e')));
  EXPECT_EQ(json::parse(QueryValue(engine_->Requests()[0], "filters")),
            (json{{"label", {"t=1"}}, {"dangling", {"true"}}}));
}

TEST_F(ScriptedServiceTest, VolumePruneAllOn141AndAnyOn142UseThePruneEndpoint) {
  ScriptVolumes(*engine_);
  v1::PruneVolumesRequest request;
  request.mutable_filters()->add_labels("t=1");
  request.set_all(true);
  v1::PruneVolumesResponse response;
  auto ctx = Context();
  ASSERT_TRUE(stub_->PruneVolumes(ctx.get(), request, &response).ok());
  ASSERT_THAT(engine_->Calls(), ElementsAre("UNARY POST /volumes/prune"));
  // 1.41 refuses the all filter.
  EXPECT_EQ(json::parse(QueryValue(engine_->Requests()[0], "filters")), (json{{"label", {"t=1"}}}));

  engine_->api_version = "1.44";
  auto ctx2 = Context();
  ASSERT_TRUE(stub_->PruneVolumes(ctx2.get(), request, &response).ok());
  EXPECT_EQ(json::parse(QueryValue(engine_->Requests()[1], "filters")),
            (json{{"label", {"t=1"}}, {"all", {"true"}}}));
  request.set_all(false);
  auto ctx3 = Context();
  ASSERT_TRUE(stub_->PruneVolumes(ctx3.get(), request, &response).ok());
  EXPECT_EQ(json::parse(QueryValue(engine_->Requests()[2], "filters")), (json{{"label", {"t=1"}}}));
  EXPECT_EQ(engine_->Calls().size(), 3u);
}

TEST_F(ScriptedServiceTest, DryRunsOnlyRead) {
  engine_->unary = [](const ApiRequest& request) {
    if (request.path == "/containers/json") {
      return Reply(
          json::array({{{"Id", "c1"},
                        {"Labels", {{"t", "1"}}},
                        {"Created", 100},
                        {"SizeRw", 10},
                        {"ImageID", "sha256:used"}},
                       {{"Id", "c2"}, {"Labels", {{"t", "1"}, {"keep", ""}}}, {"Created", 100}}}));
    }
    if (request.path == "/images/json") {
      return Reply(json::array({{{"Id", "sha256:used"}, {"Labels", {{"t", "1"}}}, {"Size", 5}},
                                {{"Id", "sha256:free"},
                                 {"Labels", {{"t", "1"}}},
                                 {"Size", 7},
                                 {"RepoTags", {"<none>:<none>"}}}}));
    }
    return Result<ApiResponse>(engine::Status(engine::Code::kNotFound, "unscripted"));
  };
  v1::PruneContainersRequest containers;
  containers.set_dry_run(true);
  containers.mutable_filters()->add_labels("t=1");
  containers.mutable_filters()->add_labels_not("keep");
  v1::PruneContainersResponse containers_reply;
  auto ctx = Context();
  ASSERT_TRUE(stub_->PruneContainers(ctx.get(), containers, &containers_reply).ok());
  EXPECT_THAT(containers_reply.containers_deleted(), ElementsAre("c1"));
  EXPECT_EQ(containers_reply.space_reclaimed(), 10u);
  json filters = json::parse(QueryValue(engine_->Requests()[0], "filters"));
  EXPECT_EQ(filters["status"], (json{"created", "exited", "dead"}));

  v1::PruneImagesRequest images;
  images.set_dry_run(true);
  v1::PruneImagesResponse images_reply;
  auto ctx2 = Context();
  ASSERT_TRUE(stub_->PruneImages(ctx2.get(), images, &images_reply).ok());
  ASSERT_EQ(images_reply.images_deleted_size(), 1);
  EXPECT_EQ(images_reply.images_deleted(0).deleted(), "sha256:free");
  EXPECT_EQ(images_reply.space_reclaimed(), 7u);
  for (const std::string& call : engine_->Calls()) {
    EXPECT_THAT(call, ::testing::StartsWith("UNARY GET")) << "a dry run must not change anything";
  }
}

}  // namespace
}  // namespace dockline
