#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/status.h"
#include "server/calls/call_registry.h"

namespace prometheus {
class Counter;
class Exposer;
template <typename T>
class Family;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

namespace dockline::server::metrics {

// Refuses a --metrics-listen that is not host:port (civetweb reads a bare port as every address
// and a comma as a second listener), or that leaves the host without --allow-insecure-remote:
// judged as --listen is (IsLocalListenAddress), though never a unix: address.
engine::Status CheckListenAddress(const std::string& listen, bool allow_insecure_remote);

// The engine's failure counts by code, read on every scrape (engine::DockerEngine::ErrorCounts):
// the engine counts, and knows nothing of metrics.
using EngineErrorCounts = std::function<std::map<engine::Code, uint64_t>()>;

// What docklined exposes to Prometheus (--metrics-listen): calls by method and final code,
// their duration, open streams, bytes sent, the engine's failures and the daemon's reachability.
// The call interceptor reports calls through CallObserver; thread-safe.
class Metrics final : public calls::CallObserver {
 public:
  explicit Metrics(EngineErrorCounts engine_errors);
  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Serves /metrics on `listen` (checked with CheckListenAddress); port 0 picks one.
  engine::Status Listen(const std::string& listen, bool allow_insecure_remote);
  // The bound port, 0 before Listen.
  int port() const;
  // What a scrape returns (Prometheus text format).
  std::string Text() const;

  // From the server's health ping.
  void SetDaemonReachable(bool reachable);

  Method* Started(const char* method, bool streaming) override;
  void Sent(Method* method, size_t bytes) override;
  void Ended(Method* method, bool streaming, grpc::StatusCode code,
             std::chrono::steady_clock::duration elapsed) override;

 private:
  class EngineErrors;

  Method* Add(std::string path, bool streaming);

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<EngineErrors> engine_errors_;
  prometheus::Family<prometheus::Counter>* calls_ = nullptr;
  prometheus::Family<prometheus::Histogram>* duration_ = nullptr;
  prometheus::Family<prometheus::Counter>* sent_bytes_ = nullptr;
  prometheus::Family<prometheus::Gauge>* active_ = nullptr;
  prometheus::Gauge* daemon_reachable_ = nullptr;
  // Built once, in the constructor, for every method of the services docklined serves; read
  // without a lock afterwards. Any other name counts as "other", so callers cannot add series.
  std::unordered_map<std::string_view, std::unique_ptr<Method>> methods_;
  Method* other_ = nullptr;
  std::unique_ptr<prometheus::Exposer> exposer_;  // last: it scrapes the members above
};

}  // namespace dockline::server::metrics
