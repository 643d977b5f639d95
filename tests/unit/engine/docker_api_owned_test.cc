// DockerApi::OwnedBy: what an `owned` identity's calls turn into on the Engine API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <memory>
#include <string>

#include "engine/docker_api.h"
#include "unit/fake_engine.h"

namespace dockline::engine {
namespace {

using ::testing::ElementsAre;
using testing::FakeEngine;
using ::testing::HasSubstr;
using testing::QueryValue;
using testing::Reply;

constexpr char kAlices[] = "aaaa1111";
constexpr char kBobs[] = "bbbb2222";

nlohmann::json Container(const std::string& id, const std::string& owner) {
  nlohmann::json labels = nlohmann::json::object();
  if (!owner.empty()) {
    labels["dockline.owner"] = owner;
  }
  return {{"Id", id}, {"Config", {{"Labels", labels}}}};
}

class OwnedApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_->unary = [](const ApiRequest& r) -> Result<ApiResponse> {
      if (r.path == "/containers/alices-name/json" || r.path == "/containers/aaaa/json") {
        return Reply(Container(kAlices, "alice"));
      }
      if (r.path == "/containers/bbbb/json") {
        return Reply(Container(kBobs, "bob"));
      }
      if (r.path == "/containers/nobody/json") {
        return Reply(Container("cccc3333", ""));
      }
      if (r.path == "/exec/e1/json") {
        return Reply({{"ID", "e1"}, {"ContainerID", kBobs}});
      }
      if (r.path == "/exec/e2/json") {
        return Reply({{"ID", "e2"}, {"ContainerID", "aaaa"}});
      }
      if (r.method == "GET" && r.path.find("/json") != std::string::npos) {
        return Result<ApiResponse>(Status(Code::kNotFound, "No such container", 404));
      }
      return Reply(nlohmann::json::object());
    };
  }
  Status Start(const std::string& id) {
    std::promise<Status> done;
    api_.StartContainer(id, [&](const Status& st) { done.set_value(st); });
    return done.get_future().get();
  }
  std::vector<std::string> Paths() {
    std::vector<std::string> paths;
    for (const auto& r : engine_->Requests()) {
      paths.push_back(r.method + " " + r.path);
    }
    return paths;
  }

  std::shared_ptr<FakeEngine> engine_ = std::make_shared<FakeEngine>();
  DockerApi api_ =
      DockerApi(engine_, std::chrono::milliseconds(1000)).OwnedBy("dockline.owner", "alice");
};

TEST_F(OwnedApiTest, AnOwnedContainerIsReachedByItsFullIdAfterTheCheck) {
  EXPECT_TRUE(Start("alices-name").ok());
  EXPECT_THAT(Paths(), ElementsAre("GET /containers/alices-name/json",
                                   std::string("POST /containers/") + kAlices + "/start"));
}

TEST_F(OwnedApiTest, AnotherOwnersOrNobodysContainerIsNotFoundAndNeverTouched) {
  for (const char* other : {"bbbb", "nobody"}) {
    Status st = Start(other);
    EXPECT_EQ(st.code(), Code::kNotFound) << other;
    EXPECT_EQ(st.message(), std::string("No such container: ") + other);
  }
  EXPECT_EQ(Start("missing").code(), Code::kNotFound);
  for (const auto& path : Paths()) {
    EXPECT_THAT(path, ::testing::StartsWith("GET /containers/")) << "only inspects were sent";
  }
  std::promise<Result<ContainerDocument>> inspected;
  api_.InspectContainer("bbbb", [&](Result<ContainerDocument> r) { inspected.set_value(r); });
  EXPECT_EQ(inspected.get_future().get().status().code(), Code::kNotFound);
}

TEST_F(OwnedApiTest, AnExecBelongsToTheOwnerOfItsContainer) {
  std::promise<Result<Json>> mine;
  api_.InspectExec("e2", [&](Result<Json> r) { mine.set_value(r); });
  EXPECT_TRUE(mine.get_future().get().ok());
  std::promise<Result<Json>> bobs;
  api_.InspectExec("e1", [&](Result<Json> r) { bobs.set_value(r); });
  Result<Json> r = bobs.get_future().get();
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "No such exec instance: e1");
}

TEST_F(OwnedApiTest, CreateLabelsTheContainerAndItsVolumeMounts) {
  Json body = {{"Image", "busybox"},
               {"Labels", {{"app", "x"}}},
               {"HostConfig",
                {{"Mounts",
                  {{{"Type", "volume"}, {"Target", "/v"}},
                   {{"Type", "bind"}, {"Source", "/srv"}, {"Target", "/b"}}}}}}};
  engine_->unary = [](const ApiRequest&) { return Reply({{"Id", "new"}}); };
  std::promise<Result<CreatedContainer>> created;
  api_.CreateContainer("", body, [&](Result<CreatedContainer> r) { created.set_value(r); });
  ASSERT_TRUE(created.get_future().get().ok());
  Json sent = Json::parse(engine_->Requests().at(0).body);
  EXPECT_EQ(sent["Labels"]["dockline.owner"], "alice");
  EXPECT_EQ(sent["Labels"]["app"], "x");
  EXPECT_EQ(sent["HostConfig"]["Mounts"][0]["VolumeOptions"]["Labels"]["dockline.owner"], "alice");
  EXPECT_FALSE(sent["HostConfig"]["Mounts"][1].contains("VolumeOptions"));
}

TEST_F(OwnedApiTest, ListingsPrunesAndEventsAreFilteredToTheOwnersLabel) {
  std::vector<std::promise<Result<Json>>> done(6);
  ListContainersQuery query;
  query.filters = {{"label", {"team=a"}}};
  api_.ListContainers(query, [&](Result<Json> r) { done[0].set_value(r); });
  api_.Prune(PruneTarget::kVolumes, Json::object(), [&](Result<Json> r) { done[1].set_value(r); });
  ListImagesQuery images;  // a prune's dry run
  images.owner_scoped = true;
  api_.ListImages(images, [&](Result<Json> r) { done[2].set_value(r); });
  api_.ListVolumes(Json::object(), [&](Result<Json> r) { done[3].set_value(r); });
  api_.ListNetworks(Json::object(), [&](Result<Json> r) { done[4].set_value(r); });
  EventsQuery events;
  events.filters = {{"container", {"x"}}};
  api_.Events(events, std::chrono::milliseconds(0),
              [](Result<ApiResponse>, std::shared_ptr<BodyStream>) {});
  for (int i = 0; i < 5; ++i) {
    done[i].get_future().wait();
  }
  ASSERT_TRUE(engine_->AwaitCalls(6));
  for (const auto& r : engine_->Requests()) {
    Json filters = Json::parse(QueryValue(r, "filters"), nullptr, false);
    ASSERT_TRUE(filters.is_object()) << r.path;
    EXPECT_THAT(filters["label"].dump(), HasSubstr("\"dockline.owner=alice\"")) << r.path;
  }
  Json list = Json::parse(QueryValue(engine_->Requests().at(0), "filters"));
  EXPECT_EQ(list["label"], Json({"team=a", "dockline.owner=alice"}));
  // An image, network or volume event carries no owner: an owner's events are its containers'.
  const auto requests = engine_->Requests();
  auto opened = std::find_if(requests.begin(), requests.end(),
                             [](const auto& r) { return r.path == "/events"; });
  ASSERT_NE(opened, requests.end());
  EXPECT_EQ(Json::parse(QueryValue(*opened, "filters"))["type"], Json({"container"}));
}

TEST_F(OwnedApiTest, ImagesAreSharedByEveryOwner) {
  std::promise<Result<Json>> done;
  ListImagesQuery query;
  query.filters = {{"reference", {"busybox"}}};
  api_.ListImages(query, [&](Result<Json> r) { done.set_value(r); });
  done.get_future().wait();
  ASSERT_TRUE(engine_->AwaitCalls(1));
  EXPECT_EQ(Json::parse(QueryValue(engine_->Requests().at(0), "filters")),
            Json({{"reference", {"busybox"}}}));
}

TEST(UnownedApiTest, WithoutAnOwnerNothingChanges) {
  auto engine = std::make_shared<FakeEngine>();
  engine->unary = [](const ApiRequest&) { return Reply(nlohmann::json::object()); };
  DockerApi api(engine, std::chrono::milliseconds(1000));
  std::promise<Status> done;
  api.StartContainer("bbbb", [&](const Status& st) { done.set_value(st); });
  EXPECT_TRUE(done.get_future().get().ok());
  EXPECT_EQ(engine->Calls(), std::vector<std::string>{"UNARY POST /containers/bbbb/start"});
  EXPECT_EQ(api.OwnerLabel(), "");
  EXPECT_EQ(api.OwnedBy("k", "v").OwnerLabel(), "k=v");
}

}  // namespace
}  // namespace dockline::engine
