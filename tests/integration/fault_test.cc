// docklined against a scripted fake daemon (fault_daemon.h), for what dockerd cannot be made to
// do on demand: a multiplexed stream that ends inside a frame, garbage where JSON belongs, an
// error message of 70,000 bytes with NUL and invalid UTF-8 in it, a daemon that never answers or
// answers a byte at a time, broken chunked encoding, a connection closed mid-frame, and a follow
// that never ends. Each case checks the status the client gets, that the call ended within its
// deadline, that docklined still serves afterwards, and that nothing was left open: the fake sees
// every connection closed at both ends and the process's descriptor count is back where it was.

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_util.h"
#include "dockline/v1/dockline.grpc.pb.h"
#include "fault_daemon.h"
#include "server/server.h"
#include "under_asan.h"

namespace dockline::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kContainer = "fault-target";
const std::string kContainerId = "4c1d0e6a5b7f9e2d8c3b1a0f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d";
const std::string kExecId = "e8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7";

// The slack every call gets past its deadline: the time gRPC and docklined may take to notice.
constexpr milliseconds kSlack = seconds(2);

// OpenDescriptors() (harness.h) counts this process's: the fake daemon runs in it, so its ends
// of the engine connections count too.

// RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF.
bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t continuation = 0;
    uint32_t code_point = 0;
    uint32_t smallest = 0;
    if ((lead & 0xe0) == 0xc0) {
      continuation = 1;
      code_point = lead & 0x1f;
      smallest = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      continuation = 2;
      code_point = lead & 0x0f;
      smallest = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
      continuation = 3;
      code_point = lead & 0x07;
      smallest = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i - 1 < continuation) {
      return false;
    }
    for (size_t k = 1; k <= continuation; ++k) {
      const auto byte = static_cast<unsigned char>(text[i + k]);
      if ((byte & 0xc0) != 0x80) {
        return false;
      }
      code_point = (code_point << 6) | (byte & 0x3f);
    }
    if (code_point < smallest || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return false;
    }
    i += continuation + 1;
  }
  return true;
}

// A client context with a deadline, remembering when the call began.
class TimedCall {
 public:
  explicit TimedCall(milliseconds deadline) : deadline_(deadline), start_(steady_clock::now()) {
    context_.set_deadline(std::chrono::system_clock::now() + deadline);
  }
  grpc::ClientContext* context() { return &context_; }
  steady_clock::time_point start() const { return start_; }
  // A fault must end the call, never leave it to the deadline's mercy or beyond.
  void ExpectEndedInTime() const {
    auto elapsed = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start_);
    EXPECT_LT(elapsed, deadline_ + kSlack)
        << "the call took " << elapsed.count() << " ms against a deadline of " << deadline_.count()
        << " ms";
  }

 private:
  const milliseconds deadline_;
  const steady_clock::time_point start_;
  grpc::ClientContext context_;
};

// What a streaming call delivered.
struct Received {
  grpc::Status status;
  std::string stdout_data;
  std::string stderr_data;
  int messages = 0;
};

void Collect(const v1::OutputChunk& chunk, Received* into) {
  (chunk.stream() == v1::STREAM_STDERR ? into->stderr_data : into->stdout_data) += chunk.data();
}

// Reads a server stream (logs, exec, run) to its end, gathering its output.
template <typename Message, typename Reader>
Received Drain(Reader& reader) {
  Received received;
  Message message;
  while (reader.Read(&message)) {
    ++received.messages;
    if (message.has_output()) {
      Collect(message.output(), &received);
    }
  }
  received.status = reader.Finish();
  return received;
}

// What a stream cut inside a frame must look like to the client: the complete frames before
// the cut, then DATA_LOSS naming the frame.
void ExpectCutReported(const Received& received, std::string_view complete_stdout,
                       std::string_view complete_stderr) {
  EXPECT_EQ(received.status.error_code(), grpc::StatusCode::DATA_LOSS)
      << received.status.error_message();
  EXPECT_THAT(received.status.error_message(), ::testing::HasSubstr("frame"));
  // The payload bytes of the cut frame that did come may be relayed too.
  EXPECT_THAT(received.stdout_data, ::testing::StartsWith(std::string(complete_stdout)));
  EXPECT_EQ(received.stderr_data, complete_stderr);
}

// The daemon's container document, as much of it as docklined reads.
nlohmann::json InspectDocument(const std::string& status) {
  return {{"Id", kContainerId},
          {"Created", "2024-05-01T09:59:59.000000000Z"},
          {"Name", "/" + kContainer},
          {"Image", "sha256:" + std::string(64, 'b')},
          {"Config",
           {{"Tty", false},
            {"Image", "busybox"},
            {"Cmd", {"sh", "-c", "echo hi"}},
            {"Labels", nlohmann::json::object()}}},
          {"HostConfig",
           {{"LogConfig", {{"Type", "json-file"}, {"Config", nlohmann::json::object()}}},
            {"AutoRemove", false},
            {"NetworkMode", "none"}}},
          {"State",
           {{"Status", status},
            {"Running", status == "running"},
            {"Paused", false},
            {"Pid", status == "running" ? 4242 : 0},
            {"ExitCode", 0},
            {"Error", ""},
            {"StartedAt", "2024-05-01T10:00:00.000000000Z"},
            {"FinishedAt", "0001-01-01T00:00:00Z"}}}};
}

nlohmann::json ExecDocument() {
  return {{"ID", kExecId},
          {"Running", false},
          {"ExitCode", 0},
          {"ProcessConfig",
           {{"tty", false}, {"entrypoint", "true"}, {"arguments", nlohmann::json::array()}}},
          {"OpenStdin", false},
          {"OpenStderr", true},
          {"OpenStdout", true},
          {"CanRemove", false},
          {"ContainerID", kContainerId},
          {"DetachKeys", ""},
          {"Pid", 4243}};
}

// Complete frames on stdout and stderr; with `timestamps` each payload starts as a log entry's
// does with timestamps=1, each entry at its own time so that a resumed pass can tell them apart.
std::string CompleteFrames(bool timestamps = false) {
  auto at = [timestamps](int n) {
    return timestamps ? "2024-05-01T10:00:0" + std::to_string(n) + ".000000001Z " : std::string();
  };
  return MuxFrame(kMuxStdout, at(1) + "first line\n") + MuxFrame(kMuxStderr, at(2) + "an error\n") +
         MuxFrame(kMuxStdout, at(3) + "second line\n");
}
const std::string kCompleteStdout = "first line\nsecond line\n";
const std::string kCompleteStderr = "an error\n";

// The ways a multiplexed stream can end cleanly (at the end of the HTTP body) inside a frame.
struct Cut {
  const char* what;
  std::string bytes;
};
std::vector<Cut> Cuts() {
  return {
      {"a frame announcing 100 bytes of which 10 come", MuxHeader(kMuxStdout, 100) + "0123456789"},
      {"a frame announcing 0x7fffffff bytes", MuxHeader(kMuxStdout, 0x7fffffff) + "partial"},
      {"a frame header cut after 3 of its 8 bytes", MuxHeader(kMuxStdout, 5).substr(0, 3)},
  };
}

// "METHOD path?query" without the version prefix, as in the daemon's request log.
std::string Unversioned(const std::string& request) {
  static const std::regex kVersioned(R"(^([A-Z]+) /v[0-9]+\.[0-9]+(/.*)$)");
  std::smatch m;
  return std::regex_match(request, m, kVersioned) ? m[1].str() + " " + m[2].str() : request;
}

class FaultEngineTest : public ::testing::Test {
 protected:
  // Small, so that a reply over it is cheap to send.
  static constexpr size_t kReplyCap = 1 << 20;

  void SetUp() override {
    ASSERT_TRUE(fake_.listening()) << "the fake daemon has no socket";
    server::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.docker_host = fake_.address();
    // Only the probe at start-up: a periodic /_ping could open a connection in the middle of a
    // descriptor count.
    options.health_interval = std::chrono::hours(1);
    options.max_reply_bytes = ReplyCap();
    auto started = server::DocklineServer::Start(options);
    ASSERT_TRUE(started.ok()) << started.status().message();
    server_ = std::move(started.value());
    stub_ = v1::Dockline::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
    // Negotiates the API version and opens this test's gRPC connection before the baseline.
    ASSERT_NO_FATAL_FAILURE(ExpectServing());
    ASSERT_TRUE(PollUntil([&] { return fake_.OpenConnections() == 0; }, seconds(5)))
        << "docklined kept " << fake_.OpenConnections() << " connection(s) to the fake open";
    baseline_descriptors_ = OpenDescriptors();
    ASSERT_GT(baseline_descriptors_, 0);
  }

  virtual size_t ReplyCap() const { return kReplyCap; }

  void TearDown() override {
    // Before the fake: its handlers still blocked on a connection are released by this end.
    if (server_) {
      server_->Shutdown(milliseconds(1000));
      server_.reset();
    }
  }

  void ExpectServing() {
    TimedCall call(seconds(5));
    v1::GetEngineInfoResponse info;
    grpc::Status status = stub_->GetEngineInfo(call.context(), {}, &info);
    ASSERT_TRUE(status.ok()) << "GetEngineInfo after the fault: " << status.error_code() << " "
                             << status.error_message();
    EXPECT_EQ(info.api_version(), "1.41");
    EXPECT_EQ(info.engine_version(), "20.10.24");
  }

  // After a faulty call: docklined still serves, and every connection it opened is closed (the
  // fake sees both ends closed, and the process has the descriptors it had before).
  void ExpectRecovered() {
    ExpectServing();
    bool back = PollUntil(
        [&] { return fake_.OpenConnections() == 0 && OpenDescriptors() == baseline_descriptors_; },
        seconds(5));
    EXPECT_TRUE(back) << "connections open at the fake: " << fake_.OpenConnections()
                      << "; descriptors: " << OpenDescriptors() << ", " << baseline_descriptors_
                      << " before the call";
  }

  // The requests since `mark` (a count of Requests()), minus the engine's housekeeping, which
  // may come at any time.
  std::vector<std::string> EngineCallsSince(size_t mark) const {
    std::vector<std::string> calls;
    std::vector<std::string> all = fake_.Requests();
    for (size_t i = mark; i < all.size(); ++i) {
      std::string call = Unversioned(all[i]);
      if (call != "GET /_ping" && call != "HEAD /_ping" && call != "GET /version") {
        calls.push_back(std::move(call));
      }
    }
    return calls;
  }

  void ScriptInspect(const std::string& status) {
    fake_.On("GET", "/containers/[^/]+/json",
             [document = InspectDocument(status)](const FaultRequest&, FaultConnection& c) {
               c.RespondJson(200, document);
             });
  }

  // GET /containers/{id}/logs: a chunked 200 carrying `body`, ended cleanly.
  void ScriptLogs(const std::string& body) {
    fake_.On("GET", "/containers/[^/]+/logs",
             [body](const FaultRequest&, FaultConnection& c) { c.RespondChunked(200, {body}); });
  }

  // Exec create, a hijacked start whose stream is `output` (ended by EOF), and an inspect that
  // reports exit code 0.
  void ScriptExec(const std::string& output) {
    fake_.On("POST", "/containers/[^/]+/exec", [](const FaultRequest&, FaultConnection& c) {
      c.RespondJson(201, {{"Id", kExecId}});
    });
    fake_.On("POST", "/exec/[^/]+/start", [output](const FaultRequest&, FaultConnection& c) {
      if (c.Upgrade()) {
        c.Write(output);
      }
    });
    fake_.On("GET", "/exec/[^/]+/json",
             [](const FaultRequest&, FaultConnection& c) { c.RespondJson(200, ExecDocument()); });
  }

  Received StreamLogs(const v1::StreamLogsRequest& request, TimedCall* call) {
    auto reader = stub_->StreamLogs(call->context(), request);
    return Drain<v1::StreamLogsResponse>(*reader);
  }

  grpc::Status Inspect(TimedCall* call, v1::InspectContainerResponse* response = nullptr) {
    v1::InspectContainerRequest request;
    request.set_container(kContainer);
    v1::InspectContainerResponse ignored;
    return stub_->InspectContainer(call->context(), request, response ? response : &ignored);
  }

  v1::StreamLogsRequest LogsRequest(bool follow = false) const {
    v1::StreamLogsRequest request;
    request.set_container(kContainer);
    request.set_follow(follow);
    return request;
  }

  v1::ExecConfig ExecConfig() const {
    v1::ExecConfig config;
    config.set_container(kContainer);
    config.add_cmd("true");
    return config;
  }

  FaultDaemon fake_;
  std::unique_ptr<server::DocklineServer> server_;
  std::unique_ptr<v1::Dockline::Stub> stub_;
  int baseline_descriptors_ = -1;
};

// (a) A logs body that ends cleanly inside a frame lost output: what came before the cut reaches
// the client, then DATA_LOSS says so instead of an OK that passes a cut log off as complete.
TEST_F(FaultEngineTest, StreamLogsEndingInsideAFrameIsDataLoss) {
  ScriptInspect("exited");
  for (const Cut& cut : Cuts()) {
    SCOPED_TRACE(cut.what);
    ScriptLogs(CompleteFrames() + cut.bytes);
    const size_t mark = fake_.Requests().size();
    TimedCall call(seconds(5));
    Received received = StreamLogs(LogsRequest(), &call);
    call.ExpectEndedInTime();
    ExpectCutReported(received, kCompleteStdout, kCompleteStderr);
    // The container's document decides the framing, so it is read before the logs.
    EXPECT_THAT(EngineCallsSince(mark),
                ElementsAre("GET /containers/" + kContainer + "/json",
                            StartsWith("GET /containers/" + kContainerId + "/logs?")));
    ExpectRecovered();
  }
}

// (b) The same cut on an exec's hijacked stream, captured whole by ExecContainer.
TEST_F(FaultEngineTest, ExecContainerEndingInsideAFrameIsDataLoss) {
  for (const Cut& cut : Cuts()) {
    SCOPED_TRACE(cut.what);
    ScriptExec(CompleteFrames() + cut.bytes);
    const size_t mark = fake_.Requests().size();
    TimedCall call(seconds(5));
    v1::ExecContainerRequest request;
    *request.mutable_config() = ExecConfig();
    v1::ExecContainerResponse response;
    grpc::Status status = stub_->ExecContainer(call.context(), request, &response);
    call.ExpectEndedInTime();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS)
        << status.error_message() << " (exit code " << response.exit_code() << ", output \""
        << response.output() << "\")";
    EXPECT_THAT(status.error_message(), HasSubstr("frame"));
    std::vector<std::string> calls = EngineCallsSince(mark);
    ASSERT_GE(calls.size(), 2u);
    EXPECT_EQ(calls[0], "POST /containers/" + kContainer + "/exec");
    EXPECT_EQ(calls[1], "POST /exec/" + kExecId + "/start");
    ExpectRecovered();
  }
}

// (b) ... and relayed as it comes by StreamExec.
TEST_F(FaultEngineTest, StreamExecEndingInsideAFrameIsDataLoss) {
  for (const Cut& cut : Cuts()) {
    SCOPED_TRACE(cut.what);
    ScriptExec(CompleteFrames() + cut.bytes);
    TimedCall call(seconds(5));
    v1::StreamExecRequest request;
    *request.mutable_config() = ExecConfig();
    auto reader = stub_->StreamExec(call.context(), request);
    Received received = Drain<v1::StreamExecResponse>(*reader);
    call.ExpectEndedInTime();
    ExpectCutReported(received, kCompleteStdout, kCompleteStderr);
    ExpectRecovered();
  }
}

// (c) RunContainer's log pass ends inside a frame: the run ends with DATA_LOSS rather than OK,
// whichever pass (the follow, or the final one after the exit) the cut lands in.
TEST_F(FaultEngineTest, RunContainerLogPassEndingInsideAFrameIsDataLoss) {
  fake_.On("POST", "/containers/create", [](const FaultRequest&, FaultConnection& c) {
    c.RespondJson(201, {{"Id", kContainerId}, {"Warnings", nlohmann::json::array()}});
  });
  fake_.On("POST", "/containers/[^/]+/wait", [](const FaultRequest&, FaultConnection& c) {
    // A run ends only at the exit, so the container exits, at once.
    c.RespondChunked(200, {"{\"Error\":null,\"StatusCode\":0}\n"},
                     {{"Content-Type", "application/json"}});
  });
  fake_.On("POST", "/containers/[^/]+/start",
           [](const FaultRequest&, FaultConnection& c) { c.Respond(204, ""); });
  for (const Cut& cut : Cuts()) {
    SCOPED_TRACE(cut.what);
    ScriptLogs(CompleteFrames(/*timestamps=*/true) + cut.bytes);
    const size_t mark = fake_.Requests().size();
    TimedCall call(seconds(5));
    v1::RunContainerRequest request;
    request.mutable_spec()->set_image("busybox");
    request.mutable_spec()->add_command("true");
    request.set_pull(v1::PULL_POLICY_NEVER);  // the scripted daemon knows no images
    auto reader = stub_->RunContainer(call.context(), request);
    Received received = Drain<v1::RunContainerResponse>(*reader);
    call.ExpectEndedInTime();
    ExpectCutReported(received, kCompleteStdout, kCompleteStderr);
    std::vector<std::string> calls = EngineCallsSince(mark);
    ASSERT_GE(calls.size(), 4u);
    EXPECT_EQ(calls[0], "POST /containers/create");
    EXPECT_THAT(calls[1], StartsWith("POST /containers/" + kContainerId + "/wait?"));
    EXPECT_EQ(calls[2], "POST /containers/" + kContainerId + "/start");
    EXPECT_THAT(calls[3], StartsWith("GET /containers/" + kContainerId + "/logs?"));
    ExpectRecovered();
  }
}

// (d) A 200 whose body is not the version document is the daemon's fault, not the caller's:
// truncated JSON, no JSON at all, and JSON of the wrong shape.
TEST_F(FaultEngineTest, GarbageVersionDocumentIsInternal) {
  const auto bodies = std::make_shared<const std::vector<std::string>>(std::vector<std::string>{
      R"({"ApiVersion": )", "not json at all", R"({"ApiVersion": 1.41, "Version": null})"});
  // Switched on only now that docklined has started: it negotiates and warms up on the real one.
  auto garbage = std::make_shared<std::atomic<int>>(-1);
  fake_.On("GET", "/version", [bodies, garbage](const FaultRequest& r, FaultConnection& c) {
    const int index = garbage->load();
    if (index < 0) {
      return FaultDaemon::AnswerVersion(r, c);
    }
    c.Respond(200, (*bodies)[static_cast<size_t>(index)], {{"Content-Type", "application/json"}});
  });
  for (size_t i = 0; i < bodies->size(); ++i) {
    SCOPED_TRACE((*bodies)[i]);
    garbage->store(static_cast<int>(i));
    TimedCall call(seconds(5));
    v1::GetEngineInfoResponse info;
    grpc::Status status = stub_->GetEngineInfo(call.context(), {}, &info);
    call.ExpectEndedInTime();
    garbage->store(-1);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << status.error_message();
    ExpectRecovered();
  }
}

// (e) docklined caps container references at 256 bytes, so the 70,000 characters come from the
// daemon's message instead: with a NUL and invalid UTF-8 (a raw body that is not even JSON), and
// as valid JSON whose message holds an escaped NUL. The client must still get NOT_FOUND with a
// short, valid UTF-8 message, not a trailer gRPC refuses (RESOURCE_EXHAUSTED).
TEST_F(FaultEngineTest, AListingOverTheReplyCapIsResourceExhaustedNamingIt) {
  // A JSON array just over the cap, sent with a length and, as dockerd sends large listings,
  // chunked.
  const auto listing = std::make_shared<const std::string>("[" + std::string(kReplyCap, ' ') + "]");
  auto chunked = std::make_shared<std::atomic<bool>>(false);
  fake_.On("GET", "/containers/json", [listing, chunked](const FaultRequest&, FaultConnection& c) {
    if (*chunked) {
      c.RespondChunked(200, {listing->substr(0, 4096), listing->substr(4096)},
                       {{"Content-Type", "application/json"}});
    } else {
      c.Respond(200, *listing, {{"Content-Type", "application/json"}});
    }
  });
  for (bool use_chunks : {false, true}) {
    SCOPED_TRACE(use_chunks ? "chunked" : "Content-Length");
    chunked->store(use_chunks);
    TimedCall call(seconds(5));
    v1::ListContainersResponse response;
    grpc::Status status = stub_->ListContainers(call.context(), {}, &response);
    call.ExpectEndedInTime();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("over the 1048576-byte cap"));
    EXPECT_THAT(status.error_message(), HasSubstr("--max-reply-size"));
    ExpectRecovered();
  }
}

// (c) A valid reply just under the default 32 MiB cap, made of millions of small JSON values:
// parsing it takes hundreds of MiB in small blocks, which glibc keeps in the engine thread's
// arena after they are freed. That memory must go back to the system after the call.
class FaultEngineMemoryTest : public FaultEngineTest {
 protected:
  size_t ReplyCap() const override { return server::ServerOptions{}.max_reply_bytes; }
};

TEST_F(FaultEngineMemoryTest, MemoryOfALargeReplyIsReturnedAfterIt) {
#if DOCKLINE_UNDER_ASAN
  GTEST_SKIP() << "under ASan the sanitizer's allocator and quarantine decide RSS, not glibc";
#endif
  // One container in a listing, with a large member no decoder reads.
  std::string document = R"([{"Id":")" + kContainerId + R"(","Names":["/)" + kContainer +
                         R"("],"State":"running","Padding":[)";
  const std::string item = "{\"k\":1},";
  const size_t items = (24u << 20) / item.size();
  document.reserve(document.size() + items * item.size() + 8);
  for (size_t i = 0; i < items; ++i) document += item;
  document.back() = ']';
  document += "}]";
  ASSERT_LT(document.size(), ReplyCap());
  const auto body = std::make_shared<const std::string>(std::move(document));
  fake_.On("GET", "/containers/json", [body](const FaultRequest&, FaultConnection& c) {
    // Head and body written apart, so the fake makes no copy of the body in this process.
    c.Write(HttpHead(200, {{"Content-Type", "application/json"},
                           {"Content-Length", std::to_string(body->size())},
                           {"Connection", "close"}}));
    c.Write(*body);
  });

  const long before_kb = bench::RssKb(getpid());
  ASSERT_GT(before_kb, 0);
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    TimedCall call(seconds(60));
    v1::ListContainersResponse response;
    grpc::Status status = stub_->ListContainers(call.context(), {}, &response);
    ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    ASSERT_EQ(response.containers_size(), 1);
    EXPECT_EQ(response.containers(0).id(), kContainerId);
    ExpectRecovered();
  }
  // The engine thread trims after it has handed the reply on, so the client may see the reply
  // a moment before the memory is back.
  long after_kb = 0;
  const bool returned = PollUntil(
      [&] {
        after_kb = bench::RssKb(getpid());
        // Without the trim this stays 500+ MiB above; allow for gRPC's and the fake's buffers.
        return after_kb - before_kb < (64 << 10);
      },
      seconds(10));
  EXPECT_TRUE(returned) << "RSS " << before_kb << " KiB before two 24 MiB replies, still "
                        << after_kb << " KiB 10 s after";
}

TEST_F(FaultEngineTest, HugeNotFoundMessageStaysNotFoundBoundedAndUtf8) {
  std::string junk;
  while (junk.size() < 80000) {
    junk += "junk-\xc3\xa9-";  // 7 characters in 8 bytes: a cut by bytes may split the 'é'
  }
  junk.resize(80000);  // 70,000 characters
  const std::string prefix = "No such container: " + kContainer + " ";
  const std::vector<std::pair<const char*, std::string>> bodies = {
      {"raw NUL and invalid UTF-8",
       "{\"message\": \"" + prefix + junk + std::string(1, '\0') + "\xff\xfe\xc3\"}\n"},
      {"valid JSON with an escaped NUL",
       nlohmann::json{{"message", prefix + junk + std::string(1, '\0') + "\xc3\xbf"}}.dump() +
           "\n"},
  };
  for (const auto& [what, body] : bodies) {
    SCOPED_TRACE(what);
    fake_.On("GET", "/containers/[^/]+/json",
             [body = body](const FaultRequest&, FaultConnection& c) {
               c.Respond(404, body, {{"Content-Type", "application/json"}});
             });
    TimedCall call(seconds(5));
    grpc::Status status = Inspect(&call);
    call.ExpectEndedInTime();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
        << status.error_message().substr(0, 300);
    EXPECT_LE(status.error_message().size(), 8u << 10);
    EXPECT_TRUE(IsValidUtf8(status.error_message()));
    ExpectRecovered();
  }
}

// (f) A daemon that accepts the request and never answers: the client's deadline ends the call,
// and docklined closes the connection it was waiting on.
TEST_F(FaultEngineTest, HangingDaemonMeetsTheDeadline) {
  fake_.On("GET", "/containers/[^/]+/json",
           [](const FaultRequest&, FaultConnection& c) { c.Hang(); });
  TimedCall call(seconds(2));
  v1::InspectContainerResponse response;
  grpc::Status status = Inspect(&call, &response);
  call.ExpectEndedInTime();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  ExpectRecovered();
}

// (f) A reply that comes a byte at a time is still one reply.
TEST_F(FaultEngineTest, TrickledInspectReplyIsReadWhole) {
  const std::string document = InspectDocument("running").dump();
  fake_.On("GET", "/containers/[^/]+/json", [document](const FaultRequest&, FaultConnection& c) {
    c.Trickle(HttpResponse(200, document, {{"Content-Type", "application/json"}}), milliseconds(1));
  });
  TimedCall call(seconds(5));
  v1::InspectContainerResponse response;
  grpc::Status status = Inspect(&call, &response);
  call.ExpectEndedInTime();
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(response.container().id(), kContainerId);
  EXPECT_EQ(response.raw_json(), document);
  ExpectRecovered();
}

// (f) Logs bodies that break off: a chunk size line that is not hex (the body cannot be
// framed), and the connection closed half-way through a frame without the terminating chunk.
// Each fails at once with its own code rather than waiting for the deadline.
TEST_F(FaultEngineTest, BrokenLogsBodiesFailAtOnce) {
  ScriptInspect("exited");
  const std::string first = MuxFrame(kMuxStdout, "first line\n");
  const std::string second = MuxFrame(kMuxStdout, "second line\n");
  struct Break {
    const char* what;
    grpc::StatusCode code;
    FaultDaemon::Handler logs;
  };
  const std::vector<Break> breaks = {
      {"bad chunk size", grpc::StatusCode::INTERNAL,
       [first](const FaultRequest&, FaultConnection& c) {
         if (c.BeginChunked(200) && c.Chunk(first)) {
           c.Write("zz\r\nnot a chunk\r\n0\r\n\r\n");
         }
       }},
      {"closed mid-frame", grpc::StatusCode::UNAVAILABLE,
       [first, second](const FaultRequest&, FaultConnection& c) {
         if (c.BeginChunked(200)) {
           c.Chunk(first + second.substr(0, second.size() / 2));
         }
         c.Close();
       }},
  };
  for (const Break& b : breaks) {
    SCOPED_TRACE(b.what);
    fake_.On("GET", "/containers/[^/]+/logs", b.logs);
    TimedCall call(seconds(5));
    Received received = StreamLogs(LogsRequest(), &call);
    call.ExpectEndedInTime();
    EXPECT_EQ(received.status.error_code(), b.code) << received.status.error_message();
    ExpectRecovered();
  }
}

// (f) A follow the daemon keeps open and silent, cancelled by the client after a second: the
// call ends CANCELLED and docklined closes the daemon connection it was reading.
TEST_F(FaultEngineTest, CancelledSilentFollowClosesItsConnection) {
  ScriptInspect("running");
  fake_.On("GET", "/containers/[^/]+/logs", [](const FaultRequest& r, FaultConnection& c) {
    if (r.HasParam("follow=1") && c.BeginChunked(200) &&
        c.Chunk(MuxFrame(kMuxStdout, "first line\n"))) {
      c.Hang();
    }
  });
  TimedCall call(seconds(10));
  auto reader = stub_->StreamLogs(call.context(), LogsRequest(/*follow=*/true));
  v1::StreamLogsResponse message;
  ASSERT_TRUE(reader->Read(&message)) << "the first frame never arrived";
  EXPECT_EQ(message.output().data(), "first line\n");
  // The scenario, not synchronisation (the Read above is): a follow that has sat silent for a
  // second and is still open.
  std::this_thread::sleep_until(call.start() + seconds(1));
  EXPECT_EQ(fake_.Hanging(), 1) << "the follow is no longer open at the daemon";
  call.context()->TryCancel();
  while (reader->Read(&message)) {
  }
  grpc::Status status = reader->Finish();
  call.ExpectEndedInTime();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  ExpectRecovered();
}

// Sends the copy's target, then up to `pieces` pieces of 256 KiB (fewer once the server has
// ended the call), and half-closes.
grpc::Status Upload(v1::Dockline::Stub& stub, TimedCall* call, int pieces) {
  v1::CopyToContainerResponse response;
  auto writer = stub.CopyToContainer(call->context(), &response);
  v1::CopyToContainerRequest msg;
  msg.mutable_target()->set_container(kContainer);
  msg.mutable_target()->set_path("/nowhere");
  bool open = writer->Write(msg);
  msg.set_data(std::string(256 << 10, 't'));
  for (int i = 0; open && i < pieces; ++i) {
    open = writer->Write(msg);
  }
  writer->WritesDone();
  return writer->Finish();
}

// (f) An upload the daemon answers before reading its body, as dockerd answers a missing path:
// that answer is the call's, however much body was still to come, and the connection goes.
TEST_F(FaultEngineTest, UploadAnsweredBeforeItsBodyEndsWithThatAnswer) {
  fake_.On("PUT", "/containers/[^/]+/archive", [](const FaultRequest&, FaultConnection& c) {
    c.RespondJson(404, {{"message", "Could not find the file /nowhere in container c"}});
  });
  TimedCall call(seconds(10));
  grpc::Status status = Upload(*stub_, &call, 64);
  call.ExpectEndedInTime();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("/nowhere"));
  ExpectRecovered();
}

// (f) A daemon that takes an upload's head and then neither reads nor answers: the client's
// cancel ends the call, and docklined closes the connection its body was going to.
TEST_F(FaultEngineTest, CancelledUploadToAStuckDaemonClosesItsConnection) {
  fake_.On("PUT", "/containers/[^/]+/archive",
           [](const FaultRequest&, FaultConnection& c) { c.Hang(); });
  TimedCall call(seconds(10));
  std::thread cancel([&] {
    PollUntil([&] { return fake_.Hanging() == 1; }, seconds(5));
    call.context()->TryCancel();
  });
  // More than the socket buffers hold, so the body is still being written when the cancel comes.
  grpc::Status status = Upload(*stub_, &call, 64);
  cancel.join();
  call.ExpectEndedInTime();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  ExpectRecovered();
}

}  // namespace
}  // namespace dockline::testing
