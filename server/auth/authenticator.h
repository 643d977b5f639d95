#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "server/auth/identity.h"
#include "server/auth/tokens.h"

namespace dockline::server::auth {

// How the listener is set up, which decides what a caller must show.
struct AuthConfig {
  bool tls = false;
  // --tls-client-ca: the handshake already required a certificate signed by that CA, so every
  // call on this listener carries a verified one.
  bool client_certificates = false;
  // Loopback or a Unix socket (IsLocalListenAddress): the only places a plaintext token or no
  // credentials at all may be accepted.
  bool local_listener = true;
  // --allow-insecure-remote on a plaintext non-loopback listener with no credentials
  // configured: the operator chose "anyone who reaches it", and those callers are `anonymous`.
  bool anonymous_remote = false;
  std::shared_ptr<TokenStore> tokens = nullptr;  // null without --tokens
};

// What one call carried, read from its context (or made up by a test).
struct CallCredentials {
  std::optional<CertificateNames> certificate;  // a verified client certificate
  std::vector<std::string> authorization;       // every `authorization` metadata value
};

// The one place a caller's identity is decided, before any RPC runs: a verified client
// certificate, else a bearer token from the tokens file, else (only where no credentials are
// required) `local` or `anonymous`. Anything else is UNAUTHENTICATED with the reason.
//
// Thread rules: immutable after construction; Authenticate runs on gRPC threads concurrently.
class Authenticator {
 public:
  Authenticator() = default;  // loopback, nothing configured: every caller is `local`
  explicit Authenticator(AuthConfig config) : config_(std::move(config)) {}

  grpc::Status Authenticate(const grpc::CallbackServerContext& ctx, Identity* identity) const;

  // The decision itself, on what the call carried.
  grpc::Status Decide(const CallCredentials& call, Identity* identity) const;

  // Whether a caller without credentials is refused on this listener.
  bool CredentialsRequired() const;

  // One line for the start log: what this listener accepts.
  std::string Describe() const;

 private:
  AuthConfig config_;
};

// The names of the verified peer certificate in `context`, nullopt when there is none.
std::optional<CertificateNames> PeerCertificate(const grpc::AuthContext& context);

}  // namespace dockline::server::auth
