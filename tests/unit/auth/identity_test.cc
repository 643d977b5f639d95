#include "server/auth/identity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "server/auth/authenticator.h"
#include "server/auth/tokens.h"

namespace dockline::server::auth {
namespace {

using ::testing::HasSubstr;

TEST(IdentityFromCertificateTest, UriSanFirstThenDnsSanThenCommonName) {
  CertificateNames names;
  names.common_names = {"alice-cn"};
  EXPECT_EQ(IdentityFromCertificate(names), "alice-cn");
  names.dns_names = {"alice.example", "other.example"};
  EXPECT_EQ(IdentityFromCertificate(names), "alice.example");
  names.uris = {"spiffe://test/alice", "spiffe://test/other"};
  EXPECT_EQ(IdentityFromCertificate(names), "spiffe://test/alice");
}

TEST(IdentityFromCertificateTest, EmptyNamesAreSkippedAndNoneGivesNothing) {
  EXPECT_EQ(IdentityFromCertificate({}), std::nullopt);
  CertificateNames names;
  names.uris = {""};
  names.common_names = {"cn"};
  EXPECT_EQ(IdentityFromCertificate(names), "cn");
}

std::shared_ptr<TokenStore> Tokens() {
  auto table = TokenTable::Parse(
      "alice sha256:9c220f200955d76c0a38d308225e0ef10c5f971acaf2f8d1d8f732affa5bd1dc\n", "t");
  EXPECT_TRUE(table.ok());
  return MakeTokenStore(std::move(table.value()), "");
}

CallCredentials Bearer(const std::string& value) { return CallCredentials{{}, {value}}; }

grpc::Status Decide(const AuthConfig& config, const CallCredentials& call, Identity* out) {
  return Authenticator(config).Decide(call, out);
}

TEST(AuthenticatorTest, NothingConfiguredLoopbackCallersAreLocal) {
  Identity id;
  id.name = "x";
  ASSERT_TRUE(Authenticator().Decide({}, &id).ok());
  EXPECT_EQ(id.name, "local");
  EXPECT_EQ(id.source, IdentitySource::kLocal);
}

TEST(AuthenticatorTest, CertificateGivesTheIdentity) {
  AuthConfig config{.tls = true, .client_certificates = true, .local_listener = false};
  CertificateNames names;
  names.uris = {"spiffe://test/alice"};
  Identity id;
  ASSERT_TRUE(Decide(config, CallCredentials{names, {}}, &id).ok());
  EXPECT_EQ(id.name, "spiffe://test/alice");
  EXPECT_EQ(id.source, IdentitySource::kCertificate);

  grpc::Status st = Decide(config, CallCredentials{CertificateNames{}, {}}, &id);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(st.error_message(), HasSubstr("no URI or DNS SAN and no subject CN"));
  st = Decide(config, {}, &id);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(st.error_message(), HasSubstr("client certificate"));
}

TEST(AuthenticatorTest, TokensOverTlsAndOverLoopback) {
  for (AuthConfig config : {AuthConfig{.tls = true, .local_listener = false, .tokens = Tokens()},
                            AuthConfig{.local_listener = true, .tokens = Tokens()}}) {
    Identity id;
    ASSERT_TRUE(Decide(config, Bearer("Bearer alice-token"), &id).ok());
    EXPECT_EQ(id.name, "alice");
    EXPECT_EQ(id.source, IdentitySource::kToken);
    ASSERT_TRUE(Decide(config, Bearer("bearer   alice-token "), &id).ok());

    for (const char* bad : {"Bearer bob-token", "Bearer alice-token2",
                            "Basic YWxpY2U6eA==", "Bearer ", "alice-token"}) {
      grpc::Status st = Decide(config, Bearer(bad), &id);
      EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << bad;
    }
    grpc::Status st = Decide(config, Bearer("Bearer wrong"), &id);
    EXPECT_THAT(st.error_message(), HasSubstr("not one this server knows"));
    st = Decide(config, {}, &id);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(st.error_message(), HasSubstr("no credentials"));
    EXPECT_THAT(st.error_message(), HasSubstr("authorization: Bearer"));
    st = Decide(config, CallCredentials{{}, {"Bearer alice-token", "Bearer alice-token"}}, &id);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
}

TEST(AuthenticatorTest, TokenOverPlaintextOffLoopbackIsRefusedEvenWhenRight) {
  AuthConfig config{.tls = false, .local_listener = false, .tokens = Tokens()};
  Identity id;
  grpc::Status st = Decide(config, Bearer("Bearer alice-token"), &id);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(st.error_message(), "bearer tokens need TLS off loopback");
}

TEST(AuthenticatorTest, TokenWithoutATokensFileIsRefused) {
  Identity id;
  grpc::Status st = Authenticator().Decide(Bearer("Bearer alice-token"), &id);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(st.error_message(), HasSubstr("no --tokens"));
}

TEST(AuthenticatorTest, RemoteListenerWithoutCredentials) {
  Identity id;
  AuthConfig tls_only{.tls = true, .local_listener = false};
  EXPECT_TRUE(Authenticator(tls_only).CredentialsRequired());
  EXPECT_EQ(Decide(tls_only, {}, &id).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // --allow-insecure-remote with nothing configured: the operator's explicit "anyone".
  AuthConfig open{.local_listener = false, .anonymous_remote = true};
  ASSERT_TRUE(Decide(open, {}, &id).ok());
  EXPECT_EQ(id.name, "anonymous");
  EXPECT_EQ(id.source, IdentitySource::kAnonymous);
}

}  // namespace
}  // namespace dockline::server::auth
