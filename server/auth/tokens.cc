#include "server/auth/tokens.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

#include "server/auth/identity.h"

namespace dockline::server::auth {
namespace {

constexpr std::string_view kDigestPrefix = "sha256:";

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool ParseDigest(std::string_view text, Sha256Digest* digest) {
  if (text.substr(0, kDigestPrefix.size()) != kDigestPrefix) {
    return false;
  }
  text.remove_prefix(kDigestPrefix.size());
  if (text.size() != digest->size() * 2) {
    return false;
  }
  for (size_t i = 0; i < digest->size(); ++i) {
    int high = HexValue(text[2 * i]);
    int low = HexValue(text[2 * i + 1]);
    if (high < 0 || low < 0) {
      return false;
    }
    (*digest)[i] = static_cast<unsigned char>(high * 16 + low);
  }
  return true;
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
      ++i;
    }
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
      ++i;
    }
    if (i > start) {
      fields.push_back(line.substr(start, i - start));
    }
  }
  return fields;
}

}  // namespace

Sha256Digest Sha256(std::string_view data) {
  Sha256Digest digest{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
  return digest;
}

std::string DigestHex(const Sha256Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * digest.size());
  for (unsigned char b : digest) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

engine::Result<TokenTable> TokenTable::Parse(std::string_view text, const std::string& source) {
  TokenTable table;
  size_t line_number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_number;
    std::vector<std::string_view> fields = Fields(line);
    if (fields.empty() || fields[0][0] == '#') {
      continue;
    }
    auto refuse = [&](const std::string& why) {
      return engine::Status(engine::Code::kBadRequest,
                            source + ":" + std::to_string(line_number) + ": " + why);
    };
    if (fields.size() != 2) {
      return refuse("expected 'IDENTITY sha256:<64 hex digits>', got " +
                    std::to_string(fields.size()) + " fields");
    }
    Entry entry{std::string(fields[0]), {}};
    if (entry.identity == kLocalIdentity || entry.identity == kAnonymousIdentity) {
      // A token holder must never be mistaken for a caller that gave no credentials.
      return refuse("identity '" + entry.identity + "' is reserved");
    }
    if (!ParseDigest(fields[1], &entry.digest)) {
      return refuse("the token must be given as sha256: followed by 64 hex digits");
    }
    for (const Entry& other : table.entries_) {
      if (other.digest == entry.digest && other.identity != entry.identity) {
        return refuse("this token is already " + other.identity + "'s");
      }
    }
    table.entries_.push_back(std::move(entry));
  }
  if (table.entries_.empty()) {
    return engine::Status(engine::Code::kBadRequest, source + ": names no identity");
  }
  return table;
}

engine::Result<TokenTable> TokenTable::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return engine::Status(engine::Code::kBadRequest, "cannot read tokens file " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

std::shared_ptr<TokenStore> MakeTokenStore(TokenTable table, const std::string& path) {
  return std::make_shared<TokenStore>(
      std::make_shared<const TokenTable>(std::move(table)), path,
      [](const std::string& file) -> engine::Result<std::shared_ptr<const TokenTable>> {
        auto loaded = TokenTable::Load(file);
        if (!loaded.ok()) {
          return loaded.status();
        }
        return std::make_shared<const TokenTable>(std::move(loaded.value()));
      });
}

std::optional<std::string> TokenTable::Match(std::string_view token) const {
  Sha256Digest digest = Sha256(token);
  const Entry* found = nullptr;
  for (const Entry& entry : entries_) {
    bool equal = CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
    if (equal && found == nullptr) {
      found = &entry;
    }
  }
  if (found == nullptr) {
    return std::nullopt;
  }
  return found->identity;
}

}  // namespace dockline::server::auth
