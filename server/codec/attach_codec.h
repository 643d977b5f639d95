#pragma once

#include <grpcpp/support/status.h>

#include "dockline/v1/dockline.pb.h"
#include "engine/docker_api.h"

// AttachContainer's config -> the daemon's attach query, refusing what the daemon would take
// badly or only after the connection is hijacked.

namespace dockline::server {

// INVALID_ARGUMENT naming the field ("config.container: must not be empty") for a config that
// cannot be sent; otherwise fills `query`. The daemon is always attached to some output, since an
// attach without any ends at once: output nobody asked for is read and dropped.
grpc::Status PlanAttach(const v1::AttachConfig& config, engine::AttachQuery* query);

// Docker's detach sequence syntax: comma-separated keys, each one character or "ctrl-" with one
// of a-z @ [ \ ] ^ _.
bool ValidDetachKeys(std::string_view keys);

}  // namespace dockline::server
