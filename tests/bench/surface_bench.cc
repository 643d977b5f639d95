// Unary overhead and many concurrent follow streams: prints measurements and ratios, never
// passes or fails on them.
//
//   DOCKER_HOST=unix:///... surface_bench [--calls N] [--streams M] [--docklined PATH]
//
// 1. InspectContainer through dockline against GET /containers/{id}/json straight at the
//    daemon (keep-alive connection), alternating call by call: the time dockline adds. The
//    "grpc floor" is a call refused before any daemon work: gRPC's own round trip.
// 2. M (default 1000) StreamLogs follow streams open at once on a container printing a line a
//    second: how many get output, and docklined's RSS and threads while they are open.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
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
using dockline::engine::Result;
namespace v1 = dockline::v1;

Result<ApiResponse> Call(dockline::engine::Engine& engine, ApiRequest req) {
  std::promise<Result<ApiResponse>> p;
  auto f = p.get_future();
  engine.Unary(std::move(req), [&p](Result<ApiResponse> r) { p.set_value(std::move(r)); });
  return f.get();
}

std::string StartContainer(dockline::engine::Engine& engine, const std::string& image,
                           const std::string& cmd) {
  ApiRequest create("POST", "/containers/create");
  create.body = nlohmann::json{{"Image", image},
                               {"Cmd", {"sh", "-c", cmd}},
                               {"Labels", {{"dockline-bench", "surface"}}},
                               {"HostConfig", {{"NetworkMode", "none"}}}}
                    .dump();
  auto res = Call(engine, create);
  if (!res.ok()) {
    std::fprintf(stderr, "surface_bench: create: %s\n", res.status().message().c_str());
    return "";
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  std::string id = j.is_object() ? j.value("Id", "") : "";
  if (id.empty() || !Call(engine, ApiRequest("POST", "/containers/" + id + "/start")).ok()) {
    std::fprintf(stderr, "surface_bench: cannot start the container\n");
    return "";
  }
  return id;
}

// Counts the streams that have had output and those that have ended.
struct Tally {
  std::mutex mu;
  std::condition_variable cv;
  int with_output = 0;
  int done = 0;
  int failed = 0;
  std::string first_error;
  // With timestamps: how long after the daemon stamped each chunk's line it got here.
  std::vector<double> latencies_us;
};

class FollowReader : public grpc::ClientReadReactor<v1::StreamLogsResponse> {
 public:
  FollowReader(v1::Dockline::Stub* stub, const std::string& id, Tally* tally,
               bool timestamps = false)
      : tally_(tally) {
    request_.set_container(id);
    request_.set_follow(true);
    request_.set_tail(0);
    request_.set_timestamps(timestamps);
    stub->async()->StreamLogs(&ctx_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  void Cancel() { ctx_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      return;
    }
    if (!seen_output_ || response_.output().has_timestamp()) {
      std::lock_guard<std::mutex> lock(tally_->mu);
      if (!seen_output_) {
        seen_output_ = true;
        ++tally_->with_output;
      }
      if (response_.output().has_timestamp()) {
        const auto& ts = response_.output().timestamp();
        const auto stamped = std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::seconds(ts.seconds()) + std::chrono::nanoseconds(ts.nanos())));
        tally_->latencies_us.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::system_clock::now() - stamped)
                .count());
      }
      tally_->cv.notify_all();
    }
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(tally_->mu);
    ++tally_->done;
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      ++tally_->failed;
      if (tally_->first_error.empty()) {
        tally_->first_error = status.error_message();
      }
    }
    tally_->cv.notify_all();
  }

 private:
  grpc::ClientContext ctx_;
  v1::StreamLogsRequest request_;
  v1::StreamLogsResponse response_;
  Tally* tally_;
  bool seen_output_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  int calls = 2000;
  int streams = 1000;
  std::string docklined_path = "build/server/docklined";
  CLI::App app{"surface_bench: unary overhead and many concurrent follow streams"};
  app.add_option("--calls", calls, "timed calls of each kind")->check(CLI::Range(10, 1000000));
  app.add_option("--streams", streams, "follow streams at once (0: skip)")
      ->check(CLI::Range(0, 100000));
  app.add_option("--docklined", docklined_path, "the docklined binary")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const char* host = std::getenv("DOCKER_HOST");
  if (host == nullptr) {
    std::fprintf(stderr, "set DOCKER_HOST (tests/engine/test-engine.sh start prints it)\n");
    return 2;
  }
  const char* image_env = std::getenv("DOCKLINE_TEST_IMAGE");
  const std::string image = image_env != nullptr ? image_env : "dockline-test/busybox:latest";
  dockline::engine::DockerEngineOptions options;
  options.docker_host = host;
  auto created = dockline::engine::DockerEngine::Create(options);
  if (!created.ok()) {
    std::fprintf(stderr, "surface_bench: %s\n", created.status().message().c_str());
    return 1;
  }
  std::shared_ptr<dockline::engine::DockerEngine> engine = created.value();

  // A stub on docklined at `address`, or nullptr when it did not come up.
  auto connect = [&](const std::string& address) -> std::unique_ptr<v1::Dockline::Stub> {
    auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      std::fprintf(stderr, "surface_bench: docklined (%s) on %s did not come up\n",
                   docklined_path.c_str(), address.c_str());
      return nullptr;
    }
    return v1::Dockline::NewStub(channel);
  };
  dockline::bench::DocklinedChild docklined(docklined_path, "127.0.0.1:50079", host);
  // The same server with every reply handed to an engine io thread, as before the inline path.
  dockline::bench::DocklinedChild handing_over(docklined_path, "127.0.0.1:50080", host,
                                               {"--inline-reply-wait", "0"});
  auto stub = connect("127.0.0.1:50079");
  auto stub_ho = connect("127.0.0.1:50080");
  if (!stub || !stub_ho) {
    return 1;
  }
  std::string id = StartContainer(*engine, image, "while true; do echo tick; sleep 1; done");
  if (id.empty()) {
    return 1;
  }

  // 1. Unary overhead.
  ApiRequest direct("GET", "/containers/" + id + "/json");
  auto inspect = [&](v1::Dockline::Stub* s) {
    grpc::ClientContext ctx;
    v1::InspectContainerRequest req;
    req.set_container(id);
    v1::InspectContainerResponse resp;
    return s->InspectContainer(&ctx, req, &resp).ok();
  };
  auto through = [&] { return inspect(stub.get()); };
  // The gRPC floor: a call refused by validation, before any daemon work.
  auto refused = [&] {
    grpc::ClientContext ctx;
    v1::InspectContainerRequest req;
    v1::InspectContainerResponse resp;
    return stub->InspectContainer(&ctx, req, &resp).error_code() ==
           grpc::StatusCode::INVALID_ARGUMENT;
  };
  for (int i = 0; i < 50; ++i) {  // connections, caches, first-call costs
    through();
    inspect(stub_ho.get());
    refused();
    Call(*engine, direct);
  }
  std::vector<double> floor_us;
  for (int i = 0; i < calls; ++i) {
    auto t0 = Clock::now();
    if (refused()) {
      floor_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
  }
  // Interleaved, the order rotating, so that drift in the daemon weighs on all three alike.
  std::vector<double> samples[3];  // dockline, direct, dockline handing over
  int failures = 0;
  for (int i = 0; i < 3 * calls; ++i) {
    const int turn = (i + i / 3) % 3;
    auto t0 = Clock::now();
    bool ok = turn == 0   ? through()
              : turn == 1 ? Call(*engine, direct).ok()
                          : inspect(stub_ho.get());
    double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    if (!ok) {
      ++failures;
      continue;
    }
    samples[turn].push_back(us);
  }
  auto d = dockline::bench::Summarize(samples[0]);
  auto e = dockline::bench::Summarize(samples[1]);
  auto h = dockline::bench::Summarize(samples[2]);
  std::printf("== InspectContainer vs GET /containers/{id}/json (%s) ==\n", host);
  dockline::bench::Print("dockline", d);
  dockline::bench::Print("direct", e);
  dockline::bench::Print("handover", h);
  dockline::bench::Print("grpc floor", dockline::bench::Summarize(floor_us));
  std::printf("added by dockline: median %.0f us, p90 %.0f us (target <= 150 us at the median)\n",
              d.median_us - e.median_us, d.p90_us - e.p90_us);
  std::printf("ratio dockline/direct: median %.2f\n",
              e.median_us > 0 ? d.median_us / e.median_us : 0.0);
  std::printf(
      "added with --inline-reply-wait 0 (every reply handed to an io thread): median %.0f "
      "us\n",
      h.median_us - e.median_us);
  const double added = d.median_us - e.median_us;
  dockline::bench::TableRow(
      "InspectContainer: time added over GET /containers/{id}/json, p50",
      dockline::bench::Format(
          "%.0f us (dockline %.0f, direct %.0f, gRPC floor %.0f; handed over: %.0f added)", added,
          d.median_us, e.median_us, dockline::bench::Summarize(floor_us).median_us,
          h.median_us - e.median_us),
      "<= 150 us", added <= 150);
  if (failures > 0) {
    std::printf("failed calls: %d\n", failures);
  }

  // 2. Many follow streams.
  if (streams > 0) {
    const pid_t pid = docklined.pid();
    long rss_before = dockline::bench::RssKb(pid);
    long threads_before = dockline::bench::ProcStatus(pid, "Threads:");
    Tally tally;
    std::vector<std::unique_ptr<FollowReader>> readers;
    auto t0 = Clock::now();
    for (int i = 0; i < streams; ++i) {
      readers.push_back(std::make_unique<FollowReader>(stub.get(), id, &tally));
    }
    {
      std::unique_lock<std::mutex> lock(tally.mu);
      tally.cv.wait_for(lock, std::chrono::seconds(90), [&] {
        return tally.with_output + tally.failed >= streams || tally.done >= streams;
      });
    }
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    long rss_open = dockline::bench::RssKb(pid);
    long threads_open = dockline::bench::ProcStatus(pid, "Threads:");
    {
      std::lock_guard<std::mutex> lock(tally.mu);
      std::printf("== %d StreamLogs follow streams at once ==\n", streams);
      std::printf("streams with output: %d, failed: %d (in %.1f s)%s%s\n", tally.with_output,
                  tally.failed, secs,
                  tally.first_error.empty() ? "" : "; first error: ", tally.first_error.c_str());
    }
    std::printf(
        "docklined RSS %ld KiB before, %ld KiB with the streams open: %.1f MiB "
        "(target <= 200 MB)\n",
        rss_before, rss_open, rss_open / 1024.0);
    std::printf("docklined threads: %ld before, %ld with the streams open\n", threads_before,
                threads_open);
    const double per_stream_kb = static_cast<double>(rss_open - rss_before) / streams;
    dockline::bench::TableRow(
        dockline::bench::Format("%d concurrent follows: docklined RSS per stream", streams),
        dockline::bench::Format("%.1f KiB (%.0f MiB in all, %ld threads; idle %.1f MiB)",
                                per_stream_kb, rss_open / 1024.0, threads_open,
                                rss_before / 1024.0),
        "<= 23 KB", per_stream_kb * 1024 <= 23000);
    // A line written to one more followed container, while the others are open: how long it
    // takes to reach its client (a line every 50 ms, 60 of them).
    std::string probe_id =
        StartContainer(*engine, image, "while true; do echo probe; usleep 50000; done");
    if (!probe_id.empty()) {
      Tally probe_tally;
      auto probe = std::make_unique<FollowReader>(stub.get(), probe_id, &probe_tally, true);
      std::vector<double> samples;
      {
        std::unique_lock<std::mutex> lock(probe_tally.mu);
        probe_tally.cv.wait_for(lock, std::chrono::seconds(30), [&] {
          return probe_tally.latencies_us.size() >= 60 || probe_tally.done > 0;
        });
        samples = probe_tally.latencies_us;
      }
      probe->Cancel();
      {
        std::unique_lock<std::mutex> lock(probe_tally.mu);
        probe_tally.cv.wait_for(lock, std::chrono::seconds(30),
                                [&] { return probe_tally.done > 0; });
      }
      auto latency = dockline::bench::Summarize(samples);
      dockline::bench::Print("line->client", latency);
      dockline::bench::TableRow(
          dockline::bench::Format("%d concurrent follows: a new line reaches its client, p99",
                                  streams),
          dockline::bench::Format("%.1f ms (p50 %.1f ms, %zu lines)", latency.p99_us / 1000,
                                  latency.median_us / 1000, latency.n),
          "<= 10 ms", latency.n > 0 && latency.p99_us <= 10000);
      ApiRequest del_probe("DELETE", "/containers/" + probe_id);
      del_probe.Query("force", "1");
      Call(*engine, del_probe);
    }
    for (auto& r : readers) {
      r->Cancel();
    }
    bool all_done = false;
    {
      std::unique_lock<std::mutex> lock(tally.mu);
      all_done =
          tally.cv.wait_for(lock, std::chrono::seconds(60), [&] { return tally.done >= streams; });
    }
    if (all_done) {
      readers.clear();
    } else {
      // A reactor still active must outlive its call: leave them to the process exit.
      std::printf("%zu streams did not end after the cancel\n", readers.size());
      for (auto& r : readers) {
        (void)r.release();
      }
    }
  }

  ApiRequest del("DELETE", "/containers/" + id);
  del.Query("force", "1");
  Call(*engine, del);
  engine->Shutdown();
  return 0;
}
