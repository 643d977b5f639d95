#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dockline/v1/dockline.grpc.pb.h"
#include "engine/docker_engine.h"
#include "server/server.h"

namespace dockline::testing {

// Integration tests run a real docklined (in-process, 127.0.0.1, port 0) against the real
// daemon that tests/engine/test-engine.sh started (DOCKER_HOST). No daemon is a failure, never
// a skip: the suite exists to prove behaviour against dockerd.
class DaemonTest : public ::testing::Test {
 public:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

 protected:
  void SetUp() override;
  void TearDown() override;

  // The test image (DOCKLINE_TEST_IMAGE, default dockline-test/busybox:latest).
  static std::string Image();
  // The label every object of this test run carries; cleanup removes only what has it.
  static std::string LabelKey() { return "dockline-test"; }
  static std::string LabelValue();
  // A unique container name for this test.
  std::string UniqueName(const std::string& hint = "c");

  // Image, command, network none and the test label.
  v1::ContainerSpec Spec(std::vector<std::string> command);

  v1::Dockline::Stub& stub() { return *stub_; }
  static std::string ServerAddress();

  // Straight to the daemon, for checking what dockline did against the daemon's own view.
  static engine::Result<engine::ApiResponse> Daemon(engine::ApiRequest request);
  static nlohmann::json DaemonInspect(const std::string& id);  // null when it does not exist
  static bool DaemonPing();

  // Runs a container through RunContainer and gathers everything.
  struct RunOutput {
    grpc::Status status;
    std::string id;
    std::string stdout_data;
    std::string stderr_data;
    int64_t exit_code = -1;
    bool removed = false;
    bool exited = false;
    int output_messages = 0;
  };
  RunOutput Run(const v1::RunContainerRequest& request);

  static std::unique_ptr<server::DocklineServer> server_;
  static std::shared_ptr<engine::DockerEngine> daemon_;
  std::unique_ptr<v1::Dockline::Stub> stub_;
};

// Runs a command, returns its exit status and combined output (for CLI and Python checks).
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env = {});

}  // namespace dockline::testing
