// Exec output that survives a dropped connection (StartExec/StreamExec{retain_output} and
// StreamExec{exec_id, offset}): checked against the bytes the command is known to write, the
// daemon's exit code, the cap's lost-byte count, the linger and the limits.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "exec_fixture.h"

namespace dockline::testing {
namespace {

// A TCP forwarder in front of a docklined whose connections can be cut at will: the network
// dropping under a client, while the server goes on.
class CuttableProxy {
 public:
  explicit CuttableProxy(const std::string& target_port) : target_port_(std::stoi(target_port)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listen_fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~CuttableProxy() {
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    accept_thread_.join();
    Cut();
    for (auto& t : pumps_) {
      t.join();
    }
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Resets every connection open now; new ones are relayed again.
  void Cut() {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_) {
      shutdown(fd, SHUT_RDWR);
    }
    ++cuts_;
  }
  int cuts() {
    std::lock_guard<std::mutex> lock(mu_);
    return cuts_;
  }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) {
        return;
      }
      int upstream = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(target_port_));
      if (connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(client);
        close(upstream);
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      open_.push_back(client);
      open_.push_back(upstream);
      pumps_.emplace_back([client, upstream] { Pump(client, upstream); });
    }
  }
  static void Pump(int a, int b) {
    char buf[64 * 1024];
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    for (;;) {
      if (poll(fds, 2, -1) < 0) {
        break;
      }
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if (fds[i].revents == 0) {
          continue;
        }
        ssize_t n = read(fds[i].fd, buf, sizeof(buf));
        if (n <= 0) {
          done = true;
          break;
        }
        ssize_t off = 0;
        while (off < n) {
          ssize_t w = write(fds[1 - i].fd, buf + off, static_cast<size_t>(n - off));
          if (w <= 0) {
            done = true;
            break;
          }
          off += w;
        }
      }
      if (done) {
        break;
      }
    }
    shutdown(a, SHUT_RDWR);
    shutdown(b, SHUT_RDWR);
  }

  int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<int> open_;
  std::vector<std::thread> pumps_;
  int cuts_ = 0;
};

// What the test commands write: `lines` numbered lines on each stream, interleaved, then the
// exit code.
std::string Script(int lines, int exit_code) {
  return "i=1; while [ $i -le " + std::to_string(lines) +
         " ]; do echo out-line-$i; echo err-line-$i >&2; i=$((i+1)); done; exit " +
         std::to_string(exit_code);
}
std::string Lines(const std::string& prefix, int lines) {
  std::string out;
  for (int i = 1; i <= lines; ++i) {
    out += prefix + std::to_string(i) + "\n";
  }
  return out;
}

class ExecRetainTest : public ExecTest {
 protected:
  struct Read {
    grpc::Status status;
    std::string exec_id;
    std::string out;
    std::string err;
    uint64_t offset = 0;  // after the last byte read
    std::optional<v1::ExecResumed> resumed;
    std::optional<int> exit_code;
    int chunks = 0;
  };

  // Reads a StreamExec call; with `stop_after` chunks it cancels there (the client dropping).
  static Read Drain(v1::Dockline::Stub& stub, const v1::StreamExecRequest& req,
                    int stop_after = -1) {
    Read r;
    r.offset = req.offset();
    auto ctx = Context(std::chrono::seconds(120));
    auto reader = stub.StreamExec(ctx.get(), req);
    v1::StreamExecResponse msg;
    while (reader->Read(&msg)) {
      if (msg.has_resumed()) {
        r.resumed = msg.resumed();
        r.exec_id = msg.resumed().exec_id();
        r.offset = msg.resumed().offset();
      } else if (!msg.exec_id().empty()) {
        r.exec_id = msg.exec_id();
      } else if (msg.has_output()) {
        (msg.output().stream() == v1::STREAM_STDERR ? r.err : r.out) += msg.output().data();
        r.offset += msg.output().data().size();
        if (++r.chunks == stop_after) {
          ctx->TryCancel();
          break;
        }
      } else if (msg.has_exited()) {
        r.exit_code = msg.exited().exit_code();
      }
    }
    r.status = reader->Finish();
    return r;
  }

  static v1::StreamExecRequest Reattach(const std::string& exec_id, uint64_t offset) {
    v1::StreamExecRequest req;
    req.set_exec_id(exec_id);
    req.set_offset(offset);
    return req;
  }

  bool ExecExited(const std::string& exec_id) {
    return PollUntil(
        [&] {
          auto d = DaemonExec(exec_id);
          return d.is_object() && d.value("Running", true) == false;
        },
        std::chrono::seconds(60));
  }

  std::string StartRetained(v1::Dockline::Stub& stub, const v1::ExecConfig& config,
                            grpc::Status* status = nullptr) {
    v1::StartExecRequest req;
    *req.mutable_config() = config;
    req.set_retain_output(true);
    v1::StartExecResponse resp;
    auto ctx = Context();
    grpc::Status st = stub.StartExec(ctx.get(), req, &resp);
    if (status != nullptr) {
      *status = st;
    } else {
      EXPECT_TRUE(st.ok()) << st.error_message();
    }
    return resp.exec_id();
  }

  // A docklined of its own, for the retention flags.
  struct OwnServer {
    std::unique_ptr<server::DocklineServer> server;
    std::unique_ptr<v1::Dockline::Stub> stub;
  };
  static OwnServer Serve(const server::RetainOptions& retain) {
    server::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.docker_host = DockerHost();
    options.exec_retain = retain;
    OwnServer own;
    auto started = server::DocklineServer::Start(options);
    EXPECT_TRUE(started.ok()) << started.status().message();
    if (!started.ok()) {
      return own;
    }
    own.server = std::move(started.value());
    own.stub = v1::Dockline::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(own.server->port()), grpc::InsecureChannelCredentials()));
    return own;
  }
};

// The case: a client reading a retained exec loses its connection again and again, at
// random points, and each reattach from its offset goes on exactly where it stopped; together
// the reads are the command's output per stream, byte for byte, and its exit code.
TEST_F(ExecRetainTest, ReattachesThroughRandomDropsToEveryByteAndTheExitCode) {
  std::string c = Running();
  constexpr int kLines = 20000;
  v1::StreamExecRequest start;
  *start.mutable_config() = Config(c, {"sh", "-c", Script(kLines, 7)});
  start.set_retain_output(true);
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> chunks(1, 3);

  Read first = Drain(stub(), start, chunks(rng));
  ASSERT_EQ(first.status.error_code(), grpc::StatusCode::CANCELLED) << first.status.error_message();
  ASSERT_FALSE(first.exec_id.empty());
  std::string out = first.out;
  std::string err = first.err;
  uint64_t offset = first.offset;
  std::optional<int> exit_code;
  int drops = 1;
  for (int round = 0; round < 200 && !exit_code; ++round) {
    bool drop = round < 30;
    Read r = Drain(stub(), Reattach(first.exec_id, offset), drop ? chunks(rng) : -1);
    ASSERT_TRUE(r.resumed.has_value()) << r.status.error_message();
    EXPECT_EQ(r.resumed->offset(), offset);
    EXPECT_EQ(r.resumed->lost_bytes(), 0u);
    EXPECT_EQ(r.resumed->exec_id(), first.exec_id);
    out += r.out;
    err += r.err;
    offset = r.offset;
    exit_code = r.exit_code;
    if (r.exit_code) {
      EXPECT_TRUE(r.status.ok()) << r.status.error_message();
    } else {
      ASSERT_EQ(r.status.error_code(), grpc::StatusCode::CANCELLED) << r.status.error_message();
      ++drops;
    }
  }
  EXPECT_GE(drops, 5);
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 7);
  EXPECT_TRUE(out == Lines("out-line-", kLines)) << "stdout differs; " << out.size() << " bytes";
  EXPECT_TRUE(err == Lines("err-line-", kLines)) << "stderr differs; " << err.size() << " bytes";
  EXPECT_EQ(DaemonExec(first.exec_id)["ExitCode"], 7);

  // After the exit the whole output stays for later readers, from any offset.
  Read again = Drain(stub(), Reattach(first.exec_id, 0));
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.out.size() + again.err.size(), offset);
  EXPECT_EQ(again.exit_code, 7);
  Read tail = Drain(stub(), Reattach(first.exec_id, offset));
  ASSERT_TRUE(tail.status.ok()) << tail.status.error_message();
  EXPECT_EQ(tail.out + tail.err, "");
  EXPECT_EQ(tail.exit_code, 7);
  Read past = Drain(stub(), Reattach(first.exec_id, offset + 1));
  EXPECT_EQ(past.status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_NE(past.status.error_message().find("offset"), std::string::npos);
}

// A detached exec (StartExec) whose output is read afterwards: a process that wrote while nobody
// was attached, and a read from the middle.
TEST_F(ExecRetainTest, StartedDetachedItsOutputWaitsForTheClient) {
  std::string c = Running();
  std::string id =
      StartRetained(stub(), Config(c, {"sh", "-c", "echo hello; echo oops >&2; exit 3"}));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(ExecExited(id));
  Read r = Drain(stub(), Reattach(id, 0));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "oops\n");
  EXPECT_EQ(r.exit_code, 3);
  // Arrival order across the streams is the daemon's; only the counting is checked here.
  Read mid = Drain(stub(), Reattach(id, 3));
  ASSERT_TRUE(mid.status.ok()) << mid.status.error_message();
  EXPECT_EQ(mid.resumed->offset(), 3u);
  EXPECT_EQ(mid.out.size() + mid.err.size(), 8u);
  EXPECT_EQ(mid.exit_code, 3);
}

// Nobody reads: past the cap the oldest bytes go and the reattach says how many; the rest is
// exactly the end of what the command wrote.
TEST_F(ExecRetainTest, PastTheCapTheReplyCountsTheLostBytes) {
  server::RetainOptions retain;
  retain.bytes = 64 * 1024;
  OwnServer own = Serve(retain);
  ASSERT_TRUE(own.server);
  std::string c = Running();
  constexpr int kLines = 30000;
  std::string id =
      StartRetained(*own.stub, Config(c, {"sh", "-c", "exec 2>/dev/null; " + Script(kLines, 0)}));
  ASSERT_TRUE(ExecExited(id));
  std::string all = Lines("out-line-", kLines);
  Read r = Drain(*own.stub, Reattach(id, 0));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_TRUE(r.resumed.has_value());
  EXPECT_EQ(r.resumed->lost_bytes(), all.size() - retain.bytes);
  EXPECT_EQ(r.resumed->offset(), all.size() - retain.bytes);
  EXPECT_TRUE(r.out == all.substr(all.size() - retain.bytes)) << r.out.size() << " bytes";
  EXPECT_EQ(r.exit_code, 0);
}

// An attached reader holds the daemon back instead of losing bytes: the cap bounds memory, not
// what a connected client gets.
TEST_F(ExecRetainTest, AnAttachedReaderLosesNothingPastTheCap) {
  server::RetainOptions retain;
  retain.bytes = 16 * 1024;
  OwnServer own = Serve(retain);
  ASSERT_TRUE(own.server);
  std::string c = Running();
  constexpr int kLines = 40000;
  v1::StreamExecRequest start;
  *start.mutable_config() = Config(c, {"sh", "-c", Script(kLines, 2)});
  start.set_retain_output(true);
  Read r = Drain(*own.stub, start);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_TRUE(r.out == Lines("out-line-", kLines)) << r.out.size();
  EXPECT_TRUE(r.err == Lines("err-line-", kLines)) << r.err.size();
  EXPECT_EQ(r.exit_code, 2);
}

// The linger: gone some time after the exit; and the count limit.
TEST_F(ExecRetainTest, ExitedExecsGoAfterTheLingerAndTheCountIsBounded) {
  server::RetainOptions retain;
  retain.linger = std::chrono::milliseconds(1500);
  retain.max_execs = 2;
  OwnServer own = Serve(retain);
  ASSERT_TRUE(own.server);
  std::string c = Running();
  std::string quick = StartRetained(*own.stub, Config(c, {"echo", "bye"}));
  ASSERT_TRUE(ExecExited(quick));
  Read r = Drain(*own.stub, Reattach(quick, 0));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.out, "bye\n");
  EXPECT_TRUE(PollUntil(
      [&] {
        return Drain(*own.stub, Reattach(quick, 0)).status.error_code() ==
               grpc::StatusCode::NOT_FOUND;
      },
      std::chrono::seconds(30)));

  // Two running fill it; a third is refused while they run.
  std::string a = StartRetained(*own.stub, Config(c, {"sleep", "30"}));
  std::string b = StartRetained(*own.stub, Config(c, {"sleep", "30"}));
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  grpc::Status st;
  StartRetained(*own.stub, Config(c, {"true"}), &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("--exec-retain-max"), std::string::npos);
  // Without retention the exec is not counted.
  v1::StartExecRequest plain;
  *plain.mutable_config() = Config(c, {"true"});
  v1::StartExecResponse resp;
  auto ctx = Context();
  EXPECT_TRUE(own.stub->StartExec(ctx.get(), plain, &resp).ok());
}

// An exited exec makes room: the one that exited first goes.
TEST_F(ExecRetainTest, WhenFullTheExecThatExitedFirstMakesRoom) {
  server::RetainOptions retain;
  retain.max_execs = 2;
  OwnServer own = Serve(retain);
  ASSERT_TRUE(own.server);
  std::string c = Running();
  // Each read waits for the exit as the server sees it.
  std::string first = StartRetained(*own.stub, Config(c, {"echo", "1"}));
  ASSERT_EQ(Drain(*own.stub, Reattach(first, 0)).exit_code, 0);
  std::string second = StartRetained(*own.stub, Config(c, {"echo", "2"}));
  ASSERT_EQ(Drain(*own.stub, Reattach(second, 0)).exit_code, 0);
  std::string third = StartRetained(*own.stub, Config(c, {"echo", "3"}));
  ASSERT_FALSE(third.empty());
  EXPECT_EQ(Drain(*own.stub, Reattach(first, 0)).status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Drain(*own.stub, Reattach(second, 0)).out, "2\n");
  EXPECT_EQ(Drain(*own.stub, Reattach(third, 0)).out, "3\n");
}

TEST_F(ExecRetainTest, BadReattachesNameTheField) {
  std::string c = Running();
  auto expect = [&](const v1::StreamExecRequest& req, grpc::StatusCode code,
                    const std::string& field) {
    Read r = Drain(stub(), req);
    EXPECT_EQ(r.status.error_code(), code) << r.status.error_message();
    EXPECT_EQ(r.status.error_message().rfind(field, 0), 0u) << r.status.error_message();
  };
  v1::StreamExecRequest both = Reattach("abc123", 0);
  *both.mutable_config() = Config(c, {"true"});
  expect(both, grpc::StatusCode::INVALID_ARGUMENT, "config");
  v1::StreamExecRequest retain_again = Reattach("abc123", 0);
  retain_again.set_retain_output(true);
  expect(retain_again, grpc::StatusCode::INVALID_ARGUMENT, "retain_output");
  v1::StreamExecRequest offset_alone;
  *offset_alone.mutable_config() = Config(c, {"true"});
  offset_alone.set_offset(5);
  expect(offset_alone, grpc::StatusCode::INVALID_ARGUMENT, "offset");
  expect(Reattach("..", 0), grpc::StatusCode::INVALID_ARGUMENT, "exec_id");
  expect(Reattach("0123456789abcdef", 0), grpc::StatusCode::NOT_FOUND, "exec_id");
  // An exec started without retain_output has nothing kept.
  Streamed plain = Stream(Config(c, {"echo", "x"}));
  ASSERT_TRUE(plain.status.ok());
  expect(Reattach(plain.exec_id, 0), grpc::StatusCode::NOT_FOUND, "exec_id");
  // A missing container fails the start, and nothing is retained for it.
  v1::StartExecRequest missing;
  *missing.mutable_config() = Config("no-such-container-retain", {"true"});
  missing.set_retain_output(true);
  v1::StartExecResponse resp;
  auto ctx = Context();
  EXPECT_EQ(stub().StartExec(ctx.get(), missing, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

// The C++ client's ExecStream with retain_output: the network under it drops several times and
// the call still returns every byte and the exit code, without the caller doing anything.
TEST_F(ExecRetainTest, ClientExecStreamReattachesByItselfWhenTheConnectionDrops) {
  std::string c = Running();
  CuttableProxy proxy(ServerAddress().substr(ServerAddress().rfind(':') + 1));
  client::Client client(grpc::CreateChannel(proxy.address(), grpc::InsecureChannelCredentials()));
  constexpr int kLines = 3000;
  client::ExecOptions options;
  options.retain_output = true;
  std::atomic<size_t> seen{0};
  std::atomic<bool> done{false};
  options.on_output = [&](v1::Stream, std::string_view data) { seen += data.size(); };
  std::thread cutter([&] {
    // A cut whenever another 15 KB arrived, while the call lasts.
    for (size_t mark = 15000; !done; mark += 15000) {
      if (PollUntil([&] { return seen >= mark || done; }, std::chrono::seconds(60)) && !done) {
        proxy.Cut();
      }
    }
  });
  // The command is slow enough that the cuts land while it runs.
  auto result = client.ExecStream(c,
                                  {"sh", "-c",
                                   "i=1; while [ $i -le " + std::to_string(kLines) +
                                       " ]; do echo out-line-$i; echo err-line-$i >&2; i=$((i+1)); "
                                       "[ $((i % 100)) = 0 ] && sleep 0.05; done; exit 9"},
                                  options);
  done = true;
  cutter.join();
  ASSERT_TRUE(result.ok()) << result.status.error_message();
  EXPECT_GE(proxy.cuts(), 1);
  EXPECT_TRUE(result.value.stdout_bytes == Lines("out-line-", kLines));
  EXPECT_TRUE(result.value.stderr_bytes == Lines("err-line-", kLines));
  EXPECT_EQ(result.value.exit_code, 9);
  EXPECT_EQ(result.value.lost_bytes, 0u);

  // Without retain_output the same drop is the call's end.
  client::ExecOptions plain;
  std::thread cut_once([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    proxy.Cut();
  });
  auto dropped = client.ExecStream(c, {"sh", "-c", "echo start; sleep 3; echo end"}, plain);
  cut_once.join();
  EXPECT_EQ(dropped.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << dropped.status.error_message();
}

}  // namespace
}  // namespace dockline::testing
