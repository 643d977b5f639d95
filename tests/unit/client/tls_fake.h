#pragma once

// Certificates made at test time with the openssl CLI (nothing secret is checked in, nothing
// expires in the tree), and the fake Dockline service behind TLS or mutual TLS.

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "client/client.h"
#include "unit/client/fake_dockline.h"

namespace dockline::testing {

// A CA, a server certificate for 127.0.0.1 and localhost, one for the name dockhost.example
// only, a client certificate (CN ci-runner) and an unrelated CA, as PEM files in a temporary
// directory.
class TestCertificates {
 public:
  // nullopt when the openssl CLI is missing or fails (scripts/install-deps.sh installs it).
  static std::optional<TestCertificates> Make() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "dockline-certs-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return std::nullopt;
    }
    TestCertificates certs(pattern);
    const std::string d = "'" + pattern + "'";
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const auto ca = [&](const std::string& name) {
      return "openssl req -x509" + ec + " -days 2 -keyout " + d + "/" + name + ".key -out " + d +
             "/" + name + ".pem -subj /CN=" + name +
             " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign";
    };
    const auto leaf = [&](const std::string& name, const std::string& cn,
                          const std::string& extensions, int serial) {
      return "openssl req" + ec + " -keyout " + d + "/" + name + ".key -out " + d + "/" + name +
             ".csr -subj /CN=" + cn + " && printf '" + extensions + "' > " + d + "/" + name +
             ".ext && openssl x509 -req -days 2 -in " + d + "/" + name + ".csr -CA " + d +
             "/ca.pem -CAkey " + d + "/ca.key -set_serial " + std::to_string(serial) +
             " -extfile " + d + "/" + name + ".ext -out " + d + "/" + name + ".pem";
    };
    const std::string script =
        "command -v openssl >/dev/null && (" + ca("ca") + " && " + ca("other-ca") + " && " +
        leaf("server", "localhost",
             "subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n", 1) +
        " && " + leaf("client", "ci-runner", "extendedKeyUsage=clientAuth\\n", 2) + " && " +
        leaf("dockhost", "dockhost.example",
             "subjectAltName=DNS:dockhost.example\\nextendedKeyUsage=serverAuth\\n", 3) +
        ") >/dev/null 2>&1";
    if (std::system(script.c_str()) != 0) {
      return std::nullopt;
    }
    return certs;
  }

  TestCertificates(TestCertificates&& other) noexcept : dir_(std::move(other.dir_)) {
    other.dir_.clear();
  }
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;
  TestCertificates& operator=(TestCertificates&&) = delete;
  ~TestCertificates() {
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  // "ca.pem", "server.key", ...: the path of that file.
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Read(const std::string& name) const {
    std::ifstream file(Path(name));
    return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  }

 private:
  explicit TestCertificates(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
};

// The fake service on 127.0.0.1 behind TLS; with require_client_cert, mutual TLS against ca.pem.
class TlsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new std::optional(TestCertificates::Make()); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  void SetUp() override {
    if (!certs_->has_value()) {
      // scripts/install-deps.sh installs it: a machine without it must fail, not skip.
      FAIL() << "the openssl CLI is needed to make test certificates";
    }
  }

  void TearDown() override {
    if (server_) {
      server_->Shutdown();
    }
  }

  const TestCertificates& certs() const { return **certs_; }

  // `leaf`: the server's certificate, "server" (127.0.0.1, localhost) or "dockhost".
  void StartServer(bool require_client_cert, const std::string& leaf = "server") {
    grpc::SslServerCredentialsOptions options(
        require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    options.pem_root_certs = certs().Read("ca.pem");
    options.pem_key_cert_pairs.push_back(
        {certs().Read(leaf + ".key"), certs().Read(leaf + ".pem")});
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    address_ = "127.0.0.1:" + std::to_string(port);
  }

  // Open's answer checked, then the Client itself.
  client::Client MakeClientOrDie(const client::ClientOptions& options) {
    client::Result<std::unique_ptr<client::Client>> opened =
        client::Client::Open(address_, options);
    EXPECT_TRUE(opened.ok()) << opened.status.error_message();
    return client::Client::Connect(address_, options);
  }

  // TLS options trusting `ca` ("ca.pem" or "other-ca.pem"), with the client certificate or not.
  client::TlsOptions Tls(const std::string& ca, bool with_client_cert) const {
    client::TlsOptions tls;
    tls.root_ca_pem = certs().Read(ca);
    if (with_client_cert) {
      tls.cert_chain_pem = certs().Read("client.pem");
      tls.private_key_pem = certs().Read("client.key");
    }
    return tls;
  }

  static inline std::optional<TestCertificates>* certs_ = nullptr;
  FakeDockline service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace dockline::testing
