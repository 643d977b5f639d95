// The policy on a real daemon: each group, each field rule, ownership scoping of every call,
// list and prune.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "policy_fixture.h"

namespace dockline::testing {
namespace {

using PolicyTest = PolicyFixture;

TEST_F(PolicyTest, GroupsDecideWhoMayCallWhatAndADeniedCallNeverReachesTheDaemon) {
  Start();
  // reader: read only.
  v1::ContainerSpec spec = NamedSpec({"true"});
  grpc::Status st = CreateAs("reader", spec);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("policy rule allow: identity \"reader\" (entry "
                                            "\"reader\") may not call CreateContainer (group "
                                            "operate)"));
  EXPECT_TRUE(DaemonInspect(spec.name()).is_null());
  ListAs("reader");  // read is allowed
  v1::PruneContainersRequest prune;
  v1::PruneContainersResponse pruned;
  EXPECT_EQ(client_->PruneContainers(As("reader").get(), prune, &pruned).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ExecContainerRequest exec;
  exec.mutable_config()->set_container("anything");
  exec.mutable_config()->add_cmd("ls");
  v1::ExecContainerResponse exec_resp;
  EXPECT_EQ(client_->ExecContainer(As("reader").get(), exec, &exec_resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // carol has no entry: "*" gives her engine info only.
  v1::GetEngineInfoRequest info;
  v1::GetEngineInfoResponse info_resp;
  EXPECT_TRUE(client_->GetEngineInfo(As("carol").get(), info, &info_resp).ok());
  v1::ListContainersRequest list;
  v1::ListContainersResponse list_resp;
  st = client_->ListContainers(As("carol").get(), list, &list_resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("identity \"carol\" (entry \"*\") may not call "
                                            "ListContainers (group read)"));
  // A streaming RPC is refused the same way, before its first message.
  v1::StreamLogsRequest logs;
  logs.set_container("anything");
  auto ctx = As("carol");
  auto reader = client_->StreamLogs(ctx.get(), logs);
  v1::StreamLogsResponse chunk;
  EXPECT_FALSE(reader->Read(&chunk));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(PolicyTest, FieldRulesDenyNamingTheRuleAndTheFieldAndAllowWhatTheyList) {
  Start();
  struct Case {
    std::function<void(v1::ContainerSpec*)> change;
    const char* wanted;
  };
  const std::string root = dir_.path() + "/alice";
  for (const Case& c : std::vector<Case>{
           {[](v1::ContainerSpec* s) { s->set_image("nginx:latest"); },
            "policy rule images: spec.image \"nginx:latest\" matches none of"},
           {[](v1::ContainerSpec* s) {
              auto* v = s->add_volumes();
              v->set_source("/etc");
              v->set_target("/host-etc");
            },
            "policy rule bind_roots: spec.volumes[0].source \"/etc\""},
           {[&](v1::ContainerSpec* s) {
              auto* v = s->add_volumes();
              v->set_source(root + "/../../../etc");
              v->set_target("/host-etc");
            },
            "is not under any of bind_roots"},
           {[](v1::ContainerSpec* s) {
              auto* m = s->add_mounts();
              m->set_type(v1::MOUNT_TYPE_VOLUME);
              m->set_target("/v");
              (*m->mutable_volume_driver_options())["type"] = "none";
              (*m->mutable_volume_driver_options())["o"] = "bind";
              (*m->mutable_volume_driver_options())["device"] = "/root";
            },
            "policy rule bind_roots: spec.mounts[0].volume_driver_options.device \"/root\""},
           {[](v1::ContainerSpec* s) { s->set_network("host"); },
            "policy rule network_modes: spec.network \"host\""},
           {[](v1::ContainerSpec* s) { (*s->mutable_labels())["dockline.owner"] = "bob"; },
            "policy rule owned: spec.labels[dockline.owner] is set by dockline"},
       }) {
    v1::ContainerSpec spec = NamedSpec({"true"});
    c.change(&spec);
    grpc::Status st = CreateAs("alice", spec);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << c.wanted;
    EXPECT_THAT(st.error_message(), HasSubstr(c.wanted));
    EXPECT_TRUE(DaemonInspect(spec.name()).is_null()) << spec.name();
  }

  // Allowed: the listed image, a bind under the root, network none.
  v1::ContainerSpec spec = NamedSpec({"sleep", "60"});
  auto* bind = spec.add_volumes();
  bind->set_source(root + "/data");
  bind->set_target("/data");
  std::string id;
  ASSERT_TRUE(CreateAs("alice", spec, &id).ok());
  nlohmann::json inspect = DaemonInspect(id);
  ASSERT_FALSE(inspect.is_null());
  EXPECT_EQ(inspect["Config"]["Labels"]["dockline.owner"], "alice");
  ASSERT_TRUE(StartAs("alice", id).ok());

  // Exec: argv[0] listed or not, privileged never.
  v1::ExecContainerRequest exec;
  exec.mutable_config()->set_container(id);
  exec.mutable_config()->add_cmd("sh");
  exec.mutable_config()->add_cmd("-c");
  exec.mutable_config()->add_cmd("id");
  v1::ExecContainerResponse out;
  grpc::Status st = client_->ExecContainer(As("alice").get(), exec, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(),
              HasSubstr("policy rule exec_commands: config.cmd[0] \"sh\" matches none of"));
  exec.mutable_config()->clear_cmd();
  exec.mutable_config()->add_cmd("echo");
  exec.mutable_config()->add_cmd("hi");
  st = client_->ExecContainer(As("alice").get(), exec, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.output(), "hi\n");
  exec.mutable_config()->set_privileged(true);
  st = client_->ExecContainer(As("alice").get(), exec, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("policy rule exec_privileged"));

  // AttachExec's config comes in its first message, and is judged the same way.
  auto ctx = As("alice");
  auto attach = client_->AttachExec(ctx.get());
  v1::AttachExecRequest first;
  first.mutable_config()->set_container(id);
  first.mutable_config()->add_cmd("sh");
  attach->Write(first);
  attach->WritesDone();
  v1::AttachExecResponse msg;
  while (attach->Read(&msg)) {
  }
  st = attach->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("policy rule exec_commands: config.cmd[0] \"sh\""));
}

TEST_F(PolicyTest, OwnedIdentitiesSeeOnlyTheirOwnContainersAsIfTheOthersWereAbsent) {
  Start();
  std::string alices;
  std::string bobs;
  v1::ContainerSpec a = NamedSpec({"sleep", "60"});
  ASSERT_TRUE(CreateAs("alice", a, &alices).ok());
  v1::ContainerSpec b = NamedSpec({"true"});
  b.set_image(Image());
  ASSERT_TRUE(CreateAs("bob", b, &bobs).ok());
  EXPECT_EQ(DaemonInspect(bobs)["Config"]["Labels"]["dockline.owner"], "bob");
  // A container made beside dockline, with the run's label: nobody's.
  engine::ApiRequest create("POST", "/containers/create");
  create.body = nlohmann::json{{"Image", Image()},
                               {"Cmd", {"true"}},
                               {"Labels", {{LabelKey(), LabelValue()}, {kTestLabel, test_label_}}},
                               {"HostConfig", {{"NetworkMode", "none"}}}}
                    .dump();
  auto made = Daemon(create);
  ASSERT_TRUE(made.ok());
  std::string nobodys = nlohmann::json::parse(made->body)["Id"];

  // Inspect, by id and by name.
  EXPECT_TRUE(InspectAs("alice", alices).ok());
  EXPECT_TRUE(InspectAs("alice", a.name()).ok());
  for (const std::string& other : {alices, a.name(), nobodys}) {
    grpc::Status st = InspectAs("bob", other);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << other;
    EXPECT_THAT(st.error_message(), HasSubstr("No such container: " + other));
  }
  // Every other container RPC: NOT_FOUND, and nothing happened to alice's container.
  EXPECT_EQ(StartAs("bob", alices).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(DaemonInspect(alices)["State"]["Running"].get<bool>());
  v1::RemoveContainerRequest remove;
  remove.set_container(alices);
  remove.set_force(true);
  v1::RemoveContainerResponse removed;
  EXPECT_EQ(client_->RemoveContainer(As("bob").get(), remove, &removed).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(DaemonInspect(alices).is_null());
  v1::WaitContainerRequest wait;
  wait.set_container(alices);
  v1::WaitContainerResponse waited;
  EXPECT_EQ(client_->WaitContainer(As("bob").get(), wait, &waited).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::GetHealthRequest health;
  health.set_container(alices);
  v1::GetHealthResponse health_resp;
  EXPECT_EQ(client_->GetHealth(As("bob").get(), health, &health_resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  {
    v1::StreamLogsRequest logs;
    logs.set_container(alices);
    auto ctx = As("bob");
    auto reader = client_->StreamLogs(ctx.get(), logs);
    v1::StreamLogsResponse chunk;
    while (reader->Read(&chunk)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  ASSERT_TRUE(StartAs("alice", alices).ok());
  v1::ExecContainerRequest exec;
  exec.mutable_config()->set_container(alices);
  exec.mutable_config()->add_cmd("echo");
  v1::ExecContainerResponse out;
  EXPECT_EQ(client_->ExecContainer(As("bob").get(), exec, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(client_->ExecContainer(As("alice").get(), exec, &out).ok());
  v1::InspectExecRequest inspect_exec;
  inspect_exec.set_exec_id(out.exec_id());
  v1::InspectExecResponse exec_info;
  EXPECT_TRUE(client_->InspectExec(As("alice").get(), inspect_exec, &exec_info).ok());
  grpc::Status st = client_->InspectExec(As("bob").get(), inspect_exec, &exec_info);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(st.error_message(), HasSubstr("No such exec instance"));

  // Listings.
  EXPECT_THAT(ListAs("alice"), ::testing::ElementsAre(alices));
  EXPECT_THAT(ListAs("bob"), ::testing::ElementsAre(bobs));
  EXPECT_THAT(ListAs("reader"), ::testing::UnorderedElementsAre(alices, bobs, nobodys));

  // Prune: bob's exited container goes; alice's and nobody's (both stopped by now) stay.
  v1::StopContainerRequest stop;
  stop.set_container(alices);
  stop.mutable_timeout()->set_seconds(0);
  v1::StopContainerResponse stopped;
  ASSERT_TRUE(client_->StopContainer(As("alice").get(), stop, &stopped).ok());
  v1::PruneContainersRequest prune;
  prune.mutable_filters()->add_labels(std::string(kTestLabel) + "=" + test_label_);
  v1::PruneContainersResponse pruned;
  ASSERT_TRUE(client_->PruneContainers(As("bob").get(), prune, &pruned).ok());
  EXPECT_THAT(pruned.containers_deleted(), ::testing::ElementsAre(bobs));
  EXPECT_TRUE(DaemonInspect(bobs).is_null());
  EXPECT_FALSE(DaemonInspect(alices).is_null());
  EXPECT_FALSE(DaemonInspect(nobodys).is_null());
}

TEST_F(PolicyTest, OwnedVolumePrunesTakeOnlyTheOwnersVolumes) {
  Start();
  std::map<std::string, std::string> volumes;
  for (const char* who : {"alice", "bob"}) {
    v1::ContainerSpec spec = NamedSpec({"true"});
    auto* mount = spec.add_mounts();
    mount->set_type(v1::MOUNT_TYPE_VOLUME);
    mount->set_source(UniqueName(std::string("vol-") + who));
    mount->set_target("/v");
    (*mount->mutable_volume_labels())[kTestLabel] = test_label_;
    volumes[who] = mount->source();
    std::string id;
    ASSERT_TRUE(CreateAs(who, spec, &id).ok());
    v1::RemoveContainerRequest remove;
    remove.set_container(id);
    v1::RemoveContainerResponse removed;
    ASSERT_TRUE(client_->RemoveContainer(As(who).get(), remove, &removed).ok());
  }
  auto volume = [&](const std::string& name) {
    return Daemon(engine::ApiRequest("GET", "/volumes/" + name));
  };
  ASSERT_TRUE(volume(volumes["alice"]).ok());
  nlohmann::json labels = nlohmann::json::parse(volume(volumes["bob"])->body)["Labels"];
  EXPECT_EQ(labels["dockline.owner"], "bob");

  v1::PruneVolumesRequest prune;
  prune.set_all(true);
  prune.mutable_filters()->add_labels(std::string(kTestLabel) + "=" + test_label_);
  v1::PruneVolumesResponse pruned;
  grpc::Status st = client_->PruneVolumes(As("bob").get(), prune, &pruned);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(pruned.volumes_deleted(), ::testing::ElementsAre(volumes["bob"]));
  EXPECT_FALSE(volume(volumes["bob"]).ok());
  EXPECT_TRUE(volume(volumes["alice"]).ok());
  ASSERT_TRUE(client_->PruneVolumes(As("alice").get(), prune, &pruned).ok());
  EXPECT_THAT(pruned.volumes_deleted(), ::testing::ElementsAre(volumes["alice"]));
}

TEST_F(PolicyTest, AnOwnedIdentityAppliesOnlyWhatItOwnsOfAPlan) {
  Start();
  std::string alices;
  std::string bobs;
  ASSERT_TRUE(CreateAs("alice", NamedSpec({"true"}), &alices).ok());
  ASSERT_TRUE(CreateAs("bob", NamedSpec({"true"}), &bobs).ok());
  // Both created, never started: prunable. Bob names both; alice's is absent to him.
  v1::PruneContainersRequest apply;
  apply.mutable_apply()->mutable_ids()->add_ids(alices);
  apply.mutable_apply()->mutable_ids()->add_ids(bobs);
  v1::PruneContainersResponse applied;
  grpc::Status st = client_->PruneContainers(As("bob").get(), apply, &applied);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(applied.containers_deleted(), ::testing::ElementsAre(bobs));
  ASSERT_EQ(applied.skipped_size(), 1);
  EXPECT_EQ(applied.skipped(0).id(), alices);
  EXPECT_EQ(applied.skipped(0).reason(), v1::PRUNE_SKIP_REASON_GONE);
  EXPECT_FALSE(DaemonInspect(alices).is_null());
  EXPECT_TRUE(DaemonInspect(bobs).is_null());
  // The reader may not prune at all, plans included.
  EXPECT_EQ(client_->PruneContainers(As("reader").get(), apply, &applied).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(PolicyTest, StatsAreReadAndScopedToTheOwnerLikeInspect) {
  Start();
  std::string alices;
  ASSERT_TRUE(CreateAs("alice", NamedSpec({"sleep", "60"}), &alices).ok());
  ASSERT_TRUE(StartAs("alice", alices).ok());
  v1::GetStatsRequest req;
  req.set_container(alices);
  v1::GetStatsResponse resp;
  grpc::Status st = client_->GetStats(As("alice").get(), req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.stats().id(), alices);
  EXPECT_TRUE(client_->GetStats(As("reader").get(), req, &resp).ok());
  st = client_->GetStats(As("bob").get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  v1::StreamStatsRequest stream;
  stream.set_container(alices);
  auto ctx = As("bob");
  auto reader = client_->StreamStats(ctx.get(), stream);
  v1::StreamStatsResponse sample;
  EXPECT_FALSE(reader->Read(&sample));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace dockline::testing
