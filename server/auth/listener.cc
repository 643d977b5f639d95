#include "server/auth/listener.h"

#include <arpa/inet.h>
#include <grp.h>
#include <grpcpp/security/server_credentials.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace dockline::server {

bool IsLocalListenAddress(const std::string& address) {
  if (address.rfind("unix:", 0) == 0) {
    return true;
  }
  std::string host = address;
  if (host.rfind("dns:", 0) == 0 || host.rfind("ipv4:", 0) == 0 || host.rfind("ipv6:", 0) == 0) {
    host = host.substr(host.find(':') + 1);
  }
  if (!host.empty() && host[0] == '[') {
    return host.rfind("[::1]:", 0) == 0;
  }
  host = host.substr(0, host.rfind(':'));
  if (host == "localhost") {
    return true;
  }
  // inet_pton takes only the dotted quad, so "127.example.com" is a name, not loopback.
  in_addr addr{};
  return inet_pton(AF_INET, host.c_str(), &addr) == 1 && (ntohl(addr.s_addr) >> 24) == 127;
}

}  // namespace dockline::server

namespace dockline::server::auth {
namespace {

engine::Status Refuse(const std::string& why) {
  return engine::Status(engine::Code::kBadRequest, why);
}

engine::Result<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Refuse(std::string(flag) + ": cannot read " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().empty()) {
    return Refuse(std::string(flag) + ": " + path + " is empty");
  }
  return text.str();
}

}  // namespace

std::optional<std::string> UnixSocketPath(const std::string& address) {
  if (address.rfind("unix:", 0) != 0) {
    return std::nullopt;
  }
  std::string path = address.substr(5);
  if (path.rfind("//", 0) == 0) {
    path.erase(0, 2);
  }
  return path;
}

engine::Result<mode_t> ParseListenMode(const std::string& text) {
  std::string digits = text;
  if (digits.rfind("0o", 0) == 0) {
    digits.erase(0, 2);
  }
  if (digits.empty() || digits.size() > 4 ||
      digits.find_first_not_of("01234567") != std::string::npos) {
    return Refuse("--listen-mode: '" + text + "' is not an octal mode such as 0660");
  }
  unsigned long mode = std::stoul(digits, nullptr, 8);  // digits checked above: cannot throw
  if (mode > 0777) {
    return Refuse("--listen-mode: " + text + " has bits beyond 0777");
  }
  return static_cast<mode_t>(mode);
}

engine::Result<gid_t> LookupGroup(const std::string& name) {
  group entry{};
  group* found = nullptr;
  std::vector<char> buffer(16384);
  int err = getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (err != 0 || found == nullptr) {
    return Refuse("--listen-group: no group named '" + name + "'" +
                  (err != 0 ? std::string(" (") + std::strerror(err) + ")" : ""));
  }
  return found->gr_gid;
}

engine::Status SecureUnixSocket(const std::string& path, mode_t mode, std::optional<gid_t> group) {
  if (group && chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0) {
    return Refuse("--listen-group: cannot give " + path + " group " + std::to_string(*group) +
                  ": " + std::strerror(errno));
  }
  if (chmod(path.c_str(), mode) != 0) {
    return Refuse("--listen-mode: cannot chmod " + path + ": " + std::strerror(errno));
  }
  return engine::Status::Ok();
}

engine::Result<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFromFiles(
    const TlsFiles& files) {
  if (files.cert.empty() != files.key.empty()) {
    return Refuse("--tls-cert and --tls-key go together");
  }
  if (files.cert.empty()) {
    if (!files.client_ca.empty()) {
      return Refuse("--tls-client-ca needs --tls-cert and --tls-key");
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  auto cert = ReadFile(files.cert, "--tls-cert");
  if (!cert.ok()) {
    return cert.status();
  }
  auto key = ReadFile(files.key, "--tls-key");
  if (!key.ok()) {
    return key.status();
  }
  pair.cert_chain = std::move(cert.value());
  pair.private_key = std::move(key.value());
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!files.client_ca.empty()) {
    auto ca = ReadFile(files.client_ca, "--tls-client-ca");
    if (!ca.ok()) {
      return ca.status();
    }
    options.pem_root_certs = std::move(ca.value());
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace dockline::server::auth
