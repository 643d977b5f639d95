#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <climits>
#include <mutex>
#include <string>
#include <string_view>

#include "engine/docker_engine.h"
#include "grpc/health/v1/health.pb.h"
#include "server/auth/authenticator.h"
#include "server/auth/limits.h"
#include "server/auth/tokens.h"
#include "server/metrics/metrics.h"
#include "server/policy/policy.h"
#include "server/reloadable.h"
#include "server/service.h"

namespace dockline::server {

uint64_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 0;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      return raised.rlim_cur;
    }
  }
  return limit.rlim_cur;
}

class DocklineServer::Impl {
 public:
  std::shared_ptr<engine::DockerEngine> engine;
  std::unique_ptr<DocklineService> service;
  Guards guards;
  std::shared_ptr<auth::TokenStore> tokens;  // null without --tokens
  // Before the server: its calls' interceptors report here until the server is gone.
  std::unique_ptr<metrics::Metrics> metrics;  // null without --metrics-listen
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::string address;
  std::chrono::milliseconds health_interval{2000};

  std::mutex mu;
  std::shared_ptr<engine::Call> health_timer;
  std::atomic<bool> stopping{false};
  bool serving = false;
  bool first_check = true;

  // Pings the daemon, publishes the result on grpc.health.v1, and schedules the next ping.
  void CheckHealth() {
    if (stopping) {
      return;
    }
    engine->Ping([this](engine::Status st) {
      if (stopping) {
        return;
      }
      bool up = st.ok();
      {
        std::lock_guard<std::mutex> lock(mu);
        if (up != serving || first_check) {
          if (up) {
            spdlog::info("Docker daemon reachable at {} (API {})", engine->socket_path(),
                         engine->ApiVersion());
          } else {
            spdlog::warn("Docker daemon not serving: {}", st.message());
          }
        }
        serving = up;
        first_check = false;
      }
      if (metrics) {
        metrics->SetDaemonReachable(up);
      }
      auto* health = server->GetHealthCheckService();
      health->SetServingStatus(up);
      std::lock_guard<std::mutex> lock(mu);
      if (!stopping) {
        health_timer = engine->Schedule(health_interval, [this](bool cancelled) {
          if (!cancelled) {
            CheckHealth();
          }
        });
      }
    });
  }
};

namespace {

engine::Status Refuse(const std::string& why) {
  return engine::Status(engine::Code::kBadRequest, why);
}

// Checks the transport options against the listen address and decides what callers must show.
// Everything that can be wrong is found here, before the engine starts or anything is bound.
engine::Result<auth::AuthConfig> TransportConfig(const ServerOptions& options) {
  auth::AuthConfig config;
  config.local_listener = IsLocalListenAddress(options.listen);
  config.tls = !options.tls_cert_file.empty();
  config.client_certificates = !options.tls_client_ca_file.empty();
  if (!config.local_listener && !config.tls && !options.allow_insecure_remote) {
    return Refuse("refusing to listen on " + options.listen +
                  ": the Docker socket is root on this host, so dockline serves only loopback or "
                  "a Unix socket without TLS (--tls-cert/--tls-key) unless "
                  "--allow-insecure-remote is given");
  }
  if (!options.tokens_file.empty()) {
    auto tokens = auth::TokenTable::Load(options.tokens_file);
    if (!tokens.ok()) {
      return tokens.status();
    }
    config.tokens = auth::MakeTokenStore(std::move(tokens.value()), options.tokens_file);
  }
  if (!config.local_listener && config.tls && !config.client_certificates && !config.tokens) {
    return Refuse("refusing to listen on " + options.listen +
                  " with TLS but no way for a caller to authenticate: give --tls-client-ca or "
                  "--tokens");
  }
  config.anonymous_remote =
      !config.local_listener && !config.tls && options.allow_insecure_remote && !config.tokens;
  if (!options.listen_group.empty() && !auth::UnixSocketPath(options.listen)) {
    return Refuse("--listen-group applies to a unix: listener only");
  }
  return config;
}

// The policy, the audit log and the stream limits, from their flags.
engine::Status MakeGuards(const ServerOptions& options, Guards* guards) {
  if (!options.policy_file.empty()) {
    auto policy = policy::Policy::Load(options.policy_file);
    if (!policy.ok()) {
      return Refuse("--policy " + policy.status().message());
    }
    guards->policy = policy::MakePolicyStore(policy.value(), options.policy_file);
    spdlog::info("policy {}: {}", options.policy_file, policy.value()->Describe());
  } else {
    spdlog::info("no --policy: every authenticated caller may call every RPC on every container");
  }
  std::shared_ptr<calls::AuditLog> audit;
  if (!options.audit_file.empty()) {
    auto opened = calls::AuditLog::Open(options.audit_file);
    if (!opened.ok()) {
      return opened.status();
    }
    audit = opened.value();
  }
  calls::StreamLimits limits{options.max_streams, options.max_streams_per_identity};
  if (audit || limits.total > 0 || limits.per_identity > 0) {
    guards->calls = std::make_shared<calls::CallRegistry>(std::move(audit), limits);
  }
  return engine::Status::Ok();
}

}  // namespace

engine::Result<std::unique_ptr<DocklineServer>> DocklineServer::Start(
    const ServerOptions& options) {
  auto config = TransportConfig(options);
  if (!config.ok()) {
    return config.status();
  }
  auto credentials = auth::ServerCredentialsFromFiles(
      {options.tls_cert_file, options.tls_key_file, options.tls_client_ca_file});
  if (!credentials.ok()) {
    return credentials.status();
  }
  std::optional<std::string> socket_path = auth::UnixSocketPath(options.listen);
  std::optional<gid_t> socket_group;
  if (!options.listen_group.empty()) {
    auto gid = auth::LookupGroup(options.listen_group);
    if (!gid.ok()) {
      return gid.status();
    }
    socket_group = gid.value();
  }
  if (!options.metrics_listen.empty()) {
    if (engine::Status st =
            metrics::CheckListenAddress(options.metrics_listen, options.allow_insecure_remote);
        !st.ok()) {
      return st;
    }
  }
  if (options.listen_mode > 0777) {
    return Refuse("--listen-mode has bits beyond 0777");
  }
  if (socket_path) {
    if (engine::Status st = auth::CheckSocketDirectory(*socket_path); !st.ok()) {
      return st;
    }
  }
  if (!config->local_listener && !config->tls) {
    spdlog::warn(
        "serving {} WITHOUT TLS (--allow-insecure-remote): traffic, tokens included, crosses the "
        "network in the clear, and {}",
        options.listen,
        config->anonymous_remote ? "anyone who reaches this port is root on this host"
                                 : "no caller can authenticate (tokens need TLS)");
  }
  auth::Authenticator authenticator(config.value());
  engine::DockerEngineOptions engine_options;
  engine_options.docker_host = options.docker_host;
  engine_options.io_threads = options.io_threads;
  engine_options.max_reply_bytes = options.max_reply_bytes;
  engine_options.inline_reply_budget = options.inline_reply_wait;
  auto engine = engine::DockerEngine::Create(engine_options);
  if (!engine.ok()) {
    return engine.status();
  }
  auto impl = std::make_unique<Impl>();
  impl->engine = engine.value();
  impl->tokens = config->tokens;
  impl->health_interval = options.health_interval;
  ServiceOptions service_options;
  service_options.exec_output_cap = options.exec_output_cap;
  service_options.retain = options.exec_retain;
  service_options.max_request_bytes = options.max_request_bytes;
  if (engine::Status st = MakeGuards(options, &impl->guards); !st.ok()) {
    impl->engine->Shutdown();
    return st;
  }
  impl->service =
      std::make_unique<DocklineService>(impl->engine, service_options, authenticator, impl->guards);
  if (!options.metrics_listen.empty()) {
    impl->metrics = std::make_unique<metrics::Metrics>(
        [engine = impl->engine] { return engine->ErrorCounts(); });
    if (engine::Status st =
            impl->metrics->Listen(options.metrics_listen, options.allow_insecure_remote);
        !st.ok()) {
      impl->engine->Shutdown();
      return st;
    }
    const std::string host = options.metrics_listen.substr(0, options.metrics_listen.rfind(':'));
    const std::string url =
        "http://" + host + ":" + std::to_string(impl->metrics->port()) + "/metrics";
    if (IsLocalListenAddress(options.metrics_listen)) {
      spdlog::info("metrics at {}", url);
    } else {
      spdlog::warn(
          "metrics at {} beyond loopback (--allow-insecure-remote): anyone who reaches "
          "it reads them, without TLS or authentication",
          url);
    }
  }

  // gRPC channel arguments are ints: a value it cannot hold would silently mean something else.
  const auto channel_ms = [](std::chrono::milliseconds d) -> std::optional<int> {
    if (d.count() < 1 || d.count() > INT_MAX) {
      return std::nullopt;
    }
    return static_cast<int>(d.count());
  };
  const std::optional<int> keepalive_time_ms = channel_ms(options.keepalive_time);
  const std::optional<int> keepalive_timeout_ms = channel_ms(options.keepalive_timeout);
  if (!keepalive_time_ms || !keepalive_timeout_ms || options.max_request_bytes == 0) {
    impl->engine->Shutdown();
    return Refuse(!keepalive_time_ms      ? "--keepalive-time must be between 1ms and INT_MAX ms"
                  : !keepalive_timeout_ms ? "--keepalive-timeout must be between 1ms and INT_MAX ms"
                                          : "--max-request-size must be at least 1 byte");
  }
  grpc::EnableDefaultHealthCheckService(true);
  // Nothing else refers to the health descriptor's object file, which the linker would then
  // leave out; without it reflection cannot describe grpc.health.v1.Health (proto/CMakeLists).
  static_cast<void>(grpc::health::v1::HealthCheckRequest::descriptor());
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials.value(), &impl->port);
  builder.RegisterService(impl->service.get());
  builder.SetMaxReceiveMessageSize(auth::ReceiveLimitFor(options.max_request_bytes));
  // Only when something needs it: without audit, stream limits and metrics, calls pay for no
  // interceptor at all.
  if (impl->guards.calls || impl->metrics) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(
        calls::MakeCallInterceptorFactory(impl->guards.calls.get(), impl->metrics.get()));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  // Long follow streams may sit idle for hours: keep the connection alive from our side and
  // accept clients' keepalive pings without calling them abusive (no ping strikes at all).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, *keepalive_time_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, *keepalive_timeout_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             static_cast<int>(auth::kMinClientPingInterval.count()));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // The socket is created by bind inside BuildAndStart with the process umask; a tight umask
  // around it means no one else can connect in the moment before the chmod below. umask is
  // process-wide, but nothing else creates files while the server starts.
  mode_t old_umask = socket_path ? umask(0177) : 0;
  impl->server = builder.BuildAndStart();
  if (socket_path) {
    umask(old_umask);
  }
  if (!impl->server) {
    impl->engine->Shutdown();
    return Refuse("cannot listen on " + options.listen +
                  (config->tls ? " (check that --tls-cert and --tls-key are a PEM certificate and "
                                 "its key)"
                               : ""));
  }
  if (socket_path) {
    if (engine::Status st = auth::SecureUnixSocket(*socket_path, options.listen_mode, socket_group);
        !st.ok()) {
      impl->server->Shutdown();
      impl->engine->Shutdown();
      return st;
    }
  }
  spdlog::info("listener {}: {}", options.listen, authenticator.Describe());
  if (options.listen.rfind("unix:", 0) == 0) {
    impl->address = options.listen;
  } else {
    std::string host = options.listen.substr(0, options.listen.rfind(':'));
    impl->address = host + ":" + std::to_string(impl->port);
  }
  impl->server->GetHealthCheckService()->SetServingStatus(false);
  impl->CheckHealth();
  return std::unique_ptr<DocklineServer>(new DocklineServer(std::move(impl)));
}

DocklineServer::DocklineServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DocklineServer::~DocklineServer() { Shutdown(); }

int DocklineServer::port() const { return impl_->port; }

std::string DocklineServer::address() const { return impl_->address; }

void DocklineServer::Shutdown(std::chrono::milliseconds grace) {
  if (impl_->stopping.exchange(true)) {
    return;
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->health_timer) {
      impl_->health_timer->Cancel();
    }
  }
  impl_->server->Shutdown(std::chrono::system_clock::now() + grace);
  impl_->server->Wait();
  // Retained execs outlive their RPCs: their reads are cancelled here, while the engine still
  // runs their handlers.
  impl_->service->CloseRetained();
  impl_->engine->Shutdown();
}

void DocklineServer::Wait() { impl_->server->Wait(); }

int DocklineServer::metrics_port() const { return impl_->metrics ? impl_->metrics->port() : 0; }

size_t DocklineServer::OpenStreams() const {
  return impl_->guards.calls ? impl_->guards.calls->open_streams() : 0;
}

namespace {

// Re-reads one SIGHUP-reloadable file and logs the outcome; `describe` summarises the new value.
template <typename T, typename Describe>
void ReloadAndLog(Reloadable<T>* store, std::string_view what, Describe describe,
                  engine::Status* result) {
  if (store == nullptr) {
    return;
  }
  if (engine::Status st = store->Reload(); !st.ok()) {
    spdlog::error("{} reload failed, what was in force stays: {}", what, st.message());
    *result = st;
    return;
  }
  spdlog::info("{} {} reloaded: {}", what, store->path(), describe(*store->Current()));
}

}  // namespace

engine::Status DocklineServer::Reload() {
  engine::Status result;
  ReloadAndLog(
      impl_->tokens.get(), "tokens",
      [](const auth::TokenTable& t) { return std::to_string(t.size()) + " token(s)"; }, &result);
  ReloadAndLog(
      impl_->guards.policy.get(), "policy", [](const policy::Policy& p) { return p.Describe(); },
      &result);
  if (impl_->guards.calls) {
    if (engine::Status st = impl_->guards.calls->ReopenAudit(); !st.ok()) {
      spdlog::error("audit file reopen failed, still writing to the old one: {}", st.message());
      result = st;
    }
  }
  return result;
}

}  // namespace dockline::server
