#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "dockline/v1/dockline.grpc.pb.h"
#include "engine/engine.h"

namespace dockline::server {

// StreamLogs: container.logs(stdout, stderr, stream, timestamps, tail, since, follow, until).
grpc::ServerWriteReactor<v1::StreamLogsResponse>* StartStreamLogs(
    std::shared_ptr<engine::Engine> engine, const v1::StreamLogsRequest* request);

// The Engine API's logs since/until form: "<unix seconds>.<9-digit nanos>".
std::string DockerTimeParam(const google::protobuf::Timestamp& t);

}  // namespace dockline::server
