// StreamLogs against the real daemon: spec section 3 and the follow semantics.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "harness.h"

namespace dockline::testing {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

constexpr auto kGenerous = std::chrono::seconds(60);

class LogsTest : public DaemonTest {
 protected:
  struct Collected {
    grpc::Status status;
    std::string out;
    std::string err;
    std::vector<v1::OutputChunk> chunks;
  };

  Collected Logs(const v1::StreamLogsRequest& req,
                 std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
    Collected c;
    auto ctx = Context(timeout);
    auto reader = stub().StreamLogs(ctx.get(), req);
    v1::StreamLogsResponse msg;
    while (reader->Read(&msg)) {
      (msg.output().stream() == v1::STREAM_STDERR ? c.err : c.out) += msg.output().data();
      c.chunks.push_back(msg.output());
    }
    c.status = reader->Finish();
    return c;
  }

  v1::StreamLogsRequest Req(const std::string& id) {
    v1::StreamLogsRequest req;
    req.set_container(id);
    return req;
  }

  // Runs `command` to completion and returns the container id (kept for reading its log).
  std::string Finished(std::vector<std::string> command) {
    std::string id = CreateAndStart(Spec(std::move(command)));
    v1::WaitContainerRequest wait;
    wait.set_container(id);
    v1::WaitContainerResponse resp;
    auto ctx = Context(std::chrono::seconds(120));
    EXPECT_TRUE(stub().WaitContainer(ctx.get(), wait, &resp).ok());
    return id;
  }
};

TEST_F(LogsTest, StreamsApartAndSelected) {
  std::string id = Finished({"sh", "-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2"});
  Collected all = Logs(Req(id));
  ASSERT_TRUE(all.status.ok()) << all.status.error_message();
  EXPECT_EQ(all.out, "out1\nout2\n");
  EXPECT_EQ(all.err, "err1\nerr2\n");

  auto out_only = Req(id);
  out_only.set_stderr(false);
  Collected o = Logs(out_only);
  EXPECT_EQ(o.out, "out1\nout2\n");
  EXPECT_EQ(o.err, "");

  auto err_only = Req(id);
  err_only.set_stdout(false);
  Collected e = Logs(err_only);
  EXPECT_EQ(e.out, "");
  EXPECT_EQ(e.err, "err1\nerr2\n");
}

TEST_F(LogsTest, TailAndTimestamps) {
  std::string id = Finished({"sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done"});
  auto tail = Req(id);
  tail.set_tail(2);
  EXPECT_EQ(Logs(tail).out, "line4\nline5\n");
  tail.set_tail(0);
  EXPECT_EQ(Logs(tail).out, "");

  auto stamped = Req(id);
  stamped.set_timestamps(true);
  Collected c = Logs(stamped);
  ASSERT_EQ(c.chunks.size(), 5u) << "one chunk per entry when timestamps are on";
  auto daemon = DaemonTest::Logs(id);
  ASSERT_EQ(daemon.entries.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(c.chunks[i].data(), "line" + std::to_string(i + 1) + "\n");
    ASSERT_TRUE(c.chunks[i].has_timestamp());
    google::protobuf::Timestamp want;
    ASSERT_TRUE(TimeUtil::FromString(daemon.entries[i].timestamp, &want));
    EXPECT_EQ(c.chunks[i].timestamp().seconds(), want.seconds());
    EXPECT_EQ(c.chunks[i].timestamp().nanos(), want.nanos()) << "sub-second precision kept";
  }
  // Without timestamps the text carries no prefix and chunks carry none either.
  Collected plain = Logs(Req(id));
  EXPECT_EQ(plain.out, "line1\nline2\nline3\nline4\nline5\n");
  for (const auto& chunk : plain.chunks) {
    EXPECT_FALSE(chunk.has_timestamp());
  }
}

TEST_F(LogsTest, SinceAndUntilWindowsAreInclusiveToTheNanosecond) {
  std::string id = Finished({"sh", "-c", "echo a; sleep 0.3; echo b; sleep 0.3; echo c"});
  auto daemon = DaemonTest::Logs(id);
  ASSERT_EQ(daemon.entries.size(), 3u);
  google::protobuf::Timestamp tb;
  ASSERT_TRUE(TimeUtil::FromString(daemon.entries[1].timestamp, &tb));

  auto since = Req(id);
  *since.mutable_since() = tb;
  EXPECT_EQ(Logs(since).out, "b\nc\n");

  auto until = Req(id);
  *until.mutable_until() = tb;
  EXPECT_EQ(Logs(until).out, "a\nb\n");

  auto both = Req(id);
  *both.mutable_since() = tb;
  *both.mutable_until() = tb;
  EXPECT_EQ(Logs(both).out, "b\n");

  // One nanosecond later excludes b.
  auto after = Req(id);
  *after.mutable_since() = tb + TimeUtil::NanosecondsToDuration(1);
  EXPECT_EQ(Logs(after).out, "c\n");
}

TEST_F(LogsTest, AMillionLinesArriveCompleteAndInOrder) {
  std::string id = Finished({"seq", "1", "1000000"});
  Collected c = Logs(Req(id), std::chrono::seconds(240));
  ASSERT_TRUE(c.status.ok()) << c.status.error_message();
  std::string want;
  want.reserve(7000000);
  for (int i = 1; i <= 1000000; ++i) {
    want += std::to_string(i);
    want += '\n';
  }
  EXPECT_EQ(c.out.size(), want.size());
  EXPECT_TRUE(c.out == want) << "content differs";
  EXPECT_LT(c.chunks.size(), 100000u) << "frames were not coalesced";
}

TEST_F(LogsTest, FollowInAThreadSeesNewLinesAndEndsAtExit) {
  std::string id =
      CreateAndStart(Spec({"sh", "-c", "echo first; sleep 1; echo second; sleep 1; echo third"}));
  std::mutex mu;
  std::string seen;
  grpc::Status status;
  std::thread tail([&] {
    auto req = Req(id);
    req.set_follow(true);
    auto ctx = Context(std::chrono::seconds(120));
    auto reader = stub().StreamLogs(ctx.get(), req);
    v1::StreamLogsResponse msg;
    while (reader->Read(&msg)) {
      std::lock_guard<std::mutex> lock(mu);
      seen += msg.output().data();
    }
    status = reader->Finish();
  });
  // "second" is written while we follow, and arrives before the container exits.
  bool live = PollUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return seen.find("second\n") != std::string::npos &&
               DaemonInspect(id)["State"]["Running"] == true;
      },
      kGenerous);
  tail.join();
  EXPECT_TRUE(live) << "a line written while following did not arrive while running";
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(seen, "first\nsecond\nthird\n");
}

TEST_F(LogsTest, FollowOnACreatedContainerWaitsForTheStart) {
  std::string id;
  ASSERT_TRUE(Create(Spec({"sh", "-c", "echo hello; echo there >&2"}), &id).ok());
  Collected c;
  std::thread follow([&] {
    auto req = Req(id);
    req.set_follow(true);
    c = Logs(req);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  v1::StartContainerRequest start;
  start.set_container(id);
  v1::StartContainerResponse resp;
  auto ctx = Context();
  ASSERT_TRUE(stub().StartContainer(ctx.get(), start, &resp).ok());
  follow.join();
  EXPECT_TRUE(c.status.ok()) << c.status.error_message();
  EXPECT_EQ(c.out, "hello\n");
  EXPECT_EQ(c.err, "there\n");
}

TEST_F(LogsTest, FollowOnACreatedContainerThatIsRemovedIsNotFound) {
  std::string id;
  ASSERT_TRUE(Create(Spec({"true"}), &id).ok());
  Collected c;
  std::thread follow([&] {
    auto req = Req(id);
    req.set_follow(true);
    c = Logs(req);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  engine::ApiRequest del("DELETE", "/containers/" + id);
  ASSERT_TRUE(Daemon(del).ok());
  follow.join();
  EXPECT_EQ(c.status.error_code(), grpc::StatusCode::NOT_FOUND) << c.status.error_message();
}

TEST_F(LogsTest, TtyContainerIsRelayedRaw) {
  auto spec = Spec({"sh", "-c", "echo out; echo err >&2"});
  spec.set_tty(true);
  std::string id = CreateAndStart(spec);
  v1::WaitContainerRequest wait;
  wait.set_container(id);
  v1::WaitContainerResponse resp;
  auto ctx = Context();
  ASSERT_TRUE(stub().WaitContainer(ctx.get(), wait, &resp).ok());
  Collected c = Logs(Req(id));
  ASSERT_TRUE(c.status.ok()) << c.status.error_message();
  EXPECT_EQ(c.out, "out\r\nerr\r\n");
  EXPECT_EQ(c.err, "");
  auto stamped = Req(id);
  stamped.set_timestamps(true);
  Collected s = Logs(stamped);
  EXPECT_EQ(s.out, "out\r\nerr\r\n") << "the timestamp prefixes are taken off a TTY log too";
  ASSERT_EQ(s.chunks.size(), 2u);
  EXPECT_TRUE(s.chunks[0].has_timestamp());
}

TEST_F(LogsTest, AutoRemovedContainerIsNotFound) {
  auto spec = Spec({"true"});
  spec.set_auto_remove(true);
  std::string id = CreateAndStart(spec);
  ASSERT_TRUE(PollUntil([&] { return DaemonInspect(id).is_null(); }, kGenerous));
  Collected c = Logs(Req(id));
  EXPECT_EQ(c.status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(LogsTest, UnreadableLogDriverIsAFailedPreconditionNamingIt) {
  // The spec has no log driver option, so the container is made straight on the daemon.
  engine::ApiRequest create("POST", "/containers/create");
  create.body =
      nlohmann::json{{"Image", Image()},
                     {"Cmd", {"echo", "hi"}},
                     {"Labels", {{LabelKey(), LabelValue()}}},
                     {"HostConfig", {{"NetworkMode", "none"}, {"LogConfig", {{"Type", "none"}}}}}}
          .dump();
  auto res = Daemon(create);
  ASSERT_TRUE(res.ok()) << res.status().message();
  std::string id = nlohmann::json::parse(res->body)["Id"];
  Collected c = Logs(Req(id));
  EXPECT_EQ(c.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(c.status.error_message(), HasSubstr("\"none\""));
}

TEST_F(LogsTest, BadRequestsNameTheField) {
  auto none = Req("whatever");
  none.set_stdout(false);
  none.set_stderr(false);
  Collected c = Logs(none);
  EXPECT_EQ(c.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(c.status.error_message(), HasSubstr("stdout"));

  auto tail = Req("whatever");
  tail.set_tail(-1);
  c = Logs(tail);
  EXPECT_EQ(c.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(c.status.error_message(), HasSubstr("tail"));

  auto window = Req("whatever");
  window.mutable_since()->set_seconds(2000);
  window.mutable_until()->set_seconds(1000);
  c = Logs(window);
  EXPECT_EQ(c.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(c.status.error_message(), HasSubstr("since"));

  c = Logs(Req("no-such-container-" + LabelValue()));
  EXPECT_EQ(c.status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(LogsTest, CancelMidFollowClosesTheDaemonConnections) {
  std::string id = CreateAndStart(Spec({"sh", "-c", "while true; do echo tick; sleep 0.2; done"}));
  constexpr int kStreams = 10;
  // Opens kStreams follows, waits until each has data and the daemon shows them (when
  // `baseline` is given), then cancels them all.
  auto round = [&](int baseline, int* peak) {
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    std::vector<std::thread> threads;
    std::atomic<int> got_data{0};
    std::vector<grpc::Status> statuses(kStreams);
    for (int i = 0; i < kStreams; ++i) {
      contexts.push_back(Context(std::chrono::seconds(120)));
    }
    for (int i = 0; i < kStreams; ++i) {
      threads.emplace_back([&, i] {
        auto req = Req(id);
        req.set_follow(true);
        req.set_tail(0);
        auto reader = stub().StreamLogs(contexts[i].get(), req);
        v1::StreamLogsResponse msg;
        bool first = true;
        while (reader->Read(&msg)) {
          if (first) {
            ++got_data;
            first = false;
          }
        }
        statuses[i] = reader->Finish();
      });
    }
    bool flowing = PollUntil(
        [&] {
          *peak = DaemonGoroutines();
          return got_data == kStreams && (baseline < 0 || *peak >= baseline + kStreams);
        },
        kGenerous);
    for (auto& ctx : contexts) {
      ctx->TryCancel();
    }
    for (auto& t : threads) {
      t.join();
    }
    for (const auto& st : statuses) {
      EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED) << st.error_message();
    }
    return flowing;
  };
  // A first round brings the container and dockline's pool of keep-alive connections (each one
  // a goroutine in the daemon) to their steady state, so the baseline counts them.
  int peak = 0;
  ASSERT_TRUE(round(-1, &peak));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  int baseline = DaemonGoroutines();
  ASSERT_GT(baseline, 0);
  ASSERT_TRUE(round(baseline, &peak)) << "baseline " << baseline << ", peak " << peak;
  int now = 0;
  bool released = PollUntil(
      [&] {
        now = DaemonGoroutines();
        return now >= 0 && now <= baseline + kStreams / 2;
      },
      kGenerous);
  EXPECT_TRUE(released) << "baseline " << baseline << ", with " << kStreams << " follows " << peak
                        << ", after cancelling " << now;
}

// Reads a log through a chain of calls, each resumed from the last chunk's cursor and cut after
// a random number of chunks, the way a client on a bad network would.
class ResumingReader {
 public:
  ResumingReader(v1::StreamLogsRequest base, uint32_t seed) : base_(std::move(base)), rng_(seed) {}

  // One call, from `cursor` (or the base request's start), cut after a random number of chunks
  // (none with `cut_never`). With timestamps each entry is a chunk of its own, so those calls go
  // far in a few thousand chunks; without, a chunk gathers up to 32 KiB of one stream and may
  // end inside an entry, so those calls take one or two. Returns the call's status: CANCELLED
  // when this reader cut it.
  grpc::Status Call(v1::Dockline::Stub& stub, bool cut_never = false) {
    auto req = base_;
    req.set_resume_from(cursor_);
    // The first twenty without, to cut through the blocks (with timestamps every entry is a
    // chunk of its own).
    req.set_timestamps(calls >= 20 && rng_() % 4 != 0);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    auto reader = stub.StreamLogs(&ctx, req);
    ++calls;
    const int cut = 1 + static_cast<int>(rng_() % (req.timestamps() ? 1600 : 2));
    int n = 0;
    v1::StreamLogsResponse msg;
    while (reader->Read(&msg)) {
      (msg.output().stream() == v1::STREAM_STDERR ? err : out) += msg.output().data();
      EXPECT_FALSE(msg.output().cursor().empty());
      cursor_ = msg.output().cursor();
      if (!cut_never && ++n == cut) {
        ctx.TryCancel();
        ++cuts;
        break;
      }
    }
    return reader->Finish();
  }

  std::string out;
  std::string err;
  int cuts = 0;
  int calls = 0;

 private:
  v1::StreamLogsRequest base_;
  std::mt19937 rng_;
  std::string cursor_;
};

TEST_F(LogsTest, CursorsResumeExactlyThroughRandomDisconnectsAndAnotherDocklined) {
  // 200,000 lines, stdout and stderr interleaved: first in blocks of one stream with a line
  // long enough that the daemon splits it into partial entries of 16 KiB after each, where
  // chunks end inside entries; then line by line, where the two streams' marks matter.
  std::string id = CreateAndStart(
      Spec({"sh", "-c",
            "i=0; while [ $i -lt 50 ]; do seq 1 1000; seq 1 1000 >&2; head -c 50001 /dev/zero | "
            "tr '\\0' x; echo; i=$((i+1)); done; echo blocks done >&2; sleep 3; "
            "i=0; while [ $i -lt 50000 ]; do echo \"out $i\"; echo \"err $i\" >&2; i=$((i+1)); "
            "done"}));
  // The blocks are in the log before the first call, so that its chunks are full ones; the
  // lines are written while the later calls follow.
  ASSERT_TRUE(PollUntil([&] { return DaemonTest::Logs(id).stderr_data.ends_with("blocks done\n"); },
                        kGenerous));
  auto base = Req(id);
  base.set_follow(true);
  const int seed = ::testing::UnitTest::GetInstance()->random_seed();
  SCOPED_TRACE("cuts from --gtest_random_seed=" + std::to_string(seed));
  ResumingReader reader(base, seed);
  // Half the calls on this docklined (follows, the first while the container writes).
  while (reader.cuts < 50) {
    ASSERT_LT(reader.calls, 1000) << "the calls stopped making progress";
    grpc::Status st = reader.Call(stub());
    ASSERT_TRUE(st.ok() || st.error_code() == grpc::StatusCode::CANCELLED) << st.error_message();
  }
  // The rest on another docklined, which never saw the first one's calls: the cursor is all it
  // needs.
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.docker_host = DockerHost();
  auto other = server::DocklineServer::Start(options);
  ASSERT_TRUE(other.ok()) << other.status().message();
  auto other_stub = v1::Dockline::NewStub(
      grpc::CreateChannel(other.value()->address(), grpc::InsecureChannelCredentials()));
  while (reader.cuts < 100) {
    ASSERT_LT(reader.calls, 1000) << "the calls stopped making progress";
    grpc::Status st = reader.Call(*other_stub);
    ASSERT_TRUE(st.ok() || st.error_code() == grpc::StatusCode::CANCELLED) << st.error_message();
  }
  // Then to the end, once the container has exited.
  v1::WaitContainerRequest wait;
  wait.set_container(id);
  v1::WaitContainerResponse waited;
  auto ctx = Context(std::chrono::seconds(120));
  ASSERT_TRUE(stub().WaitContainer(ctx.get(), wait, &waited).ok());
  grpc::Status st = reader.Call(*other_stub, true);
  ASSERT_TRUE(st.ok()) << st.error_message();
  other.value()->Shutdown(std::chrono::milliseconds(1000));

  DaemonLogs want = DaemonTest::Logs(id);
  ASSERT_TRUE(want.ok);
  ASSERT_GT(want.stdout_data.size(), 1000000u);
  EXPECT_EQ(reader.out.size(), want.stdout_data.size());
  EXPECT_EQ(reader.err.size(), want.stderr_data.size());
  EXPECT_TRUE(reader.out == want.stdout_data) << "stdout differs from the daemon's log";
  EXPECT_TRUE(reader.err == want.stderr_data) << "stderr differs from the daemon's log";
}

TEST_F(LogsTest, ARunsCursorResumesItsOutputWithAndWithoutATty) {
  for (bool tty : {false, true}) {
    SCOPED_TRACE(tty ? "tty" : "no tty");
    v1::RunContainerRequest run;
    // More than one chunk (32 KiB) can hold, however the output is gathered.
    *run.mutable_spec() = Spec({"sh", "-c", "for i in $(seq 1 20000); do echo line $i; done"});
    run.mutable_spec()->set_tty(tty);
    auto ctx = Context(std::chrono::seconds(120));
    auto stream = stub().RunContainer(ctx.get(), run);
    v1::RunContainerResponse msg;
    std::string id;
    std::string seen;
    std::string cursor;
    while (stream->Read(&msg)) {
      if (msg.has_started()) {
        id = msg.started().id();
      } else if (msg.has_output()) {
        seen += msg.output().data();
        cursor = msg.output().cursor();
        ctx->TryCancel();  // the client goes away after the first chunk
        break;
      }
    }
    stream->Finish();
    ASSERT_FALSE(id.empty());
    ASSERT_FALSE(cursor.empty());
    v1::WaitContainerRequest wait;
    wait.set_container(id);
    v1::WaitContainerResponse waited;
    auto wctx = Context(std::chrono::seconds(120));
    ASSERT_TRUE(stub().WaitContainer(wctx.get(), wait, &waited).ok());
    auto req = Req(id);
    req.set_resume_from(cursor);
    Collected rest = Logs(req);
    ASSERT_TRUE(rest.status.ok()) << rest.status.error_message();
    DaemonLogs want = DaemonTest::Logs(id);
    ASSERT_TRUE(want.ok);
    EXPECT_EQ(seen + rest.out, want.stdout_data);
    EXPECT_LT(seen.size(), want.stdout_data.size()) << "the first chunk held the whole log";
  }
}

TEST_F(LogsTest, BadCursorsNameResumeFrom) {
  std::string a = Finished({"echo", "a"});
  std::string b = Finished({"echo", "b"});
  Collected first = Logs(Req(a));
  ASSERT_EQ(first.chunks.size(), 1u);
  const std::string cursor = first.chunks[0].cursor();
  // At the end: nothing more, and that is not an error.
  auto at_end = Req(a);
  at_end.set_resume_from(cursor);
  Collected none = Logs(at_end);
  EXPECT_TRUE(none.status.ok()) << none.status.error_message();
  EXPECT_EQ(none.out + none.err, "");

  for (const auto& [container, from, field] :
       {std::make_tuple(b, cursor, "resume_from"),
        std::make_tuple(a, std::string("xyz"), "resume_from"),
        std::make_tuple(a, cursor.substr(0, cursor.size() - 4), "resume_from")}) {
    auto req = Req(container);
    req.set_resume_from(from);
    Collected c = Logs(req);
    EXPECT_EQ(c.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << from;
    EXPECT_THAT(c.status.error_message(), HasSubstr(field));
  }
  auto with_tail = Req(a);
  with_tail.set_resume_from(cursor);
  with_tail.set_tail(3);
  Collected c = Logs(with_tail);
  EXPECT_EQ(c.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(c.status.error_message(), HasSubstr("tail"));
}

}  // namespace
}  // namespace dockline::testing
