// StreamExec: the exec's id, then its output as chunks per stream, then its exit; byte for byte
// at volume, from many execs at once, and a cancel that closes the daemon connection.

#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "exec_fixture.h"

namespace dockline::testing {
namespace {

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

}  // namespace
}  // namespace dockline::testing
