#include "client/credentials.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/client_interceptor.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include "client/quote.h"

namespace dockline::client {
namespace {

namespace exp = grpc::experimental;

// Adds the token to every call of a plaintext channel. gRPC refuses call credentials on a
// channel without transport security, and an interceptor reaches every call made on the
// channel, including the ones applications make through Client::stub().
class BearerTokenInterceptor final : public exp::Interceptor {
 public:
  explicit BearerTokenInterceptor(std::shared_ptr<const std::string> header)
      : header_(std::move(header)) {}

  void Intercept(exp::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            exp::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", *header_);
    }
    methods->Proceed();
  }

 private:
  std::shared_ptr<const std::string> header_;
};

class BearerTokenInterceptorFactory final : public exp::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(const std::string& token)
      : header_(std::make_shared<const std::string>("Bearer " + token)) {}

  exp::Interceptor* CreateClientInterceptor(exp::ClientRpcInfo*) override {
    return new BearerTokenInterceptor(header_);
  }

 private:
  std::shared_ptr<const std::string> header_;
};

// A header value gRPC can carry and a Bearer token can hold: visible ASCII. Anything else would
// fail every call later, with a message that might quote the header.
bool IsValidToken(std::string_view token) {
  return std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// What a certificate can name: a DNS name (a leading "*." is not dialable, so not here), an IPv4
// address or a bare IPv6 one. Anything else can match no certificate and would only fail the
// handshake with a vaguer message.
bool IsValidServerName(std::string_view name) {
  if (name.size() > 253) {
    return false;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, std::string(name).c_str(), &v6) == 1) {
    return true;
  }
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '.'; }) &&
         !name.starts_with('.') && !name.starts_with('-');
}

bool IsLoopbackHost(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (host == "localhost" || host == "localhost.") {
    return true;
  }
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) {
      return true;
    }
    // ::ffff:127.x.y.z reaches the IPv4 loopback.
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

// "host:port", "[v6]:port", "host" or a bare IPv6 address: the host part.
std::string HostOf(std::string_view address) {
  if (address.starts_with('[')) {
    const size_t close = address.find(']');
    return std::string(
        address.substr(0, close == std::string_view::npos ? address.size() : close + 1));
  }
  const size_t colon = address.find(':');
  if (colon != std::string_view::npos && address.find(':', colon + 1) == std::string_view::npos) {
    return std::string(address.substr(0, colon));
  }
  return std::string(address);
}

}  // namespace

Result<std::string> ReadPemFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Error<std::string>(
        InvalidArgument(fmt::format("cannot read {}: {}", path, std::strerror(errno))));
  }
  std::string contents((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) {
    return Error<std::string>(InvalidArgument(fmt::format("cannot read {}", path)));
  }
  // A DER file or a wrong path (a directory of certificates, a token file) would otherwise only
  // show up as a failed handshake.
  if (contents.find("-----BEGIN ") == std::string::npos) {
    return Error<std::string>(
        InvalidArgument(fmt::format("{} holds no PEM block (-----BEGIN ...)", path)));
  }
  return Ok(std::move(contents));
}

bool IsLocalAddress(std::string_view target) {
  if (target.starts_with("unix:") || target.starts_with("unix-abstract:")) {
    return true;
  }
  std::string_view rest = target;
  if (rest.starts_with("dns:")) {
    rest.remove_prefix(4);
    // dns://authority/host:port names the resolver too; only the host matters here.
    if (rest.starts_with("//")) {
      const size_t slash = rest.find('/', 2);
      rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
    }
    return !rest.empty() && IsLoopbackHost(HostOf(rest));
  }
  if (rest.starts_with("ipv4:") || rest.starts_with("ipv6:")) {
    rest.remove_prefix(5);
    // A list of addresses: every one must be local.
    bool any = false;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      if (!IsLoopbackHost(HostOf(rest.substr(0, comma)))) {
        return false;
      }
      any = true;
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
    }
    return any;
  }
  return IsLoopbackHost(HostOf(rest));
}

Result<std::shared_ptr<grpc::Channel>> NewChannel(const std::string& target, const TlsOptions* tls,
                                                  const std::string& token,
                                                  const grpc::ChannelArguments& arguments) {
  using ChannelResult = std::shared_ptr<grpc::Channel>;
  if (!IsValidToken(token)) {
    return Error<ChannelResult>(InvalidArgument(
        "the token holds characters a gRPC header cannot carry (only visible ASCII)"));
  }
  if (tls == nullptr) {
    if (token.empty()) {
      return Ok(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), arguments));
    }
    // Anyone on the path could read it, and docklined refuses a plaintext token from a remote
    // peer anyway.
    if (!IsLocalAddress(target)) {
      return Error<ChannelResult>(grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          fmt::format("refusing to send the token in clear to {}: use TLS, or a loopback or "
                      "unix:// address",
                      target)));
    }
    std::vector<std::unique_ptr<exp::ClientInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(std::make_unique<BearerTokenInterceptorFactory>(token));
    return Ok(exp::CreateCustomChannelWithInterceptors(target, grpc::InsecureChannelCredentials(),
                                                       arguments, std::move(interceptors)));
  }

  if (tls->cert_chain_pem.empty() != tls->private_key_pem.empty()) {
    return Error<ChannelResult>(InvalidArgument(
        tls->cert_chain_pem.empty() ? "a client private key needs its certificate"
                                    : "a client certificate needs its private key"));
  }
  grpc::ChannelArguments tls_arguments = arguments;
  if (!tls->server_name.empty()) {
    if (!IsValidServerName(tls->server_name)) {
      return Error<ChannelResult>(InvalidArgument(fmt::format(
          "the TLS server name {} is not a host name (letters, digits, '-', '.', or an IP "
          "address)",
          client::Quote(tls->server_name))));
    }
    tls_arguments.SetSslTargetNameOverride(tls->server_name);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls->root_ca_pem;
  ssl.pem_cert_chain = tls->cert_chain_pem;
  ssl.pem_private_key = tls->private_key_pem;
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(ssl);
  if (!token.empty()) {
    // Call credentials: gRPC itself will only send them over the TLS it has checked.
    credentials =
        grpc::CompositeChannelCredentials(credentials, grpc::AccessTokenCredentials(token));
  }
  return Ok(grpc::CreateCustomChannel(target, credentials, tls_arguments));
}

}  // namespace dockline::client
