#include "client/credentials.h"

#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "client/client.h"
#include "client/container_spec_builder.h"
#include "unit/client/fake_dockline.h"
#include "unit/client/tls_fake.h"

namespace dockline::client {
namespace {

using testing::ClientTest;
using testing::Exited;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Started;
using testing::TlsClientTest;

constexpr char kToken[] = "s3cr3t-t0ken";

TEST(IsLocalAddressTest, LoopbackAndUnixOnly) {
  for (const char* local :
       {"127.0.0.1:50051", "127.1.2.3:1", "localhost:50051", "LOCALHOST:1", "[::1]:50051",
        "unix:///run/docklined.sock", "unix:relative.sock", "unix-abstract:dockline",
        "dns:///localhost:1", "dns://8.8.8.8/127.0.0.1:1", "ipv4:127.0.0.1:1,127.0.0.2:1",
        "ipv6:[::1]:1", "[::ffff:127.0.0.1]:1", "localhost"}) {
    EXPECT_TRUE(IsLocalAddress(local)) << local;
  }
  for (const char* remote :
       {"10.0.0.5:50051", "0.0.0.0:50051", "docker-host:50051", "localhost.example.com:1", "[::]:1",
        "[2001:db8::1]:1", "dns:///example.com:1", "ipv4:127.0.0.1:1,10.0.0.1:1", "128.0.0.1:1",
        "127.0.0.1.example.com:1", ""}) {
    EXPECT_FALSE(IsLocalAddress(remote)) << remote;
  }
}

TEST(ReadPemFileTest, NamesThePathOfAMissingOrNonPemFile) {
  Result<std::string> missing = ReadPemFile("/nonexistent/ca.pem");
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(missing.status.error_message(),
            "cannot read /nonexistent/ca.pem: No such file or directory");

  const std::string path =
      (std::filesystem::temp_directory_path() / "dockline-not-a-pem.der").string();
  std::ofstream(path) << "\x30\x82 not pem";
  Result<std::string> der = ReadPemFile(path);
  std::filesystem::remove(path);
  EXPECT_EQ(der.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(der.status.error_message(), HasSubstr(path + " holds no PEM block"));
}

TEST(NewChannelTest, RefusesATokenInClearToARemoteHost) {
  Result<std::shared_ptr<grpc::Channel>> channel =
      NewChannel("10.0.0.5:50051", nullptr, kToken, grpc::ChannelArguments());
  EXPECT_EQ(channel.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(channel.status.error_message(),
            "refusing to send the token in clear to 10.0.0.5:50051: use TLS, or a loopback or "
            "unix:// address");
  // Without a token there is nothing to leak: plaintext stays the caller's choice.
  EXPECT_TRUE(NewChannel("10.0.0.5:50051", nullptr, "", grpc::ChannelArguments()).ok());
  // Over TLS the token may go anywhere.
  TlsOptions tls;
  EXPECT_TRUE(NewChannel("10.0.0.5:50051", &tls, kToken, grpc::ChannelArguments()).ok());
}

TEST(NewChannelTest, RefusesBadOptionsWithoutQuotingTheToken) {
  const std::string bad_token = std::string(kToken) + "\n";
  Result<std::shared_ptr<grpc::Channel>> channel =
      NewChannel("127.0.0.1:1", nullptr, bad_token, grpc::ChannelArguments());
  EXPECT_EQ(channel.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(channel.status.error_message(), Not(HasSubstr(kToken)));
  EXPECT_FALSE(NewChannel("127.0.0.1:1", nullptr, "two words", grpc::ChannelArguments()).ok());

  TlsOptions cert_only;
  cert_only.cert_chain_pem = "-----BEGIN CERTIFICATE-----";
  EXPECT_EQ(
      NewChannel("127.0.0.1:1", &cert_only, "", grpc::ChannelArguments()).status.error_message(),
      "a client certificate needs its private key");
  TlsOptions key_only;
  key_only.private_key_pem = "-----BEGIN PRIVATE KEY-----";
  EXPECT_EQ(
      NewChannel("127.0.0.1:1", &key_only, "", grpc::ChannelArguments()).status.error_message(),
      "a client private key needs its certificate");
}

TEST(NewChannelTest, RefusesAServerNameThatNoCertificateCanHold) {
  TlsOptions tls;
  for (const std::string& bad :
       std::vector<std::string>{"dock host", "dockhost.example/x", "-dockhost", ".example",
                                "dockhost\nexample", "dockhost:443", std::string(254, 'a')}) {
    tls.server_name = bad;
    Result<std::shared_ptr<grpc::Channel>> channel =
        NewChannel("127.0.0.1:1", &tls, "", grpc::ChannelArguments());
    EXPECT_EQ(channel.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(channel.status.error_message(), HasSubstr("is not a host name")) << bad;
  }
  for (const char* good : {"dockhost.example", "dockhost", "10.0.0.1", "::1"}) {
    tls.server_name = good;
    EXPECT_TRUE(NewChannel("127.0.0.1:1", &tls, "", grpc::ChannelArguments()).ok()) << good;
  }
}

TEST(ClientOpenTest, RefusesKeepaliveValuesAChannelCannotHold) {
  ClientOptions options;
  options.keepalive_time = std::chrono::milliseconds(-1);
  Result<std::unique_ptr<Client>> opened = Client::Open("127.0.0.1:1", options);
  EXPECT_EQ(opened.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(opened.status.error_message(), HasSubstr("keepalive time -1ms"));

  options.keepalive_time = std::chrono::hours(1000);
  EXPECT_THAT(Client::Open("127.0.0.1:1", options).status.error_message(),
              HasSubstr("keepalive time 3600000000ms"));

  options.keepalive_time = std::chrono::seconds(1);
  options.keepalive_timeout = std::chrono::milliseconds(0);
  EXPECT_THAT(Client::Open("127.0.0.1:1", options).status.error_message(),
              HasSubstr("keepalive timeout 0ms"));

  // No pings: the timeout is never used.
  options.keepalive_time = std::chrono::milliseconds(0);
  EXPECT_TRUE(Client::Open("127.0.0.1:1", options).ok());
  EXPECT_TRUE(Client::Open("127.0.0.1:1", ClientOptions{}).ok());
}

TEST_F(ClientTest, TokenReachesTheServerAsBearerMetadataOnPlaintextLoopback) {
  ClientOptions options;
  options.token = kToken;
  Result<std::unique_ptr<Client>> client = Client::Open(address_, options);
  ASSERT_TRUE(client.ok()) << client.status.error_message();

  // A unary call, a server stream and a call through the raw stub all carry it, once.
  ASSERT_TRUE(client.value->Inspect("abc").ok());
  EXPECT_EQ(service_.last_authorization, std::string("Bearer ") + kToken);
  EXPECT_EQ(service_.last_authorization_count, 1u);

  service_.run_events = {Started("abc"), Exited(0)};
  service_.last_authorization.reset();
  ASSERT_TRUE(client.value->Run(ContainerSpecBuilder("busybox").spec()).ok());
  EXPECT_EQ(service_.last_authorization, std::string("Bearer ") + kToken);

  service_.last_authorization.reset();
  grpc::ClientContext context;
  v1::ListContainersResponse response;
  ASSERT_TRUE(client.value->stub().ListContainers(&context, {}, &response).ok());
  EXPECT_EQ(service_.last_authorization, std::string("Bearer ") + kToken);
  EXPECT_EQ(service_.last_authorization_count, 1u);
}

TEST_F(ClientTest, NoTokenSendsNoAuthorization) {
  Client client = MakeClient();
  ASSERT_TRUE(client.Inspect("abc").ok());
  EXPECT_FALSE(service_.last_authorization.has_value());
}

TEST_F(ClientTest, ConnectWithRefusedOptionsSendsNothing) {
  ClientOptions options;
  options.token = std::string(kToken) + " with a space";
  Client client = MakeClient(options);
  Result<v1::InspectContainerResponse> result = client.Inspect("abc");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(result.status.error_message(), Not(HasSubstr(kToken)));
  EXPECT_EQ(service_.inspect_request.container(), "");
}

TEST_F(TlsClientTest, TlsWithATokenSendsItAsCallCredentials) {
  StartServer(/*require_client_cert=*/false);
  ClientOptions options;
  options.tls = Tls("ca.pem", /*with_client_cert=*/false);
  options.token = kToken;
  Result<std::unique_ptr<Client>> client = Client::Open(address_, options);
  ASSERT_TRUE(client.ok()) << client.status.error_message();

  Result<v1::InspectContainerResponse> result = client.value->Inspect("abc");
  ASSERT_TRUE(result.ok()) << result.status.error_message();
  EXPECT_EQ(service_.last_authorization, std::string("Bearer ") + kToken);
  EXPECT_EQ(service_.last_authorization_count, 1u);
  EXPECT_EQ(service_.last_peer_common_name, "");
}

TEST_F(TlsClientTest, MutualTlsPresentsTheClientCertificate) {
  StartServer(/*require_client_cert=*/true);
  ClientOptions options;
  options.tls = Tls("ca.pem", /*with_client_cert=*/true);
  options.default_timeout = std::chrono::seconds(10);
  Client client = MakeClientOrDie(options);

  Result<v1::InspectContainerResponse> result = client.Inspect("abc");
  ASSERT_TRUE(result.ok()) << result.status.error_message();
  EXPECT_EQ(service_.inspect_request.container(), "abc");
  EXPECT_EQ(service_.last_peer_common_name, "ci-runner");
  EXPECT_FALSE(service_.last_authorization.has_value());
}

TEST_F(TlsClientTest, MutualTlsWithoutAClientCertificateIsRefused) {
  StartServer(/*require_client_cert=*/true);
  ClientOptions options;
  options.tls = Tls("ca.pem", /*with_client_cert=*/false);
  options.default_timeout = std::chrono::seconds(10);
  Client client = MakeClientOrDie(options);

  EXPECT_EQ(client.Inspect("abc").status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(service_.inspect_request.container(), "");
}

TEST_F(TlsClientTest, AServerSignedByAnotherCaIsRefused) {
  StartServer(/*require_client_cert=*/false);
  ClientOptions options;
  options.tls = Tls("other-ca.pem", /*with_client_cert=*/false);
  options.token = kToken;
  options.default_timeout = std::chrono::seconds(10);
  Client client = MakeClientOrDie(options);

  EXPECT_EQ(client.Inspect("abc").status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(service_.inspect_request.container(), "");
  EXPECT_FALSE(service_.last_authorization.has_value());
}

TEST_F(TlsClientTest, TheServerNameOverrideChecksTheCertificateForThatName) {
  // The certificate names dockhost.example only; the client dials 127.0.0.1.
  StartServer(/*require_client_cert=*/false, "dockhost");
  ClientOptions options;
  options.tls = Tls("ca.pem", /*with_client_cert=*/false);
  options.default_timeout = std::chrono::seconds(10);

  Client by_address = MakeClientOrDie(options);
  EXPECT_EQ(by_address.Inspect("abc").status.error_code(), grpc::StatusCode::UNAVAILABLE);
  options.tls->server_name = "other.example";
  Client wrong_name = MakeClientOrDie(options);
  EXPECT_EQ(wrong_name.Inspect("abc").status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(service_.inspect_request.container(), "");

  options.tls->server_name = "dockhost.example";
  Client by_name = MakeClientOrDie(options);
  Result<v1::InspectContainerResponse> result = by_name.Inspect("abc");
  ASSERT_TRUE(result.ok()) << result.status.error_message();
  EXPECT_EQ(service_.inspect_request.container(), "abc");
}

TEST_F(TlsClientTest, TheServerNameOverrideStillNeedsTheTrustedCa) {
  StartServer(/*require_client_cert=*/false, "dockhost");
  ClientOptions options;
  options.tls = Tls("other-ca.pem", /*with_client_cert=*/false);
  options.tls->server_name = "dockhost.example";
  options.default_timeout = std::chrono::seconds(10);
  Client client = MakeClientOrDie(options);
  EXPECT_EQ(client.Inspect("abc").status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(service_.inspect_request.container(), "");
}

TEST_F(TlsClientTest, PlaintextToATlsServerFails) {
  StartServer(/*require_client_cert=*/false);
  ClientOptions options;
  options.default_timeout = std::chrono::seconds(10);
  Client client = MakeClientOrDie(options);

  EXPECT_EQ(client.Inspect("abc").status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace dockline::client
