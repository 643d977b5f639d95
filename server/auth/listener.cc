#include "server/auth/listener.h"

#include <arpa/inet.h>
#include <grp.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
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

// OpenSSL's reason for the last failure, leaving the thread's error queue empty for whoever
// uses OpenSSL next on this thread (gRPC's own TLS does).
std::string OpenSslReason() {
  const unsigned long error = ERR_peek_last_error();
  const char* reason = error != 0 ? ERR_reason_error_string(error) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "no PEM block found";
}

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Bio MemoryBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
}

X509Ptr FirstCertificate(const std::string& pem) {
  Bio bio = MemoryBio(pem);
  return X509Ptr(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr,
                 &X509_free);
}

// gRPC only fails later with "Invalid cert chain file" or nothing at all, and may fail only at
// the first handshake; OpenSSL says exactly what is wrong, before anything is bound.
engine::Status CheckTlsPem(const TlsFiles& files, const std::string& cert, const std::string& key,
                           const std::string& client_ca) {
  X509Ptr certificate = FirstCertificate(cert);
  if (!certificate) {
    return Refuse("--tls-cert: " + files.cert + " is not a PEM certificate (" + OpenSslReason() +
                  ")");
  }
  KeyPtr private_key(nullptr, &EVP_PKEY_free);
  if (Bio bio = MemoryBio(key); bio) {
    // An encrypted key would make OpenSSL ask for its passphrase on the terminal.
    pem_password_cb* no_passphrase = [](char*, int, int, void*) { return 0; };
    private_key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  }
  if (!private_key) {
    const std::string reason = OpenSslReason();
    return Refuse("--tls-key: " + files.key + " is not a PEM private key (" +
                  (key.find("ENCRYPTED") != std::string::npos
                       ? "it is encrypted; docklined needs it unencrypted"
                       : reason) +
                  ")");
  }
  if (X509_check_private_key(certificate.get(), private_key.get()) != 1) {
    ERR_clear_error();
    return Refuse("--tls-key: " + files.key + " is not the key of the certificate in --tls-cert " +
                  files.cert);
  }
  if (!client_ca.empty() && !FirstCertificate(client_ca)) {
    return Refuse("--tls-client-ca: " + files.client_ca + " is not a PEM certificate (" +
                  OpenSslReason() + ")");
  }
  return engine::Status::Ok();
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

engine::Status CheckSocketDirectory(const std::string& socket_path) {
  const std::filesystem::path dir = std::filesystem::path(socket_path).parent_path();
  const std::string shown = dir.empty() ? "." : dir.string();
  struct stat st {};
  if (stat(shown.c_str(), &st) != 0) {
    return Refuse("--listen: cannot use the socket directory " + shown + ": " +
                  std::strerror(errno));
  }
  if ((st.st_mode & S_IWOTH) != 0 && (st.st_mode & S_ISVTX) == 0) {
    return Refuse("--listen: the socket directory " + shown +
                  " is writable by anyone and not sticky, so anyone could replace the socket; "
                  "use a directory only trusted users can write");
  }
  return engine::Status::Ok();
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
  std::string client_ca;
  if (!files.client_ca.empty()) {
    auto ca = ReadFile(files.client_ca, "--tls-client-ca");
    if (!ca.ok()) {
      return ca.status();
    }
    client_ca = std::move(ca.value());
  }
  if (engine::Status st = CheckTlsPem(files, cert.value(), key.value(), client_ca); !st.ok()) {
    return st;
  }
  pair.cert_chain = std::move(cert.value());
  pair.private_key = std::move(key.value());
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!client_ca.empty()) {
    options.pem_root_certs = std::move(client_ca);
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace dockline::server::auth
