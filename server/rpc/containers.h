#pragma once

#include <grpcpp/grpcpp.h>

#include "dockline/v1/dockline.grpc.pb.h"
#include "server/rpc/rpc_env.h"

// The container lifecycle: create, start, stop, restart, kill, remove, inspect, list and wait,
// plus GetEngineInfo; each one or two Engine API calls on the one unary chain.

namespace dockline::server::rpc {

grpc::ServerUnaryReactor* CreateContainer(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                          const v1::CreateContainerRequest* req,
                                          v1::CreateContainerResponse* resp);
grpc::ServerUnaryReactor* StartContainer(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                         const v1::StartContainerRequest* req,
                                         v1::StartContainerResponse* resp);
grpc::ServerUnaryReactor* StopContainer(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                        const v1::StopContainerRequest* req,
                                        v1::StopContainerResponse* resp);
grpc::ServerUnaryReactor* RestartContainer(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                           const v1::RestartContainerRequest* req,
                                           v1::RestartContainerResponse* resp);
grpc::ServerUnaryReactor* KillContainer(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                        const v1::KillContainerRequest* req,
                                        v1::KillContainerResponse* resp);
grpc::ServerUnaryReactor* RemoveContainer(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                          const v1::RemoveContainerRequest* req,
                                          v1::RemoveContainerResponse* resp);
grpc::ServerUnaryReactor* InspectContainer(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                           const v1::InspectContainerRequest* req,
                                           v1::InspectContainerResponse* resp);
grpc::ServerUnaryReactor* ListContainers(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                         const v1::ListContainersRequest* req,
                                         v1::ListContainersResponse* resp);
grpc::ServerUnaryReactor* WaitContainer(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                        const v1::WaitContainerRequest* req,
                                        v1::WaitContainerResponse* resp);
grpc::ServerUnaryReactor* GetEngineInfo(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                        const v1::GetEngineInfoRequest* req,
                                        v1::GetEngineInfoResponse* resp);

}  // namespace dockline::server::rpc
