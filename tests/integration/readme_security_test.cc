// The README's two-host security walkthrough, run as written: the server block on "the Docker
// host" and the client block on "the CI runner", both here, in one temporary directory. Only
// the address (127.0.0.1 and a free port for 192.0.2.10:7443) and the image (the test engine's
// busybox for busybox:) are swapped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include "harness.h"

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;

std::string Dirname(const std::string& path) { return path.substr(0, path.rfind('/')); }

class ReadmeSecurityTest : public DaemonTest {};

TEST_F(ReadmeSecurityTest, TheTwoHostWalkthroughWorksAsWritten) {
  const std::string readme = ReadmeText();
  std::string server = ShBlockAfter(readme, "<!-- security-walkthrough:server -->");
  std::string client = ShBlockAfter(readme, "<!-- security-walkthrough:client -->");
  ASSERT_THAT(server, HasSubstr("docklined --listen 0.0.0.0:7443"));
  ASSERT_THAT(client, HasSubstr("192.0.2.10:7443"));

  const std::string port = std::to_string(FreeLoopbackPort());
  const std::string repository = Image().substr(0, Image().rfind(':'));
  for (std::string* block : {&server, &client}) {
    ReplaceAll(block, "192.0.2.10:7443", "127.0.0.1:" + port);
    ReplaceAll(block, "0.0.0.0:7443", "0.0.0.0:" + port);
    ReplaceAll(block, "busybox:", repository + ":");
  }
  TempDir dir;
  dir.Write("server.sh", server);
  dir.Write("client.sh", client);
  const std::vector<std::string> env = {"PATH=" + Dirname(DOCKLINED_PATH) + ":" +
                                        Dirname(DOCKLINE_CLI_PATH) + ":" + std::getenv("PATH")};

  CommandResult started =
      RunCommand({"bash", "-c",
                  "set -e; cd '" + dir.path() +
                      "'; source ./server.sh >docklined.out 2>&1; echo $! > docklined.pid"},
                 env);
  ASSERT_EQ(started.exit_code, 0) << started.out << started.err << dir.Read("docklined.out");
  const pid_t pid = std::stoi(dir.Read("docklined.pid"));
  struct Stop {
    pid_t pid;
    ~Stop() {
      kill(pid, SIGTERM);
      PollUntil([&] { return kill(pid, 0) != 0; }, std::chrono::seconds(10));
    }
  } stop{pid};
  ASSERT_TRUE(
      PollUntil([&] { return AcceptsOnLoopback(std::stoi(port)); }, std::chrono::seconds(20)))
      << dir.Read("docklined.out");

  CommandResult r =
      RunCommand({"bash", "-c", "set -e; cd '" + dir.path() + "'; source ./client.sh"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("hello from ci\n"));
  EXPECT_THAT(r.err, HasSubstr("policy rule bind_roots: spec.volumes[0].source \"/etc\""));
  EXPECT_THAT(r.err, HasSubstr("policy rule allow: identity \"dashboard\" (entry \"dashboard\") "
                               "may not call RunContainer"));
  EXPECT_THAT(r.err, HasSubstr("the server at 127.0.0.1:" + port + " wants credentials"));
  EXPECT_THAT(r.out, HasSubstr("CONTAINER ID")) << "the dashboard's ps";

  // The audit: the run, both refusals and the bad token; the allowed ps is not there.
  std::vector<nlohmann::json> lines;
  ASSERT_TRUE(PollUntil(
      [&] {
        lines.clear();
        std::istringstream audit(dir.Read("audit.log"));
        for (std::string line; std::getline(audit, line);) {
          lines.push_back(nlohmann::json::parse(line, nullptr, false));
        }
        return lines.size() >= 4;
      },
      std::chrono::seconds(10)))
      << dir.Read("audit.log");
  std::vector<std::string> summary;
  for (const auto& line : lines) {
    ASSERT_TRUE(line.is_object());
    summary.push_back(line.value("identity", "?") + " " + line.value("rpc", "?") + " " +
                      line.value("decision", "?") + " " + line.value("rule", "") + " " +
                      line.value("code", "?"));
  }
  EXPECT_THAT(summary,
              ::testing::ElementsAre("ci RunContainer allow allow OK",
                                     "ci RunContainer deny bind_roots PERMISSION_DENIED",
                                     "dashboard RunContainer deny allow PERMISSION_DENIED",
                                     " ListContainers deny authentication UNAUTHENTICATED"));
}

}  // namespace
}  // namespace dockline::testing
