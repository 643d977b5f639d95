// Exec round trip of `true`, measured three ways in one run against the daemon at DOCKER_HOST:
//
//   dockline   Client::ExecRun through an in-process docklined (gRPC on loopback): exec create,
//              hijacked start read to EOF, exec inspect, on the daemon's socket.
//   bare       the same Engine API sequence written straight on the Unix socket by a minimal
//              blocking HTTP/1.1 client: what any client must do at the least.
//   docker-py  container.exec_run("true") in /usr/bin/python3 (Debian's python3-docker), timed
//              inside Python so that the interpreter's start-up is not counted.
//
// dockline and bare alternate call by call, docker-py runs a batch per round, over five rounds,
// so that drift in the daemon or load on the machine hits them alike. Prints min, median, mean
// and p90 and the ratios; no thresholds (the issue's target: dockline within 5% of the bare
// sequence, and faster than docker-py).
//
// Usage: DOCKER_HOST=unix:///path exec_bench [iterations per method, default 200]

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "client/client.h"
#include "engine/docker_engine.h"
#include "server/server.h"

namespace {

using Clock = std::chrono::steady_clock;
using dockline::bench::Print;
using dockline::bench::Stats;
using dockline::bench::Summarize;

std::string SocketPath(const std::string& host) {
  return host.rfind("unix://", 0) == 0 ? host.substr(7) : host;
}

// A blocking HTTP/1.1 connection on the daemon's socket: just enough for these four calls.
class RawConnection {
 public:
  explicit RawConnection(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0; }

  bool Send(const std::string& method, const std::string& target, const std::string& body,
            bool upgrade) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
    if (upgrade) {
      req += "Connection: Upgrade\r\nUpgrade: tcp\r\n";
    }
    if (!body.empty()) {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    }
    req += "\r\n" + body;
    size_t done = 0;
    while (done < req.size()) {
      ssize_t n = write(fd_, req.data() + done, req.size() - done);
      if (n <= 0) {
        return false;
      }
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads a reply with a Content-Length body (or none); returns the status, fills `body`.
  int ReadReply(std::string* body) {
    std::string head;
    if (!ReadHead(&head)) {
      return -1;
    }
    int status = std::atoi(head.c_str() + 9);
    size_t length = 0;
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (size_t at = lower.find("content-length:"); at != std::string::npos) {
      length = std::strtoul(head.c_str() + at + 15, nullptr, 10);
    }
    while (buffer_.size() < length) {
      if (!Fill()) {
        return -1;
      }
    }
    *body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return status;
  }

  // Reads a 101 header, then the raw stream to EOF; returns the status and the stream bytes.
  int ReadHijacked(std::string* stream) {
    std::string head;
    if (!ReadHead(&head)) {
      return -1;
    }
    int status = std::atoi(head.c_str() + 9);
    while (Fill()) {
    }
    *stream = std::move(buffer_);
    buffer_.clear();
    return status;
  }

 private:
  bool ReadHead(std::string* head) {
    while (true) {
      if (size_t end = buffer_.find("\r\n\r\n"); end != std::string::npos) {
        *head = buffer_.substr(0, end);
        buffer_.erase(0, end + 4);
        return true;
      }
      if (!Fill()) {
        return false;
      }
    }
  }
  bool Fill() {
    char buf[16384];
    ssize_t n = read(fd_, buf, sizeof(buf));
    if (n <= 0) {
      return false;
    }
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

// POST /containers/{id}/exec, POST /exec/{id}/start (hijacked, read to EOF), GET
// /exec/{id}/json: the bare sequence, with the create/inspect connection kept alive.
std::optional<int> BareExec(RawConnection& keepalive, const std::string& socket_path,
                            const std::string& version, const std::string& container) {
  const std::string prefix = "/v" + version;
  std::string body;
  if (!keepalive.Send("POST", prefix + "/containers/" + container + "/exec",
                      R"({"AttachStdout":true,"AttachStderr":true,"Cmd":["true"]})", false) ||
      keepalive.ReadReply(&body) != 201) {
    return std::nullopt;
  }
  auto created = nlohmann::json::parse(body, nullptr, false);
  if (!created.is_object() || !created.contains("Id") || !created["Id"].is_string()) {
    return std::nullopt;
  }
  std::string id = created["Id"].get<std::string>();
  {
    RawConnection hijack(socket_path);
    std::string stream;
    if (!hijack.ok() ||
        !hijack.Send("POST", prefix + "/exec/" + id + "/start", R"({"Detach":false,"Tty":false})",
                     true) ||
        hijack.ReadHijacked(&stream) != 101) {
      return std::nullopt;
    }
  }
  if (!keepalive.Send("GET", prefix + "/exec/" + id + "/json", "", false) ||
      keepalive.ReadReply(&body) != 200) {
    return std::nullopt;
  }
  auto inspect = nlohmann::json::parse(body, nullptr, false);
  if (!inspect.is_object() || !inspect.contains("ExitCode") ||
      !inspect["ExitCode"].is_number_integer()) {
    return std::nullopt;
  }
  return inspect["ExitCode"].get<int>();
}

// Runs `n` timed exec_run("true") calls in one Python process (after one warm-up call) and
// returns their durations in microseconds; empty when docker-py is not usable.
std::vector<double> DockerPy(const std::string& container, int n) {
  std::string script =
      "import docker, json, sys, time\n"
      "c = docker.from_env().containers.get(sys.argv[1])\n"
      "c.exec_run([\"true\"])\n"
      "out = []\n"
      "for _ in range(int(sys.argv[2])):\n"
      "    t = time.perf_counter(); r = c.exec_run([\"true\"])\n"
      "    out.append((time.perf_counter() - t) * 1e6)\n"
      "    assert r.exit_code == 0, r\n"
      "print(json.dumps(out))\n";
  std::string command =
      "/usr/bin/python3 -c '" + script + "' " + container + " " + std::to_string(n);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return {};
  }
  std::string output;
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof(buf), pipe)) > 0) {
    output.append(buf, got);
  }
  if (pclose(pipe) != 0) {
    return {};
  }
  auto j = nlohmann::json::parse(output, nullptr, false);
  std::vector<double> samples;
  if (j.is_array()) {
    for (const auto& v : j) {
      if (v.is_number()) {
        samples.push_back(v.get<double>());
      }
    }
  }
  return samples;
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::max(10, std::atoi(argv[1])) : 200;
  constexpr int kRounds = 5;
  const int per_round = std::max(1, iterations / kRounds);
  const char* host_env = std::getenv("DOCKER_HOST");
  if (host_env == nullptr || std::string(host_env).rfind("unix://", 0) != 0) {
    std::fprintf(stderr,
                 "exec_bench: set DOCKER_HOST=unix:///path (tests/engine/test-engine.sh "
                 "start prints one)\n");
    return 2;
  }
  const std::string host = host_env;
  const std::string socket_path = SocketPath(host);
  const char* image_env = std::getenv("DOCKLINE_TEST_IMAGE");
  const std::string image = image_env != nullptr ? image_env : "dockline-test/busybox:latest";

  dockline::server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.docker_host = host;
  auto server = dockline::server::DocklineServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "exec_bench: %s\n", server.status().message().c_str());
    return 1;
  }
  dockline::client::Client client = dockline::client::Client::Connect(server.value()->address());

  // The container, created through dockline (network none, labelled for cleanup).
  dockline::v1::ContainerSpec spec;
  spec.set_image(image);
  spec.add_command("sleep");
  spec.add_command("3600");
  spec.set_network("none");
  (*spec.mutable_labels())["dockline-bench"] = "exec";
  auto created = client.Create(spec);
  if (!created.ok() || !client.Start(created.value.id()).ok()) {
    std::fprintf(stderr, "exec_bench: cannot start a %s container: %s\n", image.c_str(),
                 created.status.error_message().c_str());
    return 1;
  }
  const std::string container = created.value.id();
  auto info = client.EngineInfo();
  const std::string version = info.ok() ? info.value.api_version() : "1.41";

  RawConnection keepalive(socket_path);
  if (!keepalive.ok()) {
    std::fprintf(stderr, "exec_bench: cannot connect to %s\n", socket_path.c_str());
    return 1;
  }
  // Warm-up: connections, the daemon's caches, the first-call costs of each path.
  for (int i = 0; i < 5; ++i) {
    client.ExecRun(container, {"true"});
    BareExec(keepalive, socket_path, version, container);
  }

  std::vector<double> dockline_us;
  std::vector<double> bare_us;
  std::vector<double> docker_py_us;
  bool docker_py_ok = true;
  int failures = 0;
  for (int round = 0; round < kRounds; ++round) {
    // dockline and bare alternate call by call (which goes first alternates too), so that load
    // from elsewhere on the machine lands on both alike.
    for (int i = 0; i < 2 * per_round; ++i) {
      const bool dockline_turn = (i + i / 2) % 2 == 0;
      auto t0 = Clock::now();
      bool ok = false;
      if (dockline_turn) {
        auto r = client.ExecRun(container, {"true"});
        ok = r.ok() && r.value.exit_code == 0;
      } else {
        auto code = BareExec(keepalive, socket_path, version, container);
        ok = code && *code == 0;
      }
      auto t1 = Clock::now();
      if (!ok) {
        ++failures;
        continue;
      }
      (dockline_turn ? dockline_us : bare_us)
          .push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    if (docker_py_ok) {
      std::vector<double> py = DockerPy(container, per_round);
      if (py.empty()) {
        docker_py_ok = false;
      }
      docker_py_us.insert(docker_py_us.end(), py.begin(), py.end());
    }
  }

  Stats d = Summarize(dockline_us);
  Stats b = Summarize(bare_us);
  Stats p = Summarize(docker_py_us);
  std::printf("exec round trip of `true` (%d rounds, API %s, %s)\n", kRounds, version.c_str(),
              host.c_str());
  Print("dockline", d);
  Print("bare", b);
  if (docker_py_ok) {
    Print("docker-py", p);
  } else {
    std::printf("  docker-py  unavailable (/usr/bin/python3 -c 'import docker' failed)\n");
  }
  if (b.n > 0 && d.n > 0) {
    std::printf("ratio dockline/bare:      median %.3f   mean %.3f   (target <= 1.05)\n",
                d.median_us / b.median_us, d.mean_us / b.mean_us);
  }
  if (docker_py_ok && p.n > 0 && d.n > 0) {
    std::printf("ratio dockline/docker-py: median %.3f   mean %.3f   (target < 1)\n",
                d.median_us / p.median_us, d.mean_us / p.mean_us);
  }
  if (failures > 0) {
    std::printf("failed iterations: %d\n", failures);
  }
  dockline::bench::TableRow(
      "exec `true` (library): dockline / the bare Engine API sequence, median",
      dockline::bench::Format("%.3f (%.1f ms vs %.1f ms)", d.median_us / b.median_us,
                              d.median_us / 1000, b.median_us / 1000),
      "<= 1.05", d.median_us <= 1.05 * b.median_us);

  // Whole processes, as a user types them: `dockline exec` against `docker exec`, alternating.
  const std::string cli =
      std::getenv("DOCKLINE_CLI") ? std::getenv("DOCKLINE_CLI") : "build/client/dockline";
  const std::string dockline_cmd =
      cli + " --addr " + server.value()->address() + " exec " + container + " true";
  const std::string docker_cmd = "/usr/bin/docker -H " + host + " exec " + container + " true";
  std::vector<double> cli_us;
  std::vector<double> docker_us;
  for (int i = 0; i < 2 * std::min(per_round * 2, 60); ++i) {
    const bool dockline_turn = (i + i / 2) % 2 == 0;
    auto t0 = Clock::now();
    const int rc = std::system((dockline_turn ? dockline_cmd : docker_cmd).c_str());
    auto t1 = Clock::now();
    if (rc == 0) {
      (dockline_turn ? cli_us : docker_us)
          .push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
  }
  Stats c = Summarize(cli_us);
  Stats k = Summarize(docker_us);
  std::printf("exec `true` as processes (%s, /usr/bin/docker):\n", cli.c_str());
  Print("dockline", c);
  Print("docker", k);
  if (c.n > 0 && k.n > 0) {
    dockline::bench::TableRow(
        "exec `true` (CLI processes): dockline exec / docker exec, median",
        dockline::bench::Format("%.3f (%.1f ms vs %.1f ms)", c.median_us / k.median_us,
                                c.median_us / 1000, k.median_us / 1000),
        "<= 1.00", c.median_us <= k.median_us);
  } else {
    dockline::bench::TableRow("exec `true` (CLI processes)", "failed to run", "<= 1.00", false);
  }

  client.Remove(container, /*force=*/true);
  server.value()->Shutdown(std::chrono::milliseconds(2000));
  return 0;
}
