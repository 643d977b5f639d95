// `dockline ping` (the sidecar image's HEALTHCHECK): the real binary against real servers.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class PingTest : public DaemonTest {
 protected:
  static CommandResult Ping(const std::string& address, std::vector<std::string> args = {}) {
    std::vector<std::string> argv = {DOCKLINE_CLI_PATH, "--addr", address, "ping"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  // The server's first daemon ping runs as it starts: until then it reports NOT_SERVING.
  static CommandResult PingUntilServing(const std::string& address,
                                        std::vector<std::string> args = {}) {
    CommandResult r;
    for (int i = 0; i < 50; ++i) {
      r = Ping(address, args);
      if (r.exit_code == 0) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return r;
  }
  static server::ServerOptions Options(const std::string& listen) {
    server::ServerOptions options;
    options.listen = listen;
    const char* host = std::getenv("DOCKER_HOST");
    options.docker_host = host != nullptr && *host != '\0' ? host : "unix:///var/run/docker.sock";
    return options;
  }
};

TEST_F(PingTest, ServingExitsZeroOverTcpAndAUnixSocket) {
  CommandResult tcp = PingUntilServing(ServerAddress());
  EXPECT_EQ(tcp.exit_code, 0) << tcp.out << tcp.err;
  EXPECT_EQ(tcp.out, "SERVING\n");
  EXPECT_EQ(tcp.err, "");

  // How the image's HEALTHCHECK reaches its docklined.
  TempDir dir;
  const std::string address = "unix://" + dir.path() + "/dockline.sock";
  auto server = server::DocklineServer::Start(Options(address));
  ASSERT_TRUE(server.ok()) << server.status().message();
  CommandResult unix_socket = PingUntilServing(address, {"--json"});
  EXPECT_EQ(unix_socket.exit_code, 0) << unix_socket.out << unix_socket.err;
  EXPECT_EQ(unix_socket.out, "{\"status\":\"SERVING\"}\n");
  server.value()->Shutdown(std::chrono::milliseconds(500));
}

TEST_F(PingTest, NotServingWithoutADaemonExitsOne) {
  server::ServerOptions options = Options("127.0.0.1:0");
  options.docker_host = "unix:///tmp/dockline-no-daemon-here.sock";
  auto server = server::DocklineServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status().message();
  CommandResult r = Ping(server.value()->address());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "NOT_SERVING\n");
  server.value()->Shutdown(std::chrono::milliseconds(500));
}

TEST_F(PingTest, AnUnknownServiceIsAnError) {
  ASSERT_EQ(PingUntilServing(ServerAddress()).exit_code, 0);
  CommandResult r = Ping(ServerAddress(), {"--service", "no.such.Service"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("dockline: "));
}

TEST_F(PingTest, NothingListeningIsUnavailableAtOnce) {
  TempDir dir;
  const std::string address = "unix://" + dir.path() + "/nobody.sock";
  const auto start = std::chrono::steady_clock::now();
  CommandResult r = Ping(address);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("(is docklined listening on " + address + "?)"));
  // Fails fast rather than waiting for the server to appear.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

// A listener whose connections the kernel completes but nobody serves: a hung server.
TEST_F(PingTest, AServerThatNeverAnswersEndsAtTheTimeout) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  const auto start = std::chrono::steady_clock::now();
  CommandResult r = Ping(address, {"--timeout", "1s"});
  const auto took = std::chrono::steady_clock::now() - start;
  close(fd);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("dockline: "));
  EXPECT_GE(took, std::chrono::milliseconds(900));
  EXPECT_LT(took, std::chrono::seconds(4));
}

// The channel is the CLI's: --tls-ca reaches a TLS server, plaintext does not.
TEST_F(PingTest, UsesTheClisTlsFlags) {
  TempDir dir;
  CommandResult made =
      RunCommand({"openssl", "req", "-x509", "-days", "1", "-subj", "/CN=localhost", "-addext",
                  "subjectAltName=IP:127.0.0.1,DNS:localhost", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir.path() + "/server.key",
                  "-out", dir.path() + "/server.pem"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  server::ServerOptions options = Options("127.0.0.1:0");
  options.tls_cert_file = dir.path() + "/server.pem";
  options.tls_key_file = dir.path() + "/server.key";
  auto server = server::DocklineServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status().message();
  const std::string address = server.value()->address();

  CommandResult tls = PingUntilServing(address, {"--tls-ca", dir.path() + "/server.pem"});
  EXPECT_EQ(tls.exit_code, 0) << tls.err;
  EXPECT_EQ(tls.out, "SERVING\n");

  CommandResult plain = Ping(address, {"--timeout", "2s"});
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_EQ(plain.out, "");
  server.value()->Shutdown(std::chrono::milliseconds(500));
}

}  // namespace
}  // namespace dockline::testing
