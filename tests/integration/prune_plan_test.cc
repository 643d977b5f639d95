// Plan-then-apply prunes against the real daemon: a dry run's plan (items and a token), applied
// later, by another docklined, after the daemon's objects changed: exactly the plan's objects
// that are still prunable go, each other one is reported with why, and nothing the plan did not
// name is touched. Then the refusals of what is not a plan, and the CLI's --plan / --apply.

#include <gmock/gmock.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "prune_fixture.h"

namespace dockline::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;
using json = nlohmann::json;

// id -> reason of an applied plan's skipped objects.
template <typename Response>
std::map<std::string, v1::PruneSkipReason> SkippedOf(const Response& response) {
  std::map<std::string, v1::PruneSkipReason> out;
  for (const v1::PruneSkipped& s : response.skipped()) {
    out[s.id()] = s.reason();
  }
  return out;
}

std::vector<std::string> PlanIds(const v1::PrunePlan& plan) {
  std::vector<std::string> ids;
  for (const v1::PrunePlanItem& item : plan.items()) {
    ids.push_back(item.id());
  }
  return ids;
}

class PrunePlanTest : public PruneTest {
 protected:
  // A docklined of its own: it has never seen the plan, as after a restart.
  std::unique_ptr<v1::Dockline::Stub> FreshServerStub() {
    server::ServerOptions options;
    options.listen = "127.0.0.1:0";
    const char* host = std::getenv("DOCKER_HOST");
    options.docker_host = host != nullptr ? host : "";
    auto started = server::DocklineServer::Start(options);
    EXPECT_TRUE(started.ok()) << started.status().message();
    if (!started.ok()) {
      return nullptr;
    }
    fresh_ = std::move(started.value());
    return v1::Dockline::NewStub(
        grpc::CreateChannel(fresh_->address(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (fresh_) {
      fresh_->Shutdown(std::chrono::milliseconds(1000));
    }
    PruneTest::TearDown();
  }

  std::unique_ptr<server::DocklineServer> fresh_;
};

TEST_F(PrunePlanTest, ContainersPlanAppliedLaterByAnotherDocklinedTakesOnlyWhatIsStillPrunable) {
  std::string gone = Exited();
  std::string stays_prunable = Exited();
  // Created, never started: prunable when planned, running when the plan is applied.
  std::string started;
  ASSERT_TRUE(Create(MySpec({"sleep", "300"}), &started).ok());
  containers_.push_back(started);

  v1::PruneContainersRequest dry;
  *dry.mutable_filters() = Mine();
  dry.set_dry_run(true);
  v1::PruneContainersResponse planned;
  grpc::Status st = stub().PruneContainers(Context().get(), dry, &planned);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(PlanIds(planned.plan()), UnorderedElementsAre(gone, stays_prunable, started));
  EXPECT_THAT(planned.plan().token(), StartsWith("dlplan1."));
  for (const v1::PrunePlanItem& item : planned.plan().items()) {
    EXPECT_FALSE(item.name().empty()) << item.id();
    EXPECT_NE(item.name()[0], '/') << "docker's names carry no leading slash: " << item.name();
  }
  EXPECT_TRUE(ContainerExists(gone)) << "a dry run removed something";

  // Meanwhile: one removed, one started, and a new prunable container the plan never saw.
  engine::ApiRequest del("DELETE", "/containers/" + gone);
  ASSERT_TRUE(Daemon(del).ok());
  ASSERT_TRUE(Daemon(engine::ApiRequest("POST", "/containers/" + started + "/start")).ok());
  std::string unplanned = Exited();

  auto fresh = FreshServerStub();
  ASSERT_NE(fresh, nullptr);
  v1::PruneContainersRequest apply;
  apply.mutable_apply()->set_plan(planned.plan().token());
  v1::PruneContainersResponse applied;
  st = fresh->PruneContainers(Context().get(), apply, &applied);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(applied.containers_deleted(), ElementsAre(stays_prunable));
  EXPECT_THAT(SkippedOf(applied),
              UnorderedElementsAre(std::pair(gone, v1::PRUNE_SKIP_REASON_GONE),
                                   std::pair(started, v1::PRUNE_SKIP_REASON_RUNNING)));
  EXPECT_FALSE(ContainerExists(stays_prunable));
  EXPECT_TRUE(ContainerExists(started));
  EXPECT_TRUE(ContainerExists(unplanned)) << "the apply removed what the plan did not name";
}

TEST_F(PrunePlanTest, VolumesExplicitIdsSkipOneThatCameIntoUse) {
  std::string used = CreateVolume("");
  std::string unused = CreateVolume("");
  v1::PruneVolumesRequest dry;
  *dry.mutable_filters() = Mine();
  dry.set_dry_run(true);
  v1::PruneVolumesResponse planned;
  grpc::Status st = stub().PruneVolumes(Context().get(), dry, &planned);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_THAT(PlanIds(planned.plan()), UnorderedElementsAre(used, unused));

  // A container that mounts it (created is enough for the daemon to count it in use).
  v1::ContainerSpec spec = MySpec({"true"});
  v1::VolumeBind* bind = spec.add_volumes();
  bind->set_source(used);
  bind->set_target("/data");
  std::string holder;
  ASSERT_TRUE(Create(spec, &holder).ok());
  containers_.push_back(holder);

  v1::PruneVolumesRequest apply;
  apply.mutable_apply()->mutable_ids()->add_ids(used);
  apply.mutable_apply()->mutable_ids()->add_ids(unused);
  v1::PruneVolumesResponse applied;
  st = stub().PruneVolumes(Context().get(), apply, &applied);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(applied.volumes_deleted(), ElementsAre(unused));
  EXPECT_THAT(SkippedOf(applied),
              UnorderedElementsAre(std::pair(used, v1::PRUNE_SKIP_REASON_IN_USE)));
  EXPECT_TRUE(Exists("/volumes/" + used));
  EXPECT_FALSE(Exists("/volumes/" + unused));
}

TEST_F(PrunePlanTest, NetworksByNameAndIdWithOneGoneAndOneNeverPruned) {
  std::string kept = CreateNetwork();
  std::string removed = CreateNetwork();
  v1::PruneNetworksRequest dry;
  *dry.mutable_filters() = Mine();
  dry.set_dry_run(true);
  v1::PruneNetworksResponse planned;
  grpc::Status st = stub().PruneNetworks(Context().get(), dry, &planned);
  ASSERT_TRUE(st.ok()) << st.error_message();
  std::map<std::string, std::string> id_of;
  for (const v1::PrunePlanItem& item : planned.plan().items()) {
    id_of[item.name()] = item.id();
  }
  ASSERT_EQ(id_of.size(), 2u);
  ASSERT_TRUE(id_of.count(kept) && id_of.count(removed));

  ASSERT_TRUE(Daemon(engine::ApiRequest("DELETE", "/networks/" + removed)).ok());
  v1::PruneNetworksRequest apply;
  apply.mutable_apply()->mutable_ids()->add_ids(id_of[kept]);
  apply.mutable_apply()->mutable_ids()->add_ids(removed);  // by name
  apply.mutable_apply()->mutable_ids()->add_ids("none");   // predefined
  v1::PruneNetworksResponse applied;
  st = stub().PruneNetworks(Context().get(), apply, &applied);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(applied.networks_deleted(), ElementsAre(kept));
  EXPECT_THAT(
      SkippedOf(applied),
      UnorderedElementsAre(std::pair(removed, v1::PRUNE_SKIP_REASON_GONE),
                           std::pair(std::string("none"), v1::PRUNE_SKIP_REASON_NOT_PRUNABLE)));
  EXPECT_FALSE(Exists("/networks/" + kept));
  EXPECT_TRUE(Exists("/networks/none"));
}

TEST_F(PrunePlanTest, ImagesPlanUntagsAndDeletesButSkipsOneAContainerNowUses) {
  std::string source = Exited();
  std::string repo = UniqueName("planrepo");
  std::string dangling = CommitImage(source);
  std::string tagged = CommitImage(source, repo);
  v1::PruneImagesRequest dry;
  *dry.mutable_filters() = Mine();
  dry.set_dangling(false);
  dry.set_dry_run(true);
  v1::PruneImagesResponse planned;
  grpc::Status st = stub().PruneImages(Context().get(), dry, &planned);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_THAT(PlanIds(planned.plan()), UnorderedElementsAre(dangling, tagged));
  for (const v1::PrunePlanItem& item : planned.plan().items()) {
    EXPECT_EQ(item.name(), item.id() == tagged ? repo + ":t" : "");
    EXPECT_GT(item.size(), 0u);
  }

  // A container of the dangling image: it is in use by the time the plan is applied.
  engine::ApiRequest create("POST", "/containers/create");
  create.body = json{{"Image", dangling}, {"Cmd", {"true"}}, {"Labels", Labels()}}.dump();
  auto created = Daemon(create);
  ASSERT_TRUE(created.ok()) << created.status().message();
  containers_.push_back(json::parse(created->body).value("Id", ""));

  v1::PruneImagesRequest apply;
  apply.mutable_apply()->set_plan(planned.plan().token());
  v1::PruneImagesResponse applied;
  st = stub().PruneImages(Context().get(), apply, &applied);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ImagesGone gone = Split(applied.images_deleted());
  EXPECT_THAT(gone.untagged, ElementsAre(repo + ":t"));
  EXPECT_THAT(gone.deleted, ElementsAre(tagged));
  EXPECT_GT(applied.space_reclaimed(), 0u);
  EXPECT_THAT(SkippedOf(applied),
              UnorderedElementsAre(std::pair(dangling, v1::PRUNE_SKIP_REASON_IN_USE)));
  EXPECT_FALSE(Exists("/images/" + tagged + "/json"));
  EXPECT_TRUE(Exists("/images/" + dangling + "/json"));
}

TEST_F(PrunePlanTest, WhatIsNotAPlanIsRefusedNamingTheField) {
  v1::PruneImagesRequest image_dry;
  *image_dry.mutable_filters() = Mine();
  image_dry.set_dry_run(true);
  v1::PruneImagesResponse image_plan;
  ASSERT_TRUE(stub().PruneImages(Context().get(), image_dry, &image_plan).ok());

  struct Case {
    std::string what;
    v1::PruneContainersRequest request;
    std::string message;
  };
  std::vector<Case> cases(8);
  cases[0] = {"no plan or ids", {}, "apply: set plan"};
  cases[0].request.mutable_apply();
  cases[1] = {"not a token", {}, "apply.plan: not a prune plan token"};
  cases[1].request.mutable_apply()->set_plan("sha256:abc");
  cases[2] = {"damaged", {}, "apply.plan: a damaged prune plan token"};
  cases[2].request.mutable_apply()->set_plan("dlplan1.!!!not-base64");
  cases[3] = {"another kind's", {}, "apply.plan: a plan for images, not for containers"};
  cases[3].request.mutable_apply()->set_plan(image_plan.plan().token());
  cases[4] = {"with dry_run", {}, "dry_run: not with apply"};
  cases[4].request.mutable_apply()->set_plan(image_plan.plan().token());
  cases[4].request.set_dry_run(true);
  cases[5] = {"with filters", {}, "filters: not with apply"};
  cases[5].request.mutable_apply()->mutable_ids()->add_ids("abc");
  *cases[5].request.mutable_filters() = Mine();
  cases[6] = {"empty ids", {}, "apply.ids: empty"};
  cases[6].request.mutable_apply()->mutable_ids();
  cases[7] = {"an empty id", {}, "apply.ids[1]: not an id or name"};
  cases[7].request.mutable_apply()->mutable_ids()->add_ids("abc");
  cases[7].request.mutable_apply()->mutable_ids()->add_ids("");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    v1::PruneContainersResponse response;
    grpc::Status st = stub().PruneContainers(Context().get(), c.request, &response);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    EXPECT_THAT(st.error_message(), StartsWith(c.message));
  }
  v1::PruneVolumesRequest volumes;
  volumes.set_all(true);
  volumes.mutable_apply()->mutable_ids()->add_ids("abc");
  v1::PruneVolumesResponse volumes_response;
  grpc::Status st = stub().PruneVolumes(Context().get(), volumes, &volumes_response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), StartsWith("all: not with apply"));
}

TEST_F(PrunePlanTest, CliPlanFileAppliedCutDownThenWhole) {
  std::string first = Exited();
  std::string second = Exited();
  std::vector<std::string> args = {"prune", "containers"};
  for (const std::string& arg : LabelArgs()) {
    args.push_back(arg);
  }
  args.push_back("--plan");
  CommandResult plan = Cli(args);
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  json doc = json::parse(plan.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << plan.out;
  ASSERT_TRUE(doc["token"].is_string()) << plan.out;
  ASSERT_EQ(doc["items"].size(), 2u) << plan.out;
  EXPECT_TRUE(ContainerExists(first) && ContainerExists(second)) << "--plan removed something";

  // What the user reviewed: the first container only (the token, which names both, stays).
  TempDir dir;
  json cut = doc;
  cut["items"] = json::array();
  for (const json& item : doc["items"]) {
    if (item.value("id", "") == first) {
      cut["items"].push_back(item);
    }
  }
  dir.Write("plan.json", plan.out);
  dir.Write("cut.json", cut.dump());
  CommandResult applied = Cli({"prune", "containers", "--apply", dir.path() + "/cut.json"});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_THAT(applied.out, HasSubstr("Deleted Containers:\n" + first + "\n"));
  EXPECT_FALSE(ContainerExists(first));
  EXPECT_TRUE(ContainerExists(second));

  // The whole plan, from stdin: the second goes, the first is reported gone.
  CommandResult whole =
      RunCommand({"sh", "-c",
                  std::string(DOCKLINE_CLI_PATH) + " --addr " + ServerAddress() +
                      " prune containers --apply - < " + dir.path() + "/plan.json"});
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_THAT(whole.out, HasSubstr("Deleted Containers:\n" + second + "\n"));
  EXPECT_THAT(whole.out, HasSubstr("Skipped:\n" + first + "  gone\n"));
  EXPECT_FALSE(ContainerExists(second));

  CommandResult refused =
      Cli({"prune", "containers", "--filter", "label=x", "--apply", dir.path() + "/plan.json"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("--apply takes no"));
}

}  // namespace
}  // namespace dockline::testing
