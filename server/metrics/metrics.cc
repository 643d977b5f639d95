#include "server/metrics/metrics.h"

#include <absl/status/status.h>
#include <google/protobuf/descriptor.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <atomic>
#include <exception>
#include <regex>
#include <vector>

#include "server/auth/listener.h"

namespace dockline::server::calls {

struct CallObserver::Method {
  std::string path;  // "/package.Service/Method", as gRPC names it
  std::string label;
  prometheus::Histogram* duration = nullptr;
  prometheus::Counter* sent_bytes = nullptr;
  prometheus::Gauge* active = nullptr;  // streaming methods only
  // By gRPC code (0..16), made on a code's first use: most methods only ever see a few codes.
  std::array<std::atomic<prometheus::Counter*>, 17> calls{};
};

}  // namespace dockline::server::calls

namespace dockline::server::metrics {
namespace {

// The services docklined registers; their methods are known before any call arrives.
constexpr const char* kServices[] = {
    "dockline.v1.Dockline",
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
};

// Unary calls take milliseconds; the upper buckets are for waits and streams, which may run for
// hours and then all land in +Inf.
const prometheus::Histogram::BucketBoundaries kDurationBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

// Labels are stable names rather than enum numbers, so dashboards survive a reordering.
const char* CodeLabel(engine::Code code) {
  switch (code) {
    case engine::Code::kOk:
      return "ok";
    case engine::Code::kNotModified:
      return "not_modified";
    case engine::Code::kBadRequest:
      return "bad_request";
    case engine::Code::kNotFound:
      return "not_found";
    case engine::Code::kNameConflict:
      return "name_conflict";
    case engine::Code::kConflict:
      return "conflict";
    case engine::Code::kDaemonError:
      return "daemon_error";
    case engine::Code::kUnreachable:
      return "unreachable";
    case engine::Code::kProtocolError:
      return "protocol_error";
    case engine::Code::kTimeout:
      return "timeout";
    case engine::Code::kCancelled:
      return "cancelled";
    case engine::Code::kUnsupportedVersion:
      return "unsupported_version";
    case engine::Code::kExhausted:
      return "exhausted";
    case engine::Code::kDataLoss:
      return "data_loss";
  }
  return "other";
}

// The failures an engine call can end with (kOk, kNotModified and kCancelled are not counted):
// every one is exposed, at zero until it happens, so that rate() sees the first.
constexpr engine::Code kEngineErrorCodes[] = {
    engine::Code::kBadRequest,    engine::Code::kNotFound,    engine::Code::kNameConflict,
    engine::Code::kConflict,      engine::Code::kDaemonError, engine::Code::kUnreachable,
    engine::Code::kProtocolError, engine::Code::kTimeout,     engine::Code::kUnsupportedVersion,
    engine::Code::kExhausted,     engine::Code::kDataLoss,
};

}  // namespace

// Read from the engine at scrape time rather than pushed, so the engine needs no metrics.
class Metrics::EngineErrors : public prometheus::Collectable {
 public:
  explicit EngineErrors(EngineErrorCounts source) : source_(std::move(source)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::map<engine::Code, uint64_t> counts =
        source_ ? source_() : std::map<engine::Code, uint64_t>{};
    for (engine::Code code : kEngineErrorCodes) {
      counts.try_emplace(code, 0);
    }
    prometheus::MetricFamily family;
    family.name = "dockline_engine_errors_total";
    family.help = "Docker Engine API calls that failed, by dockline's engine code";
    family.type = prometheus::MetricType::Counter;
    for (const auto& [code, count] : counts) {
      prometheus::ClientMetric metric;
      metric.label.push_back({"code", CodeLabel(code)});
      metric.counter.value = static_cast<double>(count);
      family.metric.push_back(std::move(metric));
    }
    return {std::move(family)};
  }

 private:
  EngineErrorCounts source_;
};

engine::Status CheckListenAddress(const std::string& listen, bool allow_insecure_remote) {
  static const std::regex kHostPort(R"((\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5})");
  if (!std::regex_match(listen, kHostPort)) {
    return engine::Status(
        engine::Code::kBadRequest,
        "--metrics-listen " + listen + ": expected host:port, such as 127.0.0.1:9464");
  }
  if (!allow_insecure_remote && !IsLocalListenAddress(listen)) {
    return engine::Status(
        engine::Code::kBadRequest,
        "refusing to serve metrics on " + listen +
            ": metrics are served without TLS or authentication, so only on loopback unless "
            "--allow-insecure-remote is given");
  }
  return engine::Status::Ok();
}

Metrics::Metrics(EngineErrorCounts engine_errors)
    : registry_(std::make_shared<prometheus::Registry>()),
      engine_errors_(std::make_shared<EngineErrors>(std::move(engine_errors))) {
  calls_ = &prometheus::BuildCounter()
                .Name("dockline_rpc_calls_total")
                .Help("gRPC calls by method and the status code they ended with")
                .Register(*registry_);
  duration_ = &prometheus::BuildHistogram()
                   .Name("dockline_rpc_duration_seconds")
                   .Help("gRPC calls' duration, from arrival to the status sent")
                   .Register(*registry_);
  sent_bytes_ = &prometheus::BuildCounter()
                     .Name("dockline_sent_bytes_total")
                     .Help(
                         "Bytes of messages sent to clients (serialized, before compression "
                         "and framing), by method")
                     .Register(*registry_);
  active_ = &prometheus::BuildGauge()
                 .Name("dockline_active_streams")
                 .Help("Streaming calls open now, by method")
                 .Register(*registry_);
  daemon_reachable_ = &prometheus::BuildGauge()
                           .Name("dockline_daemon_reachable")
                           .Help("1 while the Docker daemon answers the health ping, else 0")
                           .Register(*registry_)
                           .Add({});
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const char* name : kServices) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    if (service == nullptr) {
      continue;
    }
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      Add("/" + service->full_name() + "/" + method->name(),
          method->client_streaming() || method->server_streaming());
    }
  }
  other_ = Add("other", true);
}

Metrics::~Metrics() = default;

calls::CallObserver::Method* Metrics::Add(std::string path, bool streaming) {
  auto method = std::make_unique<Method>();
  method->path = std::move(path);
  method->label = method->path[0] == '/' ? method->path.substr(1) : method->path;
  const prometheus::Labels labels = {{"method", method->label}};
  method->duration = &duration_->Add(labels, kDurationBuckets);
  method->sent_bytes = &sent_bytes_->Add(labels);
  if (streaming) {
    method->active = &active_->Add(labels);
  }
  // Every method starts with an OK series, so that dashboards see each method from the start.
  method->calls[0] = &calls_->Add({{"method", method->label}, {"code", "OK"}});
  Method* raw = method.get();
  methods_.emplace(raw->path, std::move(method));
  return raw;
}

engine::Status Metrics::Listen(const std::string& listen, bool allow_insecure_remote) {
  if (engine::Status st = CheckListenAddress(listen, allow_insecure_remote); !st.ok()) {
    return st;
  }
  // civetweb reports a failed bind by throwing; nothing past this module sees an exception.
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", listen, "num_threads", "2",
        // A connection that sends nothing must not hold one of the two threads for long.
        "request_timeout_ms", "10000"});
    exposer_->RegisterCollectable(registry_);
    exposer_->RegisterCollectable(engine_errors_);
  } catch (const std::exception& e) {
    exposer_.reset();
    return engine::Status(engine::Code::kBadRequest,
                          "--metrics-listen: cannot listen on " + listen + ": " + e.what());
  }
  return engine::Status::Ok();
}

int Metrics::port() const {
  if (!exposer_) {
    return 0;
  }
  std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

std::string Metrics::Text() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& family : engine_errors_->Collect()) {
    families.push_back(std::move(family));
  }
  return prometheus::TextSerializer().Serialize(families);
}

void Metrics::SetDaemonReachable(bool reachable) { daemon_reachable_->Set(reachable ? 1 : 0); }

calls::CallObserver::Method* Metrics::Started(const char* method, bool streaming) {
  auto it = methods_.find(method);
  Method* m = it != methods_.end() ? it->second.get() : other_;
  if (streaming && m->active != nullptr) {
    m->active->Increment();
  }
  return m;
}

void Metrics::Sent(Method* method, size_t bytes) {
  method->sent_bytes->Increment(static_cast<double>(bytes));
}

void Metrics::Ended(Method* method, bool streaming, grpc::StatusCode code,
                    std::chrono::steady_clock::duration elapsed) {
  if (streaming && method->active != nullptr) {
    method->active->Decrement();
  }
  size_t index = code >= 0 && static_cast<size_t>(code) < method->calls.size()
                     ? static_cast<size_t>(code)
                     : static_cast<size_t>(grpc::StatusCode::UNKNOWN);
  prometheus::Counter* counter = method->calls[index].load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Two first calls may race here; Add hands both the same series.
    counter =
        &calls_->Add({{"method", method->label},
                      {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(index))}});
    method->calls[index].store(counter, std::memory_order_release);
  }
  counter->Increment();
  method->duration->Observe(std::chrono::duration<double>(elapsed).count());
}

}  // namespace dockline::server::metrics
