// The audit log, the stream caps and the request size limit, on a real daemon.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "policy_fixture.h"

namespace dockline::testing {
namespace {

using AuditAndLimitsTest = PolicyFixture;

TEST_F(AuditAndLimitsTest, AuditHasALinePerMutatingCallExecAndRefusalWithTheFinalCode) {
  Start();
  std::string id;
  v1::ContainerSpec spec = NamedSpec({"sleep", "60"});
  ASSERT_TRUE(CreateAs("alice", spec, &id).ok());
  v1::ContainerSpec bad = NamedSpec({"true"});
  bad.set_image("nginx:latest");
  ASSERT_FALSE(CreateAs("alice", bad).ok());
  ASSERT_TRUE(InspectAs("alice", id).ok());
  ASSERT_TRUE(StartAs("alice", id).ok());
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

TEST_F(AuditAndLimitsTest, StreamCapsServerWideAndPerIdentityNameTheirLimit) {
  server::ServerOptions options = Options();
  options.policy_file.clear();
  options.max_streams = 3;
  options.max_streams_per_identity = 2;
  Start(options);
  std::string id;
  v1::ContainerSpec spec = NamedSpec({"sleep", "600"});
  ASSERT_TRUE(CreateAs("alice", spec, &id).ok());
  ASSERT_TRUE(StartAs("alice", id).ok());

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

TEST_F(AuditAndLimitsTest, ARequestOverTheSizeLimitIsInvalidArgumentNamingTheLimit) {
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
