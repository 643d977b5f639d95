#pragma once

// The CLI driven as a user drives it: with a pipe on its stdin, or in a pseudo-terminal
// (exec_cli_test.cc, attach_test.cc).

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace dockline::testing {

// In a forked child: becomes `argv` (its path first), or exits 127.
[[noreturn]] inline void ExecArgv(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

// Runs the CLI with `input` on its stdin (a pipe).
inline CommandResult RunWithInput(const std::vector<std::string>& argv, const std::string& input) {
  int in[2];
  int out[2];
  if (pipe(in) != 0 || pipe(out) != 0) {
    return {};
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(in[1]);
    close(out[0]);
    ExecArgv(argv);
  }
  close(in[0]);
  close(out[1]);
  std::thread writer([&] {
    size_t done = 0;
    while (done < input.size()) {
      ssize_t n = write(in[1], input.data() + done, input.size() - done);
      if (n <= 0) {
        break;
      }
      done += static_cast<size_t>(n);
    }
    close(in[1]);
  });
  CommandResult result;
  char buf[65536];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) {
    result.out.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  writer.join();
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// Reads the pty master until `want` shows up (or the child's side closes, or `limit`, which
// catches hangs only, passes).
inline bool ReadUntil(int fd, std::string* seen, const std::string& want,
                      std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (seen->find(want) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      return false;
    }
    seen->append(buf, static_cast<size_t>(n));
  }
  return true;
}

// Runs `argv` (the CLI, its path first) as the session leader of a new pseudo-terminal of
// `size`, the terminal its stdin, stdout, stderr and controlling terminal. Returns its pid;
// `*master` and `*slave` are the terminal's two ends (the caller closes them), `*before` its
// settings before the CLI could change them.
inline pid_t SpawnInTerminal(const std::vector<std::string>& argv, winsize size, int* master,
                             int* slave, termios* before) {
  if (openpty(master, slave, nullptr, nullptr, &size) != 0 || tcgetattr(*slave, before) != 0) {
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(*master);
    setsid();
    ioctl(*slave, TIOCSCTTY, 0);
    dup2(*slave, 0);
    dup2(*slave, 1);
    dup2(*slave, 2);
    ExecArgv(argv);
  }
  return pid;
}

// Waits up to `limit` (which catches hangs only) for `pid` to exit, killing it after that;
// returns its wait status, or -1 when it had to be killed.
inline int WaitExited(pid_t pid, std::chrono::milliseconds limit) {
  int status = 0;
  if (PollUntil([&] { return waitpid(pid, &status, WNOHANG) == pid; }, limit)) {
    return status;
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

// An interactive TTY session of the CLI (`argv`: up to the command, which this adds) in a real
// pseudo-terminal: raw mode while it runs, the initial size and a SIGWINCH resize reach the
// process's TTY, keys are forwarded, the exit code comes back and the terminal is restored.
inline void ExpectInteractiveTerminal(std::vector<std::string> argv,
                                      std::chrono::milliseconds limit) {
  argv.insert(argv.end(),
              {"sh", "-c",
               // On API 1.41 the first size lands just after the process starts: wait for it.
               "while [ \"$(stty size 2>&1)\" != \"33 77\" ]; do sleep 0.05; done; "
               "echo size:33x77; "
               "while [ \"$(stty size)\" != \"50 100\" ]; do sleep 0.05; done; "
               "echo resized; read line; echo got:$line; exit 5"});
  int master = -1;
  int slave = -1;
  winsize size{};
  size.ws_row = 33;
  size.ws_col = 77;
  termios before{};
  pid_t pid = SpawnInTerminal(argv, size, &master, &slave, &before);
  ASSERT_GT(pid, 0);
  ASSERT_NE(before.c_lflag & ICANON, 0u);
  std::string seen;
  ASSERT_TRUE(ReadUntil(master, &seen, "size:33x77", limit)) << seen;
  termios during{};
  ASSERT_EQ(tcgetattr(slave, &during), 0);
  EXPECT_EQ(during.c_lflag & (ICANON | ECHO), 0u) << "the terminal is not in raw mode";
  size.ws_row = 50;
  size.ws_col = 100;
  ASSERT_EQ(ioctl(master, TIOCSWINSZ, &size), 0);  // the kernel sends SIGWINCH
  ASSERT_TRUE(ReadUntil(master, &seen, "resized", limit)) << seen;
  ASSERT_EQ(write(master, "typed\r", 6), 6);
  ASSERT_TRUE(ReadUntil(master, &seen, "got:typed", limit)) << seen;
  int status = WaitExited(pid, limit);
  ASSERT_NE(status, -1) << argv[3] << " did not exit: " << seen;
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 5) << seen;
  termios after{};
  ASSERT_EQ(tcgetattr(slave, &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag) << "the terminal was not restored";
  EXPECT_EQ(after.c_oflag, before.c_oflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  close(master);
  close(slave);
}

}  // namespace dockline::testing
