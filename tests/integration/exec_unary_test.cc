// Exec's unary RPCs (docker-py's exec_run): ExecContainer captures the output; StartExec runs
// detached and InspectExec follows it. Checked against the daemon's own view of each exec.

#include <gmock/gmock.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "exec_fixture.h"

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// Spec section 2: basic

TEST_F(ExecTest, BasicExecReturnsExitCodeAndOutput) {
  std::string c = Running();
  // The spec's `exec_run("python -c 'print(1+1)'")`, with what busybox has.
  Captured r = Exec(Config(c, {"sh", "-c", "echo $((1+1))"}));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.resp.exit_code(), 0);
  EXPECT_EQ(r.resp.output(), "2\n");
  EXPECT_FALSE(r.resp.truncated());
  ASSERT_FALSE(r.resp.exec_id().empty());
  auto d = DaemonExec(r.resp.exec_id());
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["Running"], false);
  EXPECT_EQ(d["ExitCode"], 0);
  EXPECT_EQ(d["ContainerID"], c);
}

TEST_F(ExecTest, CombinedAndDemuxedOutput) {
  std::string c = Running();
  auto config = Config(c, {"sh", "-c", "echo out; echo err >&2; exit 3"});
  Captured combined = Exec(config);
  ASSERT_TRUE(combined.status.ok()) << combined.status.error_message();
  EXPECT_EQ(combined.resp.exit_code(), 3);  // data, not an error status
  // Both streams, each whole; their relative order is the daemon's.
  EXPECT_THAT(combined.resp.output(), ::testing::AnyOf("out\nerr\n", "err\nout\n"));
  EXPECT_EQ(combined.resp.stdout(), "");
  EXPECT_EQ(combined.resp.stderr(), "");

  Captured demuxed = Exec(config, /*demux=*/true);
  ASSERT_TRUE(demuxed.status.ok()) << demuxed.status.error_message();
  EXPECT_EQ(demuxed.resp.exit_code(), 3);
  EXPECT_EQ(demuxed.resp.stdout(), "out\n");
  EXPECT_EQ(demuxed.resp.stderr(), "err\n");
  EXPECT_EQ(demuxed.resp.output(), "");
  EXPECT_EQ(DaemonExec(demuxed.resp.exec_id())["ExitCode"], 3);
}

TEST_F(ExecTest, ExitCodesZeroThreeAndMissingCommands) {
  std::string c = Running();
  struct Case {
    std::vector<std::string> cmd;
    int code;
    std::string output_has;
  };
  std::vector<Case> cases = {
      {{"true"}, 0, ""},
      {{"sh", "-c", "exit 3"}, 3, ""},
      // The daemon writes its own error into the output stream: data, with its exit code.
      {{"/nonexistent"}, 126, "no such file or directory"},
      {{"sh", "-c", "/etc/passwd"}, 126, "Permission denied"},
      {{"sh", "-c", "nosuchcommand"}, 127, "not found"},
  };
  for (const Case& k : cases) {
    Captured r = Exec(Config(c, k.cmd));
    ASSERT_TRUE(r.status.ok()) << k.cmd[0] << ": " << r.status.error_message();
    EXPECT_EQ(r.resp.exit_code(), k.code) << k.cmd.back() << ": " << r.resp.output();
    EXPECT_THAT(r.resp.output(), HasSubstr(k.output_has)) << k.cmd.back();
    EXPECT_EQ(DaemonExec(r.resp.exec_id())["ExitCode"], k.code) << k.cmd.back();
    // The streamed form agrees.
    Streamed s = Stream(Config(c, k.cmd));
    ASSERT_TRUE(s.status.ok()) << s.status.error_message();
    EXPECT_EQ(s.exit_code, k.code) << k.cmd.back();
  }
}

// ---------------------------------------------------------------------------------------------
// Spec section 2: detached, and InspectExec

TEST_F(ExecTest, DetachedExecReturnsAtOnceAndInspectFollowsIt) {
  std::string c = Running();
  std::string flag = "/tmp/go-" + UniqueName("flag");
  v1::StartExecRequest start;
  *start.mutable_config() =
      Config(c, {"sh", "-c", "while [ ! -f " + flag + " ]; do sleep 0.05; done; exit 7"});
  v1::StartExecResponse started;
  auto ctx = Context();
  grpc::Status st = stub().StartExec(ctx.get(), start, &started);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_FALSE(started.exec_id().empty());

  v1::InspectExecRequest inspect;
  inspect.set_exec_id(started.exec_id());
  v1::InspectExecResponse running;
  auto ictx = Context();
  st = stub().InspectExec(ictx.get(), inspect, &running);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(running.exec_id(), started.exec_id());
  EXPECT_EQ(running.container_id(), c);
  EXPECT_TRUE(running.running());
  EXPECT_FALSE(running.has_exit_code());  // unset while it runs
  EXPECT_GT(running.pid(), 0);
  EXPECT_THAT(running.cmd(), ::testing::ElementsAre("sh", "-c", ::testing::HasSubstr(flag)));
  EXPECT_FALSE(running.tty());

  Captured touch = Exec(Config(c, {"touch", flag}));
  ASSERT_TRUE(touch.status.ok()) << touch.status.error_message();
  v1::InspectExecResponse done;
  bool exited = PollUntil(
      [&] {
        auto c2 = Context();
        return stub().InspectExec(c2.get(), inspect, &done).ok() && !done.running();
      },
      kGenerous);
  ASSERT_TRUE(exited);
  ASSERT_TRUE(done.has_exit_code());
  EXPECT_EQ(done.exit_code(), 7);
}

TEST_F(ExecTest, InspectOfAnUnknownExecIsNotFound) {
  v1::InspectExecRequest inspect;
  inspect.set_exec_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  v1::InspectExecResponse resp;
  auto ctx = Context();
  EXPECT_EQ(stub().InspectExec(ctx.get(), inspect, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  inspect.set_exec_id("");
  auto ctx2 = Context();
  EXPECT_EQ(stub().InspectExec(ctx2.get(), inspect, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// ---------------------------------------------------------------------------------------------
// Spec section 2: environment, workdir, user

TEST_F(ExecTest, EnvironmentWorkdirAndUserApply) {
  std::string c = Running();
  auto config = Config(c, {"/bin/sh", "-c", "echo $DJANGO_SETTINGS_MODULE; pwd; id"});
  config.add_env("DJANGO_SETTINGS_MODULE=config.production");
  config.set_workdir("/tmp");
  config.set_user("user");
  Captured r = Exec(config);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.resp.exit_code(), 0) << r.resp.output();
  EXPECT_EQ(r.resp.output(),
            "config.production\n/tmp\nuid=1000(user) gid=1000(user) groups=1000(user)\n");

  config.set_user("1234:5678");
  config.clear_cmd();
  config.add_cmd("id");
  r = Exec(config);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_THAT(r.resp.output(), HasSubstr("uid=1234 gid=5678"));
  v1::InspectExecRequest inspect;
  inspect.set_exec_id(r.resp.exec_id());
  v1::InspectExecResponse info;
  auto ctx = Context();
  ASSERT_TRUE(stub().InspectExec(ctx.get(), inspect, &info).ok());
  EXPECT_EQ(info.user(), "1234:5678");
  EXPECT_FALSE(info.privileged());
}

TEST_F(ExecTest, AnUnknownUserIsTheDaemonsInBandError) {
  std::string c = Running();
  auto config = Config(c, {"id"});
  config.set_user("nosuchuser");
  Captured r = Exec(config);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.resp.exit_code(), 126);
  EXPECT_THAT(r.resp.output(), HasSubstr("nosuchuser"));
}

// Privileged exec cannot apply its capabilities in this sandbox ("unable to apply caps"); what
// dockline owes is that the flag reaches the daemon, and that the outcome comes back as data.
TEST_F(ExecTest, PrivilegedReachesTheDaemon) {
  std::string c = Running();
  auto config = Config(c, {"id", "-u"});
  config.set_privileged(true);
  Captured r = Exec(config);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  if (r.resp.exit_code() == 0) {
    EXPECT_EQ(r.resp.output(), "0\n");
  } else {
    EXPECT_EQ(r.resp.exit_code(), 126);
    EXPECT_THAT(r.resp.output(), HasSubstr("caps"));
  }
  auto d = DaemonExec(r.resp.exec_id());
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["ProcessConfig"]["privileged"], true);
  v1::InspectExecRequest inspect;
  inspect.set_exec_id(r.resp.exec_id());
  v1::InspectExecResponse info;
  auto ctx = Context();
  ASSERT_TRUE(stub().InspectExec(ctx.get(), inspect, &info).ok());
  EXPECT_TRUE(info.privileged());
}

TEST_F(ExecTest, StreamSelection) {
  std::string c = Running();
  auto config = Config(c, {"sh", "-c", "echo out; echo err >&2; exit 9"});
  config.set_stdout(false);
  Captured only_err = Exec(config, true);
  ASSERT_TRUE(only_err.status.ok()) << only_err.status.error_message();
  EXPECT_EQ(only_err.resp.stdout(), "");
  EXPECT_EQ(only_err.resp.stderr(), "err\n");
  EXPECT_EQ(only_err.resp.exit_code(), 9);

  config.set_stdout(true);
  config.set_stderr(false);
  Streamed only_out = Stream(config);
  ASSERT_TRUE(only_out.status.ok()) << only_out.status.error_message();
  EXPECT_EQ(only_out.out, "out\n");
  EXPECT_EQ(only_out.err, "");
  EXPECT_EQ(only_out.exit_code, 9);

  // Neither stream: nothing relayed, but the exit code still waits for the process.
  config.set_stdout(false);
  config.set_stderr(false);
  config.set_cmd(2, "sleep 0.3; echo out; exit 9");
  Captured neither = Exec(config);
  ASSERT_TRUE(neither.status.ok()) << neither.status.error_message();
  EXPECT_EQ(neither.resp.output(), "");
  EXPECT_EQ(neither.resp.exit_code(), 9);
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST_F(ExecTest, BadInputMapsToStatusCodes) {
  std::string running = Running();
  std::string stopped;
  ASSERT_TRUE(Create(Spec({"true"}), &stopped).ok());
  std::string missing = "nosuch-" + UniqueName();

  EXPECT_EQ(Exec(Config(missing, {"true"})).status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Stream(Config(missing, {"true"})).status.error_code(), grpc::StatusCode::NOT_FOUND);
  Captured not_running = Exec(Config(stopped, {"true"}));
  EXPECT_EQ(not_running.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(not_running.status.error_message(), HasSubstr("is not running"));
  EXPECT_EQ(Stream(Config(stopped, {"true"})).status.error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Exec(Config(running, {})).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Stream(Config(running, {})).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Exec(Config("", {"true"})).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto with_stdin = Config(running, {"cat"});
  with_stdin.set_stdin(true);
  EXPECT_EQ(Exec(with_stdin).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::StartExecRequest start;
  v1::StartExecResponse started;
  *start.mutable_config() = Config(missing, {"true"});
  auto c1 = Context();
  EXPECT_EQ(stub().StartExec(c1.get(), start, &started).error_code(), grpc::StatusCode::NOT_FOUND);
  *start.mutable_config() = Config(stopped, {"true"});
  auto c2 = Context();
  EXPECT_EQ(stub().StartExec(c2.get(), start, &started).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  *start.mutable_config() = Config(running, {});
  auto c3 = Context();
  EXPECT_EQ(stub().StartExec(c3.get(), start, &started).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// ---------------------------------------------------------------------------------------------
// Output cap

TEST_F(ExecTest, OutputCapTruncatesAndSaysSo) {
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  const char* host = std::getenv("DOCKER_HOST");
  options.docker_host = host != nullptr ? host : "unix:///var/run/docker.sock";
  options.exec_output_cap = 1000;
  auto capped = server::DocklineServer::Start(options);
  ASSERT_TRUE(capped.ok()) << capped.status().message();
  auto capped_stub = BigStub(capped.value()->address());
  std::string c = Running();

  Captured big =
      Exec(Config(c, {"sh", "-c", "head -c 5000 /dev/zero; exit 1"}), false, capped_stub.get());
  ASSERT_TRUE(big.status.ok()) << big.status.error_message();
  EXPECT_EQ(big.resp.output(), std::string(1000, '\0'));
  EXPECT_TRUE(big.resp.truncated());
  EXPECT_EQ(big.resp.exit_code(), 1);  // the rest was read (and dropped) to the end

  // Per stream: stdout over the cap, stderr under it.
  Captured mixed = Exec(Config(c, {"sh", "-c", "head -c 3000 /dev/zero; echo small >&2"}), true,
                        capped_stub.get());
  ASSERT_TRUE(mixed.status.ok()) << mixed.status.error_message();
  EXPECT_EQ(mixed.resp.stdout().size(), 1000u);
  EXPECT_EQ(mixed.resp.stderr(), "small\n");
  EXPECT_TRUE(mixed.resp.truncated());

  Captured exact = Exec(Config(c, {"head", "-c", "1000", "/dev/zero"}), false, capped_stub.get());
  ASSERT_TRUE(exact.status.ok()) << exact.status.error_message();
  EXPECT_EQ(exact.resp.output().size(), 1000u);
  EXPECT_FALSE(exact.resp.truncated());
  capped.value()->Shutdown(std::chrono::milliseconds(2000));
}

}  // namespace
}  // namespace dockline::testing
