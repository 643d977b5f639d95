#pragma once

#include <google/protobuf/repeated_ptr_field.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dockline/v1/dockline.pb.h"

// Request-side codecs: ContainerSpec -> the Engine API create body, and the small checks and
// escapes every handler needs before a value reaches a daemon URL. Everything here refuses bad
// input with INVALID_ARGUMENT and a message that starts with the field path ("spec.ports[1]
// .container_port: ..."), so that nothing the daemon would choke on (or crash on) is sent.

namespace dockline::server {

struct CreateOptions {
  // The negotiated Engine API version ("1.41"); gates fields newer daemons added.
  std::string api_version = "1.41";
  // AttachStdout/AttachStderr (and AttachStdin/StdinOnce with spec.stdin_open): for a run that
  // relays the container's output.
  bool attach = false;
  // Overrides spec.auto_remove when set (RunContainer decides removal itself).
  std::optional<bool> auto_remove;
};

// docker-py's parse_bytes: a number with an optional unit b, k, m or g (powers of 1024, any
// case, optionally followed by "b": "512mb"); fractions allowed ("1.5g", "0.5k"), rounded down.
grpc::Status ParseMemory(std::string_view text, int64_t* bytes);

// Checks every field of `spec` (including spec.name) without building anything.
grpc::Status ValidateContainerSpec(const v1::ContainerSpec& spec, const CreateOptions& options);

// Validates `spec` and fills `body` with the POST /containers/create body. The name is not part
// of it: the caller sends spec.name as the `name` query parameter.
grpc::Status BuildCreateBody(const v1::ContainerSpec& spec, const CreateOptions& options,
                             nlohmann::json* body);

// Docker's container-name rule, [a-zA-Z0-9][a-zA-Z0-9_.-]+ with an optional leading "/".
grpc::Status ValidateContainerName(std::string_view field, std::string_view name);

// A value that goes into a URL path segment (container or exec reference): non-empty, no
// control characters, no '/', '?' or '#'. Messages read "<field>: must not be empty".
grpc::Status ValidateContainerRef(std::string_view field, std::string_view value);

// A signal as the daemon accepts it: "SIGTERM", "TERM", "sigterm", "SIGRTMIN+3" or a number
// 1-64. Empty is refused; callers with a default check for empty first.
grpc::Status ValidateSignal(std::string_view field, std::string_view signal);

// Percent-encodes everything but RFC 3986 unreserved characters. Both are safe for any input;
// UrlEncode is for query keys and values, EscapePathSegment for one path segment.
// The Engine API's names: "tcp"/"udp"/"sctp" (UNSPECIFIED is tcp); "no"/"always"/
// "unless-stopped"/"on-failure" (UNSPECIFIED is no); "bind"/"volume"/"tmpfs" ("" otherwise).
const char* ProtocolName(v1::Protocol protocol);
const char* RestartPolicyJsonName(v1::RestartPolicyName name);
const char* MountTypeName(v1::MountType type);

std::string EscapePathSegment(std::string_view segment);
std::string UrlEncode(std::string_view component);

// Docker's filter form {"key": ["v1", "v2"]}; entries sharing a key are grouped in order.
nlohmann::json FiltersToJson(const google::protobuf::RepeatedPtrField<v1::Filter>& filters);
// As above, refusing empty keys ("<field>[i].key: must not be empty").
grpc::Status FiltersToJson(std::string_view field,
                           const google::protobuf::RepeatedPtrField<v1::Filter>& filters,
                           nlohmann::json* out);

}  // namespace dockline::server
