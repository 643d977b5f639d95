#include "client/quote.h"

#include <utf8.h>

#include <cstdio>

namespace dockline::client {
namespace {

void AppendEscaped(unsigned char c, std::string* out) {
  switch (c) {
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default:
      break;
  }
  if (c < 0x20 || c >= 0x7f) {
    char hex[5];
    std::snprintf(hex, sizeof(hex), "\\x%02x", c);
    out->append(hex);
  } else {
    out->push_back(static_cast<char>(c));
  }
}

}  // namespace

std::string Quote(std::string_view value) {
  std::string out = "\"";
  out.reserve(value.size() + 2);
  auto at = value.begin();
  while (at != value.end()) {
    auto invalid = utf8::find_invalid(at, value.end());
    for (; at != invalid; ++at) {
      const auto c = static_cast<unsigned char>(*at);
      if (c >= 0x80) {
        out.push_back(*at);  // part of a valid multi-byte sequence
      } else {
        AppendEscaped(c, &out);
      }
    }
    if (at != value.end()) {
      AppendEscaped(static_cast<unsigned char>(*at), &out);
      ++at;
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace dockline::client
