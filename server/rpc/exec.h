#pragma once

#include <grpcpp/grpcpp.h>

#include "dockline/v1/dockline.grpc.pb.h"
#include "server/codec/exec_codec.h"
#include "server/rpc/exec_session.h"
#include "server/rpc/exec_stream.h"
#include "server/rpc/rpc_env.h"

// The exec family. Here the unary entry points: ExecContainer (output captured, the exit code
// in the reply), StartExec (detached) and InspectExec; the streaming ones (StreamExec,
// AttachExec) are in exec_stream.h. The codecs are in server/codec/exec_codec.h, the session
// that talks to the daemon in exec_session.h.

namespace dockline::server::rpc {

grpc::ServerUnaryReactor* ExecContainer(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                        const v1::ExecContainerRequest* request,
                                        v1::ExecContainerResponse* response);
grpc::ServerUnaryReactor* StartExec(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                    const v1::StartExecRequest* request,
                                    v1::StartExecResponse* response);
grpc::ServerUnaryReactor* InspectExec(const RpcEnv& env, grpc::CallbackServerContext* ctx,
                                      const v1::InspectExecRequest* request,
                                      v1::InspectExecResponse* response);

}  // namespace dockline::server::rpc
