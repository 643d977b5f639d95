#pragma once

#include <grpcpp/support/status.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "dockline/v1/dockline.pb.h"
#include "engine/status.h"

// Images: references, credentials and the pull's progress stream (the image documents are in
// inspect_codec.h). Like the other
// codecs, nothing here throws on daemon data.

namespace dockline::server {

// An image reference or id as a request field: not empty, at most 512 bytes, only the
// characters a reference can hold (letters, digits, "._-/:@+"), and no empty, "." or ".."
// path segment. The daemon judges the rest of the grammar (upper case, tag length) itself.
grpc::Status ValidateImageRef(std::string_view field, std::string_view image);

// `image` with ":latest" added when it names neither a tag nor a digest: what docker pulls and
// runs. The pull needs it: the Engine API pulls every tag of a repository given without one.
std::string TaggedReference(const std::string& image);

// X-Registry-Auth: the credentials as base64url JSON, as docker-py sends them. Empty when
// `auth` carries nothing.
std::string RegistryAuthHeader(const v1::RegistryAuth& auth);

// The body of POST /images/create, one JSON object per line, read as it arrives.
class PullProgressParser {
 public:
  using Sink = std::function<void(v1::PullProgress&&)>;

  // Hands each complete progress line in `data` to `sink` (a cut line waits for the next
  // Feed). A line with "error" is the pull's failure: returned as its status (kNotFound when
  // the registry has no such image), and nothing after it is read.
  engine::Status Feed(std::string_view data, const Sink& sink);
  // At the end of the body: a line left over is kProtocolError.
  engine::Status Finish() const;
  // The repository digest the daemon reported ("Digest: sha256:..."), if any.
  const std::string& digest() const { return digest_; }

 private:
  engine::Status Line(std::string_view line, const Sink& sink);

  std::string pending_;
  std::string digest_;
};

// The status of a pull's error line (or of a failed reply): kNotFound for the daemon's ways of
// saying the registry has no such image, kDaemonError otherwise.
engine::Status PullFailure(std::string message);

}  // namespace dockline::server
