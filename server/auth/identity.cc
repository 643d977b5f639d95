#include "server/auth/identity.h"

namespace dockline::server::auth {
namespace {

const std::string* FirstNonEmpty(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (!name.empty()) {
      return &name;
    }
  }
  return nullptr;
}

}  // namespace

const char* SourceName(IdentitySource source) {
  switch (source) {
    case IdentitySource::kLocal:
      return "local";
    case IdentitySource::kAnonymous:
      return "anonymous";
    case IdentitySource::kCertificate:
      return "client certificate";
    case IdentitySource::kToken:
      return "bearer token";
  }
  return "?";
}

std::optional<std::string> IdentityFromCertificate(const CertificateNames& names) {
  for (const auto* list : {&names.uris, &names.dns_names, &names.common_names}) {
    if (const std::string* name = FirstNonEmpty(*list)) {
      return *name;
    }
  }
  return std::nullopt;
}

}  // namespace dockline::server::auth
