#include "server/codec/copy_codec.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/json_util.h"
#include "server/codec/base64url.h"
#include "server/codec/field_error.h"
#include "server/codec/inspect_codec.h"
#include "server/codec/validate.h"

namespace dockline::server {

bool PathStatFromHeader(std::string_view header, v1::PathStat* out) {
  std::optional<std::string> text = Base64Decode(header);
  if (!text) {
    return false;
  }
  nlohmann::json doc = nlohmann::json::parse(*text, nullptr, false);
  if (!doc.is_object()) {
    return false;
  }
  out->set_name(engine::GetString(doc, "name"));
  out->set_size(engine::GetInt(doc, "size"));
  const int64_t mode = engine::GetInt(doc, "mode");
  out->set_mode(mode >= 0 && mode <= 0xffffffffLL ? static_cast<uint32_t>(mode) : 0);
  out->set_is_dir((out->mode() & kGoModeDir) != 0);
  if (std::string mtime = engine::GetString(doc, "mtime"); !mtime.empty()) {
    google::protobuf::Timestamp ts;
    if (ParseDockerTime(mtime, &ts)) {
      *out->mutable_mtime() = ts;
    }
  }
  out->set_link_target(engine::GetString(doc, "linkTarget"));
  return true;
}

grpc::Status ValidateContainerPath(std::string_view field, std::string_view path) {
  if (path.empty()) {
    return InvalidField(field, "must not be empty");
  }
  if (path.find('\0') != std::string_view::npos) {
    return InvalidField(field, "must not hold a NUL byte");
  }
  if (path.front() != '/') {
    return InvalidField(field, "must be absolute, not " + QuoteValue(path));
  }
  return grpc::Status::OK;
}

}  // namespace dockline::server
