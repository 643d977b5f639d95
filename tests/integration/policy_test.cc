// The policy, the audit log and the stream limits, on a real daemon. Identities come from bearer
// tokens over loopback (alice, bob, reader, carol); carol has no entry of her own, so the "*"
// entry is hers.
#include "server/policy/policy.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "harness.h"
#include "server/auth/tokens.h"

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;

std::string TokenOf(const std::string& identity) { return identity + "-secret-token"; }

class PolicyTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    std::string tokens;
    for (const char* who : {"alice", "bob", "reader", "carol"}) {
      tokens += std::string(who) +
                " sha256:" + server::auth::DigestHex(server::auth::Sha256(TokenOf(who))) + "\n";
    }
    dir_.Write("tokens", tokens);
    std::filesystem::create_directories(dir_.path() + "/alice/data");
    WritePolicy(DefaultPolicy());
  }

  std::string DefaultPolicy() const {
    return "identities:\n"
           "  alice:\n"
           "    allow: [read, operate, exec, prune]\n"
           "    images: [\"" +
           Image() +
           "\"]\n"
           "    bind_roots: [" +
           dir_.path() +
           "/alice]\n"
           "    exec_commands: [echo, ls]\n"
           "    owned: true\n"
           "  bob:\n"
           "    allow: [read, operate, exec, prune]\n"
           "    owned: true\n"
           "  reader:\n"
           "    allow: [read]\n"
           "  \"*\":\n"
           "    allow: [GetEngineInfo]\n";
  }
  void WritePolicy(const std::string& text) const { dir_.Write("policy.yaml", text); }

  server::ServerOptions Options() const {
    server::ServerOptions options;
    options.listen = "127.0.0.1:0";
    const char* host = std::getenv("DOCKER_HOST");
    options.docker_host = host != nullptr && *host != '\0' ? host : "unix:///var/run/docker.sock";
    options.tokens_file = dir_.path() + "/tokens";
    options.policy_file = dir_.path() + "/policy.yaml";
    options.audit_file = dir_.path() + "/audit.log";
    return options;
  }
  void Start(const server::ServerOptions& options) {
    auto server = server::DocklineServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status().message();
    dockline_ = std::move(server.value());
    client_ = v1::Dockline::NewStub(
        grpc::CreateChannel(dockline_->address(), grpc::InsecureChannelCredentials()));
  }
  void Start() { Start(Options()); }

  // A context carrying `identity`'s token ("" for none: the caller is `local`).
  static std::unique_ptr<grpc::ClientContext> As(const std::string& identity) {
    auto ctx = Context(std::chrono::seconds(30));
    if (!identity.empty()) {
      ctx->AddMetadata("authorization", "Bearer " + TokenOf(identity));
    }
    return ctx;
  }
  v1::ContainerSpec NamedSpec(std::vector<std::string> command) {
    v1::ContainerSpec spec = Spec(std::move(command));
    spec.set_name(UniqueName("policy"));
    (*spec.mutable_labels())[kTestLabel] = test_label_;
    return spec;
  }
  grpc::Status CreateAs(const std::string& identity, const v1::ContainerSpec& spec,
                        std::string* id = nullptr) {
    v1::CreateContainerRequest req;
    *req.mutable_spec() = spec;
    v1::CreateContainerResponse resp;
    grpc::Status st = client_->CreateContainer(As(identity).get(), req, &resp);
    if (id != nullptr) {
      *id = resp.id();
    }
    return st;
  }
  grpc::Status InspectAs(const std::string& identity, const std::string& container) {
    v1::InspectContainerRequest req;
    req.set_container(container);
    v1::InspectContainerResponse resp;
    return client_->InspectContainer(As(identity).get(), req, &resp);
  }
  std::vector<std::string> ListAs(const std::string& identity) {
    v1::ListContainersRequest req;
    req.set_all(true);
    auto* filter = req.add_filters();
    filter->set_key("label");
    filter->set_value(std::string(kTestLabel) + "=" + test_label_);
    v1::ListContainersResponse resp;
    grpc::Status st = client_->ListContainers(As(identity).get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<std::string> ids;
    for (const auto& c : resp.containers()) {
      ids.push_back(c.id());
    }
    return ids;
  }
  std::vector<nlohmann::json> AuditLines() const {
    std::vector<nlohmann::json> lines;
    std::istringstream in(dir_.Read("audit.log"));
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      EXPECT_TRUE(j.is_object()) << line;
      lines.push_back(j);
    }
    return lines;
  }
  // The audit line of `rpc` whose `key` is `value`; null when there is none.
  nlohmann::json FindAudit(const std::string& rpc, const std::string& key,
                           const std::string& value) const {
    for (const auto& line : AuditLines()) {
      if (line.value("rpc", "") == rpc && line.value(key, "") == value) {
        return line;
      }
    }
    return nullptr;
  }

  // Each test's containers carry this too, so that listings and prunes see only that test's.
  static constexpr char kTestLabel[] = "dockline-policy-test";
  const std::string test_label_ = UniqueLabelValue();
  TempDir dir_;
  std::unique_ptr<server::DocklineServer> dockline_;
  std::unique_ptr<v1::Dockline::Stub> client_;
};

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
  v1::StartContainerRequest start;
  start.set_container(id);
  v1::StartContainerResponse started;
  ASSERT_TRUE(client_->StartContainer(As("alice").get(), start, &started).ok());

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
  v1::StartContainerRequest start;
  start.set_container(alices);
  v1::StartContainerResponse started;
  EXPECT_EQ(client_->StartContainer(As("bob").get(), start, &started).error_code(),
            grpc::StatusCode::NOT_FOUND);
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
  ASSERT_TRUE(client_->StartContainer(As("alice").get(), start, &started).ok());
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

TEST_F(PolicyTest, ReloadTakesAGoodPolicyAndKeepsTheOldOneOnABadFile) {
  Start();
  v1::ContainerSpec spec = NamedSpec({"true"});
  EXPECT_EQ(CreateAs("reader", spec).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  std::string widened = DefaultPolicy();
  widened.replace(widened.find("  reader:\n    allow: [read]\n"), 28,
                  "  reader:\n    allow: [read, operate]\n");
  WritePolicy(widened);
  ASSERT_TRUE(dockline_->Reload().ok());
  std::string id;
  ASSERT_TRUE(CreateAs("reader", spec, &id).ok());
  EXPECT_FALSE(DaemonInspect(id).is_null());

  WritePolicy("identities:\n  reader:\n    allow: [read, operate, everything]\n");
  engine::Status st = dockline_->Reload();
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("\"everything\" is neither a group"));
  v1::ContainerSpec again = NamedSpec({"true"});
  EXPECT_TRUE(CreateAs("reader", again).ok()) << "the good policy stays in force";
  EXPECT_EQ(CreateAs("bob", NamedSpec({"true"}), nullptr).ok(), true);
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

// docklined itself: SIGHUP re-reads the policy; a bad file is logged and the old policy stays.
TEST_F(PolicyTest, SighupReloadsThePolicyFileInTheRunningServer) {
  WritePolicy("identities:\n  local:\n    allow: [read]\n");
  const std::string socket = "unix://" + dir_.path() + "/d.sock";
  const std::string log = dir_.path() + "/docklined.log";
  std::vector<std::string> args = {DOCKLINED_PATH, "--listen", socket, "--policy",
                                   dir_.path() + "/policy.yaml"};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  // spdlog writes to stdout.
  posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &files, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&files);
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  } reaper{pid};
  auto stub =
      v1::Dockline::NewStub(grpc::CreateChannel(socket, grpc::InsecureChannelCredentials()));
  auto engine_info = [&] {
    v1::GetEngineInfoRequest req;
    v1::GetEngineInfoResponse resp;
    return stub->GetEngineInfo(Context(std::chrono::seconds(5)).get(), req, &resp);
  };
  auto create = [&] {
    v1::CreateContainerRequest req;
    *req.mutable_spec() = NamedSpec({"true"});
    v1::CreateContainerResponse resp;
    return stub->CreateContainer(Context(std::chrono::seconds(5)).get(), req, &resp);
  };
  ASSERT_TRUE(PollUntil([&] { return engine_info().ok(); }, std::chrono::seconds(20)))
      << dir_.Read("docklined.log");
  EXPECT_EQ(create().error_code(), grpc::StatusCode::PERMISSION_DENIED);

  WritePolicy("identities:\n  local:\n    allow: [read, operate]\n");
  ASSERT_EQ(kill(pid, SIGHUP), 0);
  EXPECT_TRUE(PollUntil([&] { return create().ok(); }, std::chrono::seconds(10)))
      << dir_.Read("docklined.log");

  WritePolicy("identities:\n  local:\n    allow: [read, operate\n");
  ASSERT_EQ(kill(pid, SIGHUP), 0);
  EXPECT_TRUE(PollUntil(
      [&] { return dir_.Read("docklined.log").find("policy reload failed") != std::string::npos; },
      std::chrono::seconds(10)))
      << dir_.Read("docklined.log");
  EXPECT_THAT(dir_.Read("docklined.log"), HasSubstr("not valid YAML"));
  EXPECT_TRUE(create().ok()) << "the previous policy stays in force";
  EXPECT_TRUE(engine_info().ok()) << "and the server keeps serving";
}

TEST_F(PolicyTest, AuditHasALinePerMutatingCallExecAndRefusalWithTheFinalCode) {
  Start();
  std::string id;
  v1::ContainerSpec spec = NamedSpec({"sleep", "60"});
  ASSERT_TRUE(CreateAs("alice", spec, &id).ok());
  v1::ContainerSpec bad = NamedSpec({"true"});
  bad.set_image("nginx:latest");
  ASSERT_FALSE(CreateAs("alice", bad).ok());
  ASSERT_TRUE(InspectAs("alice", id).ok());
  v1::StartContainerRequest start;
  start.set_container(id);
  v1::StartContainerResponse started;
  ASSERT_TRUE(client_->StartContainer(As("alice").get(), start, &started).ok());
  v1::ExecContainerRequest exec;
  exec.mutable_config()->set_container(id);
  exec.mutable_config()->add_cmd("echo");
  v1::ExecContainerResponse out;
  ASSERT_TRUE(client_->ExecContainer(As("alice").get(), exec, &out).ok());
  // A wrong token: refused before any identity.
  auto ctx = Context();
  ctx->AddMetadata("authorization", "Bearer wrong");
  v1::RemoveContainerRequest remove;
  remove.set_container(id);
  v1::RemoveContainerResponse removed;
  EXPECT_EQ(client_->RemoveContainer(ctx.get(), remove, &removed).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // bob removing alice's container: allowed by the policy, NOT_FOUND by ownership.
  EXPECT_EQ(client_->RemoveContainer(As("bob").get(), remove, &removed).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // The server writes a line when the call ends, which may be just after the client sees it.
  ASSERT_TRUE(PollUntil([&] { return AuditLines().size() >= 6; }, std::chrono::seconds(10)))
      << dir_.Read("audit.log");
  nlohmann::json created = FindAudit("CreateContainer", "container", id);
  ASSERT_TRUE(created.is_object()) << dir_.Read("audit.log");
  EXPECT_EQ(created["identity"], "alice");
  EXPECT_EQ(created["source"], "bearer token");
  EXPECT_EQ(created["image"], Image());
  EXPECT_EQ(created["decision"], "allow");
  EXPECT_EQ(created["code"], "OK");
  EXPECT_THAT(created.value("peer", ""), HasSubstr("127.0.0.1"));
  EXPECT_THAT(created.value("time", ""), ::testing::MatchesRegex("20[0-9-]+T[0-9:.]+Z"));

  nlohmann::json denied = FindAudit("CreateContainer", "image", "nginx:latest");
  ASSERT_TRUE(denied.is_object());
  EXPECT_EQ(denied["decision"], "deny");
  EXPECT_EQ(denied["rule"], "images");
  EXPECT_EQ(denied["code"], "PERMISSION_DENIED");

  nlohmann::json executed = FindAudit("ExecContainer", "exec_id", out.exec_id());
  ASSERT_TRUE(executed.is_object());
  EXPECT_EQ(executed["container"], id);
  EXPECT_EQ(executed["code"], "OK");

  nlohmann::json refused = FindAudit("RemoveContainer", "identity", "");
  ASSERT_TRUE(refused.is_object());
  EXPECT_EQ(refused["rule"], "authentication");
  EXPECT_EQ(refused["code"], "UNAUTHENTICATED");
  nlohmann::json bobs = FindAudit("RemoveContainer", "identity", "bob");
  ASSERT_TRUE(bobs.is_object());
  EXPECT_EQ(bobs["decision"], "allow");
  EXPECT_EQ(bobs["code"], "NOT_FOUND");

  EXPECT_TRUE(FindAudit("StartContainer", "container", id).is_object());
  EXPECT_TRUE(FindAudit("InspectContainer", "container", id).is_null()) << "reads are not audited";
}

TEST_F(PolicyTest, StreamCapsServerWideAndPerIdentityNameTheirLimit) {
  server::ServerOptions options = Options();
  options.policy_file.clear();
  options.max_streams = 3;
  options.max_streams_per_identity = 2;
  Start(options);
  std::string id;
  v1::ContainerSpec spec = NamedSpec({"sleep", "600"});
  ASSERT_TRUE(CreateAs("alice", spec, &id).ok());
  v1::StartContainerRequest start;
  start.set_container(id);
  v1::StartContainerResponse started;
  ASSERT_TRUE(client_->StartContainer(As("alice").get(), start, &started).ok());

  struct Follow {
    std::unique_ptr<grpc::ClientContext> ctx;
    std::unique_ptr<grpc::ClientReader<v1::StreamLogsResponse>> reader;
  };
  auto follow = [&](const std::string& who) {
    Follow f{As(who), nullptr};
    v1::StreamLogsRequest logs;
    logs.set_container(id);
    logs.set_follow(true);
    f.reader = client_->StreamLogs(f.ctx.get(), logs);
    return f;
  };
  // Open streams are counted once the server has them; wait for each to be in place.
  auto opened = [&](size_t n) {
    return PollUntil([&] { return dockline_->OpenStreams() == n; }, std::chrono::seconds(10));
  };
  Follow a1 = follow("alice");
  ASSERT_TRUE(opened(1));
  Follow a2 = follow("alice");
  ASSERT_TRUE(opened(2));
  Follow a3 = follow("alice");
  v1::StreamLogsResponse chunk;
  EXPECT_FALSE(a3.reader->Read(&chunk));
  grpc::Status st = a3.reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(st.error_message(), HasSubstr("too many streams for identity \"alice\": 2 are open "
                                            "and the limit is 2 (--max-streams-per-identity)"));
  Follow b1 = follow("bob");
  ASSERT_TRUE(opened(3));
  Follow b2 = follow("bob");
  EXPECT_FALSE(b2.reader->Read(&chunk));
  st = b2.reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(st.error_message(),
              HasSubstr("too many streams: 3 are open and the limit is 3 (--max-streams)"));

  // A stream that ends gives its place back.
  a1.ctx->TryCancel();
  a1.reader->Finish();
  ASSERT_TRUE(opened(2));
  Follow a4 = follow("alice");
  ASSERT_TRUE(opened(3));
  for (Follow* f : {&a2, &b1, &a4}) {
    f->ctx->TryCancel();
    f->reader->Finish();
  }
  EXPECT_TRUE(opened(0));
  // Unary calls are never counted.
  EXPECT_TRUE(InspectAs("alice", id).ok());
}

TEST_F(PolicyTest, ARequestOverTheSizeLimitIsInvalidArgumentNamingTheLimit) {
  server::ServerOptions options = Options();
  options.max_request_bytes = 64 << 10;
  Start(options);
  v1::ContainerSpec spec = NamedSpec({"true"});
  spec.add_env("BIG=" + std::string(100 << 10, 'x'));
  grpc::Status st = CreateAs("alice", spec);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("the limit is 65536 (--max-request-size)"));
  EXPECT_TRUE(DaemonInspect(spec.name()).is_null());
  nlohmann::json line;
  ASSERT_TRUE(PollUntil(
      [&] {
        line = FindAudit("CreateContainer", "image", Image());
        return line.is_object();
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(line["rule"], "max-request-size");
  EXPECT_EQ(line["code"], "INVALID_ARGUMENT");
}

}  // namespace
}  // namespace dockline::testing
