// Reloading the policy and the tokens: in-process, and by SIGHUP to a running docklined.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "policy_fixture.h"

namespace dockline::testing {
namespace {

using ReloadTest = PolicyFixture;

TEST_F(ReloadTest, ReloadTakesAGoodPolicyAndKeepsTheOldOneOnABadFile) {
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

// docklined itself: SIGHUP re-reads the policy; a bad file is logged and the old policy stays.
TEST_F(ReloadTest, SighupReloadsThePolicyFileInTheRunningServer) {
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

// Tokens rotate without a restart: the reload that takes the new file refuses the old token at
// once, and a file that does not parse keeps the tokens in force.
TEST_F(ReloadTest, ReloadRotatesTheTokensAndABadFileKeepsThoseInForce) {
  Start();
  auto engine_info_with = [&](const std::string& token) {
    auto ctx = Context(std::chrono::seconds(30));
    ctx->AddMetadata("authorization", "Bearer " + token);
    v1::GetEngineInfoRequest req;
    v1::GetEngineInfoResponse resp;
    return client_->GetEngineInfo(ctx.get(), req, &resp);
  };
  ASSERT_TRUE(engine_info_with(TokenOf("alice")).ok());
  ASSERT_TRUE(engine_info_with(TokenOf("bob")).ok());

  dir_.Write("tokens", "alice sha256:" +
                           server::auth::DigestHex(server::auth::Sha256("alice-rotated")) + "\n");
  ASSERT_TRUE(dockline_->Reload().ok());
  grpc::Status old = engine_info_with(TokenOf("alice"));
  EXPECT_EQ(old.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(old.error_message(), HasSubstr("not one this server knows"));
  EXPECT_TRUE(engine_info_with("alice-rotated").ok());
  EXPECT_EQ(engine_info_with(TokenOf("bob")).error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << "bob's line is gone from the file";

  dir_.Write("tokens", "alice sha256:not-hex\n");
  engine::Status st = dockline_->Reload();
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("64 hex digits"));
  EXPECT_TRUE(engine_info_with("alice-rotated").ok()) << "the tokens in force stay";
  EXPECT_EQ(engine_info_with(TokenOf("alice")).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace dockline::testing
