// Hostile container and exec references against the real daemon (issue 9 point 5): dockline talks
// to dockerd through a recording Unix-socket proxy, every RPC that takes a reference is sent each
// id, and the answer must be INVALID_ARGUMENT (naming the field) or the daemon's NOT_FOUND, while
// the daemon saw nothing but /_ping, /version and that RPC's own endpoints with the id as one
// escaped path segment. dockerd unescapes paths before routing and redirects to the cleaned path,
// so an id that escaped its segment would show up here as another endpoint.

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/url.h"
#include "harness.h"

namespace dockline::testing {
namespace {

// Frames one client->daemon byte stream into requests and reports each request line's
// "METHOD target". Bodies are skipped by Content-Length or chunked framing, so a request that
// follows a body on a keep-alive connection is still seen. After a request asking for an upgrade
// the bytes are a process's stdin and are not parsed; anything unparseable is reported as
// "unparsed: ...", which no check accepts.
class RequestFramer {
 public:
  explicit RequestFramer(std::function<void(std::string)> report) : report_(std::move(report)) {}

  void Feed(std::string_view bytes) {
    buffer_.append(bytes);
    while (Step()) {
    }
  }

 private:
  enum class State { kHead, kBody, kChunkSize, kChunkData, kTrailers, kRaw };

  static constexpr size_t kMaxHead = 64 << 10;

  // One state's worth of progress; false when more bytes are needed.
  bool Step() {
    switch (state_) {
      case State::kHead: {
        size_t end = buffer_.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (buffer_.size() > kMaxHead) {
            Fail("a request head over 64 KiB");
          }
          return false;
        }
        std::string head = buffer_.substr(0, end);
        buffer_.erase(0, end + 4);
        ParseHead(head);
        return true;
      }
      case State::kBody:
      case State::kChunkData: {
        size_t n = std::min(remaining_, buffer_.size());
        buffer_.erase(0, n);
        remaining_ -= n;
        if (remaining_ > 0) {
          return false;
        }
        state_ = state_ == State::kBody ? after_body_ : State::kChunkSize;
        return true;
      }
      case State::kChunkSize: {
        size_t eol = buffer_.find("\r\n");
        if (eol == std::string::npos) {
          return false;
        }
        std::string line = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 2);
        size_t size = 0;
        auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
        if (ec != std::errc() || ptr == line.data()) {
          Fail("a chunk size of \"" + line + "\"");
          return false;
        }
        if (size == 0) {
          state_ = State::kTrailers;
        } else {
          remaining_ = size + 2;  // the data and its CRLF
          state_ = State::kChunkData;
        }
        return true;
      }
      case State::kTrailers: {
        size_t eol = buffer_.find("\r\n");
        if (eol == std::string::npos) {
          return false;
        }
        buffer_.erase(0, eol + 2);
        if (eol == 0) {
          state_ = after_body_;
        }
        return true;
      }
      case State::kRaw:
        buffer_.clear();
        return false;
    }
    return false;
  }

  void ParseHead(const std::string& head) {
    size_t eol = head.find("\r\n");
    std::string line = head.substr(0, eol);
    size_t first = line.find(' ');
    size_t last = line.rfind(' ');
    if (first == std::string::npos || first == last ||
        !std::string_view(line).substr(last + 1).starts_with("HTTP/")) {
      return Fail("a request line of \"" + line + "\"");
    }
    report_(line.substr(0, last));
    size_t length = 0;
    bool chunked = false;
    bool upgrade = false;
    size_t pos = eol == std::string::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
      size_t end = head.find("\r\n", pos);
      if (end == std::string::npos) {
        end = head.size();
      }
      std::string header = head.substr(pos, end - pos);
      pos = end + 2;
      size_t colon = header.find(':');
      if (colon == std::string::npos) {
        return Fail("a header line of \"" + header + "\"");
      }
      std::string name = header.substr(0, colon);
      std::string value = header.substr(colon + 1);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      std::transform(value.begin(), value.end(), value.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      value.erase(0, value.find_first_not_of(' '));
      if (name == "content-length") {
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
        if (ec != std::errc() || ptr != value.data() + value.size()) {
          return Fail("a Content-Length of \"" + value + "\"");
        }
      } else if (name == "transfer-encoding") {
        chunked = value.find("chunked") != std::string::npos;
      } else if (name == "upgrade") {
        upgrade = true;
      }
    }
    after_body_ = upgrade ? State::kRaw : State::kHead;
    if (chunked) {
      state_ = State::kChunkSize;
    } else if (length > 0) {
      remaining_ = length;
      state_ = State::kBody;
    } else {
      state_ = after_body_;
    }
  }

  void Fail(const std::string& why) {
    report_("unparsed: " + why);
    state_ = State::kRaw;
    buffer_.clear();
  }

  std::function<void(std::string)> report_;
  std::string buffer_;
  State state_ = State::kHead;
  State after_body_ = State::kHead;
  size_t remaining_ = 0;
};

int ConnectUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// A pass-through proxy on a Unix socket in front of the daemon's, recording every request that
// goes through it, in order, before the daemon sees it.
class RecordingProxy {
 public:
  // Listens on `listen_path`; each connection is relayed to a new one to `upstream_path`.
  RecordingProxy(std::string listen_path, std::string upstream_path)
      : listen_path_(std::move(listen_path)), upstream_path_(std::move(upstream_path)) {
    stop_fd_ = eventfd(0, EFD_CLOEXEC);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (stop_fd_ < 0 || listen_path_.size() >= sizeof(addr.sun_path)) {
      return;
    }
    std::memcpy(addr.sun_path, listen_path_.c_str(), listen_path_.size() + 1);
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 64) != 0) {
      return;
    }
    listening_ = true;
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~RecordingProxy() {
    if (stop_fd_ >= 0) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(stop_fd_, &one, sizeof(one));
    }
    if (acceptor_.joinable()) {
      acceptor_.join();
    }
    std::vector<std::thread> relays;
    {
      std::lock_guard<std::mutex> lock(mu_);
      relays.swap(relays_);
    }
    for (std::thread& relay : relays) {
      relay.join();
    }
    if (listen_fd_ >= 0) {
      close(listen_fd_);
    }
    if (stop_fd_ >= 0) {
      close(stop_fd_);
    }
    unlink(listen_path_.c_str());
  }

  bool listening() const { return listening_; }
  std::string address() const { return "unix://" + listen_path_; }

  // "METHOD target" of every request so far.
  std::vector<std::string> Requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Record(std::string request) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(std::move(request));
  }

  void AcceptLoop() {
    while (true) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        return;
      }
      if (fds[1].revents != 0) {
        return;
      }
      int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      relays_.emplace_back([this, client] { Relay(client); });
    }
  }

  void Relay(int client) {
    int upstream = ConnectUnix(upstream_path_);
    if (upstream < 0) {
      Record("unparsed: the daemon's socket " + upstream_path_ + " did not answer");
      close(client);
      return;
    }
    RequestFramer framer([this](std::string request) { Record(std::move(request)); });
    std::vector<char> buffer(64 << 10);
    while (true) {
      pollfd fds[3] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (poll(fds, 3, -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        break;
      }
      if (fds[2].revents != 0) {
        break;
      }
      if (fds[0].revents != 0) {
        ssize_t n = read(client, buffer.data(), buffer.size());
        if (n <= 0) {
          break;
        }
        // Recorded before it is forwarded: a request is on the list before its reply exists.
        framer.Feed(std::string_view(buffer.data(), static_cast<size_t>(n)));
        if (!SendAll(upstream, buffer.data(), static_cast<size_t>(n))) {
          break;
        }
      }
      if (fds[1].revents != 0) {
        ssize_t n = read(upstream, buffer.data(), buffer.size());
        if (n <= 0 || !SendAll(client, buffer.data(), static_cast<size_t>(n))) {
          break;
        }
      }
    }
    close(client);
    close(upstream);
  }

  const std::string listen_path_;
  const std::string upstream_path_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  bool listening_ = false;
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> relays_;
  std::vector<std::string> requests_;
};

// The path of a recorded "METHOD target", without the query and the "/v1.xx" prefix.
std::string RecordedPath(const std::string& request) {
  size_t space = request.find(' ');
  std::string target = space == std::string::npos ? request : request.substr(space + 1);
  target = target.substr(0, target.find('?'));
  static const std::regex kVersioned(R"(^/v[0-9]+\.[0-9]+(/.*)$)");
  std::smatch m;
  return std::regex_match(target, m, kVersioned) ? m[1].str() : target;
}

// The engine's own traffic, which may come at any time: negotiation and the health probe.
bool IsEngineHousekeeping(const std::string& path) {
  return path == "/_ping" || path == "/version";
}

struct IdCase {
  std::string id;
  bool refused;  // INVALID_ARGUMENT, nothing sent; else the daemon's NOT_FOUND
};

std::vector<IdCase> IdCases() {
  return {
      // The issue's list.
      {"../images/json", true},
      {"a/kill?signal=9", true},
      {"%2e%2e%2fimages", false},
      {"x#y", true},
      {"", true},
      {std::string(10000, 'a'), true},
      // What the daemon's router would clean away or split, even escaped.
      {".", true},
      {"..", true},
      {"/abc", true},
      {"..%2fimages", false},
      {"%2F", false},
      // At and past the length cap.
      {std::string(256, 'z'), false},
      {std::string(257, 'z'), true},
      // Control bytes; other odd but harmless ids reach the daemon escaped.
      {std::string("a\0b", 3), true},
      {"a\r\nHost: x", true},
      {"abc def", false},
      {"...", false},
      {".a", false},
      {"a:b", false},
      {"\xc3\xb6", false},
  };
}

struct RpcCase {
  const char* name;
  const char* field;       // what a refusal names
  const char* collection;  // "/containers" or "/exec"
  // What may follow "<collection>/<escaped id>": this RPC's endpoints, nothing else.
  std::vector<std::string> suffixes;
  bool events;  // it also subscribes to GET /events (the id travels in the filters)
  std::function<grpc::Status(v1::Dockline::Stub&, grpc::ClientContext*, const std::string&)> call;
};

template <typename Request, typename Response>
grpc::Status Unary(grpc::Status (v1::Dockline::Stub::*method)(grpc::ClientContext*, const Request&,
                                                              Response*),
                   v1::Dockline::Stub& stub, grpc::ClientContext* ctx, const Request& request) {
  Response response;
  return (stub.*method)(ctx, request, &response);
}

template <typename Response, typename Reader>
grpc::Status Drain(Reader reader) {
  Response msg;
  while (reader->Read(&msg)) {
  }
  return reader->Finish();
}

v1::ExecConfig ExecConfigFor(const std::string& id) {
  v1::ExecConfig config;
  config.set_container(id);
  config.add_cmd("true");
  return config;
}

std::vector<RpcCase> RpcCases() {
  using Stub = v1::Dockline::Stub;
  using Ctx = grpc::ClientContext;
  return {
      {"InspectContainer",
       "container",
       "/containers",
       {"/json"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::InspectContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::InspectContainer, s, c, r);
       }},
      {"StartContainer",
       "container",
       "/containers",
       {"/start"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::StartContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::StartContainer, s, c, r);
       }},
      {"StopContainer",
       "container",
       "/containers",
       {"/stop"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::StopContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::StopContainer, s, c, r);
       }},
      {"RestartContainer",
       "container",
       "/containers",
       {"/restart"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::RestartContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::RestartContainer, s, c, r);
       }},
      {"KillContainer",
       "container",
       "/containers",
       {"/kill"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::KillContainerRequest r;
         r.set_container(id);
         r.set_signal("SIGKILL");
         return Unary(&Stub::KillContainer, s, c, r);
       }},
      {"RemoveContainer",
       "container",
       "/containers",
       {""},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::RemoveContainerRequest r;
         r.set_container(id);
         r.set_force(true);
         return Unary(&Stub::RemoveContainer, s, c, r);
       }},
      {"WaitContainer",
       "container",
       "/containers",
       {"/wait"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::WaitContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::WaitContainer, s, c, r);
       }},
      {"StreamLogs",
       "container",
       "/containers",
       {"/json", "/logs"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::StreamLogsRequest r;
         r.set_container(id);
         return Drain<v1::StreamLogsResponse>(s.StreamLogs(c, r));
       }},
      {"GetHealth",
       "container",
       "/containers",
       {"/json"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::GetHealthRequest r;
         r.set_container(id);
         return Unary(&Stub::GetHealth, s, c, r);
       }},
      {"WaitHealthy",
       "container",
       "/containers",
       {"/json"},
       true,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::WaitHealthyRequest r;
         r.set_container(id);
         return Unary(&Stub::WaitHealthy, s, c, r);
       }},
      {"WatchHealth",
       "container",
       "/containers",
       {"/json"},
       true,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::WatchHealthRequest r;
         r.set_container(id);
         return Drain<v1::WatchHealthResponse>(s.WatchHealth(c, r));
       }},
      {"ExecContainer",
       "config.container",
       "/containers",
       {"/exec"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::ExecContainerRequest r;
         *r.mutable_config() = ExecConfigFor(id);
         return Unary(&Stub::ExecContainer, s, c, r);
       }},
      {"StreamExec",
       "config.container",
       "/containers",
       {"/exec"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::StreamExecRequest r;
         *r.mutable_config() = ExecConfigFor(id);
         return Drain<v1::StreamExecResponse>(s.StreamExec(c, r));
       }},
      {"StartExec",
       "config.container",
       "/containers",
       {"/exec"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::StartExecRequest r;
         *r.mutable_config() = ExecConfigFor(id);
         return Unary(&Stub::StartExec, s, c, r);
       }},
      {"AttachExec",
       "config.container",
       "/containers",
       {"/exec"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         auto stream = s.AttachExec(c);
         v1::AttachExecRequest r;
         *r.mutable_config() = ExecConfigFor(id);
         // The server may have ended the call already; Finish says how.
         stream->Write(r);
         stream->WritesDone();
         return Drain<v1::AttachExecResponse>(std::move(stream));
       }},
      {"InspectExec",
       "exec_id",
       "/exec",
       {"/json"},
       false,
       [](Stub& s, Ctx* c, const std::string& id) {
         v1::InspectExecRequest r;
         r.set_exec_id(id);
         return Unary(&Stub::InspectExec, s, c, r);
       }},
  };
}

// A docklined of its own whose daemon is the recording proxy in front of the test engine.
class RequestPathsTest : public DaemonTest {
 public:
  static void SetUpTestSuite() {
    DaemonTest::SetUpTestSuite();
    if (HasFatalFailure()) {
      return;
    }
    const char* host = std::getenv("DOCKER_HOST");
    std::string upstream = host != nullptr ? host : "unix:///var/run/docker.sock";
    ASSERT_TRUE(upstream.starts_with("unix://")) << "the proxy speaks Unix sockets: " << upstream;
    dir_ = new TempDir();
    proxy_ = new RecordingProxy(dir_->path() + "/proxy.sock", upstream.substr(7));
    ASSERT_TRUE(proxy_->listening()) << "no proxy socket in " << dir_->path();
    server::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.docker_host = proxy_->address();
    auto server = server::DocklineServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status().message();
    proxied_ = std::move(server.value());
  }

  static void TearDownTestSuite() {
    if (proxied_) {
      proxied_->Shutdown(std::chrono::milliseconds(2000));
      proxied_.reset();
    }
    delete proxy_;
    proxy_ = nullptr;
    delete dir_;
    dir_ = nullptr;
    DaemonTest::TearDownTestSuite();
  }

 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    ASSERT_TRUE(proxied_) << "the proxied server did not start";
    proxied_stub_ = v1::Dockline::NewStub(
        grpc::CreateChannel(proxied_->address(), grpc::InsecureChannelCredentials()));
  }

  static TempDir* dir_;
  static RecordingProxy* proxy_;
  static std::unique_ptr<server::DocklineServer> proxied_;
  std::unique_ptr<v1::Dockline::Stub> proxied_stub_;
};

TempDir* RequestPathsTest::dir_ = nullptr;
RecordingProxy* RequestPathsTest::proxy_ = nullptr;
std::unique_ptr<server::DocklineServer> RequestPathsTest::proxied_;

TEST_F(RequestPathsTest, HostileIdsReachOnlyTheirEndpointAsOneEscapedSegment) {
  for (const RpcCase& rpc : RpcCases()) {
    for (const IdCase& c : IdCases()) {
      std::string escaped = engine::UrlEncode(c.id);
      SCOPED_TRACE(std::string(rpc.name) + " with id \"" + escaped.substr(0, 60) + "\"");
      size_t before = proxy_->Requests().size();
      auto ctx = Context();
      grpc::Status st = rpc.call(*proxied_stub_, ctx.get(), c.id);
      std::vector<std::string> requests = proxy_->Requests();
      std::string endpoint = std::string(rpc.collection) + "/" + escaped;
      bool reached_endpoint = false;
      for (size_t i = before; i < requests.size(); ++i) {
        const std::string& request = requests[i];
        std::string path = RecordedPath(request);
        if (IsEngineHousekeeping(path) || (rpc.events && path == "/events")) {
          continue;
        }
        // A refused id reaches nothing; any other only this RPC's endpoints, escaped as is.
        bool own = !c.refused && path.starts_with(endpoint) &&
                   std::find(rpc.suffixes.begin(), rpc.suffixes.end(),
                             path.substr(endpoint.size())) != rpc.suffixes.end();
        EXPECT_TRUE(own) << "the daemon saw " << request.substr(0, 160);
        reached_endpoint = reached_endpoint || own;
      }
      if (c.refused) {
        EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
        EXPECT_TRUE(st.error_message().starts_with(std::string(rpc.field) + ": "))
            << st.error_message();
      } else {
        EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
        EXPECT_TRUE(reached_endpoint) << "the NOT_FOUND did not come from the daemon";
      }
    }
  }
  // The proxy parsed everything it relayed.
  for (const std::string& request : proxy_->Requests()) {
    EXPECT_FALSE(request.starts_with("unparsed")) << request;
  }
}

TEST_F(RequestPathsTest, ARealNameGoesThroughAsItIs) {
  // The control: the proxy sees dockline's requests, and a name needs no escaping.
  v1::ContainerSpec spec = Spec({"true"});
  std::string name = UniqueName("paths");
  spec.set_name(name);
  v1::CreateContainerRequest create;
  *create.mutable_spec() = spec;
  v1::CreateContainerResponse created;
  auto ctx = Context();
  ASSERT_TRUE(proxied_stub_->CreateContainer(ctx.get(), create, &created).ok());
  size_t before = proxy_->Requests().size();
  v1::InspectContainerRequest inspect;
  inspect.set_container(name);
  v1::InspectContainerResponse inspected;
  ctx = Context();
  grpc::Status st = proxied_stub_->InspectContainer(ctx.get(), inspect, &inspected);
  EXPECT_TRUE(st.ok()) << st.error_message();
  std::vector<std::string> requests = proxy_->Requests();
  std::vector<std::string> paths;
  for (size_t i = before; i < requests.size(); ++i) {
    if (!IsEngineHousekeeping(RecordedPath(requests[i]))) {
      paths.push_back(requests[i].substr(0, requests[i].find(' ')) + " " +
                      RecordedPath(requests[i]));
    }
  }
  EXPECT_EQ(paths, std::vector<std::string>{"GET /containers/" + name + "/json"});
  v1::RemoveContainerRequest remove;
  remove.set_container(created.id());
  remove.set_force(true);
  v1::RemoveContainerResponse removed;
  ctx = Context();
  EXPECT_TRUE(proxied_stub_->RemoveContainer(ctx.get(), remove, &removed).ok());
}

}  // namespace
}  // namespace dockline::testing
