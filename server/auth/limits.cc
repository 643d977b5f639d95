#include "server/auth/limits.h"

#include <absl/time/time.h>
#include <fmt/format.h>

#include <climits>
#include <cstdint>
#include <string>

#include "server/codec/validate.h"

namespace dockline::server::auth {
namespace {

engine::Status Refuse(std::string_view flag, const std::string& why) {
  return engine::Status(engine::Code::kBadRequest, fmt::format("{}: {}", flag, why));
}

}  // namespace

grpc::Status CheckRequestSize(const google::protobuf::MessageLite& request, size_t limit) {
  const size_t size = request.ByteSizeLong();
  if (size <= limit) {
    return grpc::Status::OK;
  }
  return grpc::Status(
      grpc::StatusCode::INVALID_ARGUMENT,
      fmt::format("request is {} bytes; the limit is {} (--max-request-size)", size, limit));
}

int ReceiveLimitFor(size_t max_request_bytes) {
  constexpr size_t kMax = INT_MAX;
  return static_cast<int>(max_request_bytes > kMax / 2 ? kMax : max_request_bytes * 2);
}

engine::Result<size_t> ParseByteSizeFlag(std::string_view flag, std::string_view text) {
  int64_t bytes = 0;
  if (grpc::Status st = ParseMemory(text, &bytes); !st.ok()) {
    // ParseMemory names the spec field it usually checks; the flag is what the user typed.
    std::string why = st.error_message();
    constexpr std::string_view kField = "spec.memory: ";
    if (why.starts_with(kField)) {
      why.erase(0, kField.size());
    }
    return Refuse(flag, why);
  }
  if (bytes <= 0) {
    return Refuse(flag, "must be at least 1 byte");
  }
  return static_cast<size_t>(bytes);
}

engine::Result<std::chrono::milliseconds> ParseDurationFlag(std::string_view flag,
                                                            std::string_view text) {
  absl::Duration duration;
  if (!absl::ParseDuration(absl::string_view(text.data(), text.size()), &duration) ||
      duration == absl::InfiniteDuration() || duration == -absl::InfiniteDuration()) {
    return Refuse(flag, fmt::format("invalid duration {}: use a number and a unit, e.g. 30s, 2m, "
                                    "1h30m, 500ms",
                                    QuoteValue(text)));
  }
  const int64_t ms = absl::ToInt64Milliseconds(duration);
  if (ms < 1) {
    return Refuse(flag, QuoteValue(text) + " is too short: at least 1ms");
  }
  if (ms > INT_MAX) {
    return Refuse(flag, fmt::format("{} is too long: at most {}ms", QuoteValue(text), INT_MAX));
  }
  return std::chrono::milliseconds(ms);
}

}  // namespace dockline::server::auth
