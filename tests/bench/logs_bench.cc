// Log relay benchmark: prints measured throughputs and ratios, never passes or fails on them.
//
//   DOCKER_HOST=unix:///... logs_bench [--lines N] [--rss-mb M] [--docklined PATH]
//
// 1. N lines (default 1,000,000) read from a finished container: through dockline (StreamLogs),
//    straight from the daemon's socket, with docker-py, and with `docker logs`, in one run.
// 2. docklined's RSS growth while a slow client reads M MiB (default 1024) of logs.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "dockline/v1/dockline.grpc.pb.h"
#include "engine/docker_engine.h"

namespace {

using Clock = std::chrono::steady_clock;
using dockline::engine::ApiRequest;
using dockline::engine::ApiResponse;
namespace v1 = dockline::v1;

std::shared_ptr<dockline::engine::DockerEngine> engine;

dockline::engine::Result<ApiResponse> Call(ApiRequest req) {
  std::promise<dockline::engine::Result<ApiResponse>> p;
  auto f = p.get_future();
  engine->Unary(std::move(req), [&p](auto r) { p.set_value(std::move(r)); });
  return f.get();
}

std::string RunToEnd(const std::string& cmd) {
  ApiRequest create("POST", "/containers/create");
  create.body = nlohmann::json{{"Image", "dockline-test/busybox:latest"},
                               {"Cmd", {"sh", "-c", cmd}},
                               {"Labels", {{"dockline-bench", "1"}}},
                               {"HostConfig", {{"NetworkMode", "none"}}}}
                    .dump();
  auto res = Call(create);
  if (!res.ok()) {
    std::fprintf(stderr, "create: %s\n", res.status().message().c_str());
    std::exit(1);
  }
  std::string id = nlohmann::json::parse(res->body)["Id"];
  Call(ApiRequest("POST", "/containers/" + id + "/start"));
  ApiRequest wait("POST", "/containers/" + id + "/wait");
  wait.timeout = std::chrono::minutes(30);
  Call(wait);
  return id;
}

void Remove(const std::string& id) {
  ApiRequest del("DELETE", "/containers/" + id);
  del.Query("force", "1");
  Call(del);
}

// Bytes of the container's log read straight from the daemon socket (demuxed frames included).
double RawSocket(const std::string& id, size_t* bytes) {
  auto start = Clock::now();
  std::promise<size_t> done;
  ApiRequest req("GET", "/containers/" + id + "/logs");
  req.Query("stdout", "1").Query("stderr", "1");
  engine->Stream(req, [&done](auto res, std::shared_ptr<dockline::engine::BodyStream> body) {
    if (!res.ok()) {
      done.set_value(0);
      return;
    }
    auto total = std::make_shared<size_t>(0);
    auto next = std::make_shared<std::function<void()>>();
    *next = [body, total, next, &done] {
      body->Read([body, total, next, &done](const auto& st, std::string_view data, bool eof) {
        *total += data.size();
        if (!st.ok() || eof) {
          done.set_value(*total);
          *next = nullptr;
          return;
        }
        (*next)();
      });
    };
    (*next)();
  });
  *bytes = done.get_future().get();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double ThroughDockline(v1::Dockline::Stub& stub, const std::string& id, size_t* bytes,
                       std::chrono::microseconds delay = {}) {
  auto start = Clock::now();
  grpc::ClientContext ctx;
  v1::StreamLogsRequest req;
  req.set_container(id);
  auto reader = stub.StreamLogs(&ctx, req);
  v1::StreamLogsResponse msg;
  *bytes = 0;
  while (reader->Read(&msg)) {
    *bytes += msg.output().data().size();
    if (delay.count() > 0) {
      std::this_thread::sleep_for(delay);
    }
  }
  grpc::Status st = reader->Finish();
  if (!st.ok()) {
    std::fprintf(stderr, "StreamLogs: %s\n", st.error_message().c_str());
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double Command(const std::string& cmd) {
  auto start = Clock::now();
  int rc = std::system(cmd.c_str());
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return rc == 0 ? secs : -1;
}

}  // namespace

int main(int argc, char** argv) {
  long lines = 1000000;
  long rss_mb = 1024;
  std::string docklined_path = "build/server/docklined";
  CLI::App app{"logs_bench: log relay throughput and docklined's RSS under a slow reader"};
  app.add_option("--lines", lines, "lines in the throughput run")
      ->check(CLI::Range(1L, 100000000L));
  app.add_option("--rss-mb", rss_mb, "MiB a slow client reads (0: skip)")
      ->check(CLI::Range(0L, 1000000L));
  app.add_option("--docklined", docklined_path, "the docklined binary")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const char* host = std::getenv("DOCKER_HOST");
  if (host == nullptr) {
    std::fprintf(stderr, "set DOCKER_HOST (tests/engine/test-engine.sh start prints it)\n");
    return 2;
  }
  dockline::engine::DockerEngineOptions options;
  options.docker_host = host;
  engine = dockline::engine::DockerEngine::Create(options).value();

  dockline::bench::DocklinedChild docklined(docklined_path, "127.0.0.1:50077", host);
  const pid_t server = docklined.pid();
  auto channel = grpc::CreateChannel("127.0.0.1:50077", grpc::InsecureChannelCredentials());
  channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stub = v1::Dockline::NewStub(channel);

  std::printf("== %ld lines from a finished container ==\n", lines);
  std::string id = RunToEnd("seq 1 " + std::to_string(lines));
  size_t raw_bytes = 0;
  size_t dl_bytes = 0;
  RawSocket(id, &raw_bytes);  // warm the daemon's page cache
  // Alternating runs, medians: one run of each varies by 10% from run to run on a busy host.
  constexpr int kRuns = 5;
  std::vector<double> raw_runs;
  std::vector<double> dl_runs;
  for (int i = 0; i < kRuns; ++i) {
    raw_runs.push_back(RawSocket(id, &raw_bytes));
    dl_runs.push_back(ThroughDockline(*stub, id, &dl_bytes));
  }
  std::sort(raw_runs.begin(), raw_runs.end());
  std::sort(dl_runs.begin(), dl_runs.end());
  const double raw = raw_runs[kRuns / 2];
  const double dl = dl_runs[kRuns / 2];
  std::string py = "DOCKER_HOST=" + std::string(host) +
                   " /usr/bin/python3 -c 'import docker,sys; c=docker.from_env(); "
                   "sys.stdout.buffer.write(c.containers.get(\"" +
                   id + "\").logs())' > /dev/null";
  double docker_py = Command(py);
  double docker_cli =
      Command("/usr/bin/docker -H " + std::string(host) + " logs " + id + " > /dev/null 2>&1");
  auto rate = [&](double secs) { return secs > 0 ? lines / secs : 0.0; };
  std::printf("(medians of %d alternating runs)\n", kRuns);
  std::printf("raw socket : %7.3f s  %10.0f lines/s  (%zu bytes incl. frame headers)\n", raw,
              rate(raw), raw_bytes);
  std::printf("dockline   : %7.3f s  %10.0f lines/s  (%zu payload bytes)\n", dl, rate(dl),
              dl_bytes);
  std::printf("docker-py  : %7.3f s  %10.0f lines/s\n", docker_py, rate(docker_py));
  std::printf("docker logs: %7.3f s  %10.0f lines/s\n", docker_cli, rate(docker_cli));
  std::printf("ratio dockline/raw socket throughput: %.3f (target >= 0.95)\n", raw / dl);
  dockline::bench::TableRow(
      dockline::bench::Format("logs, %ld lines: throughput through dockline / raw socket", lines),
      dockline::bench::Format("%.3f (%.2f s vs %.2f s; docker logs %.2f s, docker-py %.2f s)",
                              raw / dl, dl, raw, docker_cli, docker_py),
      ">= 0.95", raw / dl >= 0.95);
  if (docker_py > 0) {
    std::printf("ratio dockline/docker-py throughput:  %.3f\n", docker_py / dl);
  }
  if (docker_cli > 0) {
    std::printf("ratio dockline/docker logs throughput: %.3f\n", docker_cli / dl);
  }
  Remove(id);

  if (rss_mb > 0) {
    std::printf("== docklined RSS while a slow client reads %ld MiB ==\n", rss_mb);
    std::string big = RunToEnd(
        "yes 0123456789012345678901234567890123456789012345678901234567"
        "890123456789012345678901234567890123456 | head -c " +
        std::to_string(rss_mb) + "m");
    long before = dockline::bench::RssKb(server);
    long peak = before;
    std::atomic<bool> reading{true};
    std::thread sampler([&] {
      while (reading) {
        peak = std::max(peak, dockline::bench::RssKb(server));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    size_t bytes = 0;
    double secs = ThroughDockline(*stub, big, &bytes, std::chrono::microseconds(200));
    reading = false;
    sampler.join();
    std::printf(
        "read %zu bytes in %.1f s; docklined RSS %ld KiB before, peak %ld KiB: growth "
        "%.1f MiB (target < 16)\n",
        bytes, secs, before, peak, (peak - before) / 1024.0);
    dockline::bench::TableRow(
        dockline::bench::Format("logs, a slow reader of %ld MiB: docklined RSS growth", rss_mb),
        dockline::bench::Format("%.1f MiB", (peak - before) / 1024.0), "< 16 MiB",
        (peak - before) < 16 * 1024);
    Remove(big);
  }
  engine->Shutdown();
  return 0;
}
