// AttachExec: stdin, TTY and resize over one bidirectional stream, its refusals, and what a
// cancel or a deadline does to the hijacked daemon connection.

#include <gmock/gmock.h>

#include <chrono>
#include <regex>
#include <string>
#include <utility>

#include "exec_fixture.h"

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// AttachExec

struct Attached {
  grpc::Status status;
  std::string exec_id;
  std::string out;
  std::string err;
  int exit_code = -1;
  bool exited = false;
  std::string sequence;
};

Attached ReadAll(grpc::ClientReaderWriter<v1::AttachExecRequest, v1::AttachExecResponse>* stream,
                 Attached a = {}) {
  v1::AttachExecResponse msg;
  while (stream->Read(&msg)) {
    if (!msg.exec_id().empty()) {
      a.sequence.push_back('i');
      a.exec_id = msg.exec_id();
    } else if (msg.has_output()) {
      a.sequence.push_back('o');
      (msg.output().stream() == v1::STREAM_STDERR ? a.err : a.out) += msg.output().data();
    } else if (msg.has_exited()) {
      a.sequence.push_back('x');
      a.exited = true;
      a.exit_code = msg.exited().exit_code();
    }
  }
  a.status = stream->Finish();
  return a;
}

v1::AttachExecRequest ConfigMessage(v1::ExecConfig config) {
  v1::AttachExecRequest req;
  *req.mutable_config() = std::move(config);
  return req;
}

v1::AttachExecRequest StdinMessage(std::string data) {
  v1::AttachExecRequest req;
  req.set_stdin(std::move(data));
  return req;
}

v1::AttachExecRequest CloseMessage() {
  v1::AttachExecRequest req;
  req.set_close_stdin(true);
  return req;
}

TEST_F(ExecTest, StdinRoundTripThroughTr) {
  std::string c = Running();
  auto config = Config(c, {"tr", "a-z", "A-Z"});
  config.set_stdin(true);
  auto ctx = Context();
  auto stream = stub().AttachExec(ctx.get());
  ASSERT_TRUE(stream->Write(ConfigMessage(config)));
  ASSERT_TRUE(stream->Write(StdinMessage("hello ")));
  ASSERT_TRUE(stream->Write(StdinMessage("world\n")));
  ASSERT_TRUE(stream->Write(CloseMessage()));
  Attached a = ReadAll(stream.get());
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_TRUE(std::regex_match(a.sequence, std::regex("io+x"))) << a.sequence;
  EXPECT_EQ(a.out, "HELLO WORLD\n");
  EXPECT_EQ(a.exit_code, 0);
  EXPECT_EQ(DaemonExec(a.exec_id)["ExitCode"], 0);
}

TEST_F(ExecTest, LargeStdinAndAClientHalfCloseEndIt) {
  std::string c = Running();
  auto config = Config(c, {"sh", "-c", "wc -c; exit 6"});
  config.set_stdin(true);
  auto ctx = Context(std::chrono::seconds(120));
  auto stream = stub().AttachExec(ctx.get());
  ASSERT_TRUE(stream->Write(ConfigMessage(config)));
  constexpr size_t kPiece = 64 * 1024;
  constexpr int kPieces = 80;  // 5 MiB: far past the server's stdin buffer
  std::string piece(kPiece, 'x');
  for (int i = 0; i < kPieces; ++i) {
    ASSERT_TRUE(stream->Write(StdinMessage(piece))) << i;
  }
  // No close_stdin: the end of the client's stream closes stdin too.
  ASSERT_TRUE(stream->WritesDone());
  Attached a = ReadAll(stream.get());
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_EQ(a.out, std::to_string(kPiece * kPieces) + "\n");
  EXPECT_EQ(a.exit_code, 6);
}

TEST_F(ExecTest, ResizeIsHeldUntilTheExecHasStarted) {
  std::string c = Running();
  auto config = Config(c, {"sh", "-c",
                           "while [ \"$(stty size)\" != \"40 120\" ]; do sleep 0.05; done; "
                           "echo resized"});
  config.set_stdin(true);
  config.set_tty(true);
  auto ctx = Context();
  auto stream = stub().AttachExec(ctx.get());
  ASSERT_TRUE(stream->Write(ConfigMessage(config)));
  // Sent before the exec exists; the daemon would answer it with a 500 after 10 s.
  v1::AttachExecRequest resize;
  resize.mutable_resize()->set_rows(40);
  resize.mutable_resize()->set_columns(120);
  ASSERT_TRUE(stream->Write(resize));
  Attached a = ReadAll(stream.get());
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_THAT(a.out, HasSubstr("resized\r\n"));
  EXPECT_EQ(a.err, "");
  EXPECT_EQ(a.exit_code, 0);
}

TEST_F(ExecTest, InteractiveTtyEchoesAndExits) {
  std::string c = Running();
  auto config = Config(c, {"sh", "-c", "read line; echo got:$line; exit 3"});
  config.set_stdin(true);
  config.set_tty(true);
  auto ctx = Context();
  auto stream = stub().AttachExec(ctx.get());
  ASSERT_TRUE(stream->Write(ConfigMessage(config)));
  ASSERT_TRUE(stream->Write(StdinMessage("abc\r")));
  Attached a = ReadAll(stream.get());
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_THAT(a.out, HasSubstr("got:abc\r\n"));
  EXPECT_EQ(a.exit_code, 3);
}

TEST_F(ExecTest, AttachExecRefusals) {
  std::string c = Running();
  {
    auto ctx = Context();
    auto stream = stub().AttachExec(ctx.get());
    ASSERT_TRUE(stream->Write(StdinMessage("x")));
    stream->WritesDone();
    EXPECT_EQ(ReadAll(stream.get()).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    auto ctx = Context();
    auto stream = stub().AttachExec(ctx.get());
    stream->WritesDone();
    EXPECT_EQ(ReadAll(stream.get()).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    auto ctx = Context();
    auto stream = stub().AttachExec(ctx.get());
    ASSERT_TRUE(stream->Write(ConfigMessage(Config("nosuch-" + UniqueName(), {"true"}))));
    Attached a = ReadAll(stream.get());
    EXPECT_EQ(a.status.error_code(), grpc::StatusCode::NOT_FOUND) << a.status.error_message();
  }
  {
    // stdin without config.stdin.
    auto ctx = Context();
    auto stream = stub().AttachExec(ctx.get());
    ASSERT_TRUE(stream->Write(ConfigMessage(Config(c, {"sleep", "5"}))));
    stream->Write(StdinMessage("x"));
    Attached a = ReadAll(stream.get());
    EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << a.status.error_message();
  }
}

// ---------------------------------------------------------------------------------------------
// Cancel and deadline

// AttachExec, by cancel and by deadline. The end of the client's stream also closes stdin,
// which a silent process that ignores stdin does not notice: only closing the hijacked
// connection lowers the count.
TEST_F(ExecTest, CancelAndDeadlineCloseTheHijackedConnection) {
  std::string c = Running();
  for (bool use_deadline : {false, true}) {
    auto config = Config(c, {"sh", "-c", "echo ready; exec sleep 3600"});
    config.set_stdin(true);
    // The deadline only has to outlast the exec's start; it is the thing under test.
    auto ctx = Context(use_deadline ? std::chrono::seconds(10) : std::chrono::seconds(120));
    auto stream = stub().AttachExec(ctx.get());
    ASSERT_TRUE(stream->Write(ConfigMessage(config)));
    v1::AttachExecResponse msg;
    std::string exec_id;
    std::string out;
    while (out != "ready\n" && stream->Read(&msg)) {
      if (!msg.exec_id().empty()) {
        exec_id = msg.exec_id();
      } else if (msg.has_output()) {
        out += msg.output().data();
      }
    }
    ASSERT_EQ(out, "ready\n");
    ASSERT_FALSE(exec_id.empty());
    int during = UnixSocketFds();
    ASSERT_GT(during, 0);
    if (!use_deadline) {
      ctx->TryCancel();
    }
    while (stream->Read(&msg)) {
    }
    grpc::Status st = stream->Finish();
    EXPECT_EQ(st.error_code(),
              use_deadline ? grpc::StatusCode::DEADLINE_EXCEEDED : grpc::StatusCode::CANCELLED)
        << st.error_message();
    int after = during;
    bool closed = PollUntil(
        [&] {
          after = UnixSocketFds();
          return after >= 0 && after < during;
        },
        kGenerous);
    EXPECT_TRUE(closed) << (use_deadline ? "deadline" : "cancel") << ": unix sockets while "
                        << "attached " << during << ", after " << after;
    EXPECT_EQ(DaemonExec(exec_id)["Running"], true);
  }
}

// With stdin attached, the daemon closes the process's stdin when the client's stream ends
// (cancel included): `cat` ends by itself.
TEST_F(ExecTest, CancellingAnAttachedCatEndsIt) {
  std::string c = Running();
  auto config = Config(c, {"cat"});
  config.set_stdin(true);
  auto ctx = Context(std::chrono::seconds(120));
  auto stream = stub().AttachExec(ctx.get());
  ASSERT_TRUE(stream->Write(ConfigMessage(config)));
  ASSERT_TRUE(stream->Write(StdinMessage("ping\n")));
  v1::AttachExecResponse msg;
  std::string exec_id;
  std::string out;
  while (out != "ping\n" && stream->Read(&msg)) {
    if (!msg.exec_id().empty()) {
      exec_id = msg.exec_id();
    } else if (msg.has_output()) {
      out += msg.output().data();
    }
  }
  ASSERT_EQ(out, "ping\n");
  ctx->TryCancel();
  while (stream->Read(&msg)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  nlohmann::json d;
  bool ended = PollUntil(
      [&] {
        d = DaemonExec(exec_id);
        return d.is_object() && d["Running"] == false;
      },
      kGenerous);
  EXPECT_TRUE(ended) << d.dump();
}

}  // namespace
}  // namespace dockline::testing
