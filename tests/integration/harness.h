#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <functional>
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
  // A label value unique to this test, for filters that must see only one test's containers.
  std::string UniqueLabelValue() { return UniqueName("label"); }

  // CreateContainer; on success `*id` is the new container's id.
  grpc::Status Create(const v1::ContainerSpec& spec, std::string* id);
  // CreateContainer then StartContainer through dockline; "" (and a test failure) on error.
  std::string CreateAndStart(const v1::ContainerSpec& spec);

  // A client context whose deadline is `timeout` from now.
  static std::unique_ptr<grpc::ClientContext> Context(
      std::chrono::milliseconds timeout = std::chrono::seconds(60));

  v1::Dockline::Stub& stub() { return *stub_; }
  static std::string ServerAddress();
  // The daemon the tests use (DOCKER_HOST).
  static std::string DockerHost();

  // Straight to the daemon, for checking what dockline did against the daemon's own view.
  static engine::Result<engine::ApiResponse> Daemon(engine::ApiRequest request);
  static nlohmann::json DaemonInspect(const std::string& id);  // null when it does not exist
  static bool DaemonPing();
  // GET /info's NGoroutines (-1 on failure).
  static int DaemonGoroutines();
  // The container's log as the daemon keeps it (non-follow), demultiplexed.
  struct LogEntry {
    bool stderr_stream = false;
    std::string timestamp;  // the daemon's RFC3339Nano text
    std::string data;
  };
  struct DaemonLogs {
    bool ok = false;
    std::string stdout_data;
    std::string stderr_data;
    std::vector<LogEntry> entries;
  };
  static DaemonLogs Logs(const std::string& id);
  static bool PollUntil(const std::function<bool()>& done, std::chrono::milliseconds limit);

  // Runs a container through RunContainer and gathers everything.
  struct RunOutput {
    grpc::Status status;
    std::string id;
    std::string stdout_data;
    std::string stderr_data;
    int64_t exit_code = -1;
    std::string exit_error;
    bool removed = false;
    bool exited = false;
    int output_messages = 0;
    // One letter per message in arrival order: 'p' pull progress, 's' started, 'o' output,
    // 'x' exited.
    std::string sequence;
    std::vector<v1::PullProgress> pull;
    std::vector<v1::OutputChunk> chunks;
    std::vector<std::string> warnings;
  };
  RunOutput Run(const v1::RunContainerRequest& request);

  static std::unique_ptr<server::DocklineServer> server_;
  static std::shared_ptr<engine::DockerEngine> daemon_;
  std::unique_ptr<v1::Dockline::Stub> stub_;
};

// A fresh directory under /tmp (mkdtemp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name.
  void Write(const std::string& name, const std::string& content) const;
  // The content of path()/name, or "" when it cannot be read.
  std::string Read(const std::string& name) const;

 private:
  std::string path_;
};

// Entries of /proc/<pid>/fd (this process's by default), or -1.
int OpenDescriptors(pid_t pid = getpid());

// Polls `done` every 50ms until it holds or `limit` passes; returns its last value.
bool PollUntil(const std::function<bool()>& done, std::chrono::milliseconds limit);

// The README's text, and the ```sh block that follows `marker` (an HTML comment such as
// "<!-- readme-test:grpcurl -->") in it, or "" when there is none: the README's examples are
// run as written, with only what the test environment must change swapped by ReplaceAll.
std::string ReadmeText();
std::string ShBlockAfter(const std::string& readme, const std::string& marker);
void ReplaceAll(std::string* text, const std::string& from, const std::string& to);
// The commands of a README block: backslash-newlines joined, a newline inside quotes kept (a
// JSON body over two lines), each command split as a shell would (client::ShlexSplit), with
// what follows a `;` and the trailing `# comment` (the README's expected result) apart.
struct ReadmeCommand {
  std::vector<std::string> argv;
  std::string then;     // after ';', e.g. "echo $?"
  std::string comment;  // after '#', trimmed
};
std::vector<ReadmeCommand> ReadmeCommands(const std::string& block);

// A loopback TCP port the kernel had free a moment ago (for a server started by a test), and
// whether something accepts connections on it now.
int FreeLoopbackPort();
bool AcceptsOnLoopback(int port);

// Runs a command, returns its exit status and combined output (for CLI and Python checks).
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env = {});

}  // namespace dockline::testing
