#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "dockline/v1/dockline.grpc.pb.h"
#include "engine/engine.h"

namespace dockline::server {

// RunContainer: create, register the wait, start, relay the output, report the exit.
grpc::ServerWriteReactor<v1::RunContainerResponse>* StartRunContainer(
    std::shared_ptr<engine::Engine> engine, grpc::CallbackServerContext* ctx,
    const v1::RunContainerRequest* request);

}  // namespace dockline::server
