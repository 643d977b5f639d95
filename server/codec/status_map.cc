#include "server/codec/status_map.h"

#include <utf8.h>

#include <cstdint>
#include <iterator>

namespace dockline::server {

grpc::StatusCode ToGrpcCode(engine::Code code) {
  using engine::Code;
  switch (code) {
    case Code::kOk:
    case Code::kNotModified:  // start/stop of something already so: idempotent
      return grpc::StatusCode::OK;
    case Code::kBadRequest:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case Code::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case Code::kNameConflict:
      return grpc::StatusCode::ALREADY_EXISTS;
    case Code::kConflict:
    case Code::kUnsupportedVersion:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case Code::kDaemonError:
    case Code::kProtocolError:
      return grpc::StatusCode::INTERNAL;
    case Code::kUnreachable:
      return grpc::StatusCode::UNAVAILABLE;
    case Code::kTimeout:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case Code::kCancelled:
      return grpc::StatusCode::CANCELLED;
    case Code::kExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case Code::kDataLoss:
      return grpc::StatusCode::DATA_LOSS;
  }
  return grpc::StatusCode::UNKNOWN;
}

std::string StatusMessage(std::string_view text) {
  std::string valid;
  utf8::replace_invalid(text.begin(), text.end(), std::back_inserter(valid));
  std::string out;
  out.reserve(valid.size());
  for (auto it = valid.begin(); it != valid.end();) {
    auto start = it;
    const uint32_t cp = utf8::unchecked::next(it);
    if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7f) {
      utf8::unchecked::append(0xfffd, std::back_inserter(out));
    } else {
      out.append(start, it);
    }
  }
  if (out.size() > kMaxStatusMessage) {
    constexpr std::string_view kCut = " [... cut]";
    size_t keep = kMaxStatusMessage - kCut.size();
    while (keep > 0 && (static_cast<unsigned char>(out[keep]) & 0xc0) == 0x80) {
      --keep;  // not inside a code point
    }
    out.resize(keep);
    out.append(kCut);
  }
  return out;
}

grpc::Status ToGrpcStatus(const engine::Status& status) {
  grpc::StatusCode code = ToGrpcCode(status.code());
  if (code == grpc::StatusCode::OK) {
    return grpc::Status::OK;
  }
  return grpc::Status(code, StatusMessage(status.message()));
}

}  // namespace dockline::server
