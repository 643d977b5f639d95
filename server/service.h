#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <utility>

#include "dockline/v1/dockline.grpc.pb.h"
#include "engine/engine.h"
#include "server/auth/authenticator.h"
#include "server/reactor/rejected.h"
#include "server/rpc/containers.h"
#include "server/rpc/exec.h"
#include "server/rpc/health.h"
#include "server/rpc/logs.h"
#include "server/rpc/prune.h"
#include "server/rpc/rpc_env.h"
#include "server/rpc/run.h"

namespace dockline::server {

// dockline.v1.Dockline on gRPC's callback API: the dispatch table, one line per RPC. What each
// RPC does is in server/rpc/ (validation through codec/, Engine API calls through
// engine::DockerApi, replies through reactor/). Every line goes through Guarded, so no RPC runs
// for a caller the authenticator refused. Reactions never block.
class DocklineService final : public v1::Dockline::CallbackService {
 public:
  DocklineService(std::shared_ptr<engine::Engine> engine, ServiceOptions options = {},
                  auth::Authenticator authenticator = {})
      : env_{engine::DockerApi(std::move(engine), options.unary_timeout), options, {}},
        authenticator_(std::move(authenticator)) {}

  grpc::ServerUnaryReactor* CreateContainer(grpc::CallbackServerContext* ctx,
                                            const v1::CreateContainerRequest* req,
                                            v1::CreateContainerResponse* resp) override {
    return Guarded(rpc::CreateContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* StartContainer(grpc::CallbackServerContext* ctx,
                                           const v1::StartContainerRequest* req,
                                           v1::StartContainerResponse* resp) override {
    return Guarded(rpc::StartContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* StopContainer(grpc::CallbackServerContext* ctx,
                                          const v1::StopContainerRequest* req,
                                          v1::StopContainerResponse* resp) override {
    return Guarded(rpc::StopContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* RestartContainer(grpc::CallbackServerContext* ctx,
                                             const v1::RestartContainerRequest* req,
                                             v1::RestartContainerResponse* resp) override {
    return Guarded(rpc::RestartContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* KillContainer(grpc::CallbackServerContext* ctx,
                                          const v1::KillContainerRequest* req,
                                          v1::KillContainerResponse* resp) override {
    return Guarded(rpc::KillContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* RemoveContainer(grpc::CallbackServerContext* ctx,
                                            const v1::RemoveContainerRequest* req,
                                            v1::RemoveContainerResponse* resp) override {
    return Guarded(rpc::RemoveContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* InspectContainer(grpc::CallbackServerContext* ctx,
                                             const v1::InspectContainerRequest* req,
                                             v1::InspectContainerResponse* resp) override {
    return Guarded(rpc::InspectContainer, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* ListContainers(grpc::CallbackServerContext* ctx,
                                           const v1::ListContainersRequest* req,
                                           v1::ListContainersResponse* resp) override {
    return Guarded(rpc::ListContainers, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* WaitContainer(grpc::CallbackServerContext* ctx,
                                          const v1::WaitContainerRequest* req,
                                          v1::WaitContainerResponse* resp) override {
    return Guarded(rpc::WaitContainer, ctx, req, resp);
  }
  grpc::ServerWriteReactor<v1::RunContainerResponse>* RunContainer(
      grpc::CallbackServerContext* ctx, const v1::RunContainerRequest* req) override {
    return Guarded(rpc::RunContainer, ctx, req);
  }
  grpc::ServerUnaryReactor* GetEngineInfo(grpc::CallbackServerContext* ctx,
                                          const v1::GetEngineInfoRequest* req,
                                          v1::GetEngineInfoResponse* resp) override {
    return Guarded(rpc::GetEngineInfo, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* ExecContainer(grpc::CallbackServerContext* ctx,
                                          const v1::ExecContainerRequest* req,
                                          v1::ExecContainerResponse* resp) override {
    return Guarded(rpc::ExecContainer, ctx, req, resp);
  }
  grpc::ServerWriteReactor<v1::StreamExecResponse>* StreamExec(
      grpc::CallbackServerContext* ctx, const v1::StreamExecRequest* req) override {
    return Guarded(rpc::StreamExec, ctx, req);
  }
  grpc::ServerUnaryReactor* StartExec(grpc::CallbackServerContext* ctx,
                                      const v1::StartExecRequest* req,
                                      v1::StartExecResponse* resp) override {
    return Guarded(rpc::StartExec, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* InspectExec(grpc::CallbackServerContext* ctx,
                                        const v1::InspectExecRequest* req,
                                        v1::InspectExecResponse* resp) override {
    return Guarded(rpc::InspectExec, ctx, req, resp);
  }
  grpc::ServerBidiReactor<v1::AttachExecRequest, v1::AttachExecResponse>* AttachExec(
      grpc::CallbackServerContext* ctx) override {
    return Guarded(rpc::AttachExec, ctx);
  }
  grpc::ServerWriteReactor<v1::StreamLogsResponse>* StreamLogs(
      grpc::CallbackServerContext* ctx, const v1::StreamLogsRequest* req) override {
    return Guarded(rpc::StreamLogs, ctx, req);
  }
  grpc::ServerUnaryReactor* GetHealth(grpc::CallbackServerContext* ctx,
                                      const v1::GetHealthRequest* req,
                                      v1::GetHealthResponse* resp) override {
    return Guarded(rpc::GetHealth, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* WaitHealthy(grpc::CallbackServerContext* ctx,
                                        const v1::WaitHealthyRequest* req,
                                        v1::WaitHealthyResponse* resp) override {
    return Guarded(rpc::WaitHealthy, ctx, req, resp);
  }
  grpc::ServerWriteReactor<v1::WatchHealthResponse>* WatchHealth(
      grpc::CallbackServerContext* ctx, const v1::WatchHealthRequest* req) override {
    return Guarded(rpc::WatchHealth, ctx, req);
  }
  grpc::ServerUnaryReactor* PruneContainers(grpc::CallbackServerContext* ctx,
                                            const v1::PruneContainersRequest* req,
                                            v1::PruneContainersResponse* resp) override {
    return Guarded(rpc::PruneContainers, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* PruneImages(grpc::CallbackServerContext* ctx,
                                        const v1::PruneImagesRequest* req,
                                        v1::PruneImagesResponse* resp) override {
    return Guarded(rpc::PruneImages, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* PruneVolumes(grpc::CallbackServerContext* ctx,
                                         const v1::PruneVolumesRequest* req,
                                         v1::PruneVolumesResponse* resp) override {
    return Guarded(rpc::PruneVolumes, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* PruneNetworks(grpc::CallbackServerContext* ctx,
                                          const v1::PruneNetworksRequest* req,
                                          v1::PruneNetworksResponse* resp) override {
    return Guarded(rpc::PruneNetworks, ctx, req, resp);
  }

 private:
  // The guard in front of every RPC: decides the caller's identity once; a refusal is a reactor
  // of the RPC's kind that finishes UNAUTHENTICATED without reading a message or reaching the
  // daemon. Otherwise the RPC runs with a copy of the env that carries the identity (entry
  // points copy what they keep, so the copy may end when the entry point returns).
  template <typename Reactor, typename... Params, typename... Args>
  Reactor* Guarded(Reactor* (*rpc)(const RpcEnv&, grpc::CallbackServerContext*, Params...),
                   grpc::CallbackServerContext* ctx, Args... args) {
    RpcEnv env = env_;
    grpc::Status status = authenticator_.Authenticate(*ctx, &env.identity);
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("call from {}: {}", ctx->peer(),
                    status.ok() ? "identity " + env.identity.name + " (" +
                                      auth::SourceName(env.identity.source) + ")"
                                : "refused: " + status.error_message());
    }
    if (!status.ok()) {
      return Refuse<Reactor>(std::move(status));
    }
    return rpc(env, ctx, args...);
  }

  const RpcEnv env_;
  const auth::Authenticator authenticator_;
};

}  // namespace dockline::server
