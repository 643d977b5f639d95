#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "dockline/v1/dockline.grpc.pb.h"
#include "engine/engine.h"

namespace dockline::server {

// StreamLogs: container.logs(stdout, stderr, stream, timestamps, tail, since, follow, until).
grpc::ServerWriteReactor<v1::StreamLogsResponse>* StartStreamLogs(
    std::shared_ptr<engine::Engine> engine, const v1::StreamLogsRequest* request);

}  // namespace dockline::server
