#include "server/auth/listener.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "unit/client/tls_fake.h"

namespace dockline::server {
namespace {

using ::testing::HasSubstr;

TEST(IsLocalListenAddressTest, LoopbackLiteralsLocalhostAndUnix) {
  for (const char* local :
       {"127.0.0.1:50051", "127.1.2.3:0", "localhost:1", "[::1]:50051", "unix:///run/dockline.sock",
        "unix:rel.sock", "ipv4:127.0.0.1:5", "dns:localhost:5"}) {
    EXPECT_TRUE(IsLocalListenAddress(local)) << local;
  }
  for (const char* remote :
       {"0.0.0.0:50051", "10.0.0.1:1", "[::]:1", "example.com:1", "127.example.com:50051",
        "127.0.0.1.nip.io:1", "localhost.example.com:1", "unix-abstract:x", "[::ffff:1.2.3.4]:1"}) {
    EXPECT_FALSE(IsLocalListenAddress(remote)) << remote;
  }
}

TEST(UnixSocketPathTest, Forms) {
  EXPECT_EQ(auth::UnixSocketPath("unix:///run/d.sock"), "/run/d.sock");
  EXPECT_EQ(auth::UnixSocketPath("unix:/run/d.sock"), "/run/d.sock");
  EXPECT_EQ(auth::UnixSocketPath("unix:d.sock"), "d.sock");
  EXPECT_EQ(auth::UnixSocketPath("127.0.0.1:1"), std::nullopt);
}

TEST(ParseListenModeTest, OctalOnly) {
  EXPECT_EQ(auth::ParseListenMode("0660").value(), 0660u);
  EXPECT_EQ(auth::ParseListenMode("600").value(), 0600u);
  EXPECT_EQ(auth::ParseListenMode("0o644").value(), 0644u);
  for (const char* bad : {"", "rw-rw----", "0680", "-1", "01777", "12345", "0x1ff"}) {
    auto mode = auth::ParseListenMode(bad);
    ASSERT_FALSE(mode.ok()) << bad;
    EXPECT_THAT(mode.status().message(), HasSubstr("--listen-mode")) << bad;
  }
}

TEST(CheckSocketDirectoryTest, AWorldWritableDirectoryNeedsTheStickyBit) {
  char tmpl[] = "/tmp/dockline-sockdir-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string socket = dir + "/d.sock";
  ASSERT_EQ(chmod(dir.c_str(), 0700), 0);
  EXPECT_TRUE(auth::CheckSocketDirectory(socket).ok());
  ASSERT_EQ(chmod(dir.c_str(), 01777), 0);  // like /tmp: others cannot replace our socket
  EXPECT_TRUE(auth::CheckSocketDirectory(socket).ok());
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);
  engine::Status st = auth::CheckSocketDirectory(socket);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr(dir + " is writable by anyone and not sticky"));
  EXPECT_FALSE(auth::CheckSocketDirectory(dir + "/missing/d.sock").ok());
  rmdir(dir.c_str());
}

TEST(LookupGroupTest, UnknownGroupIsNamed) {
  auto gid = auth::LookupGroup("dockline-no-such-group");
  ASSERT_FALSE(gid.ok());
  EXPECT_THAT(gid.status().message(), HasSubstr("dockline-no-such-group"));
  EXPECT_TRUE(auth::LookupGroup("root").ok());
}

TEST(ServerCredentialsFromFilesTest, FlagsThatGoTogether) {
  EXPECT_TRUE(auth::ServerCredentialsFromFiles({}).ok());
  auto only_cert = auth::ServerCredentialsFromFiles({"/c.pem", "", ""});
  ASSERT_FALSE(only_cert.ok());
  EXPECT_THAT(only_cert.status().message(), HasSubstr("--tls-cert and --tls-key go together"));
  auto ca_alone = auth::ServerCredentialsFromFiles({"", "", "/ca.pem"});
  ASSERT_FALSE(ca_alone.ok());
  EXPECT_THAT(ca_alone.status().message(), HasSubstr("--tls-client-ca needs --tls-cert"));
  auto missing = auth::ServerCredentialsFromFiles({"/nonexistent/c.pem", "/nonexistent/k.pem", ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/c.pem"));
}

// Real certificates from the openssl CLI, and files that only look like them.
class TlsFilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new std::optional(testing::TestCertificates::Make()); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  void SetUp() override {
    // scripts/install-deps.sh installs it: a machine without it must fail, not skip.
    ASSERT_TRUE(certs_->has_value()) << "the openssl CLI is needed to make test certificates";
  }
  const testing::TestCertificates& certs() const { return **certs_; }
  std::string Path(const std::string& name) const { return certs().Path(name); }
  // A file next to the certificates holding `content`.
  std::string Write(const std::string& name, const std::string& content) const {
    std::ofstream(Path(name)) << content;
    return Path(name);
  }
  static std::string Refusal(const auth::TlsFiles& files) {
    auto credentials = auth::ServerCredentialsFromFiles(files);
    return credentials.ok() ? "" : credentials.status().message();
  }

  static inline std::optional<testing::TestCertificates>* certs_ = nullptr;
};

TEST_F(TlsFilesTest, AMatchingCertificateAndKeyAndAPemCaPass) {
  EXPECT_EQ(Refusal({Path("server.pem"), Path("server.key"), ""}), "");
  EXPECT_EQ(Refusal({Path("server.pem"), Path("server.key"), Path("ca.pem")}), "");
  // A chain file: the leaf first, then its CA.
  const std::string chain = Write("chain.pem", certs().Read("server.pem") + certs().Read("ca.pem"));
  EXPECT_EQ(Refusal({chain, Path("server.key"), ""}), "");
}

TEST_F(TlsFilesTest, ACertificateThatIsNotPemNamesTheFlagAndTheReason) {
  const std::string garbage = Write("garbage.pem", "not a certificate\n");
  EXPECT_EQ(Refusal({garbage, Path("server.key"), ""}),
            "--tls-cert: " + garbage + " is not a PEM certificate (no start line)");
  // A key where the certificate belongs.
  EXPECT_THAT(Refusal({Path("server.key"), Path("server.key"), ""}),
              HasSubstr("--tls-cert: " + Path("server.key") + " is not a PEM certificate ("));
  // The right header over a body that is not base64 DER.
  const std::string broken =
      Write("broken.pem", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
  EXPECT_THAT(Refusal({broken, Path("server.key"), ""}),
              HasSubstr("--tls-cert: " + broken + " is not a PEM certificate ("));
}

TEST_F(TlsFilesTest, AKeyThatIsNotAPemKeyOrNotTheCertificatesNamesTheFlag) {
  EXPECT_THAT(Refusal({Path("server.pem"), Path("server.pem"), ""}),
              HasSubstr("--tls-key: " + Path("server.pem") + " is not a PEM private key ("));
  EXPECT_EQ(Refusal({Path("server.pem"), Path("client.key"), ""}),
            "--tls-key: " + Path("client.key") +
                " is not the key of the certificate in --tls-cert " + Path("server.pem"));
}

TEST_F(TlsFilesTest, AnEncryptedKeyIsRefusedWithoutAskingForAPassphrase) {
  const std::string encrypted = Path("encrypted.key");
  const std::string command = "openssl pkey -in '" + Path("server.key") +
                              "' -aes256 -passout pass:secret -out '" + encrypted +
                              "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(Refusal({Path("server.pem"), encrypted, ""}),
            "--tls-key: " + encrypted +
                " is not a PEM private key (it is encrypted; docklined needs it unencrypted)");
}

TEST_F(TlsFilesTest, AClientCaThatIsNotPemNamesTheFlag) {
  const std::string garbage = Write("ca-garbage.pem", "ca\n");
  EXPECT_EQ(Refusal({Path("server.pem"), Path("server.key"), garbage}),
            "--tls-client-ca: " + garbage + " is not a PEM certificate (no start line)");
}

}  // namespace
}  // namespace dockline::server
