#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/support/status.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// The small checks every handler needs before a value reaches the daemon. Each refuses bad input
// with INVALID_ARGUMENT and a message that starts with the field path (codec/field_error.h).

namespace dockline::server {

// Quotes a client-supplied value for an error message; control bytes are escaped so that a
// message never carries raw terminal sequences, and long values are cut.
std::string QuoteValue(std::string_view value);

// True when `s` holds an ASCII control character (or DEL).
bool HasControl(std::string_view s);

// A proto Duration in nanoseconds; false when it is malformed or overflows int64.
bool DurationToNanos(const google::protobuf::Duration& d, int64_t* out);

// A since/until window as the daemon's logs and events take it: each set time (null: unset) a
// valid time after 1970, and since not after until. Messages read "since: must not be after
// until".
grpc::Status ValidateTimeWindow(const google::protobuf::Timestamp* since,
                                const google::protobuf::Timestamp* until);

// docker-py's parse_bytes: a number with an optional unit b, k, m or g (powers of 1024, any
// case, optionally followed by "b": "512mb"); fractions allowed ("1.5g", "0.5k"), rounded down.
grpc::Status ParseMemory(std::string_view text, int64_t* bytes);

// The longest container or exec reference accepted, in bytes. A Docker id is 64 hex characters;
// the daemon sets no limit on names, so container names are held to the same cap at create, and
// a container dockline made can always be named in a later call.
inline constexpr size_t kMaxContainerRefLength = 256;

// Docker's container-name rule, [a-zA-Z0-9][a-zA-Z0-9_.-]+ with an optional leading "/", and at
// most kMaxContainerRefLength bytes.
grpc::Status ValidateContainerName(std::string_view field, std::string_view name);

// A value that goes into a URL path segment (container or exec reference): non-empty, at most
// kMaxContainerRefLength bytes, no control characters, not "." or "..", no '/', '?' or '#'.
// Messages read "<field>: must not be empty".
grpc::Status ValidateContainerRef(std::string_view field, std::string_view value);

// A signal as the daemon accepts it: "SIGTERM", "TERM", "sigterm", "SIGRTMIN+3" or a number
// 1-64. Empty is refused; callers with a default check for empty first.
grpc::Status ValidateSignal(std::string_view field, std::string_view signal);

}  // namespace dockline::server
