// What a client that is not ours sees: reflection (grpcurl's route) and grpc.health.v1.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "harness.h"

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;

const std::string kProbe = std::string(DOCKLINE_SOURCE_DIR) + "/tests/integration/py/grpc_probe.py";

class SurfaceTest : public DaemonTest {};

TEST_F(SurfaceTest, ReflectionListsEveryRpcOfTheDesign) {
  CommandResult r = RunCommand({"/usr/bin/python3", kProbe, ServerAddress(), "reflection"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("service dockline.v1.Dockline\n"));
  EXPECT_THAT(r.out, HasSubstr("service grpc.reflection.v1alpha.ServerReflection\n"));
  // DESIGN.md's API table, every row.
  for (const char* rpc :
       {"CreateContainer", "StartContainer",  "StopContainer",     "RestartContainer",
        "KillContainer",   "RemoveContainer", "InspectContainer",  "ListContainers",
        "RunContainer",    "WaitContainer",   "ExecContainer",     "StreamExec",
        "StartExec",       "InspectExec",     "AttachExec",        "StreamLogs",
        "GetHealth",       "WaitHealthy",     "WatchHealth",       "PruneContainers",
        "PruneImages",     "PruneVolumes",    "PruneNetworks",     "GetEngineInfo",
        "GetStats",        "StreamStats",     "CopyFromContainer", "CopyToContainer",
        "WatchEvents",     "AttachContainer"}) {
    EXPECT_THAT(r.out, HasSubstr(std::string("method dockline.v1.Dockline/") + rpc + "\n")) << rpc;
  }
  // Every service listed can be described (the probe fails otherwise), grpc.health.v1 included.
  EXPECT_THAT(r.out, HasSubstr("method grpc.health.v1.Health/Check\n"));
}

// What grpcurl does with no proto files: `describe grpc.health.v1.Health` and
// `grpc.health.v1.Health/Check` with the types learnt over reflection.
TEST_F(SurfaceTest, HealthIsDescribedAndCalledOverReflectionAlone) {
  CommandResult described = RunCommand(
      {"/usr/bin/python3", kProbe, ServerAddress(), "describe", "grpc.health.v1.Health"});
  ASSERT_EQ(described.exit_code, 0) << described.out << described.err;
  EXPECT_EQ(described.out,
            "rpc Check(grpc.health.v1.HealthCheckRequest) returns "
            "(grpc.health.v1.HealthCheckResponse)\n"
            "rpc Watch(grpc.health.v1.HealthCheckRequest) returns "
            "(stream grpc.health.v1.HealthCheckResponse)\n");
  // The first ping runs as the server starts; allow it a moment.
  const std::string serving = "{\n  \"status\": \"SERVING\"\n}\n";
  std::string out;
  for (int i = 0; i < 50 && out != serving; ++i) {
    CommandResult called = RunCommand(
        {"/usr/bin/python3", kProbe, ServerAddress(), "call", "grpc.health.v1.Health/Check", "{}"});
    ASSERT_EQ(called.exit_code, 0) << called.out << called.err;
    out = called.out;
    if (out != serving) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_EQ(out, serving);
}

TEST_F(SurfaceTest, HealthServingWhileTheDaemonAnswers) {
  // The first ping runs as the server starts; allow it a moment.
  std::string status;
  for (int i = 0; i < 50 && status != "SERVING\n"; ++i) {
    CommandResult r = RunCommand({"/usr/bin/python3", kProbe, ServerAddress(), "health"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    status = r.out;
    if (status != "SERVING\n") {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_EQ(status, "SERVING\n");
}

TEST_F(SurfaceTest, HealthNotServingWithoutADaemon) {
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.docker_host = "unix:///tmp/dockline-no-daemon-here.sock";
  auto server = server::DocklineServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status().message();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CommandResult r = RunCommand({"/usr/bin/python3", kProbe, server.value()->address(), "health"});
  EXPECT_EQ(r.out, "NOT_SERVING\n") << r.err;

  // And calls say why, as UNAVAILABLE.
  auto stub = v1::Dockline::NewStub(
      grpc::CreateChannel(server.value()->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  v1::InspectContainerRequest req;
  req.set_container("anything");
  v1::InspectContainerResponse resp;
  grpc::Status st = stub->InspectContainer(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(st.error_message(), HasSubstr("/tmp/dockline-no-daemon-here.sock"));
  server.value()->Shutdown(std::chrono::milliseconds(500));
}

TEST_F(SurfaceTest, RefusesNonLoopbackWithoutTheInsecureFlag) {
  server::ServerOptions options;
  options.listen = "0.0.0.0:0";
  options.docker_host = "unix:///tmp/dockline-no-daemon-here.sock";
  auto server = server::DocklineServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(), HasSubstr("--allow-insecure-remote"));
}

}  // namespace
}  // namespace dockline::testing
