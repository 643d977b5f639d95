// RunContainer: docker-py's containers.run(), attached and detached, with and without
// auto-remove, checked against the daemon's own view.

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <regex>
#include <thread>

#include "harness.h"

namespace dockline::testing {
namespace {

using google::protobuf::util::TimeUtil;
using std::chrono::seconds;

constexpr auto kGenerous = seconds(30);  // catches hangs only

class RunTest : public DaemonTest {
 protected:
  v1::RunContainerRequest Request(std::vector<std::string> command) {
    v1::RunContainerRequest req;
    *req.mutable_spec() = Spec(std::move(command));
    return req;
  }
};

TEST_F(RunTest, StartedThenOutputThenExitedWithStreamsApart) {
  RunOutput out = Run(Request({"sh", "-c", "echo out; echo err >&2; exit 3"}));
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_TRUE(std::regex_match(out.sequence, std::regex("so+x"))) << out.sequence;
  EXPECT_EQ(out.stdout_data, "out\n");
  EXPECT_EQ(out.stderr_data, "err\n");
  EXPECT_TRUE(out.exited);
  EXPECT_EQ(out.exit_code, 3);  // data, not an error status
  EXPECT_EQ(out.exit_error, "");
  EXPECT_FALSE(out.removed);
  for (const auto& chunk : out.chunks) {
    EXPECT_FALSE(chunk.has_timestamp());
    EXPECT_NE(chunk.stream(), v1::STREAM_UNSPECIFIED);
  }

  auto d = DaemonInspect(out.id);
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["Id"], out.id);
  EXPECT_EQ(d["State"]["Status"], "exited");
  EXPECT_EQ(d["State"]["ExitCode"], 3);
  DaemonLogs logs = Logs(out.id);
  ASSERT_TRUE(logs.ok);
  EXPECT_EQ(logs.stdout_data, out.stdout_data);
  EXPECT_EQ(logs.stderr_data, out.stderr_data);
}

TEST_F(RunTest, NonZeroExitIsDataNotAnError) {
  RunOutput out = Run(Request({"sh", "-c", "exit 42"}));
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.sequence, "sx");
  EXPECT_EQ(out.exit_code, 42);
  EXPECT_EQ(out.stdout_data, "");
  EXPECT_EQ(out.stderr_data, "");
  EXPECT_EQ(DaemonInspect(out.id)["State"]["ExitCode"], 42);
}

TEST_F(RunTest, NamedRunCreatesThatName) {
  v1::RunContainerRequest req = Request({"true"});
  std::string name = UniqueName("run-named");
  req.mutable_spec()->set_name(name);
  RunOutput out = Run(req);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.exit_code, 0);
  auto d = DaemonInspect(name);
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["Id"], out.id);
  EXPECT_EQ(d["Name"], "/" + name);
}

TEST_F(RunTest, DetachReturnsAfterStartedWithTheContainerRunning) {
  v1::RunContainerRequest req = Request({"sleep", "600"});
  req.set_detach(true);
  auto begin = std::chrono::steady_clock::now();
  RunOutput out = Run(req);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, kGenerous);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.sequence, "s");
  EXPECT_FALSE(out.exited);
  ASSERT_FALSE(out.id.empty());
  auto d = DaemonInspect(out.id);
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["State"]["Running"], true);
  EXPECT_EQ(d["HostConfig"]["AutoRemove"], false);
  // docker-py's detach=True creates without attaching.
  EXPECT_EQ(d["Config"]["AttachStdout"], false);
  EXPECT_EQ(d["Config"]["AttachStderr"], false);
}

TEST_F(RunTest, AutoRemoveAttachedKeepsOutputAndExitCodeAndRemoves) {
  v1::RunContainerRequest req = Request({"sh", "-c", "echo hi; echo e >&2; exit 4"});
  req.mutable_spec()->set_auto_remove(true);
  RunOutput out = Run(req);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_TRUE(std::regex_match(out.sequence, std::regex("so+x"))) << out.sequence;
  EXPECT_EQ(out.stdout_data, "hi\n");
  EXPECT_EQ(out.stderr_data, "e\n");
  EXPECT_EQ(out.exit_code, 4);
  EXPECT_TRUE(out.removed);
  ASSERT_FALSE(out.id.empty());
  EXPECT_TRUE(DaemonInspect(out.id).is_null());
}

TEST_F(RunTest, AutoRemoveDetachedIsDaemonSideAndWaitStillWorks) {
  // Spec section 7: run(detach=True, remove=True) then container.wait(). The sleep gives the
  // wait time to register before the exit (ENGINE_NOTES section 4).
  v1::RunContainerRequest req = Request({"sh", "-c", "sleep 2; exit 6"});
  req.mutable_spec()->set_auto_remove(true);
  req.set_detach(true);
  RunOutput out = Run(req);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.sequence, "s");
  ASSERT_FALSE(out.id.empty());

  v1::WaitContainerRequest wait;
  wait.set_container(out.id);
  wait.set_condition(v1::WAIT_CONDITION_REMOVED);
  wait.mutable_timeout()->set_seconds(60);
  auto d = DaemonInspect(out.id);
  ASSERT_TRUE(d.is_object()) << "gone before the wait could register";
  EXPECT_EQ(d["HostConfig"]["AutoRemove"], true);
  v1::WaitContainerResponse waited;
  auto ctx = Context();
  grpc::Status st = stub().WaitContainer(ctx.get(), wait, &waited);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(waited.exit_code(), 6);
  // The daemon removed it by itself.
  EXPECT_TRUE(PollUntil([&] { return DaemonInspect(out.id).is_null(); }, kGenerous));
}

TEST_F(RunTest, AutoRemoveDetachedNextExit) {
  v1::RunContainerRequest req = Request({"sh", "-c", "sleep 2; exit 8"});
  req.mutable_spec()->set_auto_remove(true);
  req.set_detach(true);
  RunOutput out = Run(req);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_FALSE(out.id.empty());
  v1::WaitContainerRequest wait;
  wait.set_container(out.id);
  wait.set_condition(v1::WAIT_CONDITION_NEXT_EXIT);
  wait.mutable_timeout()->set_seconds(60);
  v1::WaitContainerResponse waited;
  auto ctx = Context();
  grpc::Status st = stub().WaitContainer(ctx.get(), wait, &waited);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(waited.exit_code(), 8);
  EXPECT_TRUE(PollUntil([&] { return DaemonInspect(out.id).is_null(); }, kGenerous));
}

TEST_F(RunTest, LargeOutputIsRelayedExactlyAndCoalesced) {
  constexpr int kLines = 300000;
  RunOutput out = Run(Request({"seq", "1", std::to_string(kLines)}));
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  std::string expected;
  expected.reserve(2 << 20);
  for (int i = 1; i <= kLines; ++i) {
    expected += std::to_string(i);
    expected += '\n';
  }
  EXPECT_EQ(out.stdout_data.size(), expected.size());
  EXPECT_TRUE(out.stdout_data == expected) << "the relayed output differs from seq's";
  EXPECT_EQ(out.stderr_data, "");
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.sequence.front(), 's');
  EXPECT_EQ(out.sequence.back(), 'x');
  // One message per log line would be 300000; coalescing makes them far fewer. (How many
  // lines share a message depends on how far the daemon runs ahead of the relay.)
  EXPECT_LT(out.output_messages, kLines / 3) << out.output_messages << " output messages";
}

TEST_F(RunTest, LongLinesAndAPartialLastLineAreExact) {
  // The daemon splits lines over 16 KiB into several log entries; the last line has no newline.
  RunOutput out = Run(Request({"sh", "-c",
                               "head -c 100000 /dev/zero | tr '\\0' a; echo; "
                               "head -c 50000 /dev/zero | tr '\\0' b >&2; echo >&2; "
                               "printf no-newline"}));
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_TRUE(out.stdout_data == std::string(100000, 'a') + "\nno-newline")
      << out.stdout_data.size() << " bytes on stdout";
  EXPECT_TRUE(out.stderr_data == std::string(50000, 'b') + "\n")
      << out.stderr_data.size() << " bytes on stderr";
  EXPECT_EQ(out.exit_code, 0);
}

TEST_F(RunTest, InterleavedStreamsAreExactPerStream) {
  RunOutput out = Run(Request(
      {"sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done"}));
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  std::string want_out;
  std::string want_err;
  for (int i = 0; i < 3000; ++i) {
    want_out += "o" + std::to_string(i) + "\n";
    want_err += "e" + std::to_string(i) + "\n";
  }
  EXPECT_TRUE(out.stdout_data == want_out) << out.stdout_data.size() << " bytes on stdout";
  EXPECT_TRUE(out.stderr_data == want_err) << out.stderr_data.size() << " bytes on stderr";
  // A change of stream always starts a new chunk. A chunk may end mid-line (the relay cuts at
  // its size limit), so a line only starts where its stream's previous chunk ended one.
  bool at_line_start[2] = {true, true};
  for (const auto& chunk : out.chunks) {
    const std::string& data = chunk.data();
    const bool is_err = chunk.stream() == v1::STREAM_STDERR;
    const char mark = is_err ? 'e' : 'o';
    size_t pos = 0;
    if (!at_line_start[is_err]) {
      const size_t nl = data.find('\n');
      pos = nl == std::string::npos ? data.size() : nl + 1;
    }
    while (pos < data.size()) {
      ASSERT_EQ(data[pos], mark) << "a chunk mixes streams";
      const size_t nl = data.find('\n', pos);
      pos = nl == std::string::npos ? data.size() : nl + 1;
    }
    if (!data.empty()) at_line_start[is_err] = data.back() == '\n';
  }
}

// A client that reads slowly holds the relay back while the container has long exited, so
// the output is finished from a later log pass resumed at the last relayed entry (dockerd 20.10
// may also end a follow stream early, which takes the same path). Nothing may be lost or
// repeated at the seam.
TEST_F(RunTest, SlowClientGetsExactOutput) {
  constexpr int kLines = 100000;
  for (bool timestamps : {false, true}) {
    v1::RunContainerRequest req = Request(
        {"sh", "-c", "seq 1 " + std::to_string(kLines) + "; echo done >&2; seq 1 5000 >&2"});
    req.set_timestamps(timestamps);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(2));
    auto reader = stub().RunContainer(&ctx, req);
    v1::RunContainerResponse msg;
    std::string out;
    std::string err;
    int64_t exit_code = -1;
    int messages = 0;
    while (reader->Read(&msg)) {
      if (msg.has_output()) {
        (msg.output().stream() == v1::STREAM_STDERR ? err : out) += msg.output().data();
        // Slow for the first messages: the container exits meanwhile.
        if (++messages <= 20) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      } else if (msg.has_exited()) {
        exit_code = msg.exited().exit_code();
      }
    }
    grpc::Status st = reader->Finish();
    ASSERT_TRUE(st.ok()) << st.error_message();
    std::string want_out;
    for (int i = 1; i <= kLines; ++i) {
      want_out += std::to_string(i) + "\n";
    }
    std::string want_err = "done\n";
    for (int i = 1; i <= 5000; ++i) {
      want_err += std::to_string(i) + "\n";
    }
    EXPECT_EQ(exit_code, 0);
    EXPECT_EQ(out.size(), want_out.size()) << "timestamps=" << timestamps;
    EXPECT_TRUE(out == want_out) << "timestamps=" << timestamps;
    EXPECT_EQ(err.size(), want_err.size()) << "timestamps=" << timestamps;
    EXPECT_TRUE(err == want_err) << "timestamps=" << timestamps;
  }
}

TEST_F(RunTest, TimestampsMarkEveryChunkWithTheDaemonsTime) {
  v1::RunContainerRequest req =
      Request({"sh", "-c", "echo a; sleep 1; echo b >&2; sleep 1; echo c; echo d"});
  req.set_timestamps(true);
  RunOutput out = Run(req);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.stdout_data, "a\nc\nd\n");
  EXPECT_EQ(out.stderr_data, "b\n");
  DaemonLogs logs = Logs(out.id);
  ASSERT_TRUE(logs.ok);
  ASSERT_EQ(logs.entries.size(), 4u);
  // Each chunk carries the daemon's time of its first entry: with timestamps every entry
  // starts a chunk, so chunks and log entries pair up one to one.
  ASSERT_EQ(out.chunks.size(), logs.entries.size());
  for (size_t i = 0; i < out.chunks.size(); ++i) {
    const v1::OutputChunk& chunk = out.chunks[i];
    const LogEntry& entry = logs.entries[i];
    ASSERT_TRUE(chunk.has_timestamp()) << "chunk " << i;
    google::protobuf::Timestamp expected;
    ASSERT_TRUE(TimeUtil::FromString(entry.timestamp, &expected)) << entry.timestamp;
    EXPECT_EQ(TimeUtil::TimestampToNanoseconds(chunk.timestamp()),
              TimeUtil::TimestampToNanoseconds(expected))
        << "chunk " << i;
    EXPECT_EQ(chunk.data(), entry.data);
    EXPECT_EQ(chunk.stream(), entry.stderr_stream ? v1::STREAM_STDERR : v1::STREAM_STDOUT);
  }
}

TEST_F(RunTest, TtyRunReturnsTheTerminalsOutput) {
  v1::RunContainerRequest req = Request({"sh", "-c", "echo a; echo b >&2; exit 2"});
  req.mutable_spec()->set_tty(true);
  RunOutput out = Run(req);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.stdout_data, "a\r\nb\r\n");
  EXPECT_EQ(out.stderr_data, "");
  EXPECT_EQ(out.exit_code, 2);
  auto d = DaemonInspect(out.id);
  EXPECT_EQ(d["Config"]["Tty"], true);
  EXPECT_EQ(Logs(out.id).stdout_data, "a\r\nb\r\n");
}

TEST_F(RunTest, AttachedRunCreatesAttached) {
  RunOutput out = Run(Request({"true"}));
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  auto d = DaemonInspect(out.id);
  EXPECT_EQ(d["Config"]["AttachStdout"], true);
  EXPECT_EQ(d["Config"]["AttachStderr"], true);
  // An attached run removes the container itself, never through the daemon's AutoRemove.
  EXPECT_EQ(d["HostConfig"]["AutoRemove"], false);
}

}  // namespace
}  // namespace dockline::testing
