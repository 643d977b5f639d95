#include "server/auth/authenticator.h"

#include <grpc/grpc_security_constants.h>

#include <string_view>

namespace dockline::server::auth {
namespace {

grpc::Status Unauthenticated(const std::string& why) {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 6750); nullopt when the
// value is another scheme or has no token.
std::optional<std::string_view> BearerToken(std::string_view value) {
  constexpr std::string_view kScheme = "bearer ";
  value = Trim(value);
  if (value.size() <= kScheme.size()) {
    return std::nullopt;
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != kScheme[i]) {
      return std::nullopt;
    }
  }
  std::string_view token = Trim(value.substr(kScheme.size()));
  if (token.empty()) {
    return std::nullopt;
  }
  return token;
}

std::vector<std::string> Values(const grpc::AuthContext& context, const char* name) {
  std::vector<std::string> values;
  for (const grpc::string_ref& value : context.FindPropertyValues(name)) {
    values.emplace_back(value.data(), value.size());
  }
  return values;
}

}  // namespace

std::optional<CertificateNames> PeerCertificate(const grpc::AuthContext& context) {
  // gRPC 1.51 lists each SAN kind under its own property ("peer_uri", "peer_dns"), in
  // certificate order; x509_subject_alternative_name mixes all kinds, so it cannot tell a URI
  // from a DNS name. The properties exist only after a verified handshake.
  if (!context.IsPeerAuthenticated() || Values(context, GRPC_X509_PEM_CERT_PROPERTY_NAME).empty()) {
    return std::nullopt;
  }
  CertificateNames names;
  names.uris = Values(context, GRPC_PEER_URI_PROPERTY_NAME);
  names.dns_names = Values(context, GRPC_PEER_DNS_PROPERTY_NAME);
  names.common_names = Values(context, GRPC_X509_CN_PROPERTY_NAME);
  return names;
}

grpc::Status Authenticator::Authenticate(const grpc::CallbackServerContext& ctx,
                                         Identity* identity) const {
  CallCredentials call;
  if (config_.client_certificates) {
    if (std::shared_ptr<const grpc::AuthContext> context = ctx.auth_context()) {
      call.certificate = PeerCertificate(*context);
    }
  }
  auto [begin, end] = ctx.client_metadata().equal_range("authorization");
  for (auto it = begin; it != end; ++it) {
    call.authorization.emplace_back(it->second.data(), it->second.size());
  }
  return Decide(call, identity);
}

grpc::Status Authenticator::Decide(const CallCredentials& call, Identity* identity) const {
  if (config_.client_certificates && call.certificate) {
    std::optional<std::string> name = IdentityFromCertificate(*call.certificate);
    if (!name) {
      return Unauthenticated(
          "the client certificate names no identity: it has no URI or DNS SAN and no subject "
          "CN");
    }
    *identity = Identity{*name, IdentitySource::kCertificate};
    return grpc::Status::OK;
  }
  if (!call.authorization.empty()) {
    if (call.authorization.size() > 1) {
      return Unauthenticated("more than one authorization metadata entry");
    }
    std::optional<std::string_view> token = BearerToken(call.authorization.front());
    if (!token) {
      return Unauthenticated("authorization metadata must be 'Bearer <token>'");
    }
    // Refused before it is even looked at: a token that crossed a network in the clear is
    // compromised whether or not it is right.
    if (!config_.tls && !config_.local_listener) {
      return Unauthenticated("bearer tokens need TLS off loopback");
    }
    if (!config_.tokens) {
      return Unauthenticated("a bearer token was sent, but this server takes none (no --tokens)");
    }
    std::optional<std::string> name = config_.tokens->Current()->Match(*token);
    if (!name) {
      return Unauthenticated("the bearer token is not one this server knows");
    }
    *identity = Identity{*name, IdentitySource::kToken};
    return grpc::Status::OK;
  }
  if (CredentialsRequired()) {
    std::string wanted;
    if (config_.client_certificates) {
      wanted = "a client certificate signed by the server's --tls-client-ca";
    }
    if (config_.tokens) {
      wanted += std::string(wanted.empty() ? "" : " or ") +
                "an 'authorization: Bearer <token>' metadata entry" +
                (config_.tls || config_.local_listener ? "" : " (over TLS)");
    }
    if (wanted.empty()) {
      wanted = "credentials, and it has none configured";
    }
    return Unauthenticated("no credentials: this server requires " + wanted);
  }
  *identity = config_.local_listener ? Identity{kLocalIdentity, IdentitySource::kLocal}
                                     : Identity{kAnonymousIdentity, IdentitySource::kAnonymous};
  return grpc::Status::OK;
}

bool Authenticator::CredentialsRequired() const {
  return config_.client_certificates || config_.tokens != nullptr ||
         !(config_.local_listener || config_.anonymous_remote);
}

std::string Authenticator::Describe() const {
  std::string accepted;
  if (config_.client_certificates) {
    accepted = "client certificates";
  }
  if (config_.tokens) {
    accepted += std::string(accepted.empty() ? "" : ", ") +
                std::to_string(config_.tokens->Current()->size()) + " bearer token(s)" +
                (config_.tls || config_.local_listener ? "" : " (none usable without TLS)");
  }
  if (!CredentialsRequired()) {
    accepted += std::string(accepted.empty() ? "" : "; ") + "callers without credentials are " +
                (config_.local_listener ? kLocalIdentity : kAnonymousIdentity);
  }
  return std::string(config_.tls ? "TLS" : "plaintext") + ", accepting " + accepted;
}

}  // namespace dockline::server::auth
