#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>
#include <string_view>

#include "client/result.h"

// How a client proves who it is to docklined: TLS (with a client certificate for mTLS) and a
// bearer token, sent as `authorization: Bearer <token>` on every call.
namespace dockline::client {

// PEM contents, not paths, like grpc::SslCredentialsOptions, so that applications can take them
// from wherever they keep secrets; ReadPemFile reads a file.
struct TlsOptions {
  std::string root_ca_pem;      // the CA that signed the server's certificate; empty: system roots
  std::string cert_chain_pem;   // mTLS: the client's certificate, with private_key_pem
  std::string private_key_pem;  // mTLS: its private key
  // Check the server's certificate for this name instead of the dialled host, to reach a server
  // by address (127.0.0.1:50051, a tunnel) whose certificate names it dockhost.example. Empty:
  // the host of the address.
  std::string server_name;
};

// A file's contents when it holds a PEM block. INVALID_ARGUMENT naming the path (never the
// contents) when it cannot be read or holds no PEM block.
Result<std::string> ReadPemFile(const std::string& path);

// Whether a gRPC target (as Client::Connect takes it) only reaches this host: a unix socket,
// localhost, 127.0.0.0/8 or ::1. Only there may a token travel without TLS.
bool IsLocalAddress(std::string_view target);

// The channel Client::Connect and Client::Open use: TLS when `tls` is set (checking the server's
// certificate for tls->server_name when it is set), the token on every call when `token` is not
// empty. INVALID_ARGUMENT for options that do not fit together or a server name that is not a
// host name, and
// FAILED_PRECONDITION for a token that would cross the network in clear; no message ever holds
// the token.
Result<std::shared_ptr<grpc::Channel>> NewChannel(const std::string& target, const TlsOptions* tls,
                                                  const std::string& token,
                                                  const grpc::ChannelArguments& arguments);

}  // namespace dockline::client
