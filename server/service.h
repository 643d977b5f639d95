#pragma once

#include <memory>

#include "dockline/v1/dockline.grpc.pb.h"
#include "engine/engine.h"

namespace dockline::server {

struct ServiceOptions {
  // Cap on a unary engine call (inspect, start, ...); waits and streams have none.
  std::chrono::milliseconds unary_timeout{60000};
  // ExecContainer keeps at most this much of each output stream; past it the reply says
  // truncated=true.
  size_t exec_output_cap = 16 << 20;
};

// dockline.v1.Dockline on gRPC's callback API. Every RPC validates its request, turns it into
// Engine API calls and maps the outcome through status_map. Reactions never block.
class DocklineService final : public v1::Dockline::CallbackService {
 public:
  DocklineService(std::shared_ptr<engine::Engine> engine, ServiceOptions options = {});

  grpc::ServerUnaryReactor* CreateContainer(grpc::CallbackServerContext* ctx,
                                            const v1::CreateContainerRequest* req,
                                            v1::CreateContainerResponse* resp) override;
  grpc::ServerUnaryReactor* StartContainer(grpc::CallbackServerContext* ctx,
                                           const v1::StartContainerRequest* req,
                                           v1::StartContainerResponse* resp) override;
  grpc::ServerUnaryReactor* StopContainer(grpc::CallbackServerContext* ctx,
                                          const v1::StopContainerRequest* req,
                                          v1::StopContainerResponse* resp) override;
  grpc::ServerUnaryReactor* RestartContainer(grpc::CallbackServerContext* ctx,
                                             const v1::RestartContainerRequest* req,
                                             v1::RestartContainerResponse* resp) override;
  grpc::ServerUnaryReactor* KillContainer(grpc::CallbackServerContext* ctx,
                                          const v1::KillContainerRequest* req,
                                          v1::KillContainerResponse* resp) override;
  grpc::ServerUnaryReactor* RemoveContainer(grpc::CallbackServerContext* ctx,
                                            const v1::RemoveContainerRequest* req,
                                            v1::RemoveContainerResponse* resp) override;
  grpc::ServerUnaryReactor* InspectContainer(grpc::CallbackServerContext* ctx,
                                             const v1::InspectContainerRequest* req,
                                             v1::InspectContainerResponse* resp) override;
  grpc::ServerUnaryReactor* ListContainers(grpc::CallbackServerContext* ctx,
                                           const v1::ListContainersRequest* req,
                                           v1::ListContainersResponse* resp) override;
  grpc::ServerUnaryReactor* WaitContainer(grpc::CallbackServerContext* ctx,
                                          const v1::WaitContainerRequest* req,
                                          v1::WaitContainerResponse* resp) override;
  grpc::ServerWriteReactor<v1::RunContainerResponse>* RunContainer(
      grpc::CallbackServerContext* ctx, const v1::RunContainerRequest* req) override;
  grpc::ServerUnaryReactor* GetEngineInfo(grpc::CallbackServerContext* ctx,
                                          const v1::GetEngineInfoRequest* req,
                                          v1::GetEngineInfoResponse* resp) override;

  // Later issues implement these; until then they say which capability is missing.
  grpc::ServerUnaryReactor* ExecContainer(grpc::CallbackServerContext* ctx,
                                          const v1::ExecContainerRequest* req,
                                          v1::ExecContainerResponse* resp) override;
  grpc::ServerWriteReactor<v1::StreamExecResponse>* StreamExec(
      grpc::CallbackServerContext* ctx, const v1::StreamExecRequest* req) override;
  grpc::ServerUnaryReactor* StartExec(grpc::CallbackServerContext* ctx,
                                      const v1::StartExecRequest* req,
                                      v1::StartExecResponse* resp) override;
  grpc::ServerUnaryReactor* InspectExec(grpc::CallbackServerContext* ctx,
                                        const v1::InspectExecRequest* req,
                                        v1::InspectExecResponse* resp) override;
  grpc::ServerBidiReactor<v1::AttachExecRequest, v1::AttachExecResponse>* AttachExec(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerWriteReactor<v1::StreamLogsResponse>* StreamLogs(
      grpc::CallbackServerContext* ctx, const v1::StreamLogsRequest* req) override;
  grpc::ServerUnaryReactor* GetHealth(grpc::CallbackServerContext* ctx,
                                      const v1::GetHealthRequest* req,
                                      v1::GetHealthResponse* resp) override;
  grpc::ServerUnaryReactor* WaitHealthy(grpc::CallbackServerContext* ctx,
                                        const v1::WaitHealthyRequest* req,
                                        v1::WaitHealthyResponse* resp) override;
  grpc::ServerWriteReactor<v1::WatchHealthResponse>* WatchHealth(
      grpc::CallbackServerContext* ctx, const v1::WatchHealthRequest* req) override;
  grpc::ServerUnaryReactor* PruneContainers(grpc::CallbackServerContext* ctx,
                                            const v1::PruneContainersRequest* req,
                                            v1::PruneContainersResponse* resp) override;
  grpc::ServerUnaryReactor* PruneImages(grpc::CallbackServerContext* ctx,
                                        const v1::PruneImagesRequest* req,
                                        v1::PruneImagesResponse* resp) override;
  grpc::ServerUnaryReactor* PruneVolumes(grpc::CallbackServerContext* ctx,
                                         const v1::PruneVolumesRequest* req,
                                         v1::PruneVolumesResponse* resp) override;
  grpc::ServerUnaryReactor* PruneNetworks(grpc::CallbackServerContext* ctx,
                                          const v1::PruneNetworksRequest* req,
                                          v1::PruneNetworksResponse* resp) override;

 private:
  std::shared_ptr<engine::Engine> engine_;
  ServiceOptions options_;
};

}  // namespace dockline::server
