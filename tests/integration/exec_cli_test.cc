// Exec through the client library (client::Client's Exec* forms) and the CLI (`dockline exec`,
// with pipes and in a real pseudo-terminal).

#include <gmock/gmock.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli_io.h"
#include "client/client.h"
#include "exec_fixture.h"

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// Client library

TEST_F(ExecTest, ClientLibraryForms) {
  std::string c = Running();
  client::Client client = client::Client::Connect(ServerAddress());
  auto run = client.ExecRun(c, "sh -c 'echo hi; echo there >&2; exit 3'");
  ASSERT_TRUE(run.ok()) << run.status.error_message();
  EXPECT_EQ(run.value.exit_code, 3);
  EXPECT_THAT(run.value.output, ::testing::AnyOf("hi\nthere\n", "there\nhi\n"));

  client::ExecOptions demux;
  demux.demux = true;
  demux.env = {"A=1"};
  demux.workdir = "/tmp";
  demux.user = "user";
  auto apart = client.ExecRun(c, {"sh", "-c", "echo $A $(pwd) $(id -u); echo e >&2"}, demux);
  ASSERT_TRUE(apart.ok()) << apart.status.error_message();
  EXPECT_EQ(apart.value.stdout_bytes, "1 /tmp 1000\n");
  EXPECT_EQ(apart.value.stderr_bytes, "e\n");

  std::string seen;
  client::ExecOptions streaming;
  streaming.on_output = [&](v1::Stream stream, std::string_view data) {
    seen += (stream == v1::STREAM_STDERR ? "E:" : "O:") + std::string(data);
  };
  // The daemon copies the two streams separately; the pause makes their order certain, so a
  // reordering here is ours.
  auto streamed =
      client.ExecStream(c, {"sh", "-c", "echo a; sleep 0.3; echo b >&2; exit 4"}, streaming);
  ASSERT_TRUE(streamed.ok()) << streamed.status.error_message();
  EXPECT_EQ(streamed.value.exit_code, 4);
  EXPECT_EQ(seen, "O:a\nE:b\n");
  EXPECT_EQ(streamed.value.stdout_bytes, "a\n");

  auto detached = client.ExecStart(c, "sh -c 'sleep 0.2; exit 8'");
  ASSERT_TRUE(detached.ok()) << detached.status.error_message();
  v1::InspectExecResponse info;
  ASSERT_TRUE(PollUntil(
      [&] {
        auto r = client.ExecInspect(detached.value);
        info = r.value;
        return r.ok() && !r.value.running();
      },
      kGenerous));
  EXPECT_EQ(info.exit_code(), 8);

  client::ExecOptions interactive;
  interactive.stdin = true;
  auto attached = client.ExecAttach(c, {"tr", "a-z", "A-Z"}, interactive);
  ASSERT_TRUE(attached.ok()) << attached.status.error_message();
  EXPECT_FALSE(attached.value->exec_id().empty());
  EXPECT_TRUE(attached.value->WriteStdin("shout\n"));
  EXPECT_TRUE(attached.value->CloseStdin());
  std::string out;
  v1::OutputChunk chunk;
  while (attached.value->Next(&chunk)) {
    out += chunk.data();
  }
  EXPECT_TRUE(attached.value->Finish().ok());
  EXPECT_EQ(out, "SHOUT\n");
  EXPECT_EQ(attached.value->exit_code(), 0);

  auto missing = client.ExecRun("nosuch-" + UniqueName(), {"true"});
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND);
  auto missing_attach = client.ExecAttach("nosuch-" + UniqueName(), {"true"});
  EXPECT_EQ(missing_attach.status.error_code(), grpc::StatusCode::NOT_FOUND);
  auto bad_split = client.ExecRun(c, "sh -c 'unclosed");
  EXPECT_EQ(bad_split.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// ---------------------------------------------------------------------------------------------
// CLI

class ExecCliTest : public ExecTest {
 protected:
  CommandResult Cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {DOCKLINE_CLI_PATH, "--addr", ServerAddress()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
};

TEST_F(ExecCliTest, ExitsWithTheCommandsCodeAndKeepsStreamsApart) {
  std::string c = Running();
  CommandResult r = Cli({"exec", c, "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(Cli({"exec", c, "/nonexistent"}).exit_code, 126);
  EXPECT_EQ(Cli({"exec", c, "sh", "-c", "nosuchcommand"}).exit_code, 127);
}

TEST_F(ExecCliTest, FlagsAndAShellString) {
  std::string c = Running();
  CommandResult r = Cli({"exec", "-e", "A=1", "-w", "/tmp", "-u", "user", c,
                         "sh -c 'echo $A $(pwd) $(id -un); exit 2'"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "1 /tmp user\n");
  // Flags after CONTAINER belong to the command.
  r = Cli({"exec", c, "echo", "-i", "-t", "--privileged"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "-i -t --privileged\n");
}

TEST_F(ExecCliTest, DetachPrintsTheExecId) {
  std::string c = Running();
  CommandResult r = Cli({"exec", "-d", c, "sh", "-c", "exit 5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string id = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(id.size(), 64u) << r.out;
  ASSERT_TRUE(PollUntil([&] { return DaemonExec(id)["Running"] == false; }, kGenerous));
  EXPECT_EQ(DaemonExec(id)["ExitCode"], 5);
}

// `exec -d --retain` then `exec --resume`: the output written while nobody was attached, then
// from an offset, and the command's exit code as the CLI's own.
TEST_F(ExecCliTest, RetainedDetachedExecIsResumedLater) {
  std::string c = Running();
  CommandResult r =
      Cli({"exec", "-d", "--retain", c, "sh", "-c", "echo out; echo err >&2; exit 6"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string id = r.out.substr(0, r.out.find('\n'));
  ASSERT_EQ(id.size(), 64u) << r.out;
  CommandResult all = Cli({"exec", "--resume", id});
  EXPECT_EQ(all.exit_code, 6) << all.err;
  EXPECT_EQ(all.out, "out\n");
  EXPECT_EQ(all.err, "err\n");
  CommandResult from = Cli({"exec", "--resume", id, "--offset", "4"});
  EXPECT_EQ(from.exit_code, 6) << from.err;
  EXPECT_EQ(from.out.size() + from.err.size(), 4u);
  // Streamed with --retain: the same output and code as without.
  CommandResult streamed = Cli({"exec", "--retain", c, "sh", "-c", "echo kept; exit 2"});
  EXPECT_EQ(streamed.exit_code, 2) << streamed.err;
  EXPECT_EQ(streamed.out, "kept\n");
  CommandResult gone = Cli({"exec", "--resume", "0123456789abcdef"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.err, HasSubstr("exec_id"));
  // Usage errors are docker's 125.
  CommandResult mixed = Cli({"exec", "--resume", id, c, "true"});
  EXPECT_EQ(mixed.exit_code, 125);
  EXPECT_THAT(mixed.err, HasSubstr("--resume"));
  CommandResult stray = Cli({"exec", "--offset", "3", c, "true"});
  EXPECT_EQ(stray.exit_code, 125);
  EXPECT_THAT(stray.err, HasSubstr("--offset"));
}

TEST_F(ExecCliTest, ErrorsExitOne) {
  CommandResult r = Cli({"exec", "nosuch-" + UniqueName(), "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("No such container"));
}

TEST_F(ExecCliTest, InteractiveForwardsStdinToEof) {
  std::string c = Running();
  std::string input;
  for (int i = 0; i < 20000; ++i) {
    input += "line " + std::to_string(i) + "\n";
  }
  CommandResult r = RunWithInput({DOCKLINE_CLI_PATH, "--addr", ServerAddress(), "exec", "-i", c,
                                  "sh", "-c", "tr a-z A-Z; exit 4"},
                                 input);
  EXPECT_EQ(r.exit_code, 4);
  std::string upper = input;
  for (char& ch : upper) {
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  EXPECT_TRUE(r.out == upper) << r.out.size() << " bytes vs " << upper.size();
}

// `dockline exec -it` in a real pseudo-terminal (ExpectInteractiveTerminal).
TEST_F(ExecCliTest, InteractiveTtyInAPseudoTerminal) {
  std::string c = Running();
  ExpectInteractiveTerminal({DOCKLINE_CLI_PATH, "--addr", ServerAddress(), "exec", "-it", c},
                            kGenerous);
}

}  // namespace
}  // namespace dockline::testing
