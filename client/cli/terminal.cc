#include "client/cli/terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace dockline::cli {
namespace {

void WriteChunk(const v1::OutputChunk& chunk, std::ostream& out, std::ostream& err) {
  std::ostream& sink = chunk.stream() == v1::STREAM_STDERR ? err : out;
  sink.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
  sink.flush();
}

// The controlling terminal in raw mode (no echo, no line editing, no signals from keys, no
// output processing: the process's TTY does all that) until Restore or destruction.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (fd_ < 0 || !isatty(fd_) || tcgetattr(fd_, &saved_) != 0) {
      return;
    }
    termios raw = saved_;
    cfmakeraw(&raw);
    active_ = tcsetattr(fd_, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() { Restore(); }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  void Restore() {
    if (active_) {
      tcsetattr(fd_, TCSANOW, &saved_);
      active_ = false;
    }
  }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

std::optional<std::pair<uint32_t, uint32_t>> TerminalSize() {
  for (int fd : {STDOUT_FILENO, STDIN_FILENO, STDERR_FILENO}) {
    winsize ws{};
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
      return std::make_pair(static_cast<uint32_t>(ws.ws_row), static_cast<uint32_t>(ws.ws_col));
    }
  }
  return std::nullopt;
}

// Signals arrive on whichever thread the kernel picks (gRPC's threads included), so the
// handler only writes the signal number to a pipe that the control thread polls.
std::atomic<int> g_signal_pipe{-1};

extern "C" void ForwardSignal(int signal_number) {
  int saved_errno = errno;
  int fd = g_signal_pipe.load();
  if (fd >= 0) {
    unsigned char byte = static_cast<unsigned char>(signal_number);
    ssize_t ignored = write(fd, &byte, 1);
    (void)ignored;
  }
  errno = saved_errno;
}

// Handlers for `signals` for the life of the object; the previous ones come back after.
class SignalPipe {
 public:
  explicit SignalPipe(std::vector<int> signals) : signals_(std::move(signals)) {
    if (pipe2(fds_.data(), O_CLOEXEC | O_NONBLOCK) != 0) {
      fds_ = {-1, -1};
      return;
    }
    g_signal_pipe.store(fds_[1]);
    for (int sig : signals_) {
      struct sigaction action {};
      action.sa_handler = ForwardSignal;
      sigemptyset(&action.sa_mask);
      action.sa_flags = SA_RESTART;
      struct sigaction old {};
      sigaction(sig, &action, &old);
      saved_.emplace_back(sig, old);
    }
  }
  ~SignalPipe() {
    for (const auto& [sig, old] : saved_) {
      sigaction(sig, &old, nullptr);
    }
    g_signal_pipe.store(-1);
    for (int fd : fds_) {
      if (fd >= 0) {
        close(fd);
      }
    }
  }
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  int read_fd() const { return fds_[0]; }

 private:
  std::vector<int> signals_;
  std::array<int, 2> fds_{-1, -1};
  std::vector<std::pair<int, struct sigaction>> saved_;
};

// The thread that feeds the process while the main thread prints its output: stdin (when
// forwarded) up to EOF, then a stdin close; SIGWINCH as resizes; SIGINT/SIGTERM/SIGHUP proxied
// or as a cancel.
class AttachControl {
 public:
  AttachControl(client::Attachment& attachment, const RelayOptions& options)
      : attachment_(attachment),
        forward_stdin_(options.forward_stdin),
        proxy_signal_(options.proxy_signal),
        signals_(options.tty ? std::vector<int>{SIGWINCH, SIGINT, SIGTERM, SIGHUP}
                             : std::vector<int>{SIGINT, SIGTERM, SIGHUP}) {
    if (pipe2(stop_.data(), O_CLOEXEC) != 0) {
      stop_ = {-1, -1};
    }
    thread_ = std::thread([this] { Run(); });
  }

  ~AttachControl() { Stop(); }
  AttachControl(const AttachControl&) = delete;
  AttachControl& operator=(const AttachControl&) = delete;

  void Stop() {
    if (!thread_.joinable()) {
      return;
    }
    char byte = 0;
    ssize_t ignored = write(stop_[1], &byte, 1);
    (void)ignored;
    thread_.join();
    for (int fd : stop_) {
      if (fd >= 0) {
        close(fd);
      }
    }
  }

  // The signal that ended the stream early, 0 if none.
  int interrupted() const { return interrupted_.load(); }

 private:
  void Run() {
    bool stdin_open = forward_stdin_;
    std::array<char, 32 * 1024> buffer{};
    while (true) {
      std::array<pollfd, 3> fds{};
      fds[0] = {stop_[0], POLLIN, 0};
      fds[1] = {signals_.read_fd(), POLLIN, 0};
      fds[2] = {STDIN_FILENO, POLLIN, 0};
      nfds_t count = stdin_open ? 3 : 2;
      if (poll(fds.data(), count, -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        return;
      }
      if (fds[0].revents != 0) {
        return;
      }
      if (fds[1].revents & POLLIN) {
        unsigned char sig = 0;
        while (read(signals_.read_fd(), &sig, 1) == 1) {
          if (sig == SIGWINCH) {
            if (auto size = TerminalSize()) {
              attachment_.Resize(size->first, size->second);
            }
          } else if (proxy_signal_ && proxy_signal_(sig)) {
            continue;
          } else if (interrupted_.load() == 0) {
            interrupted_.store(sig);
            stdin_open = false;
            attachment_.Cancel();
          }
        }
      }
      if (stdin_open && fds[2].revents != 0) {
        ssize_t n = read(STDIN_FILENO, buffer.data(), buffer.size());
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
          continue;
        }
        if (n > 0) {
          if (!attachment_.WriteStdin(std::string_view(buffer.data(), static_cast<size_t>(n)))) {
            stdin_open = false;
          }
          continue;
        }
        // EOF (or a read error): the process sees the end of its input.
        stdin_open = false;
        attachment_.CloseStdin();
      }
    }
  }

  client::Attachment& attachment_;
  const bool forward_stdin_;
  const std::function<bool(int)> proxy_signal_;
  SignalPipe signals_;
  std::array<int, 2> stop_{-1, -1};
  std::atomic<int> interrupted_{0};
  std::thread thread_;
};

}  // namespace

RelayOutcome RelayAttachment(client::Attachment& attachment, const RelayOptions& options,
                             std::ostream& out, std::ostream& err) {
  // Raw mode only when keys go to the process: `-t` alone leaves the terminal as it is.
  RawTerminal raw(options.tty && options.forward_stdin ? STDIN_FILENO : -1);
  if (options.tty) {
    if (auto size = TerminalSize()) {
      attachment.Resize(size->first, size->second);
    }
  }
  AttachControl control(attachment, options);
  v1::OutputChunk chunk;
  while (attachment.Next(&chunk)) {
    WriteChunk(chunk, out, err);
  }
  control.Stop();
  RelayOutcome outcome;
  outcome.status = attachment.Finish();
  raw.Restore();
  outcome.interrupted = control.interrupted();
  return outcome;
}

}  // namespace dockline::cli
