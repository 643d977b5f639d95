#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "client/shlex.h"
#include "engine/demux.h"

namespace dockline::testing {

std::unique_ptr<server::DocklineServer> DaemonTest::server_;
std::shared_ptr<engine::DockerEngine> DaemonTest::daemon_;

std::string DaemonTest::DockerHost() {
  const char* host = std::getenv("DOCKER_HOST");
  return host != nullptr && *host != '\0' ? host : "unix:///var/run/docker.sock";
}

namespace {

std::string RunId() {
  static const std::string id = [] {
    std::random_device rd;
    return std::to_string(getpid()) + "-" + std::to_string(rd() % 100000);
  }();
  return id;
}

// A test that hangs is killed by ctest without a word. This one speaks first: past its limit
// (DOCKLINE_TEST_WATCHDOG seconds, default 270, under ctest's 300) it prints every thread's
// stack, through gdb when the machine has it, and aborts, so the hang can be read in the log.
class HangWatchdog : public ::testing::EmptyTestEventListener {
 public:
  HangWatchdog() {
    const char* env = std::getenv("DOCKLINE_TEST_WATCHDOG");
    state_->limit = std::chrono::seconds(env != nullptr ? std::atoi(env) : 270);
  }

  void OnTestStart(const ::testing::TestInfo& info) override {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->name = std::string(info.test_suite_name()) + "." + info.name();
    ++state_->generation;
    state_->running = true;
    if (!state_->watching && state_->limit.count() > 0) {
      state_->watching = true;
      std::thread([state = state_] { Watch(state); }).detach();
    }
    state_->cv.notify_all();
  }

  void OnTestEnd(const ::testing::TestInfo&) override {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->running = false;
    state_->cv.notify_all();
  }

 private:
  // Lives as long as the process: the watching thread is detached and outlives gtest's
  // listeners.
  struct State {
    std::chrono::seconds limit{0};
    std::mutex mu;
    std::condition_variable cv;
    std::string name;
    uint64_t generation = 0;
    bool running = false;
    bool watching = false;
  };

  static void Watch(State* state) {
    std::unique_lock<std::mutex> lock(state->mu);
    for (;;) {
      state->cv.wait(lock, [state] { return state->running; });
      const uint64_t generation = state->generation;
      if (state->cv.wait_for(lock, state->limit,
                             [&] { return !state->running || state->generation != generation; })) {
        continue;
      }
      const std::string pid = std::to_string(getpid());
      std::fprintf(stderr, "\n*** %s is still running after %lld s: thread stacks follow\n",
                   state->name.c_str(), static_cast<long long>(state->limit.count()));
      std::fflush(stderr);
      if (std::system("command -v gdb >/dev/null") != 0 ||
          std::system(("gdb -p " + pid + " -batch -ex 'thread apply all bt' 1>&2").c_str()) != 0) {
        std::fprintf(stderr, "(no gdb here; the kernel's view of each thread follows)\n");
        std::system(("for t in /proc/" + pid +
                     "/task/*; do echo \"$t $(cat $t/comm) $(cat $t/wchan)\"; done 1>&2")
                        .c_str());
      }
      std::abort();
    }
  }

  static State* Shared() {
    static State* const state = new State;  // never freed: see State
    return state;
  }

  State* state_ = Shared();
};

[[maybe_unused]] const bool kWatchdogInstalled = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new HangWatchdog);
  return true;
}();

}  // namespace

void DaemonTest::SetUpTestSuite() {
  if (server_) {
    return;
  }
  engine::DockerEngineOptions options;
  options.docker_host = DockerHost();
  auto engine = engine::DockerEngine::Create(options);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  daemon_ = engine.value();
  ASSERT_TRUE(DaemonPing()) << "no Docker daemon answers at " << DockerHost()
                            << ": start one with tests/engine/test-engine.sh start and export "
                               "the DOCKER_HOST it prints (scripts/test.sh does both)";
  server::ServerOptions server_options;
  server_options.listen = "127.0.0.1:0";
  server_options.docker_host = DockerHost();
  auto server = server::DocklineServer::Start(server_options);
  ASSERT_TRUE(server.ok()) << server.status().message();
  server_ = std::move(server.value());
}

void DaemonTest::TearDownTestSuite() {
  // Everything this run labelled goes, running or not.
  if (daemon_) {
    engine::ApiRequest list("GET", "/containers/json");
    list.Query("all", "1")
        .Query("filters", nlohmann::json{{"label", {LabelKey() + "=" + LabelValue()}}}.dump());
    auto res = Daemon(list);
    if (res.ok()) {
      auto j = nlohmann::json::parse(res->body, nullptr, false);
      if (j.is_array()) {
        for (const auto& c : j) {
          if (c.contains("Id") && c["Id"].is_string()) {
            engine::ApiRequest del("DELETE", "/containers/" + c["Id"].get<std::string>());
            del.Query("force", "1").Query("v", "1");
            Daemon(del);
          }
        }
      }
    }
  }
  if (server_) {
    server_->Shutdown(std::chrono::milliseconds(2000));
    server_.reset();
  }
  if (daemon_) {
    daemon_->Shutdown();
    daemon_.reset();
  }
}

void DaemonTest::SetUp() {
  ASSERT_TRUE(server_) << "the test server did not start";
  stub_ = v1::Dockline::NewStub(
      grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
}

void DaemonTest::TearDown() {}

std::string DaemonTest::Image() {
  const char* image = std::getenv("DOCKLINE_TEST_IMAGE");
  return image != nullptr && *image != '\0' ? image : "dockline-test/busybox:latest";
}

std::string DaemonTest::LabelValue() { return RunId(); }

std::string DaemonTest::UniqueName(const std::string& hint) {
  static std::atomic<int> counter{0};
  return "dl-" + hint + "-" + RunId() + "-" + std::to_string(counter++);
}

std::string DaemonTest::ServerAddress() { return server_ ? server_->address() : ""; }

v1::ContainerSpec DaemonTest::Spec(std::vector<std::string> command) {
  v1::ContainerSpec spec;
  spec.set_image(Image());
  for (auto& arg : command) {
    spec.add_command(arg);
  }
  spec.set_network("none");
  (*spec.mutable_labels())[LabelKey()] = LabelValue();
  return spec;
}

grpc::Status DaemonTest::Create(const v1::ContainerSpec& spec, std::string* id) {
  v1::CreateContainerRequest req;
  *req.mutable_spec() = spec;
  v1::CreateContainerResponse resp;
  auto ctx = Context();
  grpc::Status st = stub().CreateContainer(ctx.get(), req, &resp);
  if (st.ok()) {
    *id = resp.id();
  }
  return st;
}

std::string DaemonTest::CreateAndStart(const v1::ContainerSpec& spec) {
  std::string id;
  grpc::Status st = Create(spec, &id);
  if (!st.ok()) {
    ADD_FAILURE() << "CreateContainer: " << st.error_code() << " " << st.error_message();
    return "";
  }
  v1::StartContainerRequest start;
  start.set_container(id);
  v1::StartContainerResponse started;
  auto ctx = Context();
  st = stub().StartContainer(ctx.get(), start, &started);
  if (!st.ok()) {
    ADD_FAILURE() << "StartContainer: " << st.error_code() << " " << st.error_message();
    return "";
  }
  return id;
}

std::unique_ptr<grpc::ClientContext> DaemonTest::Context(std::chrono::milliseconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

int DaemonTest::DaemonGoroutines() {
  auto res = Daemon(engine::ApiRequest("GET", "/info"));
  if (!res.ok()) {
    return -1;
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.contains("NGoroutines") || !j["NGoroutines"].is_number_integer()) {
    return -1;
  }
  return j["NGoroutines"].get<int>();
}

DaemonTest::DaemonLogs DaemonTest::Logs(const std::string& id) {
  DaemonLogs logs;
  auto inspect = DaemonInspect(id);
  if (!inspect.is_object()) {
    return logs;
  }
  bool tty = inspect["Config"].value("Tty", false);
  engine::ApiRequest req("GET", "/containers/" + id + "/logs");
  req.Query("stdout", "1").Query("stderr", "1");
  if (!tty) {
    req.Query("timestamps", "1");
  }
  auto res = Daemon(req);
  if (!res.ok()) {
    return logs;
  }
  if (tty) {
    // One raw stream: stdout and stderr merged, no frames.
    logs.stdout_data = res->body;
    logs.entries.push_back(LogEntry{false, "", res->body});
    logs.ok = true;
    return logs;
  }
  auto split = [](std::string_view payload, LogEntry* entry) {
    size_t space = payload.find(' ');
    if (space == std::string_view::npos) {
      entry->data = std::string(payload);
      return;
    }
    entry->timestamp = std::string(payload.substr(0, space));
    entry->data = std::string(payload.substr(space + 1));
  };
  engine::FrameDemuxer demux;
  std::string frame;
  bool frame_stderr = false;
  engine::Status st = demux.FeedPieces(res->body, [&](const engine::PayloadPiece& piece) {
    if (piece.frame_start) {
      frame.clear();
    }
    frame.append(piece.data);
    frame_stderr = piece.kind == engine::StreamKind::kStderr;
    if (piece.frame_end) {
      LogEntry entry;
      entry.stderr_stream = frame_stderr;
      split(frame, &entry);
      (entry.stderr_stream ? logs.stderr_data : logs.stdout_data) += entry.data;
      logs.entries.push_back(std::move(entry));
    }
  });
  logs.ok = st.ok() && demux.AtFrameBoundary();
  return logs;
}

int OpenDescriptors(pid_t pid) {
  int count = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
       !ec && it != end; it.increment(ec)) {
    ++count;
  }
  return ec ? -1 : count;
}

bool PollUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (done()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= end) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool DaemonTest::PollUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  return dockline::testing::PollUntil(done, limit);
}

engine::Result<engine::ApiResponse> DaemonTest::Daemon(engine::ApiRequest request) {
  std::promise<engine::Result<engine::ApiResponse>> promise;
  auto future = promise.get_future();
  if (request.timeout.count() == 0) {
    request.timeout = std::chrono::seconds(60);
  }
  daemon_->Unary(std::move(request), [&promise](engine::Result<engine::ApiResponse> res) {
    promise.set_value(std::move(res));
  });
  return future.get();
}

nlohmann::json DaemonTest::DaemonInspect(const std::string& id) {
  auto res = Daemon(engine::ApiRequest("GET", "/containers/" + id + "/json"));
  if (!res.ok()) {
    return nullptr;
  }
  return nlohmann::json::parse(res->body, nullptr, false);
}

bool DaemonTest::DaemonPing() {
  std::promise<engine::Status> promise;
  auto future = promise.get_future();
  daemon_->Ping([&promise](engine::Status st) { promise.set_value(st); });
  return future.get().ok();
}

DaemonTest::RunOutput DaemonTest::Run(const v1::RunContainerRequest& request) {
  RunOutput out;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(4));
  auto reader = stub().RunContainer(&ctx, request);
  v1::RunContainerResponse msg;
  while (reader->Read(&msg)) {
    if (msg.has_started()) {
      out.sequence.push_back('s');
      out.id = msg.started().id();
      out.warnings.assign(msg.started().warnings().begin(), msg.started().warnings().end());
    } else if (msg.has_output()) {
      out.sequence.push_back('o');
      ++out.output_messages;
      (msg.output().stream() == v1::STREAM_STDERR ? out.stderr_data : out.stdout_data) +=
          msg.output().data();
      out.chunks.push_back(msg.output());
    } else if (msg.has_exited()) {
      out.sequence.push_back('x');
      out.exited = true;
      out.exit_code = msg.exited().exit_code();
      out.exit_error = msg.exited().error();
      out.removed = msg.exited().removed();
    } else if (msg.has_pull()) {
      out.sequence.push_back('p');
      out.pull.push_back(msg.pull());
    } else {
      out.sequence.push_back('?');
    }
  }
  out.status = reader->Finish();
  return out;
}

std::string ReadmeText() {
  std::ifstream in(std::string(DOCKLINE_SOURCE_DIR) + "/README.md");
  std::stringstream readme;
  readme << in.rdbuf();
  return readme.str();
}

std::string ShBlockAfter(const std::string& readme, const std::string& marker) {
  size_t at = readme.find(marker);
  if (at == std::string::npos) {
    return "";
  }
  size_t start = readme.find("```sh\n", at);
  size_t end = start == std::string::npos ? start : readme.find("\n```", start);
  if (start == std::string::npos || end == std::string::npos) {
    return "";
  }
  start += 6;
  return readme.substr(start, end - start + 1);
}

void ReplaceAll(std::string* text, const std::string& from, const std::string& to) {
  for (size_t at = text->find(from); at != std::string::npos; at = text->find(from, at)) {
    text->replace(at, from.size(), to);
    at += to.size();
  }
}

std::vector<ReadmeCommand> ReadmeCommands(const std::string& block) {
  auto trim = [](std::string text) {
    text.erase(0, text.find_first_not_of(" \t"));
    text.erase(text.find_last_not_of(" \t") + 1);
    return text;
  };
  std::vector<ReadmeCommand> commands;
  std::string command;
  std::string then;
  std::string comment;
  std::string* into = &command;
  char quote = 0;
  auto finish = [&] {
    if (!trim(command).empty()) {
      auto argv = client::ShlexSplit(command);
      EXPECT_TRUE(argv.ok()) << command;
      commands.push_back({argv.value, trim(then), trim(comment)});
    }
    command.clear();
    then.clear();
    comment.clear();
    into = &command;
  };
  for (size_t i = 0; i < block.size(); ++i) {
    const char c = block[i];
    if (quote != 0) {
      quote = c == quote ? 0 : quote;
      into->push_back(c);
    } else if (c == '\\' && i + 1 < block.size() && block[i + 1] == '\n') {
      into->push_back(' ');
      ++i;
    } else if (c == '\n') {
      finish();
    } else if (into != &comment && c == '#' && (i == 0 || block[i - 1] == ' ')) {
      into = &comment;
    } else if (into == &command && c == ';') {
      into = &then;
    } else {
      if (into != &comment && (c == '\'' || c == '"')) {
        quote = c;
      }
      into->push_back(c);
    }
  }
  finish();
  return commands;
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool AcceptsOnLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/dl-it-XXXXXX";
  char* dir = mkdtemp(tmpl);
  if (dir == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return;
  }
  path_ = dir;
}

TempDir::~TempDir() {
  if (!path_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

void TempDir::Write(const std::string& name, const std::string& content) const {
  std::ofstream out(path_ + "/" + name, std::ios::binary);
  out << content;
}

std::string TempDir::Read(const std::string& name) const {
  std::ifstream in(path_ + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env) {
  CommandResult result;
  char out_tmpl[] = "/tmp/dlcmd-out-XXXXXX";
  char err_tmpl[] = "/tmp/dlcmd-err-XXXXXX";
  int out_fd = mkstemp(out_tmpl);
  int err_fd = mkstemp(err_tmpl);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    for (const auto& e : extra_env) {
      putenv(const_cast<char*>(e.c_str()));
    }
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  result.out = slurp(out_tmpl);
  result.err = slurp(err_tmpl);
  close(out_fd);
  close(err_fd);
  unlink(out_tmpl);
  unlink(err_tmpl);
  return result;
}

}  // namespace dockline::testing
