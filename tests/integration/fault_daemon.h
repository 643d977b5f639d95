#pragma once

// FaultDaemon: a scripted fake dockerd on a Unix socket, for the faults a real daemon cannot be
// made to show on demand (DESIGN.md): a multiplexed frame cut short, a connection closed
// mid-reply, garbage JSON, a reply that trickles or never comes, broken chunked encoding. It is
// never a stand-in for the real daemon: every behaviour a test relies on otherwise is checked
// against dockerd itself.
//
// A test scripts it with routes: a method and a path (a regex or a prefix, matched against the
// path without its query and its "/v1.xx" prefix) lead to a handler, which gets the request and
// the connection and writes whatever it likes: a well-formed reply, raw bytes, a 101 followed by
// a raw stream, bytes one at a time, nothing at all (Hang) or an early close. /_ping and
// /version answer as dockerd 20.10 does, so docklined starts and negotiates API 1.41.
//
// Every reply ends its connection ("Connection: close", then the write side is shut down), and a
// connection counts as open until the peer has hung up too. So docklined never keeps an idle
// connection to the fake, and once a call has ended OpenConnections() is back to zero unless
// docklined left something open: that, and the process's descriptor count, is what the fault
// tests check.
//
// Threads: one acceptor, and one thread per connection, which reads the request and runs its
// handler; handlers run concurrently and must guard what they share. Routes may be added at any
// time. Destruction wakes every thread (a handler blocked in Hang or Trickle returns) and joins
// them, so destroy the docklined under test first: a handler blocked writing to a peer that no
// longer reads is released only by that peer closing.

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "harness.h"
#include "recording_proxy.h"

namespace dockline::testing {

using FaultHeaders = std::vector<std::pair<std::string, std::string>>;

// One request as the fake read it.
struct FaultRequest {
  std::string method;
  std::string target;    // as sent: "/v1.41/containers/x/logs?stdout=1&follow=0"
  std::string path;      // without the query and the version prefix: "/containers/x/logs"
  std::string query;     // after '?', still escaped
  FaultHeaders headers;  // names lower-cased
  std::string body;

  // The first header called `name` (lower case), or "".
  std::string Header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) {
        return value;
      }
    }
    return "";
  }

  // Whether `param` ("follow=1", as sent) is one of the query's parameters.
  bool HasParam(std::string_view param) const {
    std::string_view rest = query;
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      if (rest.substr(0, amp) == param) {
        return true;
      }
      if (amp == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(amp + 1);
    }
    return false;
  }
};

// The stream bytes of Docker's multiplexed framing.
inline constexpr uint8_t kMuxStdout = 1;
inline constexpr uint8_t kMuxStderr = 2;

// An 8-byte multiplexed-stream header (stream byte, three zero bytes, big-endian u32 length)
// announcing `length` payload bytes, whatever actually follows it.
inline std::string MuxHeader(uint8_t stream, uint32_t length) {
  std::string header(8, '\0');
  header[0] = static_cast<char>(stream);
  for (int i = 0; i < 4; ++i) {
    header[4 + i] = static_cast<char>((length >> (24 - 8 * i)) & 0xff);
  }
  return header;
}

// A whole frame carrying `payload`.
inline std::string MuxFrame(uint8_t stream, std::string_view payload) {
  return MuxHeader(stream, static_cast<uint32_t>(payload.size())) + std::string(payload);
}

inline const char* FaultReason(int status) {
  switch (status) {
    case 101:
      return "UPGRADED";  // dockerd's own wording for a hijacked connection
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 500:
      return "Internal Server Error";
    default:
      return "Unknown";
  }
}

// A status line and headers: those every routed dockerd 20.10 reply carries, then `headers`.
// Framing headers (Content-Length, Transfer-Encoding, Connection) are the caller's.
inline std::string HttpHead(int status, const FaultHeaders& headers) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + FaultReason(status) + "\r\n";
  head +=
      "Api-Version: 1.41\r\n"
      "Docker-Experimental: false\r\n"
      "OSType: linux\r\n"
      "Server: Docker/20.10.24 (linux; dockline fault daemon)\r\n";
  for (const auto& [name, value] : headers) {
    head += name + ": " + value + "\r\n";
  }
  return head + "\r\n";
}

// A whole reply with its Content-Length; the connection ends after it.
inline std::string HttpResponse(int status, std::string_view body,
                                const FaultHeaders& headers = {}) {
  FaultHeaders all = headers;
  all.emplace_back("Content-Length", std::to_string(body.size()));
  all.emplace_back("Connection", "close");
  return HttpHead(status, all) + std::string(body);
}

// The fake's end of one connection, as a handler sees it. Every write returns false once the
// peer is gone (or after Close); a handler may ignore that, since a gone peer is often the point.
class FaultConnection {
 public:
  FaultConnection(const FaultConnection&) = delete;
  FaultConnection& operator=(const FaultConnection&) = delete;

  // Bytes exactly as given.
  bool Write(std::string_view bytes) {
    return !closed_ && SendAll(fd_, bytes.data(), bytes.size());
  }

  // A complete reply with a Content-Length.
  bool Respond(int status, std::string_view body, const FaultHeaders& headers = {}) {
    return Write(HttpResponse(status, body, headers));
  }
  bool RespondJson(int status, const nlohmann::json& body) {
    return Respond(status, body.dump(), {{"Content-Type", "application/json"}});
  }

  // A chunked reply: the head, then any number of chunks, then the terminating chunk. A handler
  // that stops before EndChunked leaves the body unfinished.
  bool BeginChunked(int status, const FaultHeaders& headers = {}) {
    FaultHeaders all = headers;
    all.emplace_back("Transfer-Encoding", "chunked");
    all.emplace_back("Connection", "close");
    return Write(HttpHead(status, all));
  }
  bool Chunk(std::string_view data) {
    if (data.empty()) {
      return true;  // an empty chunk would be the terminating one
    }
    char size[20];
    std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
    return Write(std::string(size) + std::string(data) + "\r\n");
  }
  bool EndChunked() { return Write("0\r\n\r\n"); }
  bool RespondChunked(int status, const std::vector<std::string>& chunks,
                      const FaultHeaders& headers = {}) {
    bool ok = BeginChunked(status, headers);
    for (const std::string& chunk : chunks) {
      ok = ok && Chunk(chunk);
    }
    return ok && EndChunked();
  }

  // A head with neither length nor chunking: the body is whatever comes until the connection
  // ends (dockerd's 200 to an exec start sent without the Upgrade headers).
  bool BeginUntilClose(int status, const FaultHeaders& headers = {}) {
    FaultHeaders all = headers;
    all.emplace_back("Connection", "close");
    return Write(HttpHead(status, all));
  }

  // dockerd's answer to a hijacking exec start or attach: 101, then the raw stream, which ends
  // when the connection does.
  bool Upgrade(const FaultHeaders& headers = {}) {
    FaultHeaders all = {{"Content-Type", "application/vnd.docker.raw-stream"},
                        {"Connection", "Upgrade"},
                        {"Upgrade", "tcp"}};
    all.insert(all.end(), headers.begin(), headers.end());
    return Write(HttpHead(101, all));
  }

  // `bytes` one at a time, `gap` apart: a daemon that answers, slowly. Returns early (false)
  // when the peer goes away or the daemon is being destroyed.
  bool Trickle(std::string_view bytes, std::chrono::milliseconds gap) {
    for (char c : bytes) {
      if (!Write(std::string_view(&c, 1))) {
        return false;
      }
      pollfd stop = {stop_fd_, POLLIN, 0};
      if (poll(&stop, 1, static_cast<int>(gap.count())) > 0) {
        return false;
      }
    }
    return true;
  }

  // Answers nothing more and waits until the peer hangs up (or the daemon is destroyed):
  // a daemon that accepted the request and never replies, or a follow that never ends.
  void Hang() {
    ++*hanging_;
    AwaitPeerClose();
    --*hanging_;
  }

  // Ends the connection now, both ways: the peer reads EOF wherever the reply stood.
  void Close() {
    if (!closed_) {
      shutdown(fd_, SHUT_RDWR);
      closed_ = true;
    }
  }

  bool closed() const { return closed_; }

 private:
  friend class FaultDaemon;

  FaultConnection(int fd, int stop_fd, RequestFramer* framer, std::atomic<int>* hanging)
      : fd_(fd), stop_fd_(stop_fd), framer_(framer), hanging_(hanging) {}

  // Reads (and records, as requests, if any) whatever comes until EOF, an error or the stop.
  void AwaitPeerClose() {
    char buffer[4096];
    while (WaitReadable(fd_, stop_fd_)) {
      ssize_t n = read(fd_, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return;
      }
      framer_->Feed(std::string_view(buffer, static_cast<size_t>(n)));
    }
  }

  // After the handler: the reply is over, so the peer reads EOF; the connection is closed once
  // the peer has hung up too.
  void Finish() {
    if (!closed_) {
      shutdown(fd_, SHUT_WR);
      AwaitPeerClose();
    }
    close(fd_);
    closed_ = true;
  }

  const int fd_;
  const int stop_fd_;
  RequestFramer* const framer_;
  std::atomic<int>* const hanging_;
  bool closed_ = false;
};

class FaultDaemon {
 public:
  using Handler = std::function<void(const FaultRequest& request, FaultConnection& connection)>;

  FaultDaemon() : socket_path_(dir_.path() + "/docker.sock") {
    stop_fd_ = eventfd(0, EFD_CLOEXEC);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (stop_fd_ < 0 || dir_.path().empty() || socket_path_.size() >= sizeof(addr.sun_path)) {
      return;
    }
    std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 64) != 0) {
      return;
    }
    On("GET", "/_ping", AnswerPing);
    On("HEAD", "/_ping", AnswerPing);
    On("GET", "/version", AnswerVersion);
    listening_ = true;
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~FaultDaemon() {
    if (stop_fd_ >= 0) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(stop_fd_, &one, sizeof(one));
    }
    if (acceptor_.joinable()) {
      acceptor_.join();
    }
    std::vector<std::thread> workers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      workers.swap(workers_);
    }
    for (std::thread& worker : workers) {
      worker.join();
    }
    for (int fd : {listen_fd_, stop_fd_}) {
      if (fd >= 0) {
        close(fd);
      }
    }
    unlink(socket_path_.c_str());
  }

  FaultDaemon(const FaultDaemon&) = delete;
  FaultDaemon& operator=(const FaultDaemon&) = delete;

  bool listening() const { return listening_; }
  // What docklined's docker_host takes.
  std::string address() const { return "unix://" + socket_path_; }

  // The newest route whose method ("" for any) and path match answers a request, so a test
  // overrides the defaults (or its own earlier routes) by adding another.
  void On(std::string method, const std::string& path_regex, Handler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_.push_back(
        Route{std::move(method), std::regex(path_regex), "", false, std::move(handler)});
  }
  void OnPrefix(std::string method, std::string prefix, Handler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_.push_back(
        Route{std::move(method), std::regex(), std::move(prefix), true, std::move(handler)});
  }

  // "METHOD target" of every request so far, in arrival order (recorded by RequestFramer before
  // the request is answered; "unparsed: ..." for bytes that were not a request).
  std::vector<std::string> Requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // Connections that are open at either end.
  int OpenConnections() const { return open_connections_; }
  // Handlers inside Hang() now.
  int Hanging() const { return hanging_; }

  // What dockerd 20.10.24 (API 1.41) answers to GET /version.
  // The top level of dockerd 20.10's /version (its Components repeat it; docklined reads only
  // the top level).
  static nlohmann::json VersionDocument() {
    return {{"Platform", {{"Name", "Docker Engine - Community"}}},
            {"Version", "20.10.24"},
            {"ApiVersion", "1.41"},
            {"MinAPIVersion", "1.12"},
            {"GitCommit", "5d6db84"},
            {"GoVersion", "go1.19.8"},
            {"Os", "linux"},
            {"Arch", "amd64"},
            {"KernelVersion", "6.1.0-fault"},
            {"BuildTime", "2023-04-04T00:00:00.000000000+00:00"}};
  }

  // The default handlers, for routes that answer faults only some of the time.
  static void AnswerPing(const FaultRequest& request, FaultConnection& connection) {
    FaultHeaders headers = {{"Cache-Control", "no-cache, no-store, must-revalidate"},
                            {"Content-Type", "text/plain; charset=utf-8"},
                            {"Pragma", "no-cache"}};
    // dockerd answers HEAD with the same head and Content-Length: 0.
    connection.Respond(200, request.method == "HEAD" ? "" : "OK", headers);
  }
  static void AnswerVersion(const FaultRequest&, FaultConnection& connection) {
    connection.RespondJson(200, VersionDocument());
  }

 private:
  struct Route {
    std::string method;
    std::regex pattern;
    std::string prefix;
    bool is_prefix = false;
    Handler handler;
  };

  static constexpr size_t kMaxHead = 64 << 10;

  void Record(std::string request) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(std::move(request));
  }

  void AcceptLoop() {
    while (WaitReadable(listen_fd_, stop_fd_)) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        continue;
      }
      ++open_connections_;
      std::lock_guard<std::mutex> lock(mu_);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    RequestFramer framer([this](std::string request) { Record(std::move(request)); });
    FaultConnection connection(fd, stop_fd_, &framer, &hanging_);
    FaultRequest request;
    if (ReadRequest(fd, &framer, &request)) {
      if (Handler handler = Find(request)) {
        handler(request, connection);
      } else {
        connection.RespondJson(404, {{"message", "page not found"}});
      }
    }
    connection.Finish();
    --open_connections_;
  }

  Handler Find(const FaultRequest& request) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = routes_.rbegin(); it != routes_.rend(); ++it) {
      if (!it->method.empty() && it->method != request.method) {
        continue;
      }
      if (it->is_prefix ? request.path.starts_with(it->prefix)
                        : std::regex_match(request.path, it->pattern)) {
        return it->handler;
      }
    }
    return nullptr;
  }

  // More bytes of the request into `buffer`; false at EOF, on an error or at the stop.
  bool ReadMore(int fd, RequestFramer* framer, std::string* buffer) {
    char chunk[16 << 10];
    while (WaitReadable(fd, stop_fd_)) {
      ssize_t n = read(fd, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return false;
      }
      framer->Feed(std::string_view(chunk, static_cast<size_t>(n)));
      buffer->append(chunk, static_cast<size_t>(n));
      return true;
    }
    return false;
  }

  // One request: its head, then a body of its Content-Length. A chunked body (an upload's: PUT
  // archive) stays on the connection unread, so that a handler answers while it is still coming,
  // as dockerd answers a missing path. False when the connection ends first or the request
  // cannot be framed; the framer has recorded what it made of it.
  bool ReadRequest(int fd, RequestFramer* framer, FaultRequest* out) {
    std::string buffer;
    size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (buffer.size() > kMaxHead || !ReadMore(fd, framer, &buffer)) {
        return false;
      }
    }
    std::string_view head(buffer.data(), head_end);
    size_t eol = std::min(head.find("\r\n"), head.size());
    std::string_view line = head.substr(0, eol);
    size_t first = line.find(' ');
    size_t last = line.rfind(' ');
    if (first == std::string_view::npos || first == last) {
      return false;
    }
    out->method = std::string(line.substr(0, first));
    out->target = std::string(line.substr(first + 1, last - first - 1));
    size_t question = out->target.find('?');
    out->path = out->target.substr(0, question);
    out->query = question == std::string::npos ? "" : out->target.substr(question + 1);
    static const std::regex kVersioned(R"(^/v[0-9]+\.[0-9]+(/.*)$)");
    if (std::smatch m; std::regex_match(out->path, m, kVersioned)) {
      out->path = m[1].str();
    }
    size_t length = 0;
    for (size_t pos = eol + 2; pos < head.size();) {
      size_t end = std::min(head.find("\r\n", pos), head.size());
      std::string_view header = head.substr(pos, end - pos);
      pos = end + 2;
      size_t colon = header.find(':');
      if (colon == std::string_view::npos) {
        return false;
      }
      std::string name(header.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string_view value = header.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
      }
      if (name == "content-length") {
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
        if (ec != std::errc() || ptr != value.data() + value.size()) {
          return false;
        }
      }
      out->headers.emplace_back(std::move(name), std::string(value));
    }
    const size_t body_start = head_end + 4;
    while (buffer.size() - body_start < length) {
      if (!ReadMore(fd, framer, &buffer)) {
        return false;
      }
    }
    out->body = buffer.substr(body_start, length);
    return true;
  }

  TempDir dir_;  // first: the socket lives in it, so it goes last
  const std::string socket_path_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  bool listening_ = false;
  std::atomic<int> open_connections_{0};
  std::atomic<int> hanging_{0};
  mutable std::mutex mu_;
  std::vector<Route> routes_;
  std::vector<std::string> requests_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

}  // namespace dockline::testing
