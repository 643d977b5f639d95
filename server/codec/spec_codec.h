#pragma once

#include <google/protobuf/repeated_ptr_field.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dockline/v1/dockline.pb.h"
#include "server/codec/validate.h"

// Request-side codecs: ContainerSpec -> the Engine API create body (validated in
// spec_validate.cc), and Docker's filter form. Everything here refuses bad
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

// Checks every field of `spec` (including spec.name) without building anything.
grpc::Status ValidateContainerSpec(const v1::ContainerSpec& spec, const CreateOptions& options);

// Pieces the validation (spec_validate.cc) and BuildCreateBody share; both assume a spec that
// ValidateContainerSpec accepted when they are used to build.
// The memory limit in bytes (spec.memory_bytes or the docker-py form in spec.memory).
grpc::Status MemoryLimit(const v1::ContainerSpec& spec, int64_t* memory);
// spec.stop_timeout in whole seconds, rounded up.
grpc::Status StopTimeoutSeconds(const v1::ContainerSpec& spec, int64_t* seconds);
// "bridge", "host", "none", "default" and "container:<id>": modes, not network names.
bool IsBuiltinNetworkMode(std::string_view network);

// Validates `spec` and fills `body` with the POST /containers/create body. The name is not part
// of it: the caller sends spec.name as the `name` query parameter.
grpc::Status BuildCreateBody(const v1::ContainerSpec& spec, const CreateOptions& options,
                             nlohmann::json* body);

// The Engine API's names: "tcp"/"udp"/"sctp" (UNSPECIFIED is tcp); "no"/"always"/
// "unless-stopped"/"on-failure" (UNSPECIFIED is no); "bind"/"volume"/"tmpfs" ("" otherwise).
const char* ProtocolName(v1::Protocol protocol);
const char* RestartPolicyJsonName(v1::RestartPolicyName name);
const char* MountTypeName(v1::MountType type);

// Docker's filter form {"key": ["v1", "v2"]}; entries sharing a key are grouped in order.
nlohmann::json FiltersToJson(const google::protobuf::RepeatedPtrField<v1::Filter>& filters);
// As above, refusing empty keys ("<field>[i].key: must not be empty").
grpc::Status FiltersToJson(std::string_view field,
                           const google::protobuf::RepeatedPtrField<v1::Filter>& filters,
                           nlohmann::json* out);

}  // namespace dockline::server
