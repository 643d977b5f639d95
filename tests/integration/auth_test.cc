// Transport and identity: TLS, mTLS, bearer tokens, the listener's own rules, Unix socket modes.
// Certificates are made at test time with the openssl CLI; every call goes over loopback.
#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "harness.h"
#include "server/auth/tokens.h"

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kAliceToken[] = "alice-token-3f9a";

// Two CAs; a server certificate for 127.0.0.1/localhost and alice's client certificate from
// the first; mallory's client certificate from the second.
class Pki {
 public:
  Pki() {
    dir_.Write("server.ext",
               "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
               "extendedKeyUsage=serverAuth\n");
    dir_.Write("alice.ext",
               "subjectAltName=URI:spiffe://test/alice\nextendedKeyUsage=clientAuth\n");
    dir_.Write("mallory.ext",
               "subjectAltName=URI:spiffe://test/mallory\n"
               "extendedKeyUsage=clientAuth\n");
    Ca("ca");
    Ca("other-ca");
    Leaf("server", "ca", "dockline-server", 2);
    Leaf("alice", "ca", "alice-cn", 3);
    Leaf("mallory", "other-ca", "mallory-cn", 4);
  }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string Read(const std::string& name) const { return dir_.Read(name); }
  bool ok() const { return ok_; }

 private:
  void Openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    CommandResult r = RunCommand(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    ok_ = ok_ && r.exit_code == 0;
  }
  // EC keys: a P-256 key takes milliseconds, an RSA one far longer.
  void Ca(const std::string& name) {
    Openssl({"req", "-x509", "-days", "1", "-subj", "/CN=" + name, "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", Path(name + ".key"), "-out",
             Path(name + ".pem")});
  }
  void Leaf(const std::string& name, const std::string& ca, const std::string& cn, int serial) {
    Openssl({"req", "-subj", "/CN=" + cn, "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", Path(name + ".key"), "-out",
             Path(name + ".csr")});
    Openssl({"x509", "-req", "-days", "1", "-in", Path(name + ".csr"), "-CA", Path(ca + ".pem"),
             "-CAkey", Path(ca + ".key"), "-set_serial", std::to_string(serial), "-extfile",
             Path(name + ".ext"), "-out", Path(name + ".pem")});
  }

  TempDir dir_;
  bool ok_ = true;
};

class AuthTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() {
    DaemonTest::SetUpTestSuite();
    pki_ = new Pki();
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  server::ServerOptions Options() {
    server::ServerOptions options;
    options.listen = "127.0.0.1:0";
    const char* host = std::getenv("DOCKER_HOST");
    options.docker_host = host != nullptr && *host != '\0' ? host : "unix:///var/run/docker.sock";
    return options;
  }
  std::unique_ptr<server::DocklineServer> Start(const server::ServerOptions& options) {
    auto server = server::DocklineServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status().message();
    return server.ok() ? std::move(server.value()) : nullptr;
  }
  server::ServerOptions TlsOptions() {
    server::ServerOptions options = Options();
    options.tls_cert_file = pki_->Path("server.pem");
    options.tls_key_file = pki_->Path("server.key");
    return options;
  }
  std::string TokensFile() {
    tokens_.Write("tokens", "# test tokens\nalice sha256:" +
                                server::auth::DigestHex(server::auth::Sha256(kAliceToken)) + "\n");
    return tokens_.path() + "/tokens";
  }
  // A TLS channel that trusts the test CA, showing `client`'s certificate unless it is "".
  std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address,
                                            const std::string& client = "") {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pki_->Read("ca.pem");
    if (!client.empty()) {
      ssl.pem_private_key = pki_->Read(client + ".key");
      ssl.pem_cert_chain = pki_->Read(client + ".pem");
    }
    return grpc::CreateChannel(address, grpc::SslCredentials(ssl));
  }
  static grpc::Status EngineInfo(const std::shared_ptr<grpc::Channel>& channel,
                                 const std::string& token = "") {
    auto stub = v1::Dockline::NewStub(channel);
    auto ctx = Context(std::chrono::seconds(10));
    if (!token.empty()) {
      ctx->AddMetadata("authorization", "Bearer " + token);
    }
    v1::GetEngineInfoRequest req;
    v1::GetEngineInfoResponse resp;
    return stub->GetEngineInfo(ctx.get(), req, &resp);
  }

  static Pki* pki_;
  TempDir tokens_;
};

Pki* AuthTest::pki_ = nullptr;

// Keeps the debug lines of the server for the test's life. The old default logger stays alive
// (held here) so a thread that fetched it before the swap still logs to a live logger.
class CapturedLog {
 public:
  CapturedLog() : old_(spdlog::default_logger()) {
    sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
    auto logger = std::make_shared<spdlog::logger>("auth-test", sink_);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(old_); }
  std::string Text() const {
    std::string all;
    for (const std::string& line : sink_->last_formatted()) {
      all += line;
    }
    return all;
  }

 private:
  std::shared_ptr<spdlog::logger> old_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

TEST_F(AuthTest, MutualTlsAcceptsTheCaSignedClientAsItsUriSan) {
  ASSERT_TRUE(pki_->ok());
  CapturedLog log;
  server::ServerOptions options = TlsOptions();
  options.tls_client_ca_file = pki_->Path("ca.pem");
  auto server = Start(options);
  ASSERT_TRUE(server);
  grpc::Status st = EngineInfo(TlsChannel(server->address(), "alice"));
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(log.Text(), HasSubstr("identity spiffe://test/alice (client certificate)"));
  server->Shutdown(std::chrono::milliseconds(500));
}

TEST_F(AuthTest, MutualTlsRefusesAWrongCaAndNoCertificateAtTheHandshake) {
  ASSERT_TRUE(pki_->ok());
  server::ServerOptions options = TlsOptions();
  options.tls_client_ca_file = pki_->Path("ca.pem");
  auto server = Start(options);
  ASSERT_TRUE(server);
  EXPECT_EQ(EngineInfo(TlsChannel(server->address(), "mallory")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(EngineInfo(TlsChannel(server->address())).error_code(), grpc::StatusCode::UNAVAILABLE);
  // A token does not stand in for the certificate the handshake requires.
  EXPECT_EQ(EngineInfo(TlsChannel(server->address()), kAliceToken).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  server->Shutdown(std::chrono::milliseconds(500));
}

TEST_F(AuthTest, TokenOverTls) {
  ASSERT_TRUE(pki_->ok());
  CapturedLog log;
  server::ServerOptions options = TlsOptions();
  options.tokens_file = TokensFile();
  auto server = Start(options);
  ASSERT_TRUE(server);
  auto channel = TlsChannel(server->address());
  grpc::Status st = EngineInfo(channel, kAliceToken);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(log.Text(), HasSubstr("identity alice (bearer token)"));

  st = EngineInfo(channel, "not-the-token");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(st.error_message(), HasSubstr("bearer token"));
  st = EngineInfo(channel);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(st.error_message(), HasSubstr("no credentials"));
  server->Shutdown(std::chrono::milliseconds(500));
}

// The README's credentials lines as written, each against the docklined it is for (TLS only,
// mutual TLS, a bearer token over TLS), run by bash in a directory holding the files they name.
// Only the address and the token's "..." are swapped.
TEST_F(AuthTest, ReadmeCredentialsLinesRunAsWritten) {
  ASSERT_TRUE(pki_->ok());
  std::string block = ShBlockAfter(ReadmeText(), "<!-- readme-test:credentials -->");
  ReplaceAll(&block, "\\\n", " ");
  std::vector<std::string> lines;
  std::istringstream in(block);
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(' ') != std::string::npos) {
      lines.push_back(line);
    }
  }
  ASSERT_EQ(lines.size(), 3u) << block;
  TempDir dir;
  dir.Write("ca.pem", pki_->Read("ca.pem"));
  dir.Write("client.pem", pki_->Read("alice.pem"));
  dir.Write("client.key", pki_->Read("alice.key"));

  server::ServerOptions mutual = TlsOptions();
  mutual.tls_client_ca_file = pki_->Path("ca.pem");
  server::ServerOptions token = TlsOptions();
  token.tokens_file = TokensFile();
  const std::vector<server::ServerOptions> servers = {TlsOptions(), mutual, token};
  const std::string path =
      "PATH=" +
      std::string(DOCKLINE_CLI_PATH).substr(0, std::string(DOCKLINE_CLI_PATH).rfind('/')) + ":" +
      std::getenv("PATH");
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE(lines[i]);
    auto server = Start(servers[i]);
    ASSERT_TRUE(server);
    std::string line = lines[i];
    ASSERT_THAT(line, HasSubstr("docker-host:50051"));
    ReplaceAll(&line, "docker-host:50051", server->address());
    ReplaceAll(&line, "DOCKLINE_TOKEN=...", std::string("DOCKLINE_TOKEN=") + kAliceToken);
    CommandResult r = RunCommand({"bash", "-c", "cd '" + dir.path() + "' && " + line}, {path});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("CONTAINER ID"));
    if (i > 0) {
      // Each server really wants what its line brings: the first line's TLS alone is refused.
      std::string bare = lines[0];
      ReplaceAll(&bare, "docker-host:50051", server->address());
      r = RunCommand({"bash", "-c", "cd '" + dir.path() + "' && " + bare}, {path});
      EXPECT_NE(r.exit_code, 0) << r.out;
    }
    server->Shutdown(std::chrono::milliseconds(500));
  }
}

// The README's contexts block as written, against a docklined that wants mutual TLS and a
// token: each command of it in bash, with XDG_CONFIG_HOME a directory of the test's own; the
// context holds everything, so the bare `dockline ps` after `context use` gets in, and the
// store keeps no secret where others can read it.
TEST_F(AuthTest, ReadmeContextsLinesRunAsWritten) {
  ASSERT_TRUE(pki_->ok());
  std::string block = ShBlockAfter(ReadmeText(), "<!-- readme-test:contexts -->");
  ASSERT_FALSE(block.empty()) << "the README lost its contexts block";
  server::ServerOptions options = TlsOptions();
  options.tls_client_ca_file = pki_->Path("ca.pem");
  options.tokens_file = TokensFile();
  auto server = Start(options);
  ASSERT_TRUE(server);
  ReplaceAll(&block, "docker-host:50051", server->address());
  TempDir dir;
  dir.Write("ca.pem", pki_->Read("ca.pem"));
  dir.Write("client.pem", pki_->Read("alice.pem"));
  dir.Write("client.key", pki_->Read("alice.key"));
  dir.Write("token", std::string(kAliceToken) + "\n");
  TempDir config;
  const std::string cli_dir =
      std::string(DOCKLINE_CLI_PATH).substr(0, std::string(DOCKLINE_CLI_PATH).rfind('/'));
  const std::vector<std::string> env = {"PATH=" + cli_dir + ":" + std::getenv("PATH"),
                                        "XDG_CONFIG_HOME=" + config.path(),
                                        "DOCKLINE_ADDR=", "DOCKLINE_CONTEXT=", "DOCKLINE_TOKEN="};
  auto run = [&](const std::string& command) {
    return RunCommand({"bash", "-c", "cd '" + dir.path() + "' && " + command}, env);
  };
  const auto commands = ReadmeCommands(block);
  ASSERT_EQ(commands.size(), 7u) << block;
  std::vector<CommandResult> results;
  for (const ReadmeCommand& command : commands) {
    std::string text;
    for (std::string arg : command.argv) {
      ReplaceAll(&arg, "'", "'\\''");
      text += "'" + arg + "' ";
    }
    CommandResult r = run(text);
    EXPECT_EQ(r.exit_code, 0) << text << "\n" << r.out << r.err;
    results.push_back(r);
    if (text.find("context create") != std::string::npos) {
      // The originals may go now.
      std::remove((dir.path() + "/token").c_str());
      std::remove((dir.path() + "/client.key").c_str());
    }
  }
  EXPECT_THAT(results[1].out, HasSubstr("CONTAINER ID"));
  EXPECT_THAT(results[3].out, HasSubstr("CONTAINER ID"));
  EXPECT_THAT(results[4].out, ::testing::ContainsRegex("prod \\*"));
  // Before `context rm`: the secrets were readable by the owner alone, the token never printed.
  for (const CommandResult& r : results) {
    EXPECT_THAT(r.out + r.err, ::testing::Not(HasSubstr(kAliceToken)));
  }
  // The server really wants all of it: without the context, the same command is refused.
  CommandResult bare = run("dockline --addr " + server->address() + " --tls-ca ca.pem ps");
  EXPECT_NE(bare.exit_code, 0);
  // After `context rm` nothing of it is left.
  EXPECT_FALSE(std::filesystem::exists(config.path() + "/dockline/contexts/prod"));
  server->Shutdown(std::chrono::milliseconds(500));
}

TEST_F(AuthTest, TokenOverLoopbackPlaintextAndEveryRpcKindRefusedWithout) {
  server::ServerOptions options = Options();
  options.tokens_file = TokensFile();
  auto server = Start(options);
  ASSERT_TRUE(server);
  auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
  grpc::Status st = EngineInfo(channel, kAliceToken);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(EngineInfo(channel, "wrong").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(EngineInfo(channel).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // A server stream and a bidi stream are refused the same way, before any engine call.
  auto stub = v1::Dockline::NewStub(channel);
  {
    auto ctx = Context(std::chrono::seconds(10));
    v1::StreamLogsRequest req;
    req.set_container("anything");
    auto reader = stub->StreamLogs(ctx.get(), req);
    v1::StreamLogsResponse resp;
    EXPECT_FALSE(reader->Read(&resp));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    auto ctx = Context(std::chrono::seconds(10));
    auto stream = stub->AttachExec(ctx.get());
    v1::AttachExecResponse resp;
    EXPECT_FALSE(stream->Read(&resp));
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  // grpc.health.v1 stays open: it never reaches the daemon.
  CommandResult r = RunCommand(
      {"/usr/bin/python3", std::string(DOCKLINE_SOURCE_DIR) + "/tests/integration/py/grpc_probe.py",
       server->address(), "health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::AnyOf("SERVING\n", "NOT_SERVING\n"));
  server->Shutdown(std::chrono::milliseconds(500));
}

TEST_F(AuthTest, NothingConfiguredLoopbackCallersStayLocal) {
  CapturedLog log;
  auto server = Start(Options());
  ASSERT_TRUE(server);
  grpc::Status st =
      EngineInfo(grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials()));
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(log.Text(), HasSubstr("identity local (local)"));
  server->Shutdown(std::chrono::milliseconds(500));
}

TEST_F(AuthTest, NonLoopbackListenersNeedTlsAndAWayToAuthenticate) {
  server::ServerOptions options = Options();
  options.listen = "0.0.0.0:0";
  auto refused = server::DocklineServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("--allow-insecure-remote"));

  // TLS with neither a client CA nor tokens: nobody could authenticate, so it does not start.
  options = TlsOptions();
  options.listen = "0.0.0.0:0";
  refused = server::DocklineServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("--tls-client-ca or --tokens"));

  // The binary says so and exits (nothing is bound: the check comes first).
  CommandResult r = RunCommand({DOCKLINED_PATH, "--listen", "0.0.0.0:0", "--docker-host",
                                "unix:///tmp/dockline-no-daemon-here.sock"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.out + r.err, HasSubstr("--allow-insecure-remote"));
}

TEST_F(AuthTest, TlsFilesThatAreNotACertificateAndItsKeyRefuseToStart) {
  // alice's key is a valid PEM key, just not the server certificate's: gRPC alone would only
  // fail to listen, without saying why.
  server::ServerOptions options = TlsOptions();
  options.tls_key_file = pki_->Path("alice.key");
  auto refused = server::DocklineServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "--tls-key: " + pki_->Path("alice.key") +
                                            " is not the key of the certificate in --tls-cert " +
                                            pki_->Path("server.pem"));

  options = TlsOptions();
  options.tls_client_ca_file = pki_->Path("alice.key");
  refused = server::DocklineServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("--tls-client-ca: " + pki_->Path("alice.key") +
                                                    " is not a PEM certificate"));

  // The binary says so and exits; `timeout` keeps a server that did start from hanging the test.
  CommandResult r = RunCommand({"timeout", "60", DOCKLINED_PATH, "--listen", "127.0.0.1:0",
                                "--tls-cert", pki_->Path("server.key"), "--tls-key",
                                pki_->Path("server.key"), "--tls-client-ca", pki_->Path("ca.pem")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out + r.err,
              HasSubstr("--tls-cert: " + pki_->Path("server.key") + " is not a PEM certificate"));
}

TEST_F(AuthTest, BadTokensFileAndBadGroupRefuseToStart) {
  server::ServerOptions options = Options();
  tokens_.Write(
      "bad",
      "alice sha256:" + server::auth::DigestHex(server::auth::Sha256(kAliceToken)) + "\nbob xyz\n");
  options.tokens_file = tokens_.path() + "/bad";
  auto refused = server::DocklineServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr(tokens_.path() + "/bad:2:"));

  options = Options();
  options.listen = "unix://" + tokens_.path() + "/d.sock";
  options.listen_group = "dockline-no-such-group";
  refused = server::DocklineServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("dockline-no-such-group"));
}

TEST_F(AuthTest, UnixListenerModeAndGroup) {
  TempDir dir;
  std::string path = dir.path() + "/d.sock";
  server::ServerOptions options = Options();
  options.listen = "unix://" + path;
  auto server = Start(options);
  ASSERT_TRUE(server);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  grpc::Status call =
      EngineInfo(grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials()));
  EXPECT_TRUE(call.ok()) << call.error_message();
  server->Shutdown(std::chrono::milliseconds(500));
  server.reset();

  group* own = getgrgid(getgid());
  ASSERT_NE(own, nullptr);
  options.listen_mode = 0600;
  options.listen_group = own->gr_name;
  server = Start(options);
  ASSERT_TRUE(server);
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_gid, getgid());
  server->Shutdown(std::chrono::milliseconds(500));
}

}  // namespace
}  // namespace dockline::testing
