#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "server/reloadable.h"

namespace dockline::server::auth {

using Sha256Digest = std::array<unsigned char, 32>;

// SHA-256 through OpenSSL's libcrypto.
Sha256Digest Sha256(std::string_view data);
// Lower-case hex, as `sha256sum` prints it and a tokens file holds it.
std::string DigestHex(const Sha256Digest& digest);

// The --tokens file: which bearer token (kept only as its SHA-256, so the file holds no secret)
// names which identity. One entry a line, `IDENTITY sha256:<64 hex digits>`; blank lines and
// lines starting with `#` are skipped. An identity may have several tokens (rotation); one
// digest may not name two identities.
//
// Thread rules: immutable once parsed; Match may run on any number of threads at once.
class TokenTable {
 public:
  // `source` names the file in error messages, which also give the 1-based line.
  static engine::Result<TokenTable> Parse(std::string_view text, const std::string& source);
  static engine::Result<TokenTable> Load(const std::string& path);

  // The identity this bearer token belongs to. Every entry is compared, each with
  // CRYPTO_memcmp, so the time taken says nothing about which entry or how many bytes matched.
  std::optional<std::string> Match(std::string_view token) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string identity;
    Sha256Digest digest;
  };
  std::vector<Entry> entries_;
};

// The tokens in force; SIGHUP re-reads the file, so tokens rotate without a restart.
using TokenStore = Reloadable<TokenTable>;
std::shared_ptr<TokenStore> MakeTokenStore(TokenTable table, const std::string& path);

}  // namespace dockline::server::auth
