#include "client/cli/exec.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <atomic>
#include <cerrno>
#include <optional>
#include <thread>
#include <utility>

#include "client/cli/cli.h"
#include "client/cli/format.h"
#include "client/quote.h"
#include "client/shlex.h"

namespace dockline::cli {
namespace {

using client::InvalidArgument;

void WriteChunk(const v1::OutputChunk& chunk, std::ostream& out, std::ostream& err) {
  std::ostream& sink = chunk.stream() == v1::STREAM_STDERR ? err : out;
  sink.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
  sink.flush();
}

// The controlling terminal in raw mode (no echo, no line editing, no signals from keys, no
// output processing: the command's TTY does all that) until Restore or destruction.
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

// The thread that feeds the exec while the main thread prints its output: stdin (when
// forwarded) up to EOF, then a stdin close; SIGWINCH as resizes; SIGINT/SIGTERM/SIGHUP as a
// cancel. It polls, so it never sits in a read that would outlive the exec.
class ExecControl {
 public:
  ExecControl(client::ExecAttachment& attachment, bool forward_stdin, bool tty)
      : attachment_(attachment),
        forward_stdin_(forward_stdin),
        signals_(tty ? std::vector<int>{SIGWINCH, SIGINT, SIGTERM, SIGHUP}
                     : std::vector<int>{SIGINT, SIGTERM, SIGHUP}) {
    if (pipe2(stop_.data(), O_CLOEXEC) != 0) {
      stop_ = {-1, -1};
    }
    thread_ = std::thread([this] { Run(); });
  }

  ~ExecControl() { Stop(); }
  ExecControl(const ExecControl&) = delete;
  ExecControl& operator=(const ExecControl&) = delete;

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

  // The signal that ended the exec early, 0 if none.
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
        // EOF (or a read error): the command sees the end of its input.
        stdin_open = false;
        attachment_.CloseStdin();
      }
    }
  }

  client::ExecAttachment& attachment_;
  const bool forward_stdin_;
  SignalPipe signals_;
  std::array<int, 2> stop_{-1, -1};
  std::atomic<int> interrupted_{0};
  std::thread thread_;
};

int ExitStatus(int exit_code) { return exit_code & 0xff; }

int ExecuteAttached(const Invocation& invocation, client::Client& client, std::ostream& out,
                    std::ostream& err) {
  const ExecInvocation& exec = invocation.exec;
  client::ExecOptions options = exec.options;
  options.stdin = exec.interactive;
  auto attached = client.ExecAttach(exec.container, exec.cmd, options);
  if (!attached.ok()) {
    PrintError(err, attached.status, invocation.address);
    return kExitCommandFailed;
  }
  client::ExecAttachment& attachment = *attached.value;
  const bool tty = options.tty;
  // Raw mode only when keys go to the command: `-t` alone leaves the terminal as it is.
  RawTerminal raw(tty && exec.interactive ? STDIN_FILENO : -1);
  if (tty) {
    if (auto size = TerminalSize()) {
      attachment.Resize(size->first, size->second);
    }
  }
  ExecControl control(attachment, exec.interactive, tty);
  v1::OutputChunk chunk;
  while (attachment.Next(&chunk)) {
    WriteChunk(chunk, out, err);
  }
  control.Stop();
  grpc::Status status = attachment.Finish();
  raw.Restore();
  if (int sig = control.interrupted(); sig != 0) {
    return 128 + sig;
  }
  if (!status.ok()) {
    PrintError(err, status, invocation.address);
    return kExitCommandFailed;
  }
  return ExitStatus(attachment.exit_code().value_or(0));
}

}  // namespace

CLI::App* AddExecCommand(CLI::App& app, ExecFlags& flags) {
  CLI::App* exec = app.add_subcommand(
      "exec",
      "Run a command in a running container: exec [OPTIONS] CONTAINER COMMAND [ARG...]. A "
      "single COMMAND word with spaces is split like a shell line (\"sh -c 'echo hi'\")");
  exec->prefix_command();
  exec->add_flag("-i,--interactive", flags.interactive, "Keep STDIN open and forward it");
  exec->add_flag("-t,--tty", flags.tty, "Allocate a pseudo-TTY");
  exec->add_flag("-d,--detach", flags.detach, "Detached mode: run the command in the background");
  exec->add_flag("--privileged", flags.privileged, "Give extended privileges to the command");
  exec->add_option("-e,--env", flags.env, "Set an environment variable: K=V, or K (repeatable)")
      ->allow_extra_args(false);
  exec->add_option("-w,--workdir", flags.workdir, "Working directory inside the container");
  exec->add_option("-u,--user", flags.user, "Username or UID (format: <name|uid>[:<group|gid>])");
  exec->add_flag("--retain", flags.retain,
                 "Keep the output on the server: reattach when the connection drops, and with "
                 "-d read it later with --resume");
  exec->add_option("--resume", flags.resume,
                   "Print the retained output of exec EXEC_ID (started with --retain) and exit "
                   "with its exit code; no CONTAINER or COMMAND");
  exec->add_option("--offset", flags.offset,
                   "With --resume: skip the first N bytes of the output (what was already read)");
  return exec;
}

grpc::Status FinishExecArgs(const ExecFlags& flags, const CLI::App& command, const EnvLookup& env,
                            ExecInvocation* exec) {
  const std::vector<std::string> rest = command.remaining();
  if (!rest.empty() && rest.front().starts_with('-')) {
    // CLI11 leaves unknown flags in front of the container.
    return InvalidArgument(fmt::format("unknown flag: {}", rest.front()));
  }
  if (!flags.resume.empty()) {
    if (!rest.empty() || flags.detach || flags.interactive || flags.tty || flags.retain) {
      return InvalidArgument(
          "--resume EXEC_ID takes no CONTAINER, COMMAND, -d, -i, -t or --retain: the exec "
          "already runs");
    }
    exec->resume = flags.resume;
    exec->resume_offset = flags.offset;
    return grpc::Status::OK;
  }
  if (command.count("--offset") > 0) {
    return InvalidArgument("--offset is only for --resume");
  }
  if (rest.size() < 2) {
    return InvalidArgument(
        "\"dockline exec\" requires at least 2 arguments: CONTAINER COMMAND [ARG...]");
  }
  if (flags.detach && flags.interactive) {
    return InvalidArgument("-d and -i cannot be combined: a detached command gets no stdin");
  }
  if (flags.retain && flags.interactive) {
    return InvalidArgument(
        "--retain and -i cannot be combined: stdin cannot be resent after a dropped connection");
  }
  exec->container = rest.front();
  exec->cmd.assign(rest.begin() + 1, rest.end());
  if (exec->cmd.size() == 1 && exec->cmd.front().find_first_of(" \t\n") != std::string::npos) {
    auto split = client::ShlexSplit(exec->cmd.front());
    if (!split.ok()) {
      return InvalidArgument(fmt::format("command {}: {}", client::Quote(exec->cmd.front()),
                                         split.status.error_message()));
    }
    exec->cmd = std::move(split.value);
  }
  exec->interactive = flags.interactive;
  exec->detach = flags.detach;
  client::ExecOptions& options = exec->options;
  options.retain_output = flags.retain;
  options.tty = flags.tty;
  options.privileged = flags.privileged;
  options.user = flags.user;
  options.workdir = flags.workdir;
  for (const std::string& entry : flags.env) {
    auto parsed = ParseEnv(entry, env);
    if (!parsed.ok()) {
      return parsed.status;
    }
    options.env.push_back(std::move(parsed.value));
  }
  return grpc::Status::OK;
}

int ExecuteExec(const Invocation& invocation, client::Client& client, std::ostream& out,
                std::ostream& err) {
  const ExecInvocation& exec = invocation.exec;
  if (exec.detach) {
    auto started = client.ExecStart(exec.container, exec.cmd, exec.options);
    if (!started.ok()) {
      PrintError(err, started.status, invocation.address);
      return kExitCommandFailed;
    }
    if (invocation.json) {
      v1::StartExecResponse response;
      response.set_exec_id(started.value);
      out << ToJson(response) << '\n';
    } else {
      // docker prints nothing here; the id is what `InspectExec` needs later.
      out << started.value << '\n';
    }
    return 0;
  }
  if (exec.interactive || (exec.options.tty && !exec.options.retain_output)) {
    return ExecuteAttached(invocation, client, out, err);
  }
  client::ExecOptions options = exec.options;
  options.collect_output = false;
  options.on_output = [&out, &err](v1::Stream stream, std::string_view data) {
    std::ostream& sink = stream == v1::STREAM_STDERR ? err : out;
    sink.write(data.data(), static_cast<std::streamsize>(data.size()));
    sink.flush();
  };
  auto result = exec.resume.empty() ? client.ExecStream(exec.container, exec.cmd, options)
                                    : client.ExecResume(exec.resume, exec.resume_offset, options);
  if (result.value.lost_bytes > 0) {
    err << "dockline: " << result.value.lost_bytes
        << " bytes of the output were no longer kept (docklined --exec-retain-size)\n";
  }
  if (!result.ok()) {
    PrintError(err, result.status, invocation.address);
    return kExitCommandFailed;
  }
  return ExitStatus(result.value.exit_code);
}

}  // namespace dockline::cli
