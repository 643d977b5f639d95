#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dockline::server::auth {

// Callers on a loopback or Unix-socket listener that sent no credentials.
inline constexpr char kLocalIdentity[] = "local";
// Callers without credentials on a plaintext non-loopback listener the operator opened with
// --allow-insecure-remote and no credentials configured (anyone who reaches it).
inline constexpr char kAnonymousIdentity[] = "anonymous";

enum class IdentitySource { kLocal, kAnonymous, kCertificate, kToken };

// Who is calling, as decided once per call before the RPC runs (see Authenticator).
struct Identity {
  std::string name = kLocalIdentity;
  IdentitySource source = IdentitySource::kLocal;
};

const char* SourceName(IdentitySource source);

// The names a verified client certificate carries, each list in certificate order.
struct CertificateNames {
  std::vector<std::string> uris;       // URI SANs (spiffe://...)
  std::vector<std::string> dns_names;  // DNS SANs
  std::vector<std::string> common_names;
};

// The identity a client certificate gives: its first URI SAN, else its first DNS SAN, else its
// subject CN; nullopt when it has none of them (or only empty ones).
std::optional<std::string> IdentityFromCertificate(const CertificateNames& names);

}  // namespace dockline::server::auth
