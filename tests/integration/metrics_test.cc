// docklined --metrics-listen and --log-format json, as a process against the test engine:
// what a scrape says about the calls made, and that every log line is a JSON object.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;

// GET /metrics over loopback; the body, or "" when the server did not answer 200.
std::string Scrape(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return "";
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[8192];
      ssize_t n = 0;
      while ((n = read(fd, buf, sizeof(buf))) > 0) {
        reply.append(buf, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  const size_t body = reply.find("\r\n\r\n");
  if (reply.rfind("HTTP/1.", 0) != 0 || reply.find(" 200 ") > reply.find("\r\n") ||
      body == std::string::npos) {
    return "";
  }
  return reply.substr(body + 4);
}

// "name{labels}" -> value, for every sample line of a scrape.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t space = line.rfind(' ');
    if (line.empty() || line[0] == '#' || space == std::string::npos) {
      continue;
    }
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

std::string Calls(const std::string& method, const std::string& code) {
  return "dockline_rpc_calls_total{code=\"" + code + "\",method=\"dockline.v1.Dockline/" + method +
         "\"}";
}

std::string ByMethod(const std::string& name, const std::string& method) {
  return name + "{method=\"dockline.v1.Dockline/" + method + "\"}";
}

double Value(const std::map<std::string, double>& samples, const std::string& key) {
  auto it = samples.find(key);
  return it == samples.end() ? -1 : it->second;
}

// Every line parsed as a JSON object; a failure names the line.
std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << "not a JSON object: " << line;
    if (j.is_object()) {
      for (const char* field : {"time", "level", "logger", "msg"}) {
        EXPECT_TRUE(j.contains(field) && j[field].is_string()) << field << " in " << line;
      }
      out.push_back(std::move(j));
    }
  }
  return out;
}

class MetricsTest : public DaemonTest {
 protected:
  // docklined on a Unix socket of its own, stdout and stderr each to a file of dir_.
  void Spawn(std::vector<std::string> args) {
    socket_ = "unix://" + dir_.path() + "/d.sock";
    args.insert(args.begin(), {DOCKLINED_PATH, "--listen", socket_});
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const std::string out = dir_.path() + "/out.log";
    const std::string err = dir_.path() + "/err.log";
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&files, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_EQ(posix_spawn(&pid_, argv[0], &files, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&files);
    docklined_ =
        v1::Dockline::NewStub(grpc::CreateChannel(socket_, grpc::InsecureChannelCredentials()));
  }

  // SIGTERM, then the exit status.
  int Stop() {
    int status = -1;
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    return status;
  }

  void TearDown() override {
    Stop();
    DaemonTest::TearDown();
  }

  // The port from docklined's "metrics at http://127.0.0.1:PORT/metrics" line; 0 until then.
  int MetricsPort() {
    std::istringstream lines(dir_.Read("out.log"));
    std::string line;
    const std::string prefix = "metrics at http://127.0.0.1:";
    while (std::getline(lines, line)) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j["msg"].is_string()) {
        const std::string msg = j["msg"];
        if (msg.rfind(prefix, 0) == 0) {
          return std::atoi(msg.c_str() + prefix.size());
        }
      }
    }
    return 0;
  }

  TempDir dir_;
  std::string socket_;
  pid_t pid_ = -1;
  std::unique_ptr<v1::Dockline::Stub> docklined_;
};

TEST_F(MetricsTest, ScrapeCountsCallsStreamsAndEngineErrors) {
  Spawn({"--metrics-listen", "127.0.0.1:0", "--log-format", "json"});
  int port = 0;
  ASSERT_TRUE(PollUntil([&] { return (port = MetricsPort()) > 0; }, std::chrono::seconds(20)))
      << dir_.Read("out.log") << dir_.Read("err.log");
  // The daemon's first ping decides the gauge; no RPC is made before the ones counted below.
  EXPECT_TRUE(
      PollUntil([&] { return Value(Samples(Scrape(port)), "dockline_daemon_reachable") == 1; },
                std::chrono::seconds(20)))
      << Scrape(port);
  const auto before = Samples(Scrape(port));
  EXPECT_EQ(Value(before, Calls("GetEngineInfo", "OK")), 0) << "every method is there from start";
  const double not_found_before = Value(before, "dockline_engine_errors_total{code=\"not_found\"}");
  EXPECT_GE(not_found_before, 0);

  v1::GetEngineInfoRequest info_req;
  v1::GetEngineInfoResponse info;
  ASSERT_TRUE(docklined_->GetEngineInfo(Context().get(), info_req, &info).ok());

  v1::InspectContainerRequest inspect_req;
  inspect_req.set_container(UniqueName("missing"));
  v1::InspectContainerResponse inspect;
  EXPECT_EQ(docklined_->InspectContainer(Context().get(), inspect_req, &inspect).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // A finished container's log, read whole: StreamLogs ends OK having sent its lines.
  std::string id;
  {
    v1::CreateContainerRequest req;
    *req.mutable_spec() = Spec({"sh", "-c", "echo metrics-one; echo metrics-two"});
    v1::CreateContainerResponse resp;
    ASSERT_TRUE(docklined_->CreateContainer(Context().get(), req, &resp).ok());
    id = resp.id();
    v1::StartContainerRequest start;
    start.set_container(id);
    v1::StartContainerResponse started;
    ASSERT_TRUE(docklined_->StartContainer(Context().get(), start, &started).ok());
    v1::WaitContainerRequest wait;
    wait.set_container(id);
    v1::WaitContainerResponse waited;
    ASSERT_TRUE(docklined_->WaitContainer(Context().get(), wait, &waited).ok());
  }
  {
    v1::StreamLogsRequest req;
    req.set_container(id);
    auto ctx = Context();
    auto reader = docklined_->StreamLogs(ctx.get(), req);
    v1::StreamLogsResponse msg;
    int messages = 0;
    while (reader->Read(&msg)) {
      ++messages;
    }
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_GT(messages, 0);
  }

  const auto after = Samples(Scrape(port));
  EXPECT_EQ(Value(after, Calls("GetEngineInfo", "OK")), 1);
  EXPECT_EQ(Value(after, Calls("InspectContainer", "NOT_FOUND")), 1);
  EXPECT_EQ(Value(after, Calls("InspectContainer", "OK")), 0);
  EXPECT_EQ(Value(after, Calls("CreateContainer", "OK")), 1);
  EXPECT_EQ(Value(after, Calls("StreamLogs", "OK")), 1);
  EXPECT_EQ(Value(after, ByMethod("dockline_rpc_duration_seconds_count", "GetEngineInfo")), 1);
  EXPECT_EQ(Value(after, ByMethod("dockline_rpc_duration_seconds_count", "StreamLogs")), 1);
  EXPECT_EQ(Value(after, ByMethod("dockline_sent_bytes_total", "GetEngineInfo")),
            static_cast<double>(info.ByteSizeLong()));
  EXPECT_GT(Value(after, ByMethod("dockline_sent_bytes_total", "StreamLogs")),
            static_cast<double>(std::string("metrics-one\nmetrics-two\n").size()));
  EXPECT_EQ(Value(after, ByMethod("dockline_active_streams", "StreamLogs")), 0);
  EXPECT_EQ(Value(after, ByMethod("dockline_active_streams", "GetEngineInfo")), -1)
      << "unary methods have no stream gauge";
  EXPECT_GE(Value(after, "dockline_engine_errors_total{code=\"not_found\"}"), not_found_before + 1)
      << "the daemon's 404 for the inspect";

  // A follow stream is open while it is open.
  {
    std::string sleeper;
    v1::CreateContainerRequest req;
    *req.mutable_spec() = Spec({"sleep", "60"});
    v1::CreateContainerResponse resp;
    ASSERT_TRUE(docklined_->CreateContainer(Context().get(), req, &resp).ok());
    sleeper = resp.id();
    v1::StartContainerRequest start;
    start.set_container(sleeper);
    v1::StartContainerResponse started;
    ASSERT_TRUE(docklined_->StartContainer(Context().get(), start, &started).ok());
    v1::StreamLogsRequest logs;
    logs.set_container(sleeper);
    logs.set_follow(true);
    auto ctx = Context();
    auto reader = docklined_->StreamLogs(ctx.get(), logs);
    const std::string open = ByMethod("dockline_active_streams", "StreamLogs");
    EXPECT_TRUE(PollUntil([&] { return Value(Samples(Scrape(port)), open) == 1; },
                          std::chrono::seconds(20)))
        << Scrape(port);
    ctx->TryCancel();
    reader->Finish();
    EXPECT_TRUE(PollUntil([&] { return Value(Samples(Scrape(port)), open) == 0; },
                          std::chrono::seconds(20)))
        << Scrape(port);
    EXPECT_TRUE(PollUntil(
        [&] { return Value(Samples(Scrape(port)), Calls("StreamLogs", "CANCELLED")) == 1; },
        std::chrono::seconds(20)))
        << Scrape(port);
  }

  EXPECT_EQ(Stop(), 0);
  // Every line docklined wrote, on either stream, is one JSON object with the four fields.
  const std::string out = dir_.Read("out.log");
  const std::string err = dir_.Read("err.log");
  const auto lines = JsonLines(out + err);
  EXPECT_GE(lines.size(), 3u) << out << err;
  bool serving = false;
  for (const auto& line : lines) {
    serving = serving || line["msg"].get<std::string>().rfind("docklined ", 0) == 0;
    EXPECT_THAT(line["logger"].get<std::string>(), ::testing::AnyOf("docklined", "grpc"));
  }
  EXPECT_TRUE(serving) << out;
}

TEST_F(MetricsTest, NonLoopbackMetricsListenIsRefused) {
  for (const char* address : {"0.0.0.0:0", "192.0.2.10:9464"}) {
    CommandResult r = RunCommand({"timeout", "60", DOCKLINED_PATH, "--listen",
                                  "unix://" + dir_.path() + "/refused.sock", "--metrics-listen",
                                  address, "--log-format", "json"});
    EXPECT_EQ(r.exit_code, 1) << address;
    EXPECT_THAT(r.out + r.err, HasSubstr("refusing to serve metrics on " + std::string(address)));
    EXPECT_THAT(r.out + r.err, HasSubstr("--allow-insecure-remote"));
    // Refused before anything is bound, in the format asked for.
    for (const auto& line : JsonLines(r.out + r.err)) {
      EXPECT_EQ(line["level"], "critical");
    }
  }
  CommandResult odd =
      RunCommand({"timeout", "60", DOCKLINED_PATH, "--listen",
                  "unix://" + dir_.path() + "/refused.sock", "--metrics-listen", "9464"});
  EXPECT_EQ(odd.exit_code, 1);
  EXPECT_THAT(odd.out + odd.err, HasSubstr("expected host:port"));
  EXPECT_FALSE(PollUntil([&] { return access((dir_.path() + "/refused.sock").c_str(), F_OK) == 0; },
                         std::chrono::milliseconds(100)))
      << "nothing was bound";
}

}  // namespace
}  // namespace dockline::testing
