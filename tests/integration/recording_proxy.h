#pragma once

// RecordingProxy: a pass-through Unix-socket proxy in front of the daemon that records every
// request line it relays, for tests that check which endpoints the daemon was sent.

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace dockline::testing {

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
    // A misframed body would show up here as bytes before the method.
    bool method_ok = first != std::string::npos && first > 0 &&
                     std::all_of(line.begin(), line.begin() + static_cast<ptrdiff_t>(first),
                                 [](char c) { return c >= 'A' && c <= 'Z'; });
    if (!method_ok || first == last || line[first + 1] != '/' ||
        !std::string_view(line).substr(last + 1).starts_with("HTTP/")) {
      return Fail("a request line of \"" + line.substr(0, 200) + "\"");
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

// Waits until `fd` can be read (or accepted) or `stop_fd` is signalled, riding out EINTR. False
// at the stop or on a poll error: the caller's loop ends.
inline bool WaitReadable(int fd, int stop_fd) {
  while (true) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    return fds[1].revents == 0;
  }
}

inline int ConnectUnix(const std::string& path) {
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

inline bool SendAll(int fd, const char* data, size_t size) {
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
    while (WaitReadable(listen_fd_, stop_fd_)) {
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

}  // namespace dockline::testing
