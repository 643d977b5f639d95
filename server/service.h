#pragma once

#include <memory>

#include "dockline/v1/dockline.grpc.pb.h"
#include "engine/engine.h"
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
// engine::DockerApi, replies through reactor/). Reactions never block.
class DocklineService final : public v1::Dockline::CallbackService {
 public:
  DocklineService(std::shared_ptr<engine::Engine> engine, ServiceOptions options = {})
      : env_{engine::DockerApi(std::move(engine), options.unary_timeout), options} {}

  grpc::ServerUnaryReactor* CreateContainer(grpc::CallbackServerContext* ctx,
                                            const v1::CreateContainerRequest* req,
                                            v1::CreateContainerResponse* resp) override {
    return rpc::CreateContainer(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* StartContainer(grpc::CallbackServerContext* ctx,
                                           const v1::StartContainerRequest* req,
                                           v1::StartContainerResponse* resp) override {
    return rpc::StartContainer(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* StopContainer(grpc::CallbackServerContext* ctx,
                                          const v1::StopContainerRequest* req,
                                          v1::StopContainerResponse* resp) override {
    return rpc::StopContainer(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* RestartContainer(grpc::CallbackServerContext* ctx,
                                             const v1::RestartContainerRequest* req,
                                             v1::RestartContainerResponse* resp) override {
    return rpc::RestartContainer(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* KillContainer(grpc::CallbackServerContext* ctx,
                                          const v1::KillContainerRequest* req,
                                          v1::KillContainerResponse* resp) override {
    return rpc::KillContainer(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* RemoveContainer(grpc::CallbackServerContext* ctx,
                                            const v1::RemoveContainerRequest* req,
                                            v1::RemoveContainerResponse* resp) override {
    return rpc::RemoveContainer(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* InspectContainer(grpc::CallbackServerContext* ctx,
                                             const v1::InspectContainerRequest* req,
                                             v1::InspectContainerResponse* resp) override {
    return rpc::InspectContainer(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* ListContainers(grpc::CallbackServerContext* ctx,
                                           const v1::ListContainersRequest* req,
                                           v1::ListContainersResponse* resp) override {
    return rpc::ListContainers(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* WaitContainer(grpc::CallbackServerContext* ctx,
                                          const v1::WaitContainerRequest* req,
                                          v1::WaitContainerResponse* resp) override {
    return rpc::WaitContainer(env_, ctx, req, resp);
  }
  grpc::ServerWriteReactor<v1::RunContainerResponse>* RunContainer(
      grpc::CallbackServerContext* ctx, const v1::RunContainerRequest* req) override {
    return rpc::RunContainer(env_, ctx, req);
  }
  grpc::ServerUnaryReactor* GetEngineInfo(grpc::CallbackServerContext* ctx,
                                          const v1::GetEngineInfoRequest* req,
                                          v1::GetEngineInfoResponse* resp) override {
    return rpc::GetEngineInfo(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* ExecContainer(grpc::CallbackServerContext* ctx,
                                          const v1::ExecContainerRequest* req,
                                          v1::ExecContainerResponse* resp) override {
    return rpc::ExecContainer(env_, ctx, req, resp);
  }
  grpc::ServerWriteReactor<v1::StreamExecResponse>* StreamExec(
      grpc::CallbackServerContext* ctx, const v1::StreamExecRequest* req) override {
    return rpc::StreamExec(env_, ctx, req);
  }
  grpc::ServerUnaryReactor* StartExec(grpc::CallbackServerContext* ctx,
                                      const v1::StartExecRequest* req,
                                      v1::StartExecResponse* resp) override {
    return rpc::StartExec(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* InspectExec(grpc::CallbackServerContext* ctx,
                                        const v1::InspectExecRequest* req,
                                        v1::InspectExecResponse* resp) override {
    return rpc::InspectExec(env_, ctx, req, resp);
  }
  grpc::ServerBidiReactor<v1::AttachExecRequest, v1::AttachExecResponse>* AttachExec(
      grpc::CallbackServerContext* ctx) override {
    return rpc::AttachExec(env_, ctx);
  }
  grpc::ServerWriteReactor<v1::StreamLogsResponse>* StreamLogs(
      grpc::CallbackServerContext* ctx, const v1::StreamLogsRequest* req) override {
    return rpc::StreamLogs(env_, ctx, req);
  }
  grpc::ServerUnaryReactor* GetHealth(grpc::CallbackServerContext* ctx,
                                      const v1::GetHealthRequest* req,
                                      v1::GetHealthResponse* resp) override {
    return rpc::GetHealth(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* WaitHealthy(grpc::CallbackServerContext* ctx,
                                        const v1::WaitHealthyRequest* req,
                                        v1::WaitHealthyResponse* resp) override {
    return rpc::WaitHealthy(env_, ctx, req, resp);
  }
  grpc::ServerWriteReactor<v1::WatchHealthResponse>* WatchHealth(
      grpc::CallbackServerContext* ctx, const v1::WatchHealthRequest* req) override {
    return rpc::WatchHealth(env_, ctx, req);
  }
  grpc::ServerUnaryReactor* PruneContainers(grpc::CallbackServerContext* ctx,
                                            const v1::PruneContainersRequest* req,
                                            v1::PruneContainersResponse* resp) override {
    return rpc::PruneContainers(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* PruneImages(grpc::CallbackServerContext* ctx,
                                        const v1::PruneImagesRequest* req,
                                        v1::PruneImagesResponse* resp) override {
    return rpc::PruneImages(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* PruneVolumes(grpc::CallbackServerContext* ctx,
                                         const v1::PruneVolumesRequest* req,
                                         v1::PruneVolumesResponse* resp) override {
    return rpc::PruneVolumes(env_, ctx, req, resp);
  }
  grpc::ServerUnaryReactor* PruneNetworks(grpc::CallbackServerContext* ctx,
                                          const v1::PruneNetworksRequest* req,
                                          v1::PruneNetworksResponse* resp) override {
    return rpc::PruneNetworks(env_, ctx, req, resp);
  }

 private:
  const RpcEnv env_;
};

}  // namespace dockline::server
