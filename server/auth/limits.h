#pragma once

#include <google/protobuf/message_lite.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <cstddef>
#include <string_view>

#include "engine/status.h"

// What docklined accepts from one connection: the size of a request and how often a client may
// ping. Both are limits a caller meets before any handler runs.
namespace dockline::server::auth {

// --max-request-size's default: gRPC's own default receive limit.
inline constexpr size_t kDefaultMaxRequestBytes = 4 << 20;

// How often a client may ping a connection that carries no data. Clients' keepalive defaults
// (client::kDefaultKeepaliveTime) must not be shorter; a unit test holds the two together.
inline constexpr std::chrono::milliseconds kMinClientPingInterval{10000};

// INVALID_ARGUMENT "request is N bytes; the limit is M (--max-request-size)" when `request`
// serializes to more than `limit` bytes.
//
// The service's guard calls it with each unary or server-streaming request. AttachExec's
// messages (a bidirectional stream) never pass through the guard: its stream checks the first
// one (the config) itself, and only gRPC's receive limit (ReceiveLimitFor) bounds the rest.
grpc::Status CheckRequestSize(const google::protobuf::MessageLite& request, size_t limit);

// The gRPC receive limit for a request limit: twice it, so that a request a little over the
// limit still arrives and gets CheckRequestSize's clear answer instead of gRPC's
// RESOURCE_EXHAUSTED, while nothing much larger is ever buffered. At most INT_MAX.
int ReceiveLimitFor(size_t max_request_bytes);

// A byte-size flag in --exec-output-cap's units (ParseMemory: 512k, 4m, 1.5g); at least 1 byte.
// Errors start with the flag's name.
engine::Result<size_t> ParseByteSizeFlag(std::string_view flag, std::string_view text);

// A duration flag such as "30s", "2m", "1h30m" or "500ms"; positive, at least 1ms and at most
// INT_MAX ms (what a gRPC channel argument holds). Errors start with the flag's name.
engine::Result<std::chrono::milliseconds> ParseDurationFlag(std::string_view flag,
                                                            std::string_view text);

}  // namespace dockline::server::auth
