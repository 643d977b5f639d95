#include "server/codec/image_codec.h"

#include <algorithm>
#include <string>
#include <utility>

#include "server/codec/base64url.h"
#include "server/codec/field_error.h"
#include "server/codec/json_util.h"

namespace dockline::server {
namespace {

using nlohmann::json;

// A progress line is a few hundred bytes; one far past that is not the daemon's.
constexpr size_t kMaxLine = 1 << 20;
constexpr size_t kMaxReference = 512;

bool ReferenceChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '/' || c == ':' || c == '@' || c == '+';
}

const json& Object(const json& j, const char* key) {
  static const json kEmpty = json::object();
  const json* v = Member(j, key);
  return v != nullptr && v->is_object() ? *v : kEmpty;
}

bool Contains(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

}  // namespace

grpc::Status ValidateImageRef(std::string_view field, std::string_view image) {
  if (image.empty()) {
    return InvalidField(field,
                        "is required (an image reference such as \"busybox:1.36\" or an id)");
  }
  if (image.size() > kMaxReference) {
    return InvalidField(field, "is longer than " + std::to_string(kMaxReference) + " bytes");
  }
  auto bad = std::find_if_not(image.begin(), image.end(), ReferenceChar);
  if (bad != image.end()) {
    return InvalidField(field, "holds a character no image reference has, at byte " +
                                   std::to_string(bad - image.begin()));
  }
  std::string_view rest = image;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment.empty() || segment == "." || segment == "..") {
      return InvalidField(field, "has an empty, \".\" or \"..\" path component");
    }
    if (slash == std::string_view::npos) {
      return grpc::Status::OK;
    }
    rest.remove_prefix(slash + 1);
  }
}

std::string TaggedReference(const std::string& image) {
  if (image.find('@') != std::string::npos) {
    return image;
  }
  size_t slash = image.rfind('/');
  size_t colon = image.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    return image;
  }
  return image + ":latest";
}

std::string RegistryAuthHeader(const v1::RegistryAuth& auth) {
  json doc = json::object();
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) {
      doc[key] = value;
    }
  };
  put("username", auth.username());
  put("password", auth.password());
  put("serveraddress", auth.server_address());
  put("identitytoken", auth.identity_token());
  if (doc.empty()) {
    return {};
  }
  return Base64UrlEncode(doc.dump());
}

engine::Status PullFailure(std::string message) {
  // "manifest for x:1 not found: manifest unknown", "pull access denied for x, repository does
  // not exist or may require 'docker login'", "repository x not found".
  bool missing = Contains(message, "not found") || Contains(message, "manifest unknown") ||
                 Contains(message, "repository does not exist");
  return engine::Status(missing ? engine::Code::kNotFound : engine::Code::kDaemonError,
                        std::move(message), missing ? 404 : 500);
}

engine::Status PullProgressParser::Feed(std::string_view data, const Sink& sink) {
  while (!data.empty()) {
    size_t newline = data.find('\n');
    if (newline == std::string_view::npos) {
      if (pending_.size() + data.size() > kMaxLine) {
        return engine::Status(engine::Code::kProtocolError,
                              "the daemon's pull progress has a line over 1 MiB");
      }
      pending_.append(data);
      return engine::Status::Ok();
    }
    engine::Status st;
    if (pending_.empty()) {
      st = Line(data.substr(0, newline), sink);
    } else {
      pending_.append(data.substr(0, newline));
      std::string line = std::move(pending_);
      pending_.clear();
      st = Line(line, sink);
    }
    if (!st.ok()) {
      return st;
    }
    data.remove_prefix(newline + 1);
  }
  return engine::Status::Ok();
}

engine::Status PullProgressParser::Finish() const {
  bool blank = std::all_of(pending_.begin(), pending_.end(),
                           [](char c) { return c == ' ' || c == '\r' || c == '\t'; });
  if (!blank) {
    return engine::Status(engine::Code::kProtocolError,
                          "the daemon's pull progress ended inside a line");
  }
  return engine::Status::Ok();
}

engine::Status PullProgressParser::Line(std::string_view line, const Sink& sink) {
  if (std::all_of(line.begin(), line.end(),
                  [](char c) { return c == ' ' || c == '\r' || c == '\t'; })) {
    return engine::Status::Ok();
  }
  json j = json::parse(line, nullptr, false);
  if (!j.is_object()) {
    return engine::Status(engine::Code::kProtocolError,
                          "the daemon's pull progress has a line that is not a JSON object");
  }
  if (const json* error = Member(j, "error"); error != nullptr) {
    std::string message = GetString(Object(j, "errorDetail"), "message");
    if (message.empty()) {
      message = error->is_string() ? error->get<std::string>() : error->dump();
    }
    return PullFailure(std::move(message));
  }
  v1::PullProgress progress;
  progress.set_id(GetString(j, "id"));
  progress.set_status(GetString(j, "status"));
  const json& detail = Object(j, "progressDetail");
  progress.set_current(GetInt(detail, "current"));
  progress.set_total(GetInt(detail, "total"));
  constexpr std::string_view kDigest = "Digest: ";
  if (progress.status().starts_with(kDigest)) {
    digest_ = progress.status().substr(kDigest.size());
  }
  sink(std::move(progress));
  return engine::Status::Ok();
}

}  // namespace dockline::server
