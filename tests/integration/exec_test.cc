// Exec (docker-py's exec_run): captured, streamed, detached and interactive, checked against
// the real daemon's own view of each exec (GET /exec/{id}/json).

#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "client/client.h"
#include "harness.h"

namespace dockline::testing {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr auto kGenerous = seconds(30);  // catches hangs only

class ExecTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    big_ = BigStub(ServerAddress());
  }

  // ExecContainer replies can be larger than gRPC's 4 MiB default.
  static std::unique_ptr<v1::Dockline::Stub> BigStub(const std::string& address) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(128 << 20);
    return v1::Dockline::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  }

  std::string Running() { return CreateAndStart(Spec({"sleep", "3600"})); }

  static v1::ExecConfig Config(const std::string& container, std::vector<std::string> cmd) {
    v1::ExecConfig config;
    config.set_container(container);
    for (auto& arg : cmd) {
      config.add_cmd(arg);
    }
    return config;
  }

  struct Captured {
    grpc::Status status;
    v1::ExecContainerResponse resp;
  };
  Captured Exec(const v1::ExecConfig& config, bool demux = false,
                v1::Dockline::Stub* stub = nullptr) {
    v1::ExecContainerRequest req;
    *req.mutable_config() = config;
    req.set_demux(demux);
    Captured out;
    auto ctx = Context(std::chrono::seconds(120));
    out.status = (stub != nullptr ? stub : big_.get())->ExecContainer(ctx.get(), req, &out.resp);
    return out;
  }

  struct Streamed {
    grpc::Status status;
    std::string exec_id;
    std::string out;
    std::string err;
    int exit_code = -1;
    bool exited = false;
    // One letter per message: 'i' exec id, 'o' output, 'x' exited.
    std::string sequence;
    std::vector<v1::OutputChunk> chunks;
  };
  Streamed Stream(const v1::ExecConfig& config) {
    Streamed s;
    v1::StreamExecRequest req;
    *req.mutable_config() = config;
    auto ctx = Context(std::chrono::seconds(240));
    auto reader = stub().StreamExec(ctx.get(), req);
    v1::StreamExecResponse msg;
    while (reader->Read(&msg)) {
      if (!msg.exec_id().empty()) {
        s.sequence.push_back('i');
        s.exec_id = msg.exec_id();
      } else if (msg.has_output()) {
        s.sequence.push_back('o');
        (msg.output().stream() == v1::STREAM_STDERR ? s.err : s.out) += msg.output().data();
        s.chunks.push_back(std::move(*msg.mutable_output()));
      } else if (msg.has_exited()) {
        s.sequence.push_back('x');
        s.exited = true;
        s.exit_code = msg.exited().exit_code();
      } else {
        s.sequence.push_back('?');
      }
    }
    s.status = reader->Finish();
    return s;
  }

  // The daemon's own view of an exec (null when it does not know the id).
  static nlohmann::json DaemonExec(const std::string& exec_id) {
    auto res = Daemon(engine::ApiRequest("GET", "/exec/" + exec_id + "/json"));
    if (!res.ok()) {
      return nullptr;
    }
    return nlohmann::json::parse(res->body, nullptr, false);
  }

  std::unique_ptr<v1::Dockline::Stub> big_;
};

// ---------------------------------------------------------------------------------------------
// Spec section 2: basic

TEST_F(ExecTest, BasicExecReturnsExitCodeAndOutput) {
  std::string c = Running();
  // The spec's `exec_run("python -c 'print(1+1)'")`, with what busybox has.
  Captured r = Exec(Config(c, {"sh", "-c", "echo $((1+1))"}));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.resp.exit_code(), 0);
  EXPECT_EQ(r.resp.output(), "2\n");
  EXPECT_FALSE(r.resp.truncated());
  ASSERT_FALSE(r.resp.exec_id().empty());
  auto d = DaemonExec(r.resp.exec_id());
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["Running"], false);
  EXPECT_EQ(d["ExitCode"], 0);
  EXPECT_EQ(d["ContainerID"], c);
}

TEST_F(ExecTest, CombinedAndDemuxedOutput) {
  std::string c = Running();
  auto config = Config(c, {"sh", "-c", "echo out; echo err >&2; exit 3"});
  Captured combined = Exec(config);
  ASSERT_TRUE(combined.status.ok()) << combined.status.error_message();
  EXPECT_EQ(combined.resp.exit_code(), 3);  // data, not an error status
  // Both streams, each whole; their relative order is the daemon's.
  EXPECT_THAT(combined.resp.output(), ::testing::AnyOf("out\nerr\n", "err\nout\n"));
  EXPECT_EQ(combined.resp.stdout(), "");
  EXPECT_EQ(combined.resp.stderr(), "");

  Captured demuxed = Exec(config, /*demux=*/true);
  ASSERT_TRUE(demuxed.status.ok()) << demuxed.status.error_message();
  EXPECT_EQ(demuxed.resp.exit_code(), 3);
  EXPECT_EQ(demuxed.resp.stdout(), "out\n");
  EXPECT_EQ(demuxed.resp.stderr(), "err\n");
  EXPECT_EQ(demuxed.resp.output(), "");
  EXPECT_EQ(DaemonExec(demuxed.resp.exec_id())["ExitCode"], 3);
}

TEST_F(ExecTest, ExitCodesZeroThreeAndMissingCommands) {
  std::string c = Running();
  struct Case {
    std::vector<std::string> cmd;
    int code;
    std::string output_has;
  };
  std::vector<Case> cases = {
      {{"true"}, 0, ""},
      {{"sh", "-c", "exit 3"}, 3, ""},
      // The daemon writes its own error into the output stream: data, with its exit code.
      {{"/nonexistent"}, 126, "no such file or directory"},
      {{"sh", "-c", "/etc/passwd"}, 126, "Permission denied"},
      {{"sh", "-c", "nosuchcommand"}, 127, "not found"},
  };
  for (const Case& k : cases) {
    Captured r = Exec(Config(c, k.cmd));
    ASSERT_TRUE(r.status.ok()) << k.cmd[0] << ": " << r.status.error_message();
    EXPECT_EQ(r.resp.exit_code(), k.code) << k.cmd.back() << ": " << r.resp.output();
    EXPECT_THAT(r.resp.output(), HasSubstr(k.output_has)) << k.cmd.back();
    EXPECT_EQ(DaemonExec(r.resp.exec_id())["ExitCode"], k.code) << k.cmd.back();
    // The streamed form agrees.
    Streamed s = Stream(Config(c, k.cmd));
    ASSERT_TRUE(s.status.ok()) << s.status.error_message();
    EXPECT_EQ(s.exit_code, k.code) << k.cmd.back();
  }
}

// ---------------------------------------------------------------------------------------------
// Spec section 2: streaming with demux

TEST_F(ExecTest, StreamGivesIdThenChunksPerStreamThenExit) {
  std::string c = Running();
  Streamed s = Stream(
      Config(c, {"sh", "-c", "for i in 1 2 3; do echo out$i; echo err$i >&2; done; exit 5"}));
  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  EXPECT_TRUE(std::regex_match(s.sequence, std::regex("io+x"))) << s.sequence;
  EXPECT_EQ(s.out, "out1\nout2\nout3\n");
  EXPECT_EQ(s.err, "err1\nerr2\nerr3\n");
  EXPECT_EQ(s.exit_code, 5);
  for (const auto& chunk : s.chunks) {
    EXPECT_NE(chunk.stream(), v1::STREAM_UNSPECIFIED);
    EXPECT_FALSE(chunk.data().empty());
  }
  auto d = DaemonExec(s.exec_id);
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["ExitCode"], 5);
}

TEST_F(ExecTest, StreamCoalescesIntoChunksOfAtMost32KiB) {
  std::string c = Running();
  constexpr size_t kBytes = 1 << 20;
  Streamed s = Stream(Config(c, {"head", "-c", std::to_string(kBytes), "/dev/zero"}));
  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  EXPECT_EQ(s.out, std::string(kBytes, '\0'));
  for (const auto& chunk : s.chunks) {
    EXPECT_LE(chunk.data().size(), 32u * 1024);
  }
  // Not one message per daemon frame or read: at least the size bound's worth, few more.
  EXPECT_GE(s.chunks.size(), kBytes / (32 * 1024));
}

// The deterministic generator both the container and the test use: block i of stdout is
// `yes OUT<i>` cut to 1,200,000 bytes, of stderr `yes ERR<i>` cut to 800,000, 25 of each.
std::string Expected(const std::string& word, size_t bytes) {
  std::string line = word + "\n";
  std::string out;
  out.reserve(bytes + line.size());
  while (out.size() < bytes) {
    out += line;
  }
  out.resize(bytes);
  return out;
}

TEST_F(ExecTest, FiftyMegabytesOfMixedOutputArriveByteForByteWithStreamsApart) {
  std::string c = Running();
  constexpr int kBlocks = 25;
  constexpr size_t kOut = 1200000;
  constexpr size_t kErr = 800000;
  std::string script = "for i in $(seq 1 " + std::to_string(kBlocks) +
                       "); do yes OUT$i | head -c " + std::to_string(kOut) +
                       "; yes ERR$i | head -c " + std::to_string(kErr) + " >&2; done; exit 4";
  Streamed s = Stream(Config(c, {"sh", "-c", script}));
  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  std::string want_out;
  std::string want_err;
  for (int i = 1; i <= kBlocks; ++i) {
    want_out += Expected("OUT" + std::to_string(i), kOut);
    want_err += Expected("ERR" + std::to_string(i), kErr);
  }
  ASSERT_EQ(s.out.size(), want_out.size());
  ASSERT_EQ(s.err.size(), want_err.size());
  EXPECT_TRUE(s.out == want_out) << "stdout differs";
  EXPECT_TRUE(s.err == want_err) << "stderr differs";
  EXPECT_EQ(s.exit_code, 4);
  // No chunk mixes the streams: a stdout chunk never holds ERR text and vice versa.
  for (const auto& chunk : s.chunks) {
    const std::string& data = chunk.data();
    if (chunk.stream() == v1::STREAM_STDOUT) {
      EXPECT_EQ(data.find("ERR"), std::string::npos);
    } else {
      EXPECT_EQ(data.find("OUT"), std::string::npos);
    }
  }
}

TEST_F(ExecTest, FineInterleavingKeepsEachStreamsOrder) {
  std::string c = Running();
  Streamed s = Stream(Config(
      c, {"sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done"}));
  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  std::string want_out;
  std::string want_err;
  for (int i = 0; i < 2000; ++i) {
    want_out += "o" + std::to_string(i) + "\n";
    want_err += "e" + std::to_string(i) + "\n";
  }
  EXPECT_EQ(s.out, want_out);
  EXPECT_EQ(s.err, want_err);
  EXPECT_EQ(s.exit_code, 0);
}

// ---------------------------------------------------------------------------------------------
// Spec section 2: detached, and InspectExec

TEST_F(ExecTest, DetachedExecReturnsAtOnceAndInspectFollowsIt) {
  std::string c = Running();
  std::string flag = "/tmp/go-" + UniqueName("flag");
  v1::StartExecRequest start;
  *start.mutable_config() =
      Config(c, {"sh", "-c", "while [ ! -f " + flag + " ]; do sleep 0.05; done; exit 7"});
  v1::StartExecResponse started;
  auto ctx = Context();
  grpc::Status st = stub().StartExec(ctx.get(), start, &started);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_FALSE(started.exec_id().empty());

  v1::InspectExecRequest inspect;
  inspect.set_exec_id(started.exec_id());
  v1::InspectExecResponse running;
  auto ictx = Context();
  st = stub().InspectExec(ictx.get(), inspect, &running);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(running.exec_id(), started.exec_id());
  EXPECT_EQ(running.container_id(), c);
  EXPECT_TRUE(running.running());
  EXPECT_FALSE(running.has_exit_code());  // unset while it runs
  EXPECT_GT(running.pid(), 0);
  EXPECT_THAT(running.cmd(), ::testing::ElementsAre("sh", "-c", ::testing::HasSubstr(flag)));
  EXPECT_FALSE(running.tty());

  Captured touch = Exec(Config(c, {"touch", flag}));
  ASSERT_TRUE(touch.status.ok()) << touch.status.error_message();
  v1::InspectExecResponse done;
  bool exited = PollUntil(
      [&] {
        auto c2 = Context();
        return stub().InspectExec(c2.get(), inspect, &done).ok() && !done.running();
      },
      kGenerous);
  ASSERT_TRUE(exited);
  ASSERT_TRUE(done.has_exit_code());
  EXPECT_EQ(done.exit_code(), 7);
}

TEST_F(ExecTest, InspectOfAnUnknownExecIsNotFound) {
  v1::InspectExecRequest inspect;
  inspect.set_exec_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  v1::InspectExecResponse resp;
  auto ctx = Context();
  EXPECT_EQ(stub().InspectExec(ctx.get(), inspect, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  inspect.set_exec_id("");
  auto ctx2 = Context();
  EXPECT_EQ(stub().InspectExec(ctx2.get(), inspect, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// ---------------------------------------------------------------------------------------------
// Spec section 2: environment, workdir, user

TEST_F(ExecTest, EnvironmentWorkdirAndUserApply) {
  std::string c = Running();
  auto config = Config(c, {"/bin/sh", "-c", "echo $DJANGO_SETTINGS_MODULE; pwd; id"});
  config.add_env("DJANGO_SETTINGS_MODULE=config.production");
  config.set_workdir("/tmp");
  config.set_user("user");
  Captured r = Exec(config);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.resp.exit_code(), 0) << r.resp.output();
  EXPECT_EQ(r.resp.output(),
            "config.production\n/tmp\nuid=1000(user) gid=1000(user) groups=1000(user)\n");

  config.set_user("1234:5678");
  config.clear_cmd();
  config.add_cmd("id");
  r = Exec(config);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_THAT(r.resp.output(), HasSubstr("uid=1234 gid=5678"));
  v1::InspectExecRequest inspect;
  inspect.set_exec_id(r.resp.exec_id());
  v1::InspectExecResponse info;
  auto ctx = Context();
  ASSERT_TRUE(stub().InspectExec(ctx.get(), inspect, &info).ok());
  EXPECT_EQ(info.user(), "1234:5678");
  EXPECT_FALSE(info.privileged());
}

TEST_F(ExecTest, AnUnknownUserIsTheDaemonsInBandError) {
  std::string c = Running();
  auto config = Config(c, {"id"});
  config.set_user("nosuchuser");
  Captured r = Exec(config);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.resp.exit_code(), 126);
  EXPECT_THAT(r.resp.output(), HasSubstr("nosuchuser"));
}

// Privileged exec cannot apply its capabilities in this sandbox ("unable to apply caps"); what
// dockline owes is that the flag reaches the daemon, and that the outcome comes back as data.
TEST_F(ExecTest, PrivilegedReachesTheDaemon) {
  std::string c = Running();
  auto config = Config(c, {"id", "-u"});
  config.set_privileged(true);
  Captured r = Exec(config);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  if (r.resp.exit_code() == 0) {
    EXPECT_EQ(r.resp.output(), "0\n");
  } else {
    EXPECT_EQ(r.resp.exit_code(), 126);
    EXPECT_THAT(r.resp.output(), HasSubstr("caps"));
  }
  auto d = DaemonExec(r.resp.exec_id());
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["ProcessConfig"]["privileged"], true);
  v1::InspectExecRequest inspect;
  inspect.set_exec_id(r.resp.exec_id());
  v1::InspectExecResponse info;
  auto ctx = Context();
  ASSERT_TRUE(stub().InspectExec(ctx.get(), inspect, &info).ok());
  EXPECT_TRUE(info.privileged());
}

TEST_F(ExecTest, StreamSelection) {
  std::string c = Running();
  auto config = Config(c, {"sh", "-c", "echo out; echo err >&2; exit 9"});
  config.set_stdout(false);
  Captured only_err = Exec(config, true);
  ASSERT_TRUE(only_err.status.ok()) << only_err.status.error_message();
  EXPECT_EQ(only_err.resp.stdout(), "");
  EXPECT_EQ(only_err.resp.stderr(), "err\n");
  EXPECT_EQ(only_err.resp.exit_code(), 9);

  config.set_stdout(true);
  config.set_stderr(false);
  Streamed only_out = Stream(config);
  ASSERT_TRUE(only_out.status.ok()) << only_out.status.error_message();
  EXPECT_EQ(only_out.out, "out\n");
  EXPECT_EQ(only_out.err, "");
  EXPECT_EQ(only_out.exit_code, 9);

  // Neither stream: nothing relayed, but the exit code still waits for the process.
  config.set_stdout(false);
  config.set_stderr(false);
  config.set_cmd(2, "sleep 0.3; echo out; exit 9");
  Captured neither = Exec(config);
  ASSERT_TRUE(neither.status.ok()) << neither.status.error_message();
  EXPECT_EQ(neither.resp.output(), "");
  EXPECT_EQ(neither.resp.exit_code(), 9);
}

// ---------------------------------------------------------------------------------------------
// TTY

TEST_F(ExecTest, TtyOutputIsOneRawStreamWithCrLf) {
  std::string c = Running();
  auto config = Config(c, {"sh", "-c", "echo out; echo err >&2; exit 2"});
  config.set_tty(true);
  Captured r = Exec(config, /*demux=*/true);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.resp.stdout(), "out\r\nerr\r\n");
  EXPECT_EQ(r.resp.stderr(), "");
  EXPECT_EQ(r.resp.exit_code(), 2);

  Streamed s = Stream(config);
  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  EXPECT_EQ(s.out, "out\r\nerr\r\n");
  EXPECT_EQ(s.err, "");
  EXPECT_EQ(s.exit_code, 2);
  for (const auto& chunk : s.chunks) {
    EXPECT_EQ(chunk.stream(), v1::STREAM_STDOUT);
  }
}

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
// Bad input

TEST_F(ExecTest, BadInputMapsToStatusCodes) {
  std::string running = Running();
  std::string stopped;
  ASSERT_TRUE(Create(Spec({"true"}), &stopped).ok());
  std::string missing = "nosuch-" + UniqueName();

  EXPECT_EQ(Exec(Config(missing, {"true"})).status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Stream(Config(missing, {"true"})).status.error_code(), grpc::StatusCode::NOT_FOUND);
  Captured not_running = Exec(Config(stopped, {"true"}));
  EXPECT_EQ(not_running.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(not_running.status.error_message(), HasSubstr("is not running"));
  EXPECT_EQ(Stream(Config(stopped, {"true"})).status.error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Exec(Config(running, {})).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Stream(Config(running, {})).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Exec(Config("", {"true"})).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto with_stdin = Config(running, {"cat"});
  with_stdin.set_stdin(true);
  EXPECT_EQ(Exec(with_stdin).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::StartExecRequest start;
  v1::StartExecResponse started;
  *start.mutable_config() = Config(missing, {"true"});
  auto c1 = Context();
  EXPECT_EQ(stub().StartExec(c1.get(), start, &started).error_code(), grpc::StatusCode::NOT_FOUND);
  *start.mutable_config() = Config(stopped, {"true"});
  auto c2 = Context();
  EXPECT_EQ(stub().StartExec(c2.get(), start, &started).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  *start.mutable_config() = Config(running, {});
  auto c3 = Context();
  EXPECT_EQ(stub().StartExec(c3.get(), start, &started).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// ---------------------------------------------------------------------------------------------
// Concurrency

TEST_F(ExecTest, TwentyExecsAtOnce) {
  std::string c = Running();
  constexpr int kExecs = 20;
  std::vector<Captured> captured(kExecs);
  std::vector<Streamed> streamed(kExecs);
  std::vector<std::thread> threads;
  for (int i = 0; i < kExecs; ++i) {
    threads.emplace_back([&, i] {
      std::string n = std::to_string(i);
      auto config = Config(c, {"sh", "-c", "echo out" + n + "; echo err" + n + " >&2; exit " + n});
      if (i % 2 == 0) {
        captured[i] = Exec(config, /*demux=*/true);
      } else {
        streamed[i] = Stream(config);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (int i = 0; i < kExecs; ++i) {
    std::string n = std::to_string(i);
    if (i % 2 == 0) {
      ASSERT_TRUE(captured[i].status.ok()) << i << ": " << captured[i].status.error_message();
      EXPECT_EQ(captured[i].resp.stdout(), "out" + n + "\n");
      EXPECT_EQ(captured[i].resp.stderr(), "err" + n + "\n");
      EXPECT_EQ(captured[i].resp.exit_code(), i);
    } else {
      ASSERT_TRUE(streamed[i].status.ok()) << i << ": " << streamed[i].status.error_message();
      EXPECT_EQ(streamed[i].out, "out" + n + "\n");
      EXPECT_EQ(streamed[i].err, "err" + n + "\n");
      EXPECT_EQ(streamed[i].exit_code, i);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Cancel and deadline

// This process's Unix-socket descriptors: the in-process server's engine connections to the
// daemon (the test's own gRPC traffic is TCP). Each test runs in its own process.
int UnixSocketFds() {
  std::set<std::string> unix_inodes;
  std::ifstream net("/proc/net/unix");
  std::string line;
  std::getline(net, line);
  while (std::getline(net, line)) {
    std::istringstream fields(line);
    std::string num, refcount, protocol, flags, type, st, inode;
    fields >> num >> refcount >> protocol >> flags >> type >> st >> inode;
    unix_inodes.insert(inode);
  }
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) {
    return -1;
  }
  while (dirent* entry = readdir(dir)) {
    char target[256] = {};
    std::string path = std::string("/proc/self/fd/") + entry->d_name;
    ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
    if (n <= 0) {
      continue;
    }
    std::string t(target, static_cast<size_t>(n));
    if (t.rfind("socket:[", 0) == 0 && unix_inodes.count(t.substr(8, t.size() - 9)) > 0) {
      ++count;
    }
  }
  closedir(dir);
  return count;
}

// The process goes silent after its first line, so only an explicit close (not the next read
// finding nobody to deliver to) can end the connection.
TEST_F(ExecTest, CancelMidStreamClosesTheDaemonConnectionButTheProcessRuns) {
  std::string c = Running();
  auto ctx = Context(std::chrono::seconds(120));
  v1::StreamExecRequest req;
  *req.mutable_config() = Config(c, {"sh", "-c", "echo tick; exec sleep 3600"});
  auto reader = stub().StreamExec(ctx.get(), req);
  v1::StreamExecResponse msg;
  std::string exec_id;
  std::string out;
  while (out != "tick\n" && reader->Read(&msg)) {
    if (!msg.exec_id().empty()) {
      exec_id = msg.exec_id();
    } else if (msg.has_output()) {
      out += msg.output().data();
    }
  }
  ASSERT_EQ(out, "tick\n");
  ASSERT_FALSE(exec_id.empty());
  int during = UnixSocketFds();
  ASSERT_GT(during, 0);
  ctx->TryCancel();
  while (reader->Read(&msg)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  int after = during;
  bool closed = PollUntil(
      [&] {
        after = UnixSocketFds();
        return after >= 0 && after < during;
      },
      kGenerous);
  EXPECT_TRUE(closed) << "unix sockets while streaming " << during << ", after cancel " << after;
  // Docker cannot kill an exec: the process outlives the call (documented on the RPC).
  auto d = DaemonExec(exec_id);
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["Running"], true);
}

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

// ---------------------------------------------------------------------------------------------
// Output cap

TEST_F(ExecTest, OutputCapTruncatesAndSaysSo) {
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  const char* host = std::getenv("DOCKER_HOST");
  options.docker_host = host != nullptr ? host : "unix:///var/run/docker.sock";
  options.exec_output_cap = 1000;
  auto capped = server::DocklineServer::Start(options);
  ASSERT_TRUE(capped.ok()) << capped.status().message();
  auto capped_stub = BigStub(capped.value()->address());
  std::string c = Running();

  Captured big =
      Exec(Config(c, {"sh", "-c", "head -c 5000 /dev/zero; exit 1"}), false, capped_stub.get());
  ASSERT_TRUE(big.status.ok()) << big.status.error_message();
  EXPECT_EQ(big.resp.output(), std::string(1000, '\0'));
  EXPECT_TRUE(big.resp.truncated());
  EXPECT_EQ(big.resp.exit_code(), 1);  // the rest was read (and dropped) to the end

  // Per stream: stdout over the cap, stderr under it.
  Captured mixed = Exec(Config(c, {"sh", "-c", "head -c 3000 /dev/zero; echo small >&2"}), true,
                        capped_stub.get());
  ASSERT_TRUE(mixed.status.ok()) << mixed.status.error_message();
  EXPECT_EQ(mixed.resp.stdout().size(), 1000u);
  EXPECT_EQ(mixed.resp.stderr(), "small\n");
  EXPECT_TRUE(mixed.resp.truncated());

  Captured exact = Exec(Config(c, {"head", "-c", "1000", "/dev/zero"}), false, capped_stub.get());
  ASSERT_TRUE(exact.status.ok()) << exact.status.error_message();
  EXPECT_EQ(exact.resp.output().size(), 1000u);
  EXPECT_FALSE(exact.resp.truncated());
  capped.value()->Shutdown(std::chrono::milliseconds(2000));
}

// ---------------------------------------------------------------------------------------------
// Client library

TEST_F(ExecTest, ClientLibraryForms) {
  std::string c = Running();
  client::Client client = client::Client::Connect(ServerAddress());
  auto run = client.ExecRun(c, "sh -c 'echo hi; echo there >&2; exit 3'");
  ASSERT_TRUE(run.ok()) << run.status.error_message();
  EXPECT_EQ(run.value.exit_code, 3);
  EXPECT_THAT(run.value.output, ::testing::AnyOf("hi\nthere\n", "there\nhi\n"));

  client::ExecOptions demux;
  demux.demux = true;
  demux.env = {"A=1"};
  demux.workdir = "/tmp";
  demux.user = "user";
  auto apart = client.ExecRun(c, {"sh", "-c", "echo $A $(pwd) $(id -u); echo e >&2"}, demux);
  ASSERT_TRUE(apart.ok()) << apart.status.error_message();
  EXPECT_EQ(apart.value.stdout_bytes, "1 /tmp 1000\n");
  EXPECT_EQ(apart.value.stderr_bytes, "e\n");

  std::string seen;
  client::ExecOptions streaming;
  streaming.on_output = [&](v1::Stream stream, std::string_view data) {
    seen += (stream == v1::STREAM_STDERR ? "E:" : "O:") + std::string(data);
  };
  // The daemon copies the two streams separately; the pause makes their order certain, so a
  // reordering here is ours.
  auto streamed =
      client.ExecStream(c, {"sh", "-c", "echo a; sleep 0.3; echo b >&2; exit 4"}, streaming);
  ASSERT_TRUE(streamed.ok()) << streamed.status.error_message();
  EXPECT_EQ(streamed.value.exit_code, 4);
  EXPECT_EQ(seen, "O:a\nE:b\n");
  EXPECT_EQ(streamed.value.stdout_bytes, "a\n");

  auto detached = client.ExecStart(c, "sh -c 'sleep 0.2; exit 8'");
  ASSERT_TRUE(detached.ok()) << detached.status.error_message();
  v1::InspectExecResponse info;
  ASSERT_TRUE(PollUntil(
      [&] {
        auto r = client.ExecInspect(detached.value);
        info = r.value;
        return r.ok() && !r.value.running();
      },
      kGenerous));
  EXPECT_EQ(info.exit_code(), 8);

  client::ExecOptions interactive;
  interactive.stdin = true;
  auto attached = client.ExecAttach(c, {"tr", "a-z", "A-Z"}, interactive);
  ASSERT_TRUE(attached.ok()) << attached.status.error_message();
  EXPECT_FALSE(attached.value->exec_id().empty());
  EXPECT_TRUE(attached.value->WriteStdin("shout\n"));
  EXPECT_TRUE(attached.value->CloseStdin());
  std::string out;
  v1::OutputChunk chunk;
  while (attached.value->Next(&chunk)) {
    out += chunk.data();
  }
  EXPECT_TRUE(attached.value->Finish().ok());
  EXPECT_EQ(out, "SHOUT\n");
  EXPECT_EQ(attached.value->exit_code(), 0);

  auto missing = client.ExecRun("nosuch-" + UniqueName(), {"true"});
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);
  auto missing_attach = client.ExecAttach("nosuch-" + UniqueName(), {"true"});
  EXPECT_EQ(missing_attach.status.error_code(), grpc::StatusCode::NOT_FOUND);
  auto bad_split = client.ExecRun(c, "sh -c 'unclosed");
  EXPECT_EQ(bad_split.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// ---------------------------------------------------------------------------------------------
// CLI

class ExecCliTest : public ExecTest {
 protected:
  CommandResult Cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {DOCKLINE_CLI_PATH, "--addr", ServerAddress()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
};

TEST_F(ExecCliTest, ExitsWithTheCommandsCodeAndKeepsStreamsApart) {
  std::string c = Running();
  CommandResult r = Cli({"exec", c, "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(Cli({"exec", c, "/nonexistent"}).exit_code, 126);
  EXPECT_EQ(Cli({"exec", c, "sh", "-c", "nosuchcommand"}).exit_code, 127);
}

TEST_F(ExecCliTest, FlagsAndAShellString) {
  std::string c = Running();
  CommandResult r = Cli({"exec", "-e", "A=1", "-w", "/tmp", "-u", "user", c,
                         "sh -c 'echo $A $(pwd) $(id -un); exit 2'"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "1 /tmp user\n");
  // Flags after CONTAINER belong to the command.
  r = Cli({"exec", c, "echo", "-i", "-t", "--privileged"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "-i -t --privileged\n");
}

TEST_F(ExecCliTest, DetachPrintsTheExecId) {
  std::string c = Running();
  CommandResult r = Cli({"exec", "-d", c, "sh", "-c", "exit 5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string id = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(id.size(), 64u) << r.out;
  ASSERT_TRUE(PollUntil([&] { return DaemonExec(id)["Running"] == false; }, kGenerous));
  EXPECT_EQ(DaemonExec(id)["ExitCode"], 5);
}

TEST_F(ExecCliTest, ErrorsExitOne) {
  CommandResult r = Cli({"exec", "nosuch-" + UniqueName(), "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("No such container"));
}

// Runs the CLI with `input` on its stdin (a pipe).
CommandResult RunWithInput(const std::vector<std::string>& argv, const std::string& input) {
  int in[2];
  int out[2];
  if (pipe(in) != 0 || pipe(out) != 0) {
    return {};
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(in[1]);
    close(out[0]);
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  std::thread writer([&] {
    size_t done = 0;
    while (done < input.size()) {
      ssize_t n = write(in[1], input.data() + done, input.size() - done);
      if (n <= 0) {
        break;
      }
      done += static_cast<size_t>(n);
    }
    close(in[1]);
  });
  CommandResult result;
  char buf[65536];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) {
    result.out.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  writer.join();
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

TEST_F(ExecCliTest, InteractiveForwardsStdinToEof) {
  std::string c = Running();
  std::string input;
  for (int i = 0; i < 20000; ++i) {
    input += "line " + std::to_string(i) + "\n";
  }
  CommandResult r = RunWithInput({DOCKLINE_CLI_PATH, "--addr", ServerAddress(), "exec", "-i", c,
                                  "sh", "-c", "tr a-z A-Z; exit 4"},
                                 input);
  EXPECT_EQ(r.exit_code, 4);
  std::string upper = input;
  for (char& ch : upper) {
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  EXPECT_TRUE(r.out == upper) << r.out.size() << " bytes vs " << upper.size();
}

// Reads the pty master until `want` shows up (or the child's side closes).
bool ReadUntil(int fd, std::string* seen, const std::string& want) {
  auto end = std::chrono::steady_clock::now() + kGenerous;
  while (seen->find(want) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      return false;
    }
    seen->append(buf, static_cast<size_t>(n));
  }
  return true;
}

// `dockline exec -it` in a real pseudo-terminal: raw mode while it runs, the initial size and
// a SIGWINCH resize reach the command's TTY, keys are forwarded, and the terminal is restored.
TEST_F(ExecCliTest, InteractiveTtyInAPseudoTerminal) {
  std::string c = Running();
  int master = -1;
  int slave = -1;
  winsize size{};
  size.ws_row = 33;
  size.ws_col = 77;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, &size), 0);
  termios before{};
  ASSERT_EQ(tcgetattr(slave, &before), 0);
  ASSERT_NE(before.c_lflag & ICANON, 0u);
  std::string addr = ServerAddress();
  pid_t pid = fork();
  if (pid == 0) {
    close(master);
    setsid();
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    execl(DOCKLINE_CLI_PATH, DOCKLINE_CLI_PATH, "--addr", addr.c_str(), "exec", "-it", c.c_str(),
          "sh", "-c",
          // On API 1.41 the first size lands just after the process starts: wait for it.
          "while [ \"$(stty size 2>&1)\" != \"33 77\" ]; do sleep 0.05; done; echo size:33x77; "
          "while [ \"$(stty size)\" != \"50 100\" ]; do sleep 0.05; done; "
          "echo resized; read line; echo got:$line; exit 5",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string seen;
  ASSERT_TRUE(ReadUntil(master, &seen, "size:33x77")) << seen;
  termios during{};
  ASSERT_EQ(tcgetattr(slave, &during), 0);
  EXPECT_EQ(during.c_lflag & (ICANON | ECHO), 0u) << "the terminal is not in raw mode";
  size.ws_row = 50;
  size.ws_col = 100;
  ASSERT_EQ(ioctl(master, TIOCSWINSZ, &size), 0);  // the kernel sends SIGWINCH
  ASSERT_TRUE(ReadUntil(master, &seen, "resized")) << seen;
  ASSERT_EQ(write(master, "typed\r", 6), 6);
  ASSERT_TRUE(ReadUntil(master, &seen, "got:typed")) << seen;
  int status = 0;
  bool exited = PollUntil([&] { return waitpid(pid, &status, WNOHANG) == pid; }, kGenerous);
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  ASSERT_TRUE(exited) << "dockline exec -it did not exit: " << seen;
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 5) << seen;
  termios after{};
  ASSERT_EQ(tcgetattr(slave, &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag) << "the terminal was not restored";
  EXPECT_EQ(after.c_oflag, before.c_oflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  close(master);
  close(slave);
}

}  // namespace
}  // namespace dockline::testing
