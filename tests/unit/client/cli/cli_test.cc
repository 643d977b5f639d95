#include "client/cli/cli.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "client/client.h"
#include "unit/client/cli/parse_args.h"
#include "unit/client/fake_dockline.h"
#include "unit/client/tls_fake.h"

namespace dockline::cli {
namespace {

using ::testing::ElementsAre;
using testing::FakeEnv;
using ::testing::HasSubstr;
using ::testing::Pair;
using testing::Parse;
using ::testing::StartsWith;
using namespace std::chrono_literals;

TEST(GlobalArgsTest, AddressDefaultsEnvAndFlag) {
  EXPECT_EQ(Parse({"ps"}).value.address, "127.0.0.1:50051");
  EXPECT_EQ(Parse({"ps"}, FakeEnv({{"DOCKLINE_ADDR", "unix:///run/d.sock"}})).value.address,
            "unix:///run/d.sock");
  EXPECT_EQ(
      Parse({"--addr", "10.0.0.1:1", "ps"}, FakeEnv({{"DOCKLINE_ADDR", "x:1"}})).value.address,
      "10.0.0.1:1");
  EXPECT_EQ(Parse({"ps"}, FakeEnv({{"DOCKLINE_ADDR", ""}})).value.address, "127.0.0.1:50051");
}

TEST(GlobalArgsTest, JsonAndTimeout) {
  Result<Invocation> parsed = Parse({"--json", "--timeout", "1m30s", "ps"});
  ASSERT_TRUE(parsed.ok()) << parsed.status.error_message();
  EXPECT_TRUE(parsed.value.json);
  EXPECT_EQ(parsed.value.timeout, 90s);
  // Global flags may also follow the command, and run/create take --json themselves.
  EXPECT_TRUE(Parse({"ps", "--json"}).value.json);
  EXPECT_TRUE(Parse({"stop", "a", "--json"}).value.json);
  EXPECT_TRUE(Parse({"run", "--json", "busybox"}).value.json);
  EXPECT_FALSE(Parse({"ps"}).value.timeout.has_value());
  // A bare number is seconds, as docker's own timeouts are (`stop -t 10`).
  EXPECT_EQ(Parse({"--timeout", "30", "ps"}).value.timeout, 30s);
  EXPECT_THAT(Parse({"--timeout", "soon", "ps"}).status.error_message(),
              StartsWith("invalid --timeout \"soon\""));
  EXPECT_FALSE(Parse({"--timeout", "-1s", "ps"}).ok());
}

TEST(GlobalArgsTest, NoCommandPrintsHelp) {
  Result<Invocation> parsed = Parse({});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value.kind, CommandKind::kHelp);
  EXPECT_THAT(parsed.value.help, HasSubstr("Subcommands"));
  EXPECT_FALSE(Parse({"frobnicate"}).ok());
}

TEST(ContainerCommandsTest, StopRestartKillRm) {
  Result<Invocation> stop = Parse({"stop", "-t", "5", "a", "b"});
  ASSERT_TRUE(stop.ok()) << stop.status.error_message();
  EXPECT_EQ(stop.value.kind, CommandKind::kStop);
  EXPECT_THAT(stop.value.containers, ElementsAre("a", "b"));
  EXPECT_EQ(stop.value.stop_timeout, 5s);
  EXPECT_FALSE(Parse({"stop", "a"}).value.stop_timeout.has_value());
  EXPECT_EQ(Parse({"restart", "--time=0", "a"}).value.stop_timeout, 0s);
  EXPECT_THAT(Parse({"stop", "-t", "soon", "a"}).status.error_message(), HasSubstr("--time"));
  EXPECT_FALSE(Parse({"stop"}).ok());

  Result<Invocation> kill = Parse({"kill", "-s", "SIGINT", "a"});
  EXPECT_EQ(kill.value.kind, CommandKind::kKill);
  EXPECT_EQ(kill.value.signal, "SIGINT");
  EXPECT_EQ(Parse({"kill", "a"}).value.signal, "");

  Result<Invocation> rm = Parse({"rm", "-f", "-v", "a"});
  EXPECT_EQ(rm.value.kind, CommandKind::kRemove);
  EXPECT_TRUE(rm.value.force);
  EXPECT_TRUE(rm.value.remove_volumes);
  EXPECT_TRUE(Parse({"rm", "-fv", "a"}).value.remove_volumes);
  EXPECT_EQ(Parse({"start", "a"}).value.kind, CommandKind::kStart);
  EXPECT_EQ(Parse({"inspect", "a"}).value.kind, CommandKind::kInspect);
}

TEST(ContainerCommandsTest, Ps) {
  Result<Invocation> ps =
      Parse({"ps", "-a", "-f", "label=app=web", "--filter", "status=exited", "-q", "--no-trunc"});
  ASSERT_TRUE(ps.ok()) << ps.status.error_message();
  EXPECT_EQ(ps.value.kind, CommandKind::kList);
  EXPECT_TRUE(ps.value.all);
  EXPECT_TRUE(ps.value.quiet);
  EXPECT_TRUE(ps.value.no_trunc);
  EXPECT_THAT(ps.value.filters, ElementsAre(Pair("label", "app=web"), Pair("status", "exited")));
  EXPECT_FALSE(Parse({"ps"}).value.all);
  Result<Invocation> last = Parse({"ps", "-n", "3"});
  EXPECT_EQ(last.value.limit, 3);
  EXPECT_TRUE(last.value.all);
  EXPECT_EQ(Parse({"ps", "-l"}).value.limit, 1);
  EXPECT_THAT(Parse({"ps", "-f", "exited"}).status.error_message(),
              StartsWith("invalid filter \"exited\""));
}

TEST(ContainerCommandsTest, Wait) {
  Result<Invocation> wait = Parse({"wait", "--timeout", "1m", "--condition", "next-exit", "a"});
  ASSERT_TRUE(wait.ok()) << wait.status.error_message();
  EXPECT_EQ(wait.value.kind, CommandKind::kWait);
  EXPECT_EQ(wait.value.wait_timeout, 60s);
  EXPECT_FALSE(wait.value.timeout.has_value());
  EXPECT_EQ(wait.value.condition, v1::WAIT_CONDITION_NEXT_EXIT);
  EXPECT_EQ(Parse({"wait", "--condition=removed", "a"}).value.condition,
            v1::WAIT_CONDITION_REMOVED);
  EXPECT_EQ(Parse({"wait", "--condition", "not-running", "a"}).value.condition,
            v1::WAIT_CONDITION_NOT_RUNNING);
  EXPECT_EQ(Parse({"wait", "a"}).value.condition, v1::WAIT_CONDITION_UNSPECIFIED);
  EXPECT_THAT(Parse({"wait", "--condition", "healthy", "a"}).status.error_message(),
              StartsWith("invalid wait condition \"healthy\""));
  EXPECT_EQ(Parse({"wait", "--timeout", "5", "a"}).value.wait_timeout, 5s);  // bare seconds
  EXPECT_THAT(Parse({"wait", "--timeout", "5x", "a"}).status.error_message(),
              StartsWith("invalid --timeout \"5x\""));
  // The global --timeout and wait's own do not mix up.
  Result<Invocation> both = Parse({"--timeout", "2s", "wait", "--timeout", "9s", "a"});
  EXPECT_EQ(both.value.timeout, 2s);
  EXPECT_EQ(both.value.wait_timeout, 9s);
}

}  // namespace
}  // namespace dockline::cli

namespace dockline::client {
namespace {

using ::google::protobuf::util::TimeUtil;
using testing::ClientTest;
using ::testing::ElementsAre;
using testing::Exited;
using ::testing::HasSubstr;
using testing::Output;
using testing::Started;

// The CLI's behaviour against the fake: output routing and docker's exit codes.
class CliExecuteTest : public ClientTest {
 protected:
  int Execute(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    auto invocation = cli::ParseArgs(args, [](const std::string&) { return std::nullopt; });
    EXPECT_TRUE(invocation.ok()) << invocation.status.error_message();
    Client client = MakeClient();
    return cli::Execute(invocation.value, client, out_, err_);
  }

  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CliExecuteTest, RunPrintsStreamsApartAndExitsWithTheContainersCode) {
  service_.run_events = {Started("abc"), Output(v1::STREAM_STDOUT, "out 1\n"),
                         Output(v1::STREAM_STDERR, "err\n"), Output(v1::STREAM_STDOUT, "out 2\n"),
                         Exited(7)};

  EXPECT_EQ(Execute({"run", "busybox", "sh", "-c", "exit 7"}), 7);
  EXPECT_EQ(out_.str(), "out 1\nout 2\n");
  EXPECT_EQ(err_.str(), "err\n");
  EXPECT_THAT(service_.run_request.spec().command(), ElementsAre("sh", "-c", "exit 7"));
}

TEST_F(CliExecuteTest, RunFailureExits125WithTheStatusMessage) {
  service_.run_status = grpc::Status(grpc::StatusCode::NOT_FOUND, "No such image: nope:latest");

  EXPECT_EQ(Execute({"run", "nope"}), 125);
  EXPECT_EQ(err_.str(), "dockline: No such image: nope:latest\n");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(CliExecuteTest, RunWaitErrorExits125) {
  v1::RunContainerResponse exited = Exited(0);
  exited.mutable_exited()->set_error("wait failed");
  service_.run_events = {Started("abc"), exited};

  EXPECT_EQ(Execute({"run", "busybox"}), 125);
  EXPECT_THAT(err_.str(), HasSubstr("wait failed"));
}

TEST_F(CliExecuteTest, RunDetachedPrintsTheId) {
  v1::RunContainerResponse started = Started("abc123");
  started.mutable_started()->add_warnings("careful");
  service_.run_events = {started};

  EXPECT_EQ(Execute({"run", "-d", "--rm", "busybox"}), 0);
  EXPECT_EQ(out_.str(), "abc123\n");
  EXPECT_EQ(err_.str(), "WARNING: careful\n");
  EXPECT_TRUE(service_.run_request.detach());
  EXPECT_TRUE(service_.run_request.spec().auto_remove());
}

TEST_F(CliExecuteTest, RunJsonPrintsEveryEvent) {
  service_.run_events = {Started("abc"), Output(v1::STREAM_STDOUT, "hi"), Exited(0)};

  EXPECT_EQ(Execute({"run", "--json", "busybox"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr(R"("started":{"id":"abc")"));
  EXPECT_THAT(out_.str(), HasSubstr(R"("data":"aGk=")"));
  EXPECT_THAT(out_.str(), HasSubstr(R"("exited":{"exitCode":0,")"));
}

TEST_F(CliExecuteTest, CreatePrintsIdAndWarnings) {
  EXPECT_EQ(Execute({"create", "--name", "x", "busybox"}), 0);
  EXPECT_EQ(out_.str(), "c0ffee\n");
  EXPECT_EQ(err_.str(), "WARNING: careful\n");
}

TEST_F(CliExecuteTest, MultiContainerCommandsReportEachAndExit1OnAnyFailure) {
  EXPECT_EQ(Execute({"rm", "-f", "a", "b"}), 0);
  EXPECT_EQ(out_.str(), "a\nb\n");

  EXPECT_EQ(Execute({"kill", "-s", "SIGINT", "abc"}), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "dockline: container abc is not running\n");
}

TEST_F(CliExecuteTest, WaitPrintsTheExitCode) {
  service_.wait_response.set_exit_code(3);

  EXPECT_EQ(Execute({"wait", "--timeout", "30s", "abc"}), 0);
  EXPECT_EQ(out_.str(), "3\n");
  EXPECT_EQ(TimeUtil::DurationToSeconds(service_.wait_request.timeout()), 30);

  service_.wait_status = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "still running");
  EXPECT_EQ(Execute({"wait", "--timeout", "1s", "abc"}), 1);
  EXPECT_EQ(err_.str(), "dockline: still running\n");
}

TEST_F(CliExecuteTest, InspectAndPs) {
  service_.inspect_response.set_raw_json(R"({"Id":"abc"})");
  EXPECT_EQ(Execute({"inspect", "abc"}), 0);
  EXPECT_EQ(out_.str(), "[\n    {\n        \"Id\": \"abc\"\n    }\n]\n");

  EXPECT_EQ(Execute({"ps", "-q"}), 0);
  EXPECT_EQ(out_.str(), "0123456789ab\n");
  EXPECT_EQ(Execute({"ps", "-aq", "--no-trunc"}), 0);
  EXPECT_EQ(out_.str(), "0123456789abcdef\n");
  EXPECT_TRUE(service_.list_request.all());
  EXPECT_EQ(Execute({"--json", "ps"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr(R"("id":"0123456789abcdef")"));
}

TEST_F(CliExecuteTest, Version) {
  EXPECT_EQ(Execute({"version"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr("Engine version:    20.10.24"));
  EXPECT_THAT(out_.str(), HasSubstr("API version:       1.41"));
}

TEST(CliUnreachableTest, ReportsTheAddress) {
  auto invocation = cli::ParseArgs({"--addr", "127.0.0.1:1", "version"});
  ASSERT_TRUE(invocation.ok());
  Client client = Client::Connect(invocation.value.address);
  std::ostringstream out;
  std::ostringstream err;

  EXPECT_EQ(cli::Execute(invocation.value, client, out, err), 1);
  EXPECT_THAT(out.str(), HasSubstr("Client:"));
  EXPECT_THAT(err.str(), HasSubstr("is docklined listening on 127.0.0.1:1?"));
}

TEST(CliUnreachableTest, ADaemonBehindDocklinedIsNotBlamedOnDocklined) {
  std::ostringstream err;
  cli::PrintError(err,
                  grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "cannot reach the Docker daemon at /run/docker.sock (connect): No "
                               "such file or directory"),
                  "unix:///run/dockline/dockline.sock");
  EXPECT_THAT(err.str(), HasSubstr("(docklined at unix:///run/dockline/dockline.sock answered; "
                                   "its Docker daemon did not)"));
  EXPECT_THAT(err.str(), ::testing::Not(HasSubstr("is docklined listening")));
}

}  // namespace
}  // namespace dockline::client

// Credentials: --tls-*, --token and $DOCKLINE_TOKEN, and what the CLI says when they are missing.
namespace dockline::cli {
namespace {

using client::ClientOptions;
using testing::ClientTest;
using testing::FakeEnv;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Parse;
using testing::TlsClientTest;

constexpr char kToken[] = "s3cr3t-t0ken";

TEST(CredentialArgsTest, TokenFromTheFlagOrTheEnvironmentFlagWins) {
  EXPECT_EQ(Parse({"ps"}).value.token, "");
  EXPECT_EQ(Parse({"ps"}, FakeEnv({{"DOCKLINE_TOKEN", "from-env"}})).value.token, "from-env");
  EXPECT_EQ(
      Parse({"--token", "from-flag", "ps"}, FakeEnv({{"DOCKLINE_TOKEN", "from-env"}})).value.token,
      "from-flag");
  EXPECT_EQ(Parse({"ps", "--token=from-flag"}).value.token, "from-flag");
  // An empty flag means "no token", even when the environment has one.
  EXPECT_EQ(Parse({"--token", "", "ps"}, FakeEnv({{"DOCKLINE_TOKEN", "from-env"}})).value.token,
            "");
}

TEST(CredentialArgsTest, TheTokenIsNeitherInHelpNorInParseErrors) {
  const auto env = FakeEnv({{"DOCKLINE_TOKEN", kToken}});
  Result<Invocation> help = Parse({"--token", kToken, "--help"}, env);
  ASSERT_TRUE(help.ok());
  EXPECT_THAT(help.value.help, HasSubstr("--token"));
  EXPECT_THAT(help.value.help, Not(HasSubstr(kToken)));

  // A forgotten --addr value makes CLI11 quote the token as an unexpected argument.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--addr", "--token", kToken, "ps"},
        std::vector<std::string>{"--token", kToken, "frobnicate", kToken},
        std::vector<std::string>{std::string("--token=") + kToken, "ps", kToken}}) {
    Result<Invocation> parsed = Parse(args, env);
    EXPECT_FALSE(parsed.ok());
    EXPECT_THAT(parsed.status.error_message(), Not(HasSubstr(kToken)));
  }
}

TEST(CredentialArgsTest, TlsFilesAreReadAndAMissingOneNamesItsFlag) {
  Result<Invocation> parsed = Parse({"--tls-ca", "/nonexistent/ca.pem", "ps"});
  ASSERT_TRUE(parsed.ok());
  Result<ClientOptions> options = MakeClientOptions(parsed.value);
  EXPECT_EQ(options.status.error_message(),
            "--tls-ca: cannot read /nonexistent/ca.pem: No such file or directory");

  parsed = Parse({"--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem", "ps"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(MakeClientOptions(parsed.value).status.error_message(),
              HasSubstr("--tls-cert: cannot read /nonexistent/c.pem"));
  EXPECT_EQ(MakeClientOptions(Parse({"--tls-cert", "c.pem", "ps"}).value).status.error_message(),
            "--tls-cert needs --tls-key");
  EXPECT_EQ(MakeClientOptions(Parse({"--tls-key", "k.pem", "ps"}).value).status.error_message(),
            "--tls-key needs --tls-cert");

  // No TLS flag: plaintext. --tls alone: TLS with the system's CAs.
  EXPECT_FALSE(MakeClientOptions(Parse({"ps"}).value).value.tls.has_value());
  Result<ClientOptions> system_roots = MakeClientOptions(Parse({"--tls", "ps"}).value);
  ASSERT_TRUE(system_roots.ok());
  ASSERT_TRUE(system_roots.value.tls.has_value());
  EXPECT_EQ(system_roots.value.tls->root_ca_pem, "");
}

TEST(CredentialArgsTest, TlsServerNameImpliesTlsAndReachesTheOptions) {
  Result<ClientOptions> options =
      MakeClientOptions(Parse({"--tls-server-name", "dockhost.example", "ps"}).value);
  ASSERT_TRUE(options.ok()) << options.status.error_message();
  ASSERT_TRUE(options.value.tls.has_value());
  EXPECT_EQ(options.value.tls->server_name, "dockhost.example");
  EXPECT_EQ(options.value.tls->root_ca_pem, "");
  EXPECT_EQ(MakeClientOptions(Parse({"--tls", "ps"}).value).value.tls->server_name, "");
}

TEST(KeepaliveArgsTest, DurationsReachTheOptionsAndBadOnesNameTheFlag) {
  EXPECT_EQ(MakeClientOptions(Parse({"ps"}).value).value.keepalive_time,
            client::kDefaultKeepaliveTime);
  EXPECT_EQ(MakeClientOptions(Parse({"--keepalive-time", "5s", "ps"}).value).value.keepalive_time,
            std::chrono::seconds(5));
  EXPECT_EQ(MakeClientOptions(Parse({"ps", "--keepalive-time=1m30s"}).value).value.keepalive_time,
            std::chrono::seconds(90));
  EXPECT_EQ(MakeClientOptions(Parse({"--keepalive-time", "0", "ps"}).value).value.keepalive_time,
            std::chrono::milliseconds(0));
  // A bare number is seconds, as on every duration flag.
  EXPECT_EQ(MakeClientOptions(Parse({"--keepalive-time", "30", "ps"}).value).value.keepalive_time,
            std::chrono::seconds(30));
  for (const char* bad : {"abc", "-1s", "500us", "1000h", ""}) {
    Result<Invocation> parsed = Parse({"--keepalive-time", bad, "ps"});
    if (std::string(bad).empty()) {
      // An empty value is "not given": the default stays.
      ASSERT_TRUE(parsed.ok());
      EXPECT_FALSE(parsed.value.keepalive_time.has_value());
      continue;
    }
    EXPECT_EQ(parsed.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(parsed.status.error_message(), HasSubstr("invalid --keepalive-time")) << bad;
  }
}

TEST(CredentialMainTest, ATokenIsNotSentInClearToARemoteHost) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(
      Main({"--addr", "192.0.2.1:50051", "ps"}, FakeEnv({{"DOCKLINE_TOKEN", kToken}}), out, err),
      kExitDocklineError);
  EXPECT_EQ(err.str(),
            "dockline: refusing to send the token in clear to 192.0.2.1:50051: use TLS, or a "
            "loopback or unix:// address\n");
  EXPECT_EQ(out.str(), "");
}

TEST(CredentialMainTest, AMissingTlsFileExitsWithTheFailureCode) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(Main({"--tls-ca", "/nonexistent/ca.pem", "ps"}, FakeEnv({}), out, err),
            kExitDocklineError);
  EXPECT_EQ(err.str(),
            "dockline: --tls-ca: cannot read /nonexistent/ca.pem: No such file or "
            "directory\n");
}

class CredentialExecuteTest : public ClientTest {
 protected:
  int Main(std::vector<std::string> args, const EnvLookup& env = FakeEnv({})) {
    out_.str("");
    err_.str("");
    args.insert(args.begin(), {"--addr", address_});
    return cli::Main(args, env, out_, err_);
  }

  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CredentialExecuteTest, TheTokenReachesTheServerAndNoOutput) {
  service_.inspect_response.set_raw_json(R"({"Id":"abc"})");
  EXPECT_EQ(Main({"inspect", "abc"}, FakeEnv({{"DOCKLINE_TOKEN", kToken}})), 0) << err_.str();
  EXPECT_EQ(service_.last_authorization, std::string("Bearer ") + kToken);

  EXPECT_EQ(Main({"--token", "other", "inspect", "abc"}, FakeEnv({{"DOCKLINE_TOKEN", kToken}})), 0);
  EXPECT_EQ(service_.last_authorization, "Bearer other");
  EXPECT_THAT(out_.str() + err_.str(), Not(HasSubstr(kToken)));
}

TEST_F(CredentialExecuteTest, UnauthenticatedSaysTheServerWantsCredentials) {
  service_.inspect_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                         "no valid bearer token or client certificate");
  EXPECT_EQ(Main({"inspect", "abc"}, FakeEnv({{"DOCKLINE_TOKEN", kToken}})), kExitCommandFailed);
  EXPECT_EQ(err_.str(), "dockline: the server at " + address_ +
                            " wants credentials: no valid bearer token or client certificate "
                            "(use --token or DOCKLINE_TOKEN, or --tls-cert/--tls-key)\n");
  EXPECT_THAT(out_.str() + err_.str(), Not(HasSubstr(kToken)));

  // run and create fail with docker's own code, as for every other failure.
  service_.run_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no credentials");
  EXPECT_EQ(Main({"run", "busybox"}), kExitDocklineError);
  EXPECT_THAT(err_.str(), HasSubstr("wants credentials: no credentials (use --token"));
}

TEST_F(TlsClientTest, CliConnectsOverMutualTlsWithTheFlags) {
  StartServer(/*require_client_cert=*/true);
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(Main({"--addr", address_, "--tls-ca", certs().Path("ca.pem"), "--tls-cert",
                  certs().Path("client.pem"), "--tls-key", certs().Path("client.key"), "--timeout",
                  "10s", "ps", "-q"},
                 FakeEnv({{"DOCKLINE_TOKEN", kToken}}), out, err),
            0)
      << err.str();
  EXPECT_EQ(out.str(), "0123456789ab\n");
  EXPECT_EQ(service_.last_peer_common_name, "ci-runner");
  EXPECT_EQ(service_.last_authorization, std::string("Bearer ") + kToken);

  // Without the client certificate the handshake fails.
  EXPECT_EQ(Main({"--addr", address_, "--tls-ca", certs().Path("ca.pem"), "--timeout", "10s", "ps"},
                 FakeEnv({}), out, err),
            kExitCommandFailed);
}

TEST_F(TlsClientTest, CliDialsAnAddressAndChecksTheCertificateForTheServerName) {
  StartServer(/*require_client_cert=*/false, "dockhost");
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(Main({"--addr", address_, "--tls-ca", certs().Path("ca.pem"), "--tls-server-name",
                  "dockhost.example", "--timeout", "10s", "ps", "-q"},
                 FakeEnv({}), out, err),
            0)
      << err.str();
  EXPECT_EQ(out.str(), "0123456789ab\n");

  // The certificate does not name the address.
  out.str("");
  EXPECT_EQ(
      Main({"--addr", address_, "--tls-ca", certs().Path("ca.pem"), "--timeout", "10s", "ps", "-q"},
           FakeEnv({}), out, err),
      kExitCommandFailed);
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace dockline::cli
