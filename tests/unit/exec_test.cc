// Exec pieces without a daemon: the plan (validation and create body), inspect decoding, the
// output decoder, the capture cap, the output queue, the CLI's parsing, and ExecSession and the
// streaming reactors against a scripted fake Engine (exit-code retries, held resizes, cancel).

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/cli/cli.h"
#include "client/client_exec.h"
#include "engine/docker_engine.h"
#include "server/service.h"
#include "server/rpc/exec.h"
#include "server/reactor/output_queue.h"
#include "unit/fake_engine.h"
#include "unit/frame.h"

namespace dockline::server {
namespace {

using testing::Executor;
using testing::Frame;

using engine::ApiRequest;
using engine::ApiResponse;
using engine::Result;
using engine::StreamKind;
using ::testing::HasSubstr;

v1::ExecConfig Config(std::vector<std::string> cmd, std::string container = "c1") {
  v1::ExecConfig config;
  config.set_container(std::move(container));
  for (auto& arg : cmd) {
    config.add_cmd(arg);
  }
  return config;
}

// ---------------------------------------------------------------------------------------------
// PlanExec

TEST(PlanExecTest, DockerPyShapedCreateBody) {
  ExecPlan plan;
  ASSERT_TRUE(PlanExec(Config({"sh", "-c", "echo hi"}), ExecMode::kCaptured, &plan).ok());
  EXPECT_EQ(plan.container, "c1");
  EXPECT_EQ(plan.create_body,
            nlohmann::json::parse(R"({"AttachStdin":false,"AttachStdout":true,"AttachStderr":true,
              "Tty":false,"Privileged":false,"User":"","Cmd":["sh","-c","echo hi"]})"));
  EXPECT_TRUE(plan.deliver_stdout);
  EXPECT_TRUE(plan.deliver_stderr);
  EXPECT_FALSE(plan.detach);

  auto config = Config({"id"});
  config.add_env("A=1");
  config.add_env("UNSET_ME");
  config.set_workdir("/tmp");
  config.set_user("1000:1000");
  config.set_privileged(true);
  config.set_tty(true);
  config.set_stdin(true);
  ASSERT_TRUE(PlanExec(config, ExecMode::kAttached, &plan).ok());
  EXPECT_EQ(plan.create_body["Env"], nlohmann::json::parse(R"(["A=1","UNSET_ME"])"));
  EXPECT_EQ(plan.create_body["WorkingDir"], "/tmp");
  EXPECT_EQ(plan.create_body["User"], "1000:1000");
  EXPECT_EQ(plan.create_body["Privileged"], true);
  EXPECT_EQ(plan.create_body["Tty"], true);
  EXPECT_EQ(plan.create_body["AttachStdin"], true);
  EXPECT_TRUE(plan.stdin);
  EXPECT_TRUE(plan.tty);
}

TEST(PlanExecTest, RefusesBadInputNamingTheField) {
  ExecPlan plan;
  struct Case {
    v1::ExecConfig config;
    ExecMode mode;
    std::string field;
  };
  auto with_env = Config({"true"});
  with_env.add_env("=x");
  auto with_stdin = Config({"cat"});
  with_stdin.set_stdin(true);
  auto nul = Config({"echo", std::string("a\0b", 3)});
  std::vector<Case> cases = {
      {Config({}), ExecMode::kCaptured, "config.cmd"},
      {Config({""}), ExecMode::kStreamed, "config.cmd[0]"},
      {nul, ExecMode::kCaptured, "config.cmd[1]"},
      {Config({"true"}, ""), ExecMode::kCaptured, "config.container"},
      {Config({"true"}, "a/b"), ExecMode::kDetached, "config.container"},
      {with_env, ExecMode::kCaptured, "config.env[0]"},
      {with_stdin, ExecMode::kCaptured, "config.stdin"},
      {with_stdin, ExecMode::kStreamed, "config.stdin"},
      {with_stdin, ExecMode::kDetached, "config.stdin"},
  };
  for (const Case& k : cases) {
    grpc::Status st = PlanExec(k.config, k.mode, &plan);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << k.field;
    EXPECT_THAT(st.error_message(), ::testing::StartsWith(k.field)) << st.error_message();
  }
}

TEST(PlanExecTest, StreamSelection) {
  ExecPlan plan;
  auto config = Config({"true"});
  config.set_stdout(false);
  ASSERT_TRUE(PlanExec(config, ExecMode::kCaptured, &plan).ok());
  EXPECT_EQ(plan.create_body["AttachStdout"], false);
  EXPECT_EQ(plan.create_body["AttachStderr"], true);
  EXPECT_FALSE(plan.deliver_stdout);
  EXPECT_TRUE(plan.deliver_stderr);

  // Neither: stdout stays attached so that the start call ends at the exit, and is dropped.
  config.set_stderr(false);
  ASSERT_TRUE(PlanExec(config, ExecMode::kStreamed, &plan).ok());
  EXPECT_EQ(plan.create_body["AttachStdout"], true);
  EXPECT_EQ(plan.create_body["AttachStderr"], false);
  EXPECT_FALSE(plan.deliver_stdout);
  EXPECT_FALSE(plan.deliver_stderr);

  // A TTY is one stream, relayed as stdout when either is wanted.
  config.set_tty(true);
  config.set_stderr(true);
  ASSERT_TRUE(PlanExec(config, ExecMode::kCaptured, &plan).ok());
  EXPECT_EQ(plan.create_body["AttachStdout"], true);
  EXPECT_TRUE(plan.deliver_stdout);
  EXPECT_FALSE(plan.deliver_stderr);

  // Detached: nothing attached.
  ASSERT_TRUE(PlanExec(Config({"true"}), ExecMode::kDetached, &plan).ok());
  EXPECT_TRUE(plan.detach);
  EXPECT_EQ(plan.create_body["AttachStdout"], false);
  EXPECT_EQ(plan.create_body["AttachStderr"], false);
}

// ---------------------------------------------------------------------------------------------
// Inspect

TEST(ExecInspectTest, FromTheDaemonsDocument) {
  auto j = nlohmann::json::parse(R"({"ID":"d46b","Running":false,"ExitCode":4,
    "ProcessConfig":{"tty":true,"entrypoint":"sh","arguments":["-c","x"],"privileged":true,
    "user":"1000"},"OpenStdin":false,"ContainerID":"df7d","Pid":17268})");
  v1::InspectExecResponse out;
  ASSERT_TRUE(ExecInspectFromJson(j, &out));
  EXPECT_EQ(out.exec_id(), "d46b");
  EXPECT_EQ(out.container_id(), "df7d");
  EXPECT_FALSE(out.running());
  ASSERT_TRUE(out.has_exit_code());
  EXPECT_EQ(out.exit_code(), 4);
  EXPECT_EQ(out.pid(), 17268);
  EXPECT_THAT(out.cmd(), ::testing::ElementsAre("sh", "-c", "x"));
  EXPECT_TRUE(out.tty());
  EXPECT_TRUE(out.privileged());
  EXPECT_EQ(out.user(), "1000");
}

TEST(ExecInspectTest, NullExitCodeIsUnsetAndOddTypesDoNotThrow) {
  v1::InspectExecResponse out;
  ASSERT_TRUE(ExecInspectFromJson(
      nlohmann::json::parse(R"({"ID":"x","Running":true,"ExitCode":null,"Pid":"12",
        "ProcessConfig":{"arguments":"nope","tty":1}})"),
      &out));
  EXPECT_TRUE(out.running());
  EXPECT_FALSE(out.has_exit_code());
  EXPECT_EQ(out.pid(), 0);
  EXPECT_TRUE(out.cmd().empty());
  EXPECT_FALSE(ExecInspectFromJson(nlohmann::json::parse("[1,2]"), &out));
  EXPECT_FALSE(ExecInspectFromJson(nlohmann::json::parse(R"({"Id":"lowercase"})"), &out));
}

// ---------------------------------------------------------------------------------------------
// Decoder and capture

std::vector<std::pair<StreamKind, std::string>> Decode(ExecOutputDecoder& decoder,
                                                       const std::vector<std::string>& feeds,
                                                       engine::Status* status = nullptr) {
  std::vector<std::pair<StreamKind, std::string>> runs;
  for (const std::string& feed : feeds) {
    std::vector<OutputPiece> pieces;
    engine::Status st = decoder.Feed(feed, &pieces);
    if (status != nullptr) {
      *status = st;
    }
    for (const auto& piece : pieces) {
      if (!runs.empty() && runs.back().first == piece.kind) {
        runs.back().second.append(piece.data);
      } else {
        runs.emplace_back(piece.kind, std::string(piece.data));
      }
    }
  }
  return runs;
}

using Runs = std::vector<std::pair<StreamKind, std::string>>;

TEST(ExecOutputDecoderTest, FramesSplitAcrossReads) {
  std::string all = Frame(1, "out\n") + Frame(2, "err\n") + Frame(0, "in") + Frame(1, "more");
  std::vector<std::string> feeds;
  for (char c : all) {
    feeds.emplace_back(1, c);
  }
  ExecOutputDecoder decoder(false, true, true);
  EXPECT_EQ(Decode(decoder, feeds), (Runs{{StreamKind::kStdout, "out\n"},
                                          {StreamKind::kStderr, "err\n"},
                                          {StreamKind::kStdout, "more"}}));
  EXPECT_TRUE(decoder.AtFrameBoundary());
}

TEST(ExecOutputDecoderTest, SelectionAndTheDaemonsSystemErrFrames) {
  std::string all = Frame(1, "out") + Frame(2, "err") + Frame(3, "daemon says no");
  ExecOutputDecoder only_out(false, true, false);
  EXPECT_EQ(Decode(only_out, {all}), (Runs{{StreamKind::kStdout, "outdaemon says no"}}));
  ExecOutputDecoder only_err(false, false, true);
  EXPECT_EQ(Decode(only_err, {all}), (Runs{{StreamKind::kStderr, "errdaemon says no"}}));
  ExecOutputDecoder both(false, true, true);
  EXPECT_EQ(Decode(both, {all}),
            (Runs{{StreamKind::kStdout, "out"}, {StreamKind::kStderr, "errdaemon says no"}}));
  ExecOutputDecoder neither(false, false, false);
  EXPECT_TRUE(Decode(neither, {all}).empty());
}

TEST(ExecOutputDecoderTest, TtyIsRawAndABadHeaderIsAProtocolError) {
  ExecOutputDecoder tty(true, true, false);
  EXPECT_EQ(Decode(tty, {"a\r\n", std::string("\x01\x00", 2)}),
            (Runs{{StreamKind::kStdout, std::string("a\r\n\x01\x00", 5)}}));
  ExecOutputDecoder muxed(false, true, true);
  engine::Status st;
  Decode(muxed, {"hello world, not a frame"}, &st);
  EXPECT_EQ(st.code(), engine::Code::kProtocolError);
}

TEST(CapturedOutputTest, CapIsPerStreamAndSaysTruncated) {
  CapturedOutput combined(false, 5);
  combined.Add(StreamKind::kStdout, "abc");
  combined.Add(StreamKind::kStderr, "1234");
  combined.Add(StreamKind::kStdout, "defgh");
  combined.Add(StreamKind::kStderr, "5");
  v1::ExecContainerResponse resp;
  combined.MoveTo(&resp);
  EXPECT_EQ(resp.output(), "abc1234de5");
  EXPECT_TRUE(resp.truncated());

  CapturedOutput demuxed(true, 4);
  demuxed.Add(StreamKind::kStdout, "abcd");
  demuxed.Add(StreamKind::kStderr, "xy");
  v1::ExecContainerResponse exact;
  demuxed.MoveTo(&exact);
  EXPECT_EQ(exact.stdout(), "abcd");
  EXPECT_EQ(exact.stderr(), "xy");
  EXPECT_EQ(exact.output(), "");
  EXPECT_FALSE(exact.truncated());
}

// ---------------------------------------------------------------------------------------------
// OutputQueue

v1::StreamExecResponse Chunk(StreamKind kind, std::string&& data) {
  v1::StreamExecResponse msg;
  msg.mutable_output()->set_stream(kind == StreamKind::kStderr ? v1::STREAM_STDERR
                                                               : v1::STREAM_STDOUT);
  msg.mutable_output()->set_data(std::move(data));
  return msg;
}

using QueueClock = OutputQueue<v1::StreamExecResponse>::Clock;

TEST(OutputQueueTest, GathersWhileWritingAndFlushesWhenIdle) {
  QueueClock::time_point now{};
  OutputQueue<v1::StreamExecResponse> queue(&Chunk, /*max_messages=*/2, /*max_chunk=*/4,
                                            [&now] { return now; });
  v1::StreamExecResponse id;
  id.set_exec_id("e1");
  queue.Push(id);
  const auto* first = queue.NextWrite();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->exec_id(), "e1");
  EXPECT_EQ(queue.NextWrite(), nullptr);  // one write in flight
  queue.Add(StreamKind::kStdout, "ab");
  queue.FlushIfIdle();  // busy: keeps gathering
  queue.Add(StreamKind::kStdout, "c");
  EXPECT_TRUE(queue.HasRoom());
  queue.WriteDone();
  EXPECT_FALSE(queue.drained());
  now += OutputQueue<v1::StreamExecResponse>::kFlushDelay;  // the held chunk is due
  EXPECT_EQ(queue.FlushIfIdle().count(), 0);
  const auto* second = queue.NextWrite();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->output().data(), "abc");
  // A stream switch and a full chunk each close the pending chunk; the queue then fills.
  queue.Add(StreamKind::kStdout, "12345");
  queue.Add(StreamKind::kStderr, "e");
  EXPECT_FALSE(queue.HasRoom());
  v1::StreamExecResponse exited;
  exited.mutable_exited()->set_exit_code(3);
  queue.Push(exited);  // pending output goes first
  std::vector<std::string> order;
  queue.WriteDone();
  while (const auto* next = queue.NextWrite()) {
    order.push_back(next->has_exited() ? "exit" : next->output().data());
    queue.WriteDone();
  }
  EXPECT_EQ(order, (std::vector<std::string>{"1234", "5", "e", "exit"}));
  EXPECT_TRUE(queue.drained());
}

// An idle writer does not send each small piece at once: it waits a moment for more (the
// daemon sends a log line per HTTP chunk), unless enough has gathered for a message.
TEST(OutputQueueTest, IdleWriterHoldsSmallChunksBriefly) {
  using Queue = OutputQueue<v1::StreamExecResponse>;
  QueueClock::time_point now{};
  Queue queue(&Chunk, Queue::kDefaultMaxMessages, 64 * 1024, [&now] { return now; });
  EXPECT_EQ(queue.FlushIfIdle().count(), 0);  // nothing held
  queue.Add(StreamKind::kStdout, "line 1\n");
  EXPECT_EQ(queue.FlushIfIdle(), Queue::kFlushDelay);
  EXPECT_EQ(queue.NextWrite(), nullptr);
  now += std::chrono::milliseconds(1);
  queue.Add(StreamKind::kStdout, "line 2\n");
  EXPECT_EQ(queue.FlushIfIdle(), Queue::kFlushDelay - std::chrono::milliseconds(1));
  now += std::chrono::milliseconds(1);
  EXPECT_EQ(queue.FlushIfIdle().count(), 0);
  const auto* held = queue.NextWrite();
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->output().data(), "line 1\nline 2\n");
  queue.WriteDone();
  // Enough for a message of its own goes at once.
  queue.Add(StreamKind::kStdout, std::string(Queue::kEagerBytes, 'x'));
  EXPECT_EQ(queue.FlushIfIdle().count(), 0);
  const auto* big = queue.NextWrite();
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->output().data().size(), Queue::kEagerBytes);
  queue.WriteDone();
  EXPECT_TRUE(queue.drained());
}

// ---------------------------------------------------------------------------------------------
// A scripted engine

// The hijacked stream: scripted pieces, then EOF unless `hold_open`; records stdin and cancel.
class FakeBody : public engine::BodyStream {
 public:
  explicit FakeBody(Executor& executor) : executor_(executor) {}

  void Read(ReadCallback cb) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) {
      executor_.Post(
          [cb] { cb(engine::Status(engine::Code::kCancelled, "cancelled"), {}, false); });
      return;
    }
    if (pieces_.empty() && hold_open_) {
      held_ = std::move(cb);
      return;
    }
    if (pieces_.empty()) {
      executor_.Post([cb] { cb(engine::Status::Ok(), {}, true); });
      return;
    }
    std::string piece = std::move(pieces_.front());
    pieces_.pop_front();
    executor_.Post([cb, piece] { cb(engine::Status::Ok(), piece, false); });
  }
  void Write(std::string data, WriteCallback cb) override {
    std::lock_guard<std::mutex> lock(mu_);
    stdin_ += data;
    executor_.Post([cb] { cb(engine::Status::Ok()); });
  }
  void CloseWrite(WriteCallback cb) override {
    std::lock_guard<std::mutex> lock(mu_);
    stdin_closed_ = true;
    // The process saw EOF: its output ends.
    hold_open_ = false;
    if (held_) {
      executor_.Post([cb = std::move(held_)] { cb(engine::Status::Ok(), {}, true); });
      held_ = nullptr;
    }
    executor_.Post([cb] { cb(engine::Status::Ok()); });
  }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    if (held_) {
      executor_.Post([cb = std::move(held_)] {
        cb(engine::Status(engine::Code::kCancelled, "cancelled"), {}, false);
      });
      held_ = nullptr;
    }
  }

  void Script(std::vector<std::string> pieces, bool hold_open) {
    std::lock_guard<std::mutex> lock(mu_);
    pieces_.assign(pieces.begin(), pieces.end());
    hold_open_ = hold_open;
  }
  bool cancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }
  std::string stdin_data() {
    std::lock_guard<std::mutex> lock(mu_);
    return stdin_;
  }
  bool stdin_closed() {
    std::lock_guard<std::mutex> lock(mu_);
    return stdin_closed_;
  }

 private:
  Executor& executor_;
  std::mutex mu_;
  std::deque<std::string> pieces_;
  bool hold_open_ = false;
  ReadCallback held_;
  bool cancelled_ = false;
  std::string stdin_;
  bool stdin_closed_ = false;
};

class NoopCall : public engine::Call {
 public:
  void Cancel() override {}
};

class FakeEngine : public engine::Engine {
 public:
  struct Reply {
    int status = 200;
    std::string body;
  };
  std::function<Reply(const ApiRequest&)> on_unary;
  std::function<Reply(const ApiRequest&)> on_stream = [](const ApiRequest&) {
    return Reply{101, ""};
  };

  FakeEngine() : body(std::make_shared<FakeBody>(executor)) {}

  std::shared_ptr<engine::Call> Unary(ApiRequest request, UnaryCallback cb) override {
    Record(request);
    Reply reply = on_unary(request);
    executor.Post([cb, reply] {
      ApiResponse res;
      res.status = reply.status;
      res.body = reply.body;
      if (reply.status >= 200 && reply.status < 300) {
        cb(Result<ApiResponse>(res));
      } else {
        cb(Result<ApiResponse>(engine::StatusFromHttp(reply.status, reply.body), res));
      }
    });
    return std::make_shared<NoopCall>();
  }

  std::shared_ptr<engine::Call> Stream(ApiRequest request, StreamCallback cb) override {
    Record(request);
    Reply reply = on_stream(request);
    executor.Post([this, cb, reply] {
      ApiResponse res;
      res.status = reply.status;
      if (reply.status == 101) {
        cb(Result<ApiResponse>(res), body);
      } else {
        cb(Result<ApiResponse>(engine::StatusFromHttp(reply.status, reply.body), res), nullptr);
      }
    });
    return body;
  }

  std::string ApiVersion() const override { return "1.41"; }
  std::shared_ptr<engine::Call> Schedule(std::chrono::milliseconds delay,
                                         std::function<void(bool)> fn) override {
    executor.PostAfter(delay, [fn = std::move(fn)] { fn(false); });
    return std::make_shared<NoopCall>();
  }

  std::vector<std::string> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int Count(const std::string& prefix) {
    int n = 0;
    for (const auto& r : Requests()) {
      n += r.rfind(prefix, 0) == 0 ? 1 : 0;
    }
    return n;
  }

  Executor executor;
  std::shared_ptr<FakeBody> body;

 private:
  void Record(const ApiRequest& request) {
    std::string line = request.method + " " + request.path;
    for (const auto& [k, v] : request.query) {
      line += (line.find('?') == std::string::npos ? "?" : "&") + k + "=" + v;
    }
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(line);
  }
  std::mutex mu_;
  std::vector<std::string> requests_;
};

// Scripts create -> "e1", and inspect answering Running for `running_answers` calls first.
void ScriptDaemon(FakeEngine& engine, int running_answers, int exit_code) {
  auto inspects = std::make_shared<std::atomic<int>>(0);
  engine.on_unary = [inspects, running_answers, exit_code](const ApiRequest& r) {
    if (r.path == "/containers/c1/exec") {
      return FakeEngine::Reply{201, R"({"Id":"e1"})"};
    }
    if (r.path == "/exec/e1/json") {
      if ((*inspects)++ < running_answers) {
        return FakeEngine::Reply{200, R"({"ID":"e1","Running":true,"ExitCode":null})"};
      }
      return FakeEngine::Reply{
          200, R"({"ID":"e1","Running":false,"ExitCode":)" + std::to_string(exit_code) + "}"};
    }
    if (r.path == "/exec/e1/resize") {
      return FakeEngine::Reply{200, ""};
    }
    return FakeEngine::Reply{404, R"({"message":"page not found"})"};
  };
}

class RecordingListener : public ExecSession::Listener {
 public:
  std::mutex mu;
  std::condition_variable cv;
  std::string events;
  std::string out;
  std::string err;
  int exit_code = -1;
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
  void OnExecExited(int code) override {
    std::lock_guard<std::mutex> lock(mu);
    exit_code = code;
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

// ---------------------------------------------------------------------------------------------
// The streaming reactors over the fake engine, through a real in-process gRPC server.

class FakeServer {
 public:
  explicit FakeServer(std::shared_ptr<FakeEngine> engine)
      : engine_(std::move(engine)), service_(engine_) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::Dockline::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                      grpc::InsecureChannelCredentials()));
  }
  ~FakeServer() { server_->Shutdown(std::chrono::system_clock::now()); }
  v1::Dockline::Stub& stub() { return *stub_; }

 private:
  std::shared_ptr<FakeEngine> engine_;
  DocklineService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Dockline::Stub> stub_;
};

TEST(ExecReactorTest, StreamExecRelaysInOrderAndEndsWithTheExitCode) {
  auto engine = std::make_shared<FakeEngine>();
  ScriptDaemon(*engine, 2, 7);
  std::vector<std::string> pieces;
  for (int i = 0; i < 50; ++i) {
    pieces.push_back(Frame(i % 3 == 0 ? 2 : 1, "line" + std::to_string(i) + "\n"));
  }
  engine->body->Script(pieces, false);
  FakeServer server(engine);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::StreamExecRequest req;
  *req.mutable_config() = Config({"x"});
  auto reader = server.stub().StreamExec(&ctx, req);
  v1::StreamExecResponse msg;
  std::string sequence;
  std::string out;
  std::string err;
  int exit_code = -1;
  while (reader->Read(&msg)) {
    if (!msg.exec_id().empty()) {
      sequence += 'i';
    } else if (msg.has_output()) {
      sequence += 'o';
      (msg.output().stream() == v1::STREAM_STDERR ? err : out) += msg.output().data();
    } else if (msg.has_exited()) {
      sequence += 'x';
      exit_code = msg.exited().exit_code();
    }
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_GE(sequence.size(), 3u);
  EXPECT_EQ(sequence.front(), 'i');
  EXPECT_EQ(sequence.back(), 'x');
  std::string want_out;
  std::string want_err;
  for (int i = 0; i < 50; ++i) {
    (i % 3 == 0 ? want_err : want_out) += "line" + std::to_string(i) + "\n";
  }
  EXPECT_EQ(out, want_out);
  EXPECT_EQ(err, want_err);
  EXPECT_EQ(exit_code, 7);
}

TEST(ExecReactorTest, AttachExecWritesStdinInOrderThenHalfCloses) {
  auto engine = std::make_shared<FakeEngine>();
  ScriptDaemon(*engine, 0, 0);
  engine->body->Script({Frame(1, "ready\n")}, /*hold_open=*/true);
  FakeServer server(engine);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = server.stub().AttachExec(&ctx);
  v1::AttachExecRequest req;
  *req.mutable_config() = Config({"cat"});
  req.mutable_config()->set_stdin(true);
  ASSERT_TRUE(stream->Write(req));
  std::string want;
  for (int i = 0; i < 100; ++i) {
    v1::AttachExecRequest in;
    in.set_stdin("piece" + std::to_string(i) + ",");
    want += in.stdin();
    ASSERT_TRUE(stream->Write(in));
  }
  v1::AttachExecRequest close;
  close.set_close_stdin(true);
  ASSERT_TRUE(stream->Write(close));
  v1::AttachExecResponse msg;
  int exit_code = -1;
  std::string out;
  while (stream->Read(&msg)) {
    if (msg.has_output()) {
      out += msg.output().data();
    } else if (msg.has_exited()) {
      exit_code = msg.exited().exit_code();
    }
  }
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(out, "ready\n");
  EXPECT_EQ(exit_code, 0);
  EXPECT_EQ(engine->body->stdin_data(), want);
  EXPECT_TRUE(engine->body->stdin_closed());
}

TEST(ExecReactorTest, CancellingAStreamClosesTheHijackedConnection) {
  auto engine = std::make_shared<FakeEngine>();
  ScriptDaemon(*engine, 0, 0);
  engine->body->Script({Frame(1, "tick\n")}, /*hold_open=*/true);
  FakeServer server(engine);
  grpc::ClientContext ctx;
  v1::StreamExecRequest req;
  *req.mutable_config() = Config({"x"});
  auto reader = server.stub().StreamExec(&ctx, req);
  v1::StreamExecResponse msg;
  while (reader->Read(&msg) && !msg.has_output()) {
  }
  ctx.TryCancel();
  while (reader->Read(&msg)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  for (int i = 0; i < 400 && !engine->body->cancelled(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(engine->body->cancelled());
  EXPECT_EQ(engine->Count("GET /exec/e1/json"), 0);
}

}  // namespace
}  // namespace dockline::server

// ---------------------------------------------------------------------------------------------
// CLI parsing and the client's command forms

namespace dockline::cli {
namespace {

Result<Invocation> Parse(std::vector<std::string> args) {
  return ParseArgs(args, [](const std::string& name) -> std::optional<std::string> {
    if (name == "FROM_HOST") {
      return "yes";
    }
    return std::nullopt;
  });
}

TEST(ExecArgsTest, FlagsContainerAndCommand) {
  auto r = Parse({"exec", "-it", "-e", "A=1", "-e", "FROM_HOST", "-w", "/w", "-u", "user",
                  "--privileged", "web", "sh", "-c", "echo -i"});
  ASSERT_TRUE(r.ok()) << r.status.error_message();
  EXPECT_EQ(r.value.kind, CommandKind::kExec);
  const ExecInvocation& e = r.value.exec;
  EXPECT_EQ(e.container, "web");
  EXPECT_THAT(e.cmd, ::testing::ElementsAre("sh", "-c", "echo -i"));
  EXPECT_TRUE(e.interactive);
  EXPECT_TRUE(e.options.tty);
  EXPECT_TRUE(e.options.privileged);
  EXPECT_FALSE(e.detach);
  EXPECT_THAT(e.options.env, ::testing::ElementsAre("A=1", "FROM_HOST=yes"));
  EXPECT_EQ(e.options.workdir, "/w");
  EXPECT_EQ(e.options.user, "user");
}

TEST(ExecArgsTest, OneWordWithSpacesIsAShellLine) {
  auto r = Parse({"exec", "web", "sh -c 'echo hi; exit 3'"});
  ASSERT_TRUE(r.ok()) << r.status.error_message();
  EXPECT_THAT(r.value.exec.cmd, ::testing::ElementsAre("sh", "-c", "echo hi; exit 3"));
  auto plain = Parse({"exec", "web", "ls"});
  ASSERT_TRUE(plain.ok());
  EXPECT_THAT(plain.value.exec.cmd, ::testing::ElementsAre("ls"));
  EXPECT_EQ(Parse({"exec", "web", "sh -c 'open"}).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(ExecArgsTest, Refusals) {
  EXPECT_EQ(Parse({"exec", "web"}).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Parse({"exec"}).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Parse({"exec", "-d", "-i", "web", "cat"}).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Parse({"exec", "--nope", "web", "ls"}).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  auto detach = Parse({"exec", "-d", "web", "sleep", "1"});
  ASSERT_TRUE(detach.ok());
  EXPECT_TRUE(detach.value.exec.detach);
}

TEST(ExecCommandTest, ListsStayStringsSplit) {
  client::ExecCommand list({"echo", "a b"});
  EXPECT_THAT(list.argv(), ::testing::ElementsAre("echo", "a b"));
  client::ExecCommand line("echo 'a b' c");
  EXPECT_THAT(line.argv(), ::testing::ElementsAre("echo", "a b", "c"));
  client::ExecCommand bad("echo 'open");
  EXPECT_EQ(bad.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace dockline::cli
