#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <atomic>
#include <mutex>

#include "engine/docker_engine.h"
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

bool IsLocalListenAddress(const std::string& address) {
  if (address.rfind("unix:", 0) == 0) {
    return true;
  }
  std::string host = address;
  if (host.rfind("dns:", 0) == 0 || host.rfind("ipv4:", 0) == 0 || host.rfind("ipv6:", 0) == 0) {
    host = host.substr(host.find(':') + 1);
  }
  if (!host.empty() && host[0] == '[') {
    return host.rfind("[::1]:", 0) == 0;
  }
  host = host.substr(0, host.rfind(':'));
  return host == "localhost" || host.rfind("127.", 0) == 0;
}

class DocklineServer::Impl {
 public:
  std::shared_ptr<engine::DockerEngine> engine;
  std::unique_ptr<DocklineService> service;
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

engine::Result<std::unique_ptr<DocklineServer>> DocklineServer::Start(
    const ServerOptions& options) {
  if (!IsLocalListenAddress(options.listen) && !options.allow_insecure_remote) {
    return engine::Status(engine::Code::kBadRequest,
                          "refusing to listen on " + options.listen +
                              ": the Docker socket is root on this host, so dockline serves "
                              "only loopback or a Unix socket unless --allow-insecure-remote "
                              "is given");
  }
  engine::DockerEngineOptions engine_options;
  engine_options.docker_host = options.docker_host;
  engine_options.io_threads = options.io_threads;
  auto engine = engine::DockerEngine::Create(engine_options);
  if (!engine.ok()) {
    return engine.status();
  }
  auto impl = std::make_unique<Impl>();
  impl->engine = engine.value();
  impl->health_interval = options.health_interval;
  ServiceOptions service_options;
  service_options.exec_output_cap = options.exec_output_cap;
  impl->service = std::make_unique<DocklineService>(impl->engine, service_options);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &impl->port);
  builder.RegisterService(impl->service.get());
  // Long follow streams may sit idle for hours: keep the connection alive from our side and
  // accept clients' keepalive pings without calling them abusive.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  impl->server = builder.BuildAndStart();
  if (!impl->server) {
    impl->engine->Shutdown();
    return engine::Status(engine::Code::kBadRequest, "cannot listen on " + options.listen);
  }
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
  impl_->engine->Shutdown();
}

void DocklineServer::Wait() { impl_->server->Wait(); }

}  // namespace dockline::server
