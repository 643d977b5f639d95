#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "engine/api_version.h"
#include "engine/engine.h"

namespace dockline::engine {

// Maps a non-2xx daemon reply to a Status carrying Docker's message.
Status StatusFromHttp(int http_status, const std::string& body);

struct DockerEngineOptions {
  std::string docker_host = "unix:///var/run/docker.sock";  // unix:// URL or a socket path
  int io_threads = 2;
  std::chrono::milliseconds connect_timeout{5000};
  size_t max_idle_connections = 16;
  // The largest unary reply body read (inspect, list, prune...); a larger one is
  // Code::kExhausted naming the cap, so a daemon's 64 MB listing cannot balloon this process.
  size_t max_reply_bytes = 32 << 20;
  // How long a unary call made inside an InlineReplyScope may wait on its caller's thread for
  // the daemon's reply before going on on an engine thread; zero never waits inline. Inspect
  // and list answer in about 0.3 ms; the wait is bounded so that a slow daemon cannot hold the
  // caller's thread (a gRPC thread) for long.
  std::chrono::microseconds inline_reply_budget{2000};
};

// The Engine API over HTTP/1.1 on the daemon's Unix socket (Boost.Beast). Owns its io_context
// and threads; all socket work runs there, one strand per connection. Thread-safe.
class DockerEngine : public Engine {
 public:
  // Fails only on a malformed docker_host; an unreachable daemon is reported per call.
  static Result<std::shared_ptr<DockerEngine>> Create(const DockerEngineOptions& options);
  ~DockerEngine() override;

  std::shared_ptr<Call> Unary(ApiRequest request, UnaryCallback cb) override;
  std::shared_ptr<Call> Stream(ApiRequest request, StreamCallback cb) override;
  std::shared_ptr<Call> Upload(ApiRequest request, BodySource source, UnaryCallback cb) override;
  std::string ApiVersion() const override;

  // Runs `fn` on an engine thread after `delay`; fn(false) when it fired, fn(true) when the
  // returned handle was cancelled first.
  std::shared_ptr<Call> Schedule(std::chrono::milliseconds delay,
                                 std::function<void(bool)> fn) override;

  // GET /_ping; negotiates the API version again, so a daemon restarted at another version is
  // followed (the health pinger calls this every few seconds).
  void Ping(std::function<void(Status)> cb);

  const std::string& socket_path() const;

  // Calls that failed since Create, by code (a unary call, a stream's opening or its body); what
  // docklined's metrics read at scrape time. kCancelled, the caller going away, is not counted.
  std::map<Code, uint64_t> ErrorCounts() const;

  // Stops the io threads; pending calls end with kCancelled. Idempotent.
  void Shutdown();

  class Impl;

 private:
  explicit DockerEngine(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace dockline::engine
