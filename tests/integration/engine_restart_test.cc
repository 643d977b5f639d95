// The daemon dies under open calls and comes back: a private engine of this test's own (the
// shared one serves tests running beside it) is SIGKILLed while a follow, a wait and an exec
// are open, then started again in the same directory. docklined itself is never restarted.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace dockline::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kEngineScript = std::string(DOCKLINE_SOURCE_DIR) + "/tests/engine/test-engine.sh";
const std::string kProbe = std::string(DOCKLINE_SOURCE_DIR) + "/tests/integration/py/grpc_probe.py";

class EngineRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The engine is started and stopped by the README's own two lines, as written; a child
    // process prints what the first one exported.
    const auto lines = EngineLines();
    ASSERT_EQ(lines.size(), 2u);
    // The line ends in a comment: what follows it goes on lines of its own.
    CommandResult started = RunCommand(
        {"bash", "-ec",
         "unset DOCKLINE_ENGINE_DIR DOCKER_HOST\ncd " + std::string(DOCKLINE_SOURCE_DIR) + "\n" +
             lines[0] +
             "\nbash -c 'printf \"%s\\n%s\" \"$DOCKLINE_ENGINE_DIR\" \"$DOCKER_HOST\"'"});
    ASSERT_EQ(started.exit_code, 0) << started.err;
    engine_dir_ = started.out.substr(0, started.out.find('\n'));
    ASSERT_FALSE(engine_dir_.empty()) << started.out;
    ASSERT_EQ(started.out.substr(started.out.find('\n') + 1), "unix://" + engine_dir_ + "/d.sock");
    server::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.docker_host = "unix://" + engine_dir_ + "/d.sock";
    options.health_interval = milliseconds(200);
    auto server = server::DocklineServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server.value());
    stub_ = v1::Dockline::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_) {
      server_->Shutdown(milliseconds(1000));
    }
    if (!engine_dir_.empty()) {
      CommandResult stopped = RunCommand(
          {"bash", "-ec", "cd " + std::string(DOCKLINE_SOURCE_DIR) + "\n" + EngineLines()[1]},
          {"DOCKLINE_ENGINE_DIR=" + engine_dir_});
      EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
      EXPECT_NE(access(engine_dir_.c_str(), F_OK), 0) << "the README's stop left " << engine_dir_;
    }
  }

  // The lines of the README's test-engine block (each with its comment, which bash ignores).
  static std::vector<std::string> EngineLines() {
    std::istringstream block(ShBlockAfter(ReadmeText(), "<!-- readme-test:test-engine -->"));
    std::vector<std::string> lines;
    for (std::string line; std::getline(block, line);) {
      if (!line.empty()) {
        lines.push_back(line);
      }
    }
    return lines;
  }

  std::string Health() const {
    return RunCommand({"/usr/bin/python3", kProbe, server_->address(), "health"}).out;
  }

  static std::unique_ptr<grpc::ClientContext> Context(seconds deadline) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + deadline);
    return ctx;
  }

  TempDir dir_;
  std::string engine_dir_;
  std::unique_ptr<server::DocklineServer> server_;
  std::unique_ptr<v1::Dockline::Stub> stub_;
};

// Reads a stream to its end on its own thread; `marker` in its output is signalled on `seen`.
template <typename Response, typename Reader>
std::future<grpc::Status> ReadInBackground(std::unique_ptr<Reader> reader, std::string marker,
                                           std::shared_ptr<std::promise<void>> seen) {
  return std::async(std::launch::async, [reader = std::move(reader), marker, seen] {
    Response message;
    std::string output;
    bool signalled = false;
    while (reader->Read(&message)) {
      if (message.has_output()) {
        output += message.output().data();
      }
      if (!signalled && output.find(marker) != std::string::npos) {
        signalled = true;
        seen->set_value();
      }
    }
    return reader->Finish();
  });
}

TEST_F(EngineRestartTest, OpenCallsEndUnavailableHealthFollowsAndNewCallsWorkAfterRestart) {
  ASSERT_TRUE(PollUntil([&] { return Health() == "SERVING\n"; }, seconds(30)));

  v1::RunContainerRequest run;
  const char* image = std::getenv("DOCKLINE_TEST_IMAGE");
  run.mutable_spec()->set_image(
      image != nullptr && *image != '\0' ? image : "dockline-test/busybox:latest");
  (*run.mutable_spec()->mutable_labels())["dockline-test"] = "engine-restart";
  run.mutable_spec()->set_network("none");
  run.mutable_spec()->add_command("sh");
  run.mutable_spec()->add_command("-c");
  run.mutable_spec()->add_command("echo ready; exec sleep 600");
  run.set_detach(true);
  auto run_ctx = Context(seconds(30));
  auto run_reader = stub_->RunContainer(run_ctx.get(), run);
  v1::RunContainerResponse started;
  std::string id;
  while (run_reader->Read(&started)) {
    if (started.has_started()) {
      id = started.started().id();
    }
  }
  ASSERT_TRUE(run_reader->Finish().ok());
  ASSERT_FALSE(id.empty());

  // A follow, a wait and an exec, each open on the daemon.
  auto follow_seen = std::make_shared<std::promise<void>>();
  auto follow_ctx = Context(seconds(120));
  v1::StreamLogsRequest logs;
  logs.set_container(id);
  logs.set_follow(true);
  auto follow = ReadInBackground<v1::StreamLogsResponse>(stub_->StreamLogs(follow_ctx.get(), logs),
                                                         "ready", follow_seen);

  auto exec_seen = std::make_shared<std::promise<void>>();
  auto exec_ctx = Context(seconds(120));
  v1::StreamExecRequest exec;
  exec.mutable_config()->set_container(id);
  for (const char* arg : {"sh", "-c", "echo go; exec sleep 600"}) {
    exec.mutable_config()->add_cmd(arg);
  }
  auto exec_call = ReadInBackground<v1::StreamExecResponse>(stub_->StreamExec(exec_ctx.get(), exec),
                                                            "go", exec_seen);

  auto wait_ctx = Context(seconds(120));
  auto wait_call = std::async(std::launch::async, [&] {
    v1::WaitContainerRequest request;
    request.set_container(id);
    v1::WaitContainerResponse response;
    return stub_->WaitContainer(wait_ctx.get(), request, &response);
  });

  ASSERT_EQ(follow_seen->get_future().wait_for(seconds(30)), std::future_status::ready);
  ASSERT_EQ(exec_seen->get_future().wait_for(seconds(30)), std::future_status::ready);
  // The wait has no output to show it is open; its request is sent well within this.
  std::this_thread::sleep_for(milliseconds(500));
  ASSERT_EQ(wait_call.wait_for(milliseconds(0)), std::future_status::timeout);

  CommandResult crashed = RunCommand({"bash", kEngineScript, "crash", engine_dir_});
  ASSERT_EQ(crashed.exit_code, 0) << crashed.err;

  for (auto* call : {&follow, &exec_call, &wait_call}) {
    ASSERT_EQ(call->wait_for(seconds(30)), std::future_status::ready);
    grpc::Status st = call->get();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  }
  EXPECT_TRUE(PollUntil([&] { return Health() == "NOT_SERVING\n"; }, seconds(30)));

  CommandResult revived = RunCommand({"bash", kEngineScript, "revive", engine_dir_});
  ASSERT_EQ(revived.exit_code, 0) << revived.err;
  EXPECT_TRUE(PollUntil([&] { return Health() == "SERVING\n"; }, seconds(30)));

  // The same docklined serves new calls: the container (killed with its daemon) is inspected.
  auto ctx = Context(seconds(30));
  v1::InspectContainerRequest inspect;
  inspect.set_container(id);
  v1::InspectContainerResponse response;
  grpc::Status st = stub_->InspectContainer(ctx.get(), inspect, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(response.container().id(), id);
}

}  // namespace
}  // namespace dockline::testing
