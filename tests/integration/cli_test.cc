// The `dockline` CLI end to end: the real binary against the in-process server and daemon.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness.h"

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;

class CliTest : public DaemonTest {
 protected:
  CommandResult Cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {DOCKLINE_CLI_PATH, "--addr", ServerAddress()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  std::string Label() { return LabelKey() + "=" + LabelValue(); }
};

// Fan-out: -H several times (contexts or addresses) and --all-contexts ask every host at once;
// one table with a HOST column, unreachable hosts on stderr, a failure only when all fail (or
// any with --strict); commands that act run on one host, named with --on. Both reachable hosts
// here are docklineds of the one test engine, so each lists the same container.
TEST_F(CliTest, SeveralHostsAnswerInOneTableAndUnreachableOnesAreReported) {
  TempDir config;
  const std::vector<std::string> env = {"XDG_CONFIG_HOME=" + config.path(),
                                        "DOCKLINE_ADDR=", "DOCKLINE_CONTEXT="};
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), DOCKLINE_CLI_PATH);
    return RunCommand(args, env);
  };
  ASSERT_EQ(cli({"context", "create", "near", "--addr", ServerAddress()}).exit_code, 0);
  ASSERT_EQ(cli({"context", "create", "far", "--addr", "127.0.0.1:1"}).exit_code, 0);
  const std::string name = UniqueName("fleet");
  CommandResult run = cli({"--on", "near", "-H", "near", "-H", "far", "run", "-d", "--name", name,
                           "--network", "none", "-l", Label(), Image(), "sleep", "600"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string filter = "name=" + name;

  CommandResult both = cli({"-H", "near", "-H", ServerAddress(), "ps", "-f", filter});
  EXPECT_EQ(both.exit_code, 0) << both.err;
  EXPECT_THAT(both.out, ::testing::StartsWith("HOST "));
  EXPECT_THAT(both.out, ::testing::ContainsRegex("\nnear +[0-9a-f]{12} .*" + name));
  EXPECT_THAT(both.out,
              ::testing::ContainsRegex("\n" + ServerAddress() + " +[0-9a-f]{12} .*" + name));
  CommandResult json = cli({"-H", "near", "-H", ServerAddress(), "--json", "ps", "-f", filter});
  auto entries = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(entries.is_array()) << json.out;
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0]["host"], "near");
  EXPECT_EQ(entries[1]["host"], ServerAddress());

  // An unreachable host is reported, the others still answer.
  CommandResult partly = cli({"--all-contexts", "ps", "-f", filter});
  EXPECT_EQ(partly.exit_code, 0) << partly.err;
  EXPECT_THAT(partly.out, HasSubstr(name));
  EXPECT_THAT(partly.err, HasSubstr("far: "));
  EXPECT_EQ(cli({"--all-contexts", "--strict", "ps"}).exit_code, 1);
  CommandResult none = cli({"-H", "far", "-H", "127.0.0.1:2", "version"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("127.0.0.1:2: "));
  CommandResult versions = cli({"-H", "near", "-H", ServerAddress(), "version"});
  EXPECT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_THAT(versions.out, ::testing::StartsWith("HOST "));

  // What acts needs one host.
  CommandResult refused = cli({"-H", "near", "-H", "far", "rm", "-f", name});
  EXPECT_EQ(refused.exit_code, 125);
  EXPECT_THAT(refused.err, HasSubstr("--on"));
  EXPECT_EQ(cli({"-H", "near", "-H", "far", "--on", "near", "rm", "-f", name}).exit_code, 0);
  EXPECT_TRUE(DaemonInspect(name).is_null());
  CommandResult unknown = cli({"-H", "nowhere", "ps"});
  EXPECT_EQ(unknown.exit_code, 125);
  EXPECT_THAT(unknown.err, HasSubstr("nowhere"));
}

TEST_F(CliTest, RunRmPrintsOutputAndRemoves) {
  std::string name = UniqueName("cli-rm");
  CommandResult r = Cli(
      {"run", "--rm", "--name", name, "--network", "none", "-l", Label(), Image(), "echo", "hi"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_TRUE(DaemonInspect(name).is_null()) << "--rm left the container behind";
}

// The README's Quick start lines, run as written (a label added, so the test's cleanup finds
// the container the second one leaves); each comment is the result the README promises.
TEST_F(CliTest, ReadmeQuickStartLinesRunAsWritten) {
  const std::string block = ShBlockAfter(ReadmeText(), "<!-- readme-test:quick-start-cli -->");
  const auto commands = ReadmeCommands(block);
  ASSERT_EQ(commands.size(), 2u) << block;
  for (const ReadmeCommand& command : commands) {
    ASSERT_GE(command.argv.size(), 2u);
    ASSERT_EQ(command.argv[0], "build/client/dockline");
    std::vector<std::string> args(command.argv.begin() + 1, command.argv.end());
    args.insert(args.begin() + 1, {"-l", Label()});
    CommandResult r = Cli(args);
    if (command.then == "echo $?") {
      EXPECT_EQ(std::to_string(r.exit_code), command.comment) << r.err;
    } else if (command.comment.starts_with("prints ")) {
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, command.comment.substr(7) + "\n");
    } else {
      ADD_FAILURE() << "a Quick start line whose result this test cannot check: "
                    << command.comment;
    }
  }
}

TEST_F(CliTest, RunExitsWithTheContainersCode) {
  CommandResult r = Cli({"run", "--network", "none", "-l", Label(), Image(), "sh", "-c", "exit 7"});
  EXPECT_EQ(r.exit_code, 7) << r.err;
}

TEST_F(CliTest, RunKeepsStdoutAndStderrApart) {
  CommandResult r = Cli({"run", "--rm", "--network", "none", "-l", Label(), Image(), "sh", "-c",
                         "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_THAT(r.err, HasSubstr("err\n"));
}

TEST_F(CliTest, OptionsAfterTheImageBelongToTheCommand) {
  CommandResult r = Cli(
      {"run", "--rm", "--network", "none", "-l", Label(), Image(), "echo", "--rm", "-d", "--name"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "--rm -d --name\n");
}

TEST_F(CliTest, RunFlagsReachTheDaemon) {
  std::string name = UniqueName("cli-flags");
  CommandResult r = Cli({"run",
                         "-d",
                         "--name",
                         name,
                         "--network",
                         "none",
                         "-l",
                         Label(),
                         "-e",
                         "A=1",
                         "-w",
                         "/tmp",
                         "-u",
                         "1000:1000",
                         "-m",
                         "512m",
                         "--cpus",
                         "0.5",
                         "--init",
                         "--read-only",
                         "--tmpfs",
                         "/scratch:size=1m",
                         "--restart",
                         "on-failure:3",
                         "--stop-signal",
                         "SIGINT",
                         "--health-cmd",
                         "true",
                         "--health-interval",
                         "5s",
                         "--hostname",
                         "clihost",
                         Image(),
                         "sleep",
                         "30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto inspect = DaemonInspect(name);
  ASSERT_FALSE(inspect.is_null());
  EXPECT_EQ(r.out.substr(0, 12), inspect["Id"].get<std::string>().substr(0, 12));
  EXPECT_EQ(inspect["HostConfig"]["Memory"], 536870912);
  EXPECT_EQ(inspect["HostConfig"]["NanoCpus"], 500000000);
  EXPECT_EQ(inspect["HostConfig"]["Init"], true);
  EXPECT_EQ(inspect["HostConfig"]["ReadonlyRootfs"], true);
  EXPECT_EQ(inspect["HostConfig"]["Tmpfs"]["/scratch"], "size=1m");
  EXPECT_EQ(inspect["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
  EXPECT_EQ(inspect["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 3);
  EXPECT_EQ(inspect["Config"]["StopSignal"], "SIGINT");
  EXPECT_EQ(inspect["Config"]["User"], "1000:1000");
  EXPECT_EQ(inspect["Config"]["WorkingDir"], "/tmp");
  EXPECT_EQ(inspect["Config"]["Hostname"], "clihost");
  EXPECT_EQ(inspect["Config"]["Healthcheck"]["Test"],
            nlohmann::json::parse(R"(["CMD-SHELL","true"])"));
  EXPECT_EQ(inspect["Config"]["Healthcheck"]["Interval"], 5000000000LL);
  EXPECT_THAT(inspect["Config"]["Env"].dump(), HasSubstr("\"A=1\""));

  CommandResult stop = Cli({"stop", "-t", "1", name});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  CommandResult wait = Cli({"wait", name});
  EXPECT_EQ(wait.exit_code, 0) << wait.err;
  CommandResult rm = Cli({"rm", name});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_TRUE(DaemonInspect(name).is_null());
}

TEST_F(CliTest, LifecycleCommandsAndJson) {
  std::string name = UniqueName("cli-life");
  CommandResult create =
      Cli({"create", "--name", name, "--network", "none", "-l", Label(), Image(), "sleep", "30"});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  EXPECT_EQ(Cli({"start", name}).exit_code, 0);
  CommandResult ps = Cli({"ps", "-q", "-f", "label=" + Label(), "-f", "name=" + name});
  EXPECT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_EQ(ps.out.substr(0, 12), DaemonInspect(name)["Id"].get<std::string>().substr(0, 12));

  CommandResult inspect = Cli({"--json", "inspect", name});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  auto j = nlohmann::json::parse(inspect.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << inspect.out;
  EXPECT_EQ(j["container"]["state"]["status"], "CONTAINER_STATUS_RUNNING") << inspect.out;

  EXPECT_EQ(Cli({"kill", "-s", "SIGKILL", name}).exit_code, 0);
  CommandResult wait = Cli({"wait", name});
  EXPECT_EQ(wait.out, "137\n");
  CommandResult rm_missing = Cli({"rm", "no-such-container-" + LabelValue()});
  EXPECT_EQ(rm_missing.exit_code, 1);
  EXPECT_THAT(rm_missing.err, HasSubstr("No such container"));
  EXPECT_EQ(Cli({"rm", "-f", name}).exit_code, 0);
}

TEST_F(CliTest, LogsResumeFileGoesOnExactlyWhereTheLastRunStopped) {
  std::string name = UniqueName("cli-resume");
  ASSERT_EQ(Cli({"run", "--name", name, "--network", "none", "-l", Label(), Image(), "sh", "-c",
                 "echo one; echo two >&2; echo three"})
                .exit_code,
            0);
  TempDir dir;
  const std::string file = dir.path() + "/cursor";
  CommandResult first = Cli({"logs", "--resume-file", file, name});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, "one\nthree\n");
  EXPECT_EQ(first.err, "two\n");
  CommandResult again = Cli({"logs", "--resume-file", file, "--tail", "1", name});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out + again.err, "") << "printed twice";
  // The container runs again and logs the same lines after the first ones: only those come.
  ASSERT_EQ(Cli({"start", name}).exit_code, 0);
  ASSERT_EQ(Cli({"wait", name}).out, "0\n");
  CommandResult more = Cli({"logs", "--resume-file", file, "--tail", "1", name});
  ASSERT_EQ(more.exit_code, 0) << more.err;
  EXPECT_EQ(more.out, "one\nthree\n");
  EXPECT_EQ(more.err, "two\n");
  EXPECT_EQ(Cli({"logs", name}).out, "one\nthree\none\nthree\n");
}

TEST_F(CliTest, WaitTimeout) {
  std::string name = UniqueName("cli-wait");
  ASSERT_EQ(
      Cli({"run", "-d", "--name", name, "--network", "none", "-l", Label(), Image(), "sleep", "60"})
          .exit_code,
      0);
  CommandResult wait = Cli({"wait", "--timeout", "500ms", name});
  EXPECT_NE(wait.exit_code, 0);
  EXPECT_THAT(wait.err, HasSubstr("did not reach"));
  EXPECT_EQ(Cli({"rm", "-f", name}).exit_code, 0);
}

TEST_F(CliTest, VersionShowsTheNegotiatedApi) {
  CommandResult r = Cli({"version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("1.41"));
  EXPECT_THAT(r.out, HasSubstr("20.10"));
}

TEST_F(CliTest, BadFlagValueIsAClearError) {
  CommandResult r = Cli({"run", "-m", "12x", "--network", "none", Image(), "true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_THAT(r.err, HasSubstr("12x"));
}

}  // namespace
}  // namespace dockline::testing
