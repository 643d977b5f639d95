// The connection under a call: keepalive pings on an idle follow stream, both ways, seen by a
// proxy that counts HTTP/2 frames; a peer that stops answering, noticed by keepalive; and the
// request size limit. Everything runs over loopback.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "client/client.h"
#include "harness.h"

namespace dockline::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// HTTP/2 (RFC 9113): a 9-byte frame header (24-bit length, type, flags, stream id), and the
// preface a client sends before its first frame.
constexpr size_t kFrameHeaderBytes = 9;
constexpr uint8_t kPingFrame = 0x6;
constexpr uint8_t kGoawayFrame = 0x7;
constexpr uint8_t kAckFlag = 0x1;
constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct FrameCounts {
  int pings = 0;
  int ping_acks = 0;
  int goaways = 0;
};

// One direction of a plaintext HTTP/2 connection, read frame by frame.
class FrameCounter {
 public:
  explicit FrameCounter(bool from_client)
      : preface_left_(from_client ? kClientPreface.size() : 0) {}

  void Feed(const char* data, size_t size, FrameCounts* counts) {
    buffer_.append(data, size);
    size_t at = std::min(preface_left_, buffer_.size());
    preface_left_ -= at;
    while (buffer_.size() - at >= kFrameHeaderBytes) {
      const auto* header = reinterpret_cast<const unsigned char*>(buffer_.data() + at);
      const size_t length = (size_t{header[0]} << 16) | (size_t{header[1]} << 8) | header[2];
      if (buffer_.size() - at < kFrameHeaderBytes + length) {
        break;
      }
      if (header[3] == kPingFrame) {
        ++((header[4] & kAckFlag) != 0 ? counts->ping_acks : counts->pings);
      } else if (header[3] == kGoawayFrame) {
        ++counts->goaways;
      }
      at += kFrameHeaderBytes + length;
    }
    buffer_.erase(0, at);
  }

 private:
  size_t preface_left_;
  std::string buffer_;
};

// A TCP proxy on 127.0.0.1 in front of a docklined port, counting the HTTP/2 frames each way.
// Freeze() stops it forwarding while both connections stay open: to each side the other has
// gone silent, as a hung peer or a dead network path looks.
class FrameCountingProxy {
 public:
  explicit FrameCountingProxy(int upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = Loopback(0);
    socklen_t length = sizeof(address);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        listen(listen_fd_, 8) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
        pipe2(wake_, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "cannot set up the proxy";
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }

  ~FrameCountingProxy() {
    stop_ = true;
    Wake();
    if (thread_.joinable()) {
      thread_.join();
    }
    for (Connection& c : connections_) {
      close(c.client);
      close(c.upstream);
    }
    for (int fd : {listen_fd_, wake_[0], wake_[1]}) {
      if (fd >= 0) {
        close(fd);
      }
    }
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  FrameCounts from_client() const {
    std::lock_guard<std::mutex> lock(mu_);
    return from_client_;
  }
  FrameCounts from_server() const {
    std::lock_guard<std::mutex> lock(mu_);
    return from_server_;
  }
  void Freeze() {
    frozen_ = true;
    Wake();
  }
  // docklined closed a connection it had accepted from the proxy.
  bool upstream_closed() const { return upstream_closed_; }

 private:
  struct Connection {
    int client = -1;
    int upstream = -1;
    FrameCounter from_client{true};
    FrameCounter from_server{false};
  };

  static sockaddr_in Loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    return address;
  }

  void Wake() {
    if (wake_[1] >= 0) {
      [[maybe_unused]] ssize_t n = write(wake_[1], "x", 1);
    }
  }

  void Accept() {
    int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      return;
    }
    int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = Loopback(upstream_port_);
    if (upstream < 0 ||
        connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      close(client);
      if (upstream >= 0) {
        close(upstream);
      }
      return;
    }
    connections_.emplace_back();
    connections_.back().client = client;
    connections_.back().upstream = upstream;
  }

  static bool WriteAll(int fd, const char* data, size_t size) {
    while (size > 0) {
      ssize_t n = write(fd, data, size);
      if (n <= 0) {
        return false;
      }
      data += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  }

  // Moves what `from` has to `to`; false once `from` has ended.
  bool Forward(int from, int to, FrameCounter& counter, FrameCounts& counts) {
    char buffer[16384];
    ssize_t n = read(from, buffer, sizeof(buffer));
    if (n <= 0) {
      return false;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      counter.Feed(buffer, static_cast<size_t>(n), &counts);
    }
    return WriteAll(to, buffer, static_cast<size_t>(n));
  }

  void Loop() {
    while (!stop_) {
      // Frozen, nothing is read, so only hang-ups wake the poll.
      const short events = frozen_ ? POLLRDHUP : (POLLIN | POLLRDHUP);
      std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      for (const Connection& c : connections_) {
        fds.push_back({c.client, events, 0});
        fds.push_back({c.upstream, events, 0});
      }
      if (poll(fds.data(), fds.size(), -1) < 0) {
        continue;
      }
      if ((fds[0].revents & POLLIN) != 0) {
        char drain[64];
        [[maybe_unused]] ssize_t n = read(wake_[0], drain, sizeof(drain));
      }
      size_t index = 2;
      for (auto it = connections_.begin(); it != connections_.end(); index += 2) {
        const short client_events = fds[index].revents;
        const short upstream_events = fds[index + 1].revents;
        bool open = true;
        if (frozen_) {
          constexpr short kHangUp = POLLRDHUP | POLLHUP | POLLERR;
          upstream_closed_ = upstream_closed_ || (upstream_events & kHangUp) != 0;
          open = ((client_events | upstream_events) & kHangUp) == 0;
        } else {
          if (client_events != 0) {
            open = Forward(it->client, it->upstream, it->from_client, from_client_);
          }
          if (open && upstream_events != 0) {
            open = Forward(it->upstream, it->client, it->from_server, from_server_);
            upstream_closed_ = upstream_closed_ || !open;
          }
        }
        if (open) {
          ++it;
          continue;
        }
        close(it->client);
        close(it->upstream);
        it = connections_.erase(it);
      }
      if ((fds[1].revents & POLLIN) != 0) {
        Accept();
      }
    }
  }

  const int upstream_port_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> frozen_{false};
  std::atomic<bool> upstream_closed_{false};
  std::list<Connection> connections_;  // the proxy thread's alone
  mutable std::mutex mu_;
  FrameCounts from_client_;
  FrameCounts from_server_;
  std::thread thread_;
};

// A follow stream read on its own thread until it ends.
class FollowStream {
 public:
  FollowStream(client::Client& client, const std::string& id,
               std::optional<std::chrono::nanoseconds> timeout) {
    client::LogsOptions options;
    options.follow = true;
    options.timeout = timeout;
    stream_ = client.StreamLogs(id, options);
    reader_ = std::thread([this] {
      v1::OutputChunk chunk;
      while (stream_->Next(&chunk)) {
        std::lock_guard<std::mutex> lock(mu_);
        output_ += chunk.data();
      }
      grpc::Status status = stream_->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = status;
    });
  }
  ~FollowStream() {
    stream_->Cancel();
    reader_.join();
  }
  std::string output() const {
    std::lock_guard<std::mutex> lock(mu_);
    return output_;
  }
  // Set once the stream has ended.
  std::optional<grpc::Status> status() const {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }
  void Cancel() { stream_->Cancel(); }

 private:
  std::unique_ptr<client::LogStream> stream_;
  std::thread reader_;
  mutable std::mutex mu_;
  std::string output_;
  std::optional<grpc::Status> status_;
};

class ConnectionTest : public DaemonTest {
 protected:
  // Pings each way that prove keepalive: BDP probes ride on data, and the stream carries none
  // once "ready" is out, so a handful of pings only come from keepalive timers.
  static constexpr int kPings = 5;

  static server::ServerOptions Options() {
    server::ServerOptions options;
    options.listen = "127.0.0.1:0";
    const char* host = std::getenv("DOCKER_HOST");
    options.docker_host = host != nullptr && *host != '\0' ? host : "unix:///var/run/docker.sock";
    return options;
  }
  static std::unique_ptr<server::DocklineServer> Start(const server::ServerOptions& options) {
    auto server = server::DocklineServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status().message();
    return server.ok() ? std::move(server.value()) : nullptr;
  }
  static std::unique_ptr<client::Client> Open(const std::string& address,
                                              const client::ClientOptions& options) {
    auto client = client::Client::Open(address, options);
    EXPECT_TRUE(client.ok()) << client.status.error_message();
    return std::move(client.value);
  }
  // A container that prints "ready" and then nothing for ten minutes.
  std::string StartQuietContainer() {
    container_ = CreateAndStart(Spec({"sh", "-c", "echo ready; exec sleep 600"}));
    return container_;
  }
  // docklined behind a frame-counting proxy and a client following a quiet container's logs
  // through it, past the container's "ready". Members go in reverse: the stream ends first.
  struct ProxiedFollow {
    std::unique_ptr<server::DocklineServer> server;
    std::unique_ptr<FrameCountingProxy> proxy;
    std::unique_ptr<client::Client> client;
    std::unique_ptr<FollowStream> follow;
  };
  void FollowThroughProxy(const server::ServerOptions& options,
                          const client::ClientOptions& client_options,
                          std::optional<seconds> deadline, ProxiedFollow* out) {
    out->server = Start(options);
    ASSERT_NE(out->server, nullptr);
    out->proxy = std::make_unique<FrameCountingProxy>(out->server->port());
    out->client = Open(out->proxy->address(), client_options);
    ASSERT_NE(out->client, nullptr);
    std::string id = StartQuietContainer();
    ASSERT_FALSE(id.empty());
    out->follow = std::make_unique<FollowStream>(*out->client, id, deadline);
    ASSERT_TRUE(PollUntil([&] { return out->follow->output() == "ready\n"; }, seconds(30)))
        << out->follow->output();
  }
  enum class Pinger { kServer, kClient };
  // Follows a quiet container's logs through a frame-counting proxy until `pinger` has sent
  // kPings pings and the other side has acked them, and checks that the stream stayed open and
  // neither side sent GOAWAY (a server that took client pings as abuse would: too_many_pings).
  void ExpectIdleFollowKeptAlive(const server::ServerOptions& options,
                                 const client::ClientOptions& client_options, Pinger pinger) {
    ProxiedFollow f;
    ASSERT_NO_FATAL_FAILURE(FollowThroughProxy(options, client_options, std::nullopt, &f));
    FrameCountingProxy& proxy = *f.proxy;
    FollowStream& follow = *f.follow;
    auto pings = [&] {
      return pinger == Pinger::kServer ? proxy.from_server().pings : proxy.from_client().pings;
    };
    auto acks = [&] {
      return pinger == Pinger::kServer ? proxy.from_client().ping_acks
                                       : proxy.from_server().ping_acks;
    };
    const int pings_before = pings();
    const int acks_before = acks();
    const int client_pings_before = proxy.from_client().pings;
    EXPECT_TRUE(PollUntil(
        [&] {
          // A stream that ended early has failed already.
          return follow.status().has_value() ||
                 (pings() >= pings_before + kPings && acks() >= acks_before + kPings);
        },
        seconds(60)))
        << "pings " << pings() - pings_before << ", acks " << acks() - acks_before;
    if (pinger == Pinger::kServer) {
      EXPECT_EQ(proxy.from_client().pings, client_pings_before);
    }
    EXPECT_EQ(proxy.from_server().goaways, 0);
    EXPECT_EQ(proxy.from_client().goaways, 0);
    EXPECT_FALSE(follow.status().has_value()) << follow.status()->error_message();

    follow.Cancel();
    ASSERT_TRUE(PollUntil([&] { return follow.status().has_value(); }, seconds(30)));
    EXPECT_EQ(follow.status()->error_code(), grpc::StatusCode::CANCELLED);
  }
  void TearDown() override {
    if (!container_.empty()) {
      v1::RemoveContainerRequest request;
      request.set_container(container_);
      request.set_force(true);
      v1::RemoveContainerResponse response;
      stub().RemoveContainer(Context().get(), request, &response);
    }
    DaemonTest::TearDown();
  }

  std::string container_;
};

TEST_F(ConnectionTest, TheServerPingsAnIdleFollowStreamAtItsKeepaliveTime) {
  server::ServerOptions options = Options();
  options.keepalive_time = seconds(1);
  client::ClientOptions client_options;
  client_options.keepalive_time = milliseconds(0);  // only the server pings
  ExpectIdleFollowKeptAlive(options, client_options, Pinger::kServer);
}

TEST_F(ConnectionTest, ClientPingsOnAnIdleFollowStreamAreAnsweredNotPunished) {
  client::ClientOptions client_options;
  client_options.keepalive_time = seconds(1);  // far below the server's minimum ping interval
  // The server's own keepalive (60s) stays out of the way.
  ExpectIdleFollowKeptAlive(Options(), client_options, Pinger::kClient);
}

TEST_F(ConnectionTest, AFollowStreamEndsUnavailableWhenTheServerStopsAnswering) {
  client::ClientOptions client_options;
  client_options.keepalive_time = seconds(1);
  client_options.keepalive_timeout = seconds(1);
  ProxiedFollow f;
  // The deadline is the backstop: without keepalive the stream would wait for it.
  ASSERT_NO_FATAL_FAILURE(FollowThroughProxy(Options(), client_options, seconds(60), &f));
  FrameCountingProxy& proxy = *f.proxy;
  FollowStream& follow = *f.follow;
  proxy.Freeze();
  ASSERT_TRUE(PollUntil([&] { return follow.status().has_value(); }, seconds(90)));
  EXPECT_EQ(follow.status()->error_code(), grpc::StatusCode::UNAVAILABLE)
      << follow.status()->error_message();
}

TEST_F(ConnectionTest, TheServerDropsAClientThatStopsAnswering) {
  server::ServerOptions options = Options();
  options.keepalive_time = seconds(1);
  options.keepalive_timeout = seconds(1);
  client::ClientOptions client_options;
  client_options.keepalive_time = milliseconds(0);
  ProxiedFollow f;
  ASSERT_NO_FATAL_FAILURE(FollowThroughProxy(options, client_options, std::nullopt, &f));
  FrameCountingProxy& proxy = *f.proxy;
  proxy.Freeze();
  // Without keepalive the server would hold the stream, and its daemon connection, forever.
  EXPECT_TRUE(PollUntil([&] { return proxy.upstream_closed(); }, seconds(60)));
}

TEST_F(ConnectionTest, RequestsOverTheLimitAreRefusedAndPastTwiceItUnread) {
  server::ServerOptions options = Options();
  options.max_request_bytes = 1024;
  auto server = Start(options);
  ASSERT_NE(server, nullptr);
  auto stub = v1::Dockline::NewStub(
      grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials()));
  // A label filter that matches nothing, padded until the request has the size wanted.
  v1::ListContainersRequest request;
  v1::Filter* filter = request.add_filters();
  filter->set_key("label");
  filter->set_value("dockline-test-no-such-label=");
  const auto pad_to = [&](size_t size) {
    while (request.ByteSizeLong() < size) {
      filter->mutable_value()->push_back('x');
    }
    return request.ByteSizeLong();
  };
  v1::ListContainersResponse response;

  ASSERT_EQ(pad_to(1024), 1024u);
  grpc::Status at_limit = stub->ListContainers(Context().get(), request, &response);
  EXPECT_TRUE(at_limit.ok()) << at_limit.error_message();
  EXPECT_EQ(response.containers_size(), 0);
  // Between the limit and twice it the request arrives, and docklined says what is wrong.
  ASSERT_EQ(pad_to(1500), 1500u);
  grpc::Status between = stub->ListContainers(Context().get(), request, &response);
  EXPECT_EQ(between.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(between.error_message(),
            "request is 1500 bytes; the limit is 1024 (--max-request-size)");
  // Past twice the limit gRPC refuses it before docklined sees any of it.
  pad_to(2100);
  grpc::Status past = stub->ListContainers(Context().get(), request, &response);
  EXPECT_EQ(past.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << past.error_message();
}

TEST_F(ConnectionTest, LimitsAChannelCannotHoldRefuseToStart) {
  server::ServerOptions options = Options();
  options.keepalive_time = milliseconds(0);
  auto refused = server::DocklineServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("--keepalive-time"));

  options = Options();
  options.keepalive_timeout = std::chrono::hours(1000);
  refused = server::DocklineServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("--keepalive-timeout"));

  options = Options();
  options.max_request_bytes = 0;
  refused = server::DocklineServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("--max-request-size"));
}

TEST_F(ConnectionTest, DocklinedTakesTheFlagsAndRefusesBadValues) {
  CommandResult bad_size =
      RunCommand({DOCKLINED_PATH, "--listen", "127.0.0.1:0", "--max-request-size", "4x"});
  EXPECT_EQ(bad_size.exit_code, 2);
  EXPECT_THAT(bad_size.err, ::testing::HasSubstr("--max-request-size: invalid size \"4x\""));
  CommandResult bad_time =
      RunCommand({DOCKLINED_PATH, "--listen", "127.0.0.1:0", "--keepalive-time", "30"});
  EXPECT_EQ(bad_time.exit_code, 2);
  EXPECT_THAT(bad_time.err, ::testing::HasSubstr("--keepalive-time: invalid duration \"30\""));
  CommandResult bad_timeout =
      RunCommand({DOCKLINED_PATH, "--listen", "127.0.0.1:0", "--keepalive-timeout", "0s"});
  EXPECT_EQ(bad_timeout.exit_code, 2);
  EXPECT_THAT(bad_timeout.err, ::testing::HasSubstr("--keepalive-timeout: \"0s\" is too short"));
  CommandResult help = RunCommand({DOCKLINED_PATH, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag : {"--max-request-size", "--keepalive-time", "--keepalive-timeout"}) {
    EXPECT_THAT(help.out, ::testing::HasSubstr(flag));
  }
}

}  // namespace
}  // namespace dockline::testing
