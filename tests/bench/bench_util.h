#pragma once

// What the benchmark programs share: sample statistics, docklined as a child process, and
// reading a process's memory and threads from /proc.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

namespace dockline::bench {

struct Stats {
  double min_us = 0;
  double median_us = 0;
  double mean_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  size_t n = 0;
};

inline Stats Summarize(std::vector<double> samples_us) {
  Stats s;
  if (samples_us.empty()) {
    return s;
  }
  std::sort(samples_us.begin(), samples_us.end());
  s.n = samples_us.size();
  s.min_us = samples_us.front();
  s.median_us = samples_us[s.n / 2];
  s.p90_us = samples_us[std::min(s.n - 1, s.n * 9 / 10)];
  s.p99_us = samples_us[std::min(s.n - 1, s.n * 99 / 100)];
  s.mean_us = std::accumulate(samples_us.begin(), samples_us.end(), 0.0) / s.n;
  return s;
}

inline void Print(const char* name, const Stats& s) {
  std::printf(
      "  %-10s n=%-5zu min %8.0f us   median %8.0f us   mean %8.0f us   p90 %8.0f us   "
      "p99 %8.0f us\n",
      name, s.n, s.min_us, s.median_us, s.mean_us, s.p90_us, s.p99_us);
}

// A field of /proc/<pid>/status ("VmRSS:" in KiB, "Threads:"), or -1.
inline long ProcStatus(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) {
      return std::atol(line.c_str() + field.size());
    }
  }
  return -1;
}

inline long RssKb(pid_t pid) { return ProcStatus(pid, "VmRSS:"); }

// One row of the summary table that scripts/bench.sh prints after all the benchmarks:
// a tab-separated line starting "ROW", read by that script and ignored by a reader.
inline void TableRow(const std::string& what, const std::string& measured,
                     const std::string& target, bool met) {
  std::printf("ROW\t%s\t%s\t%s\t%s\n", what.c_str(), measured.c_str(), target.c_str(),
              met ? "met" : "NOT met");
  std::fflush(stdout);
}

// printf into a std::string, for table cells.
template <typename... Args>
std::string Format(const char* format, Args... args) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), format, args...);
  return buf;
}

// docklined as its own process, so that its RSS is its own. Stopped (by its pid) on scope exit.
class DocklinedChild {
 public:
  DocklinedChild(const std::string& binary, const std::string& listen,
                 const std::string& docker_host, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {binary,      "--listen",    listen, "--docker-host",
                                     docker_host, "--log-level", "warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& arg : args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
  }
  ~DocklinedChild() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  DocklinedChild(const DocklinedChild&) = delete;
  DocklinedChild& operator=(const DocklinedChild&) = delete;

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

}  // namespace dockline::bench
