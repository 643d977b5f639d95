// The engine adapter against a scripted fake daemon on a Unix socket: for what a real dockerd
// cannot be made to do on demand (an old API version, garbage, a connection cut mid-reply) and
// for wire details (Host header, version prefix, connection reuse, chunked bodies).
#include "engine/docker_engine.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/read_all.h"

namespace dockline::engine {
namespace {

using ::testing::HasSubstr;

struct SeenRequest {
  std::string head;
  std::string body;
  int connection = 0;
};

// Serves each connection on its own thread. `reply` gets the request and writes raw bytes;
// returning false closes the connection.
class FakeDaemon {
 public:
  using Reply = std::function<bool(int fd, const SeenRequest& request)>;

  explicit FakeDaemon(Reply reply) : reply_(std::move(reply)) {
    char tmpl[] = "/tmp/dlfake-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/d.sock";
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listen_fd_, 16), 0);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~FakeDaemon() {
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    acceptor_.join();
    for (auto& t : workers_) {
      t.join();
    }
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  std::string host() const { return "unix://" + path_; }
  int connections() const { return connections_; }
  int closed_connections() const { return closed_; }
  std::vector<SeenRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        return;
      }
      int id = ++connections_;
      workers_.emplace_back([this, fd, id] { Serve(fd, id); });
    }
  }

  void Serve(int fd, int id) {
    std::string buffer;
    char tmp[4096];
    for (;;) {
      size_t end;
      while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n <= 0) {
          ++closed_;
          close(fd);
          return;
        }
        buffer.append(tmp, n);
      }
      SeenRequest req;
      req.connection = id;
      req.head = buffer.substr(0, end + 4);
      buffer.erase(0, end + 4);
      size_t length = 0;
      if (auto pos = req.head.find("Content-Length: "); pos != std::string::npos) {
        length = std::stoul(req.head.substr(pos + 16));
      }
      while (buffer.size() < length) {
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n <= 0) {
          break;
        }
        buffer.append(tmp, n);
      }
      req.body = buffer.substr(0, length);
      buffer.erase(0, length);
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
      }
      if (!reply_(fd, req)) {
        // Wait for the client to hang up, so tests can see that it did.
        while (read(fd, tmp, sizeof(tmp)) > 0) {
        }
        ++closed_;
        close(fd);
        return;
      }
    }
  }

  Reply reply_;
  std::string dir_;
  std::string path_;
  int listen_fd_ = -1;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> closed_{0};
  std::mutex mu_;
  std::vector<SeenRequest> requests_;
};

void Send(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    // A client that stops reading early (a reply over its cap) must not kill the test.
    ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      return;
    }
    off += n;
  }
}

std::string Ping(const std::string& version) {
  return "HTTP/1.1 200 OK\r\nApi-Version: " + version +
         "\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK";
}

std::string Json(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

bool IsPing(const SeenRequest& r) { return r.head.rfind("GET /_ping ", 0) == 0; }

std::shared_ptr<DockerEngine> Connect(const FakeDaemon& fake,
                                      DockerEngineOptions options = DockerEngineOptions()) {
  options.docker_host = fake.host();
  auto engine = DockerEngine::Create(options);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  return engine.value();
}

Result<ApiResponse> Call(Engine& engine, ApiRequest request) {
  std::promise<Result<ApiResponse>> promise;
  auto future = promise.get_future();
  engine.Unary(std::move(request),
               [&promise](Result<ApiResponse> res) { promise.set_value(std::move(res)); });
  return future.get();
}

TEST(StatusFromHttpTest, ClassifiesDockerReplies) {
  EXPECT_EQ(StatusFromHttp(404, R"({"message":"No such container: x"})").message(),
            "No such container: x");
  EXPECT_EQ(StatusFromHttp(404, "{}").code(), Code::kNotFound);
  EXPECT_EQ(StatusFromHttp(409, R"({"message":"Conflict. The container name \"/a\" is already )"
                                R"(in use by container \"b\"."})")
                .code(),
            Code::kNameConflict);
  EXPECT_EQ(StatusFromHttp(409, R"({"message":"You cannot remove a running container"})").code(),
            Code::kConflict);
  EXPECT_EQ(StatusFromHttp(400, R"({"message":"bad"})").code(), Code::kBadRequest);
  EXPECT_EQ(StatusFromHttp(400,
                           "client version 1.11 is too old. Minimum supported API version "
                           "is 1.12, please upgrade your client to a newer version\n")
                .code(),
            Code::kUnsupportedVersion);
  EXPECT_EQ(StatusFromHttp(500, R"({"message":"boom"})").code(), Code::kDaemonError);
  EXPECT_EQ(StatusFromHttp(304, "").code(), Code::kNotModified);
  // Garbage is kept as text, not thrown on.
  EXPECT_EQ(StatusFromHttp(500, "{not json").message(), "{not json");
}

TEST(DockerEngineTest, NegotiatesThenPrefixesPathsAndSendsHost) {
  FakeDaemon fake([](int fd, const SeenRequest& r) {
    Send(fd, IsPing(r) ? Ping("1.43") : Json(200, R"({"ok":true})"));
    return true;
  });
  auto engine = Connect(fake);
  ApiRequest req("GET", "/containers/a b/json");
  req.Query("filters", R"({"label":["x=1"]})");
  auto res = Call(*engine, req);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(engine->ApiVersion(), "1.43");
  auto seen = fake.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(IsPing(seen[0]));
  EXPECT_THAT(seen[1].head,
              HasSubstr("GET /v1.43/containers/a b/json?filters=%7B%22label%22%3A%5B%22x%3D1%22"
                        "%5D%7D HTTP/1.1\r\n"));
  EXPECT_THAT(seen[1].head, HasSubstr("Host: localhost\r\n"));
}

TEST(DockerEngineTest, APingRenegotiatesWhenTheDaemonComesBackAtAnotherVersion) {
  std::atomic<bool> downgraded{false};
  FakeDaemon fake([&downgraded](int fd, const SeenRequest& r) {
    Send(fd, IsPing(r) ? Ping(downgraded ? "1.41" : "1.43") : Json(200, "{}"));
    return true;
  });
  auto engine = Connect(fake);
  ASSERT_TRUE(Call(*engine, ApiRequest("GET", "/info")).ok());
  EXPECT_EQ(engine->ApiVersion(), "1.43");
  downgraded = true;
  std::promise<Status> pinged;
  engine->Ping([&pinged](Status st) { pinged.set_value(st); });
  ASSERT_TRUE(pinged.get_future().get().ok());
  EXPECT_EQ(engine->ApiVersion(), "1.41");
  ASSERT_TRUE(Call(*engine, ApiRequest("GET", "/info")).ok());
  EXPECT_THAT(fake.requests().back().head, HasSubstr("GET /v1.41/info HTTP/1.1"));
}

TEST(DockerEngineTest, TooOldDaemonIsAClearError) {
  FakeDaemon fake([](int fd, const SeenRequest&) {
    Send(fd, Ping("1.24"));
    return true;
  });
  auto engine = Connect(fake);
  auto res = Call(*engine, ApiRequest("GET", "/version"));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kUnsupportedVersion);
  EXPECT_THAT(res.status().message(), HasSubstr("older than the oldest dockline supports"));
  EXPECT_EQ(fake.requests().size(), 1u) << "nothing but /_ping may reach a daemon we cannot speak";
}

TEST(DockerEngineTest, ReusesOneConnectionForUnaryCalls) {
  FakeDaemon fake([](int fd, const SeenRequest& r) {
    Send(fd, IsPing(r) ? Ping("1.41") : Json(200, "{}"));
    return true;
  });
  auto engine = Connect(fake);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Call(*engine, ApiRequest("GET", "/info")).ok());
  }
  EXPECT_EQ(fake.connections(), 1);
}

TEST(DockerEngineTest, LargeContentLengthBodyIsReadWhole) {
  // Boost 1.74's body_limit(boost::none) would fail every Content-Length body.
  std::string big(5 << 20, 'x');
  FakeDaemon fake([&big](int fd, const SeenRequest& r) {
    Send(fd, IsPing(r) ? Ping("1.41") : Json(200, big));
    return true;
  });
  auto engine = Connect(fake);
  auto res = Call(*engine, ApiRequest("GET", "/containers/json"));
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->body.size(), big.size());
}

TEST(DockerEngineTest, AReplyOverTheCapIsExhaustedNamingItAndTheNextCallWorks) {
  std::string big((1 << 20) + 1, 'x');
  FakeDaemon fake([&big](int fd, const SeenRequest& r) {
    if (r.head.find("/containers/chunked") != std::string::npos) {
      // As dockerd sends large listings: chunked, no Content-Length.
      char size[32];
      std::snprintf(size, sizeof(size), "%zx", big.size());
      Send(fd,
           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
           "Transfer-Encoding: chunked\r\n\r\n" +
               std::string(size) + "\r\n" + big + "\r\n0\r\n\r\n");
      return true;
    }
    const bool small = r.head.find("/containers/small") != std::string::npos;
    Send(fd, IsPing(r) ? Ping("1.41") : Json(200, small ? "{}" : big));
    return true;
  });
  DockerEngineOptions options;
  options.max_reply_bytes = 1 << 20;
  auto engine = Connect(fake, options);
  auto res = Call(*engine, ApiRequest("GET", "/containers/json"));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kExhausted);
  EXPECT_NE(res.status().message().find("GET /containers/json is over the 1048576-byte cap"),
            std::string::npos)
      << res.status().message();
  res = Call(*engine, ApiRequest("GET", "/containers/chunked"));
  EXPECT_EQ(res.status().code(), Code::kExhausted) << res.status().message();
  // Exactly at the cap is fine, and the connection left mid-body is not reused.
  big.pop_back();
  res = Call(*engine, ApiRequest("GET", "/containers/json"));
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->body.size(), big.size());
  EXPECT_TRUE(Call(*engine, ApiRequest("GET", "/containers/small")).ok());
}

// What an InlineReplyScope call delivered, and on which thread.
struct InlineOutcome {
  bool before_return = false;
  std::thread::id thread;
  std::future<Result<ApiResponse>> result;
};

InlineOutcome CallInScope(Engine& engine, ApiRequest request) {
  auto promise = std::make_shared<std::promise<Result<ApiResponse>>>();
  auto outcome = std::make_shared<InlineOutcome>();
  outcome->result = promise->get_future();
  auto delivered = std::make_shared<std::atomic<bool>>(false);
  auto thread = std::make_shared<std::thread::id>();
  {
    InlineReplyScope scope;
    engine.Unary(std::move(request), [promise, delivered, thread](Result<ApiResponse> res) {
      *thread = std::this_thread::get_id();
      delivered->store(true);
      promise->set_value(std::move(res));
    });
    outcome->before_return = delivered->load();
  }
  outcome->result.wait();
  outcome->thread = *thread;
  return std::move(*outcome);
}

TEST(DockerEngineTest, InAnInlineScopeAQuickReplyRunsItsCallbackBeforeUnaryReturns) {
  std::atomic<int> delay_ms{0};
  FakeDaemon fake([&delay_ms](int fd, const SeenRequest& r) {
    if (!IsPing(r) && delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    }
    Send(fd, IsPing(r) ? Ping("1.41") : Json(200, R"({"n":1})"));
    return true;
  });
  // A budget no loaded test machine can exceed for an immediate reply.
  DockerEngineOptions generous;
  generous.inline_reply_budget = std::chrono::seconds(30);
  auto engine = Connect(fake, generous);
  // No pooled connection and no version yet: the call goes on an engine thread.
  InlineOutcome first = CallInScope(*engine, ApiRequest("GET", "/info"));
  EXPECT_FALSE(first.before_return);
  EXPECT_NE(first.thread, std::this_thread::get_id());
  ASSERT_TRUE(first.result.get().ok());

  InlineOutcome quick = CallInScope(*engine, ApiRequest("GET", "/info"));
  EXPECT_TRUE(quick.before_return);
  EXPECT_EQ(quick.thread, std::this_thread::get_id());
  auto res = quick.result.get();
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->body, R"({"n":1})");

  // Outside a scope, and for a second call inside one, callbacks stay on engine threads.
  std::promise<std::thread::id> outside;
  engine->Unary(ApiRequest("GET", "/info"),
                [&outside](Result<ApiResponse>) { outside.set_value(std::this_thread::get_id()); });
  EXPECT_NE(outside.get_future().get(), std::this_thread::get_id());
  {
    InlineReplyScope scope;
    EXPECT_TRUE(InlineReplyScope::Take());
    EXPECT_FALSE(InlineReplyScope::Take());
  }
  EXPECT_FALSE(InlineReplyScope::Take());
  EXPECT_EQ(fake.connections(), 1) << "every call after the first reuses the pooled connection";

  // A reply slower than the budget is finished on an engine thread, whole; as is every reply
  // with no budget at all.
  DockerEngineOptions tight;
  tight.inline_reply_budget = std::chrono::milliseconds(1);
  auto tight_engine = Connect(fake, tight);
  DockerEngineOptions off;
  off.inline_reply_budget = std::chrono::microseconds(0);
  auto off_engine = Connect(fake, off);
  ASSERT_TRUE(Call(*tight_engine, ApiRequest("GET", "/info")).ok());
  ASSERT_TRUE(Call(*off_engine, ApiRequest("GET", "/info")).ok());
  InlineOutcome no_budget = CallInScope(*off_engine, ApiRequest("GET", "/info"));
  EXPECT_NE(no_budget.thread, std::this_thread::get_id());
  ASSERT_TRUE(no_budget.result.get().ok());
  delay_ms = 300;
  InlineOutcome slow = CallInScope(*tight_engine, ApiRequest("GET", "/info"));
  EXPECT_FALSE(slow.before_return);
  EXPECT_NE(slow.thread, std::this_thread::get_id());
  res = slow.result.get();
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->body, R"({"n":1})");
}

TEST(DockerEngineTest, InAnInlineScopeAStalePooledConnectionIsRetriedAndTheCapHolds) {
  std::atomic<bool> hang_up{false};
  std::string big((1 << 20) + 1, 'x');
  FakeDaemon fake([&](int fd, const SeenRequest& r) {
    const bool large = r.head.find("/large") != std::string::npos;
    Send(fd, IsPing(r) ? Ping("1.41") : Json(200, large ? big : "{}"));
    if (!IsPing(r) && hang_up.exchange(false)) {
      shutdown(fd, SHUT_RDWR);  // as a daemon does to an idle keep-alive connection
      return false;
    }
    return true;
  });
  DockerEngineOptions options;
  options.max_reply_bytes = 1 << 20;
  options.inline_reply_budget = std::chrono::seconds(30);
  auto engine = Connect(fake, options);
  hang_up = true;
  ASSERT_TRUE(Call(*engine, ApiRequest("GET", "/info")).ok());
  for (int i = 0; i < 200 && fake.closed_connections() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(fake.closed_connections(), 1);
  InlineOutcome retried = CallInScope(*engine, ApiRequest("GET", "/info"));
  auto res = retried.result.get();
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(fake.connections(), 2);

  InlineOutcome capped = CallInScope(*engine, ApiRequest("GET", "/large"));
  res = capped.result.get();
  EXPECT_EQ(res.status().code(), Code::kExhausted) << res.status().message();
  EXPECT_TRUE(Call(*engine, ApiRequest("GET", "/info")).ok());
}

TEST(DockerEngineTest, StreamsAChunkedBodyAndErrorsKeepDockersMessage) {
  FakeDaemon fake([](int fd, const SeenRequest& r) {
    if (IsPing(r)) {
      Send(fd, Ping("1.41"));
    } else if (r.head.find("/missing/") != std::string::npos) {
      Send(fd, Json(404, R"({"message":"No such container: missing"})"));
    } else {
      Send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      Send(fd, "5\r\nhello\r\n");
      usleep(20000);
      Send(fd, "1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n");
    }
    return true;
  });
  auto engine = Connect(fake);
  std::promise<std::pair<Status, std::string>> promise;
  engine->Stream(ApiRequest("GET", "/containers/x/logs"),
                 [&promise](Result<ApiResponse> res, std::shared_ptr<BodyStream> body) {
                   ASSERT_TRUE(res.ok());
                   ReadAll(body, [&promise](const Status& st, std::string data) {
                     promise.set_value({st, std::move(data)});
                   });
                 });
  auto [status, data] = promise.get_future().get();
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(data, "hello world!");

  std::promise<Status> missing;
  engine->Stream(ApiRequest("POST", "/containers/missing/wait"),
                 [&missing](Result<ApiResponse> res, std::shared_ptr<BodyStream> body) {
                   EXPECT_EQ(body, nullptr);
                   missing.set_value(res.status());
                 });
  Status st = missing.get_future().get();
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_EQ(st.message(), "No such container: missing");
}

TEST(DockerEngineTest, ConnectionCutMidBodyIsAnErrorNotACompleteReply) {
  FakeDaemon fake([](int fd, const SeenRequest& r) {
    if (IsPing(r)) {
      Send(fd, Ping("1.41"));
      return true;
    }
    Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
    shutdown(fd, SHUT_WR);
    return false;
  });
  auto engine = Connect(fake);
  auto res = Call(*engine, ApiRequest("GET", "/containers/x/json"));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kUnreachable);
}

TEST(DockerEngineTest, GarbageIsAnErrorNotACrash) {
  FakeDaemon fake([](int fd, const SeenRequest& r) {
    Send(fd, IsPing(r) ? Ping("1.41") : "SSH-2.0-OpenSSH_9.2\r\n\r\n");
    shutdown(fd, SHUT_WR);
    return false;
  });
  auto engine = Connect(fake);
  auto res = Call(*engine, ApiRequest("GET", "/containers/x/json"));
  EXPECT_FALSE(res.ok());
}

TEST(DockerEngineTest, NoDaemonIsUnreachable) {
  DockerEngineOptions options;
  options.docker_host = "unix:///tmp/dockline-nothing-listens-here.sock";
  auto engine = DockerEngine::Create(options);
  ASSERT_TRUE(engine.ok());
  auto res = Call(*engine.value(), ApiRequest("GET", "/info"));
  EXPECT_EQ(res.status().code(), Code::kUnreachable);
  EXPECT_THAT(res.status().message(), HasSubstr("dockline-nothing-listens-here.sock"));
}

TEST(DockerEngineTest, OnlyUnixSockets) {
  DockerEngineOptions options;
  options.docker_host = "tcp://10.0.0.1:2375";
  auto engine = DockerEngine::Create(options);
  ASSERT_FALSE(engine.ok());
  EXPECT_THAT(engine.status().message(), HasSubstr("unix://"));
}

TEST(DockerEngineTest, TimeoutAndCancelCloseTheConnection) {
  // A /wait whose body never comes.
  FakeDaemon fake([](int fd, const SeenRequest& r) {
    if (IsPing(r)) {
      Send(fd, Ping("1.41"));
      return true;
    }
    Send(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    return false;
  });
  auto engine = Connect(fake);
  ApiRequest timed("POST", "/containers/x/wait");
  timed.timeout = std::chrono::milliseconds(200);
  std::promise<Status> timed_out;
  engine->Stream(timed, [&timed_out](Result<ApiResponse> res, std::shared_ptr<BodyStream> body) {
    ASSERT_TRUE(res.ok());
    ReadAll(body, [&timed_out](const Status& st, std::string) { timed_out.set_value(st); });
  });
  EXPECT_EQ(timed_out.get_future().get().code(), Code::kTimeout);

  std::promise<Status> cancelled;
  std::promise<std::shared_ptr<BodyStream>> opened;
  engine->Stream(ApiRequest("POST", "/containers/y/wait"), [&](Result<ApiResponse> res,
                                                               std::shared_ptr<BodyStream> body) {
    ASSERT_TRUE(res.ok());
    ReadAll(body, [&cancelled](const Status& st, std::string) { cancelled.set_value(st); });
    opened.set_value(body);
  });
  opened.get_future().get()->Cancel();
  EXPECT_EQ(cancelled.get_future().get().code(), Code::kCancelled);
  // Both stream connections were closed by us (the fake saw EOF on each).
  for (int i = 0; i < 100 && fake.closed_connections() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(fake.closed_connections(), 2);
}

// Out of file descriptors is this process's limit, not the daemon being away.
TEST(DockerEngineTest, OutOfOpenFilesIsExhaustedNotUnreachable) {
  FakeDaemon fake([](int fd, const SeenRequest&) {
    Send(fd, Ping("1.41"));
    return true;
  });
  auto engine = Connect(fake);
  ASSERT_TRUE(Call(*engine, ApiRequest("GET", "/_ping")).ok());
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  int open_now = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++open_now;
  }
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(open_now + 8);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  // Use up every descriptor left below the limit, holes included.
  std::vector<int> fillers;
  for (int fd; (fd = open("/dev/null", O_RDONLY)) >= 0;) {
    fillers.push_back(fd);
  }
  // A stream never takes a pooled connection: it needs a new socket.
  std::promise<Status> opened;
  engine->Stream(ApiRequest("GET", "/events"),
                 [&opened](Result<ApiResponse> res, std::shared_ptr<BodyStream>) {
                   opened.set_value(res.status());
                 });
  Status st = opened.get_future().get();
  for (int fd : fillers) {
    close(fd);
  }
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(st.code(), Code::kExhausted) << st.message();
  EXPECT_THAT(st.message(), HasSubstr("open files"));
}

TEST(DockerEngineTest, HijackKeepsBufferedBytesAndHalfClosesStdin) {
  FakeDaemon fake([](int fd, const SeenRequest& r) {
    if (IsPing(r)) {
      Send(fd, Ping("1.41"));
      return true;
    }
    EXPECT_THAT(r.head, HasSubstr("Connection: Upgrade\r\n"));
    EXPECT_THAT(r.head, HasSubstr("Upgrade: tcp\r\n"));
    // Stream bytes in the same write as the header: they land in Beast's buffer.
    Send(fd, "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello ");
    std::string in;
    char buf[256];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {  // until the client half-closes
      in.append(buf, n);
    }
    for (char& c : in) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    Send(fd, in);
    shutdown(fd, SHUT_WR);
    return false;
  });
  auto engine = Connect(fake);
  ApiRequest req("POST", "/exec/abc/start");
  req.body = R"({"Detach":false,"Tty":false})";
  req.upgrade = true;
  std::promise<std::shared_ptr<BodyStream>> opened;
  engine->Stream(req, [&opened](Result<ApiResponse> res, std::shared_ptr<BodyStream> body) {
    EXPECT_EQ(res->status, 101);
    opened.set_value(body);
  });
  auto body = opened.get_future().get();
  ASSERT_NE(body, nullptr);
  std::promise<Status> written;
  body->Write("stdin bytes", [&](const Status& st) {
    EXPECT_TRUE(st.ok()) << st.message();
    body->CloseWrite([&written](const Status& st) { written.set_value(st); });
  });
  EXPECT_TRUE(written.get_future().get().ok());
  std::promise<std::string> all;
  ReadAll(body, [&all](const Status& st, std::string data) {
    EXPECT_TRUE(st.ok()) << st.message();
    all.set_value(std::move(data));
  });
  EXPECT_EQ(all.get_future().get(), "hello STDIN BYTES");
}

}  // namespace
}  // namespace dockline::engine
