#include "server/codec/base64url.h"

#include <openssl/evp.h>

#include <algorithm>

namespace dockline::server {

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

namespace {

// `padded` is standard-alphabet base64 whose length is a multiple of four.
std::optional<std::string> DecodePadded(const std::string& padded) {
  if (padded.empty()) {
    return std::string();
  }
  // EVP_DecodeBlock rejects what is not base64 but counts padding as zero bytes.
  std::string out(padded.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(padded.data()),
                          static_cast<int>(padded.size()));
  if (n < 0) {
    return std::nullopt;
  }
  size_t pad = padded.size() - padded.find_last_not_of('=') - 1;
  if (pad > 2) {
    return std::nullopt;
  }
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

void PadTo4(std::string* text) {
  while (text->size() % 4 != 0) {
    text->push_back('=');
  }
}

}  // namespace

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  std::string padded(text);
  for (char& c : padded) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (c == '+' || c == '/') {
      return std::nullopt;  // the standard alphabet's: not ours
    }
  }
  PadTo4(&padded);
  return DecodePadded(padded);
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string padded(text);
  if (padded.find_first_of("-_") != std::string::npos) {
    return std::nullopt;  // the URL alphabet's
  }
  PadTo4(&padded);
  return DecodePadded(padded);
}

}  // namespace dockline::server
