#pragma once

#include <grpcpp/security/server_credentials.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "engine/status.h"

namespace dockline::server {

// True for addresses that never leave the host: unix:, localhost, a literal 127.0.0.0/8
// address, [::1]. A name that merely starts with "127." is not loopback.
bool IsLocalListenAddress(const std::string& address);

}  // namespace dockline::server

namespace dockline::server::auth {

// The filesystem path of a unix: listen address (unix:///p, unix:/p, unix:p); nullopt for
// anything else.
std::optional<std::string> UnixSocketPath(const std::string& address);

// "0660", "660", "0o600": permission bits only (at most 0777).
engine::Result<mode_t> ParseListenMode(const std::string& text);

// The group's id; an unknown group is an error naming it.
engine::Result<gid_t> LookupGroup(const std::string& name);

// Refuses a socket whose directory anyone may write without the sticky bit: anyone could then
// unlink the socket and put their own in its place. (/tmp, sticky, is fine.)
engine::Status CheckSocketDirectory(const std::string& socket_path);

// Gives the bound Unix socket `path` its mode and, when `group` is set, its group.
engine::Status SecureUnixSocket(const std::string& path, mode_t mode, std::optional<gid_t> group);

// The files behind --tls-cert, --tls-key and --tls-client-ca.
struct TlsFiles {
  std::string cert;
  std::string key;
  std::string client_ca;  // empty: no client certificates asked for
};

// Server credentials for `files`: plaintext when no certificate is given; TLS otherwise, and
// with a client CA, a handshake that fails unless the client shows a certificate signed by it.
// Files that are not a PEM certificate and its matching (unencrypted) key, or a client CA that
// is not a PEM certificate, are refused with the flag, the path and the reason.
engine::Result<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFromFiles(
    const TlsFiles& files);

}  // namespace dockline::server::auth
