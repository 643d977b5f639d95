#include "server/rpc/exec_session.h"

#include <gmock/gmock.h>
#include <grpcpp/support/status.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "server/codec/exec_codec.h"
#include "unit/exec_config.h"
#include "unit/frame.h"
#include "unit/rpc/exec_fake_engine.h"

namespace dockline::server {
namespace {

using testing::Config;
using testing::Frame;
using testing::exec_fake::FakeEngine;
using testing::exec_fake::ScriptDaemon;

using engine::ApiRequest;
using engine::StreamKind;
using ::testing::HasSubstr;

class RecordingListener : public ExecSession::Listener {
 public:
  std::mutex mu;
  std::condition_variable cv;
  std::string events;
  std::string out;
  std::string err;
  int exit_code = -1;
  grpc::Status end;  // what OnExecExited said of the output
  grpc::Status failure;
  bool ended = false;
  std::weak_ptr<ExecSession> session;

  void OnExecStarted(const std::string& exec_id) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      events += "started:" + exec_id + ";";
    }
    if (auto s = session.lock()) {
      s->Read();
    }
  }
  void OnExecOutput(const std::vector<OutputPiece>& pieces, bool eof) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& p : pieces) {
        (p.kind == StreamKind::kStderr ? err : out).append(p.data);
      }
      if (eof) {
        events += "eof;";
      }
    }
    if (!eof) {
      if (auto s = session.lock()) {
        s->Read();
      }
    }
  }
  void OnExecExited(int code, const grpc::Status& output_end) override {
    std::lock_guard<std::mutex> lock(mu);
    exit_code = code;
    end = output_end;
    events += "exited;";
    ended = true;
    cv.notify_all();
  }
  void OnExecFailed(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(mu);
    failure = status;
    events += "failed;";
    ended = true;
    cv.notify_all();
  }
  bool WaitEnd() {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [this] { return ended; });
  }
};

std::shared_ptr<ExecSession> MakeSession(FakeEngine& engine,
                                         std::shared_ptr<RecordingListener> listener,
                                         v1::ExecConfig config, ExitPollPolicy poll = {}) {
  ExecPlan plan;
  EXPECT_TRUE(PlanExec(config, ExecMode::kStreamed, &plan).ok());
  ExecSession::Options options;
  options.poll = poll;
  // The engine is owned by the test; the session only borrows it.
  std::shared_ptr<engine::Engine> borrowed(&engine, [](engine::Engine*) {});
  auto session = std::make_shared<ExecSession>(borrowed, plan, options, listener);
  listener->session = session;
  return session;
}

TEST(ExecSessionTest, ExitCodeIsRetriedWhileTheDaemonSaysRunning) {
  FakeEngine engine;
  ScriptDaemon(engine, /*running_answers=*/3, /*exit_code=*/42);
  std::string frames = Frame(1, "hello ") + Frame(2, "oops\n") + Frame(1, "world\n");
  // Frame borders fall mid-header and mid-payload across reads.
  engine.body->Script({frames.substr(0, 3), frames.substr(3, 12), frames.substr(15)}, false);
  auto listener = std::make_shared<RecordingListener>();
  auto session = MakeSession(engine, listener, Config({"x"}));
  session->Begin();
  ASSERT_TRUE(listener->WaitEnd());
  EXPECT_EQ(listener->events, "started:e1;eof;exited;");
  EXPECT_EQ(listener->exit_code, 42);
  EXPECT_EQ(listener->out, "hello world\n");
  EXPECT_EQ(listener->err, "oops\n");
  EXPECT_EQ(engine.Count("GET /exec/e1/json"), 4);
  auto requests = engine.Requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[0], "POST /containers/c1/exec");
  EXPECT_EQ(requests[1], "POST /exec/e1/start");
}

TEST(ExecSessionTest, OutputCutInsideAFrameEndsWithDataLossAfterTheExitCode) {
  FakeEngine engine;
  ScriptDaemon(engine, /*running_answers=*/0, /*exit_code=*/3);
  // A whole frame, then a frame announcing 100 bytes of which 10 come before a clean end.
  engine.body->Script({Frame(1, "whole\n") + Frame(2, std::string(100, 'e')).substr(0, 18)}, false);
  auto listener = std::make_shared<RecordingListener>();
  auto session = MakeSession(engine, listener, Config({"x"}));
  session->Begin();
  ASSERT_TRUE(listener->WaitEnd());
  EXPECT_EQ(listener->events, "started:e1;eof;exited;");
  EXPECT_EQ(listener->exit_code, 3);
  EXPECT_EQ(listener->out, "whole\n");
  EXPECT_EQ(listener->end.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(listener->end.error_message(), HasSubstr("90 of its 100 bytes never came"));
}

TEST(ExecSessionTest, GivesUpWhenTheExitCodeNeverComes) {
  FakeEngine engine;
  ScriptDaemon(engine, /*running_answers=*/1000000, 0);
  engine.body->Script({}, false);
  auto listener = std::make_shared<RecordingListener>();
  ExitPollPolicy quick;
  quick.first_delay = std::chrono::milliseconds(1);
  quick.max_delay = std::chrono::milliseconds(5);
  quick.total = std::chrono::milliseconds(50);
  auto session = MakeSession(engine, listener, Config({"x"}), quick);
  session->Begin();
  ASSERT_TRUE(listener->WaitEnd());
  EXPECT_EQ(listener->failure.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(listener->failure.error_message(), HasSubstr("exit code"));
  EXPECT_GE(engine.Count("GET /exec/e1/json"), 2);
}

TEST(ExecSessionTest, DaemonErrorsMapToStatusCodes) {
  for (auto [http, code] : {std::pair{404, grpc::StatusCode::NOT_FOUND},
                            std::pair{409, grpc::StatusCode::FAILED_PRECONDITION}}) {
    FakeEngine engine;
    engine.on_unary = [http = http](const ApiRequest&) {
      return FakeEngine::Reply{http, R"({"message":"nope"})"};
    };
    auto listener = std::make_shared<RecordingListener>();
    auto session = MakeSession(engine, listener, Config({"x"}));
    session->Begin();
    ASSERT_TRUE(listener->WaitEnd());
    EXPECT_EQ(listener->failure.error_code(), code);
    EXPECT_EQ(listener->failure.error_message(), "nope");
  }
}

TEST(ExecSessionTest, ResizeIsHeldUntilStartedAndCancelClosesTheStream) {
  FakeEngine engine;
  ScriptDaemon(engine, 0, 0);
  engine.body->Script({Frame(1, "x")}, /*hold_open=*/true);
  auto listener = std::make_shared<RecordingListener>();
  auto config = Config({"x"});
  config.set_tty(true);
  auto session = MakeSession(engine, listener, config);
  session->Resize(40, 120);
  session->Resize(41, 121);  // only the latest is sent
  EXPECT_EQ(engine.Count("POST /exec/e1/resize"), 0);
  session->Begin();
  for (int i = 0; i < 200 && engine.Count("POST /exec/e1/resize") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto requests = engine.Requests();
  auto start = std::find(requests.begin(), requests.end(), "POST /exec/e1/start");
  auto resize = std::find(requests.begin(), requests.end(), "POST /exec/e1/resize?h=41&w=121");
  ASSERT_NE(resize, requests.end()) << ::testing::PrintToString(requests);
  EXPECT_LT(start, resize);
  EXPECT_EQ(engine.Count("POST /exec/e1/resize"), 1);
  session->Cancel();
  EXPECT_TRUE(engine.body->cancelled());
  // No callbacks after a cancel.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::lock_guard<std::mutex> lock(listener->mu);
  EXPECT_FALSE(listener->ended) << listener->events;
}

}  // namespace
}  // namespace dockline::server
