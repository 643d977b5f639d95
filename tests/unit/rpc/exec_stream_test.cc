#include "server/rpc/exec_stream.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/service.h"
#include "unit/exec_config.h"
#include "unit/frame.h"
#include "unit/rpc/exec_fake_engine.h"

// The streaming exec reactors over the scripted engine, through a real in-process gRPC server.

namespace dockline::server {
namespace {

using testing::Config;
using testing::Frame;
using testing::exec_fake::FakeEngine;
using testing::exec_fake::ScriptDaemon;

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
