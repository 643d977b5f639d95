#include "server/codec/exec_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "unit/exec_config.h"
#include "unit/frame.h"

namespace dockline::server {
namespace {

using testing::Config;
using testing::Frame;

using engine::StreamKind;

// ---------------------------------------------------------------------------------------------
// PlanExec

TEST(PlanExecTest, DockerPyShapedCreateBody) {
  ExecPlan plan;
  ASSERT_TRUE(PlanExec(Config({"sh", "-c", "echo hi"}), ExecMode::kCaptured, &plan).ok());
  EXPECT_EQ(plan.container, "c1");
  EXPECT_EQ(plan.create_body,
            nlohmann::json::parse(R"({"AttachStdin":false,"AttachStdout":true,"AttachStderr":true,
              "Tty":false,"Privileged":false,"User":"","Cmd":["sh","-c","echo hi"]})"));
  EXPECT_TRUE(plan.deliver_stdout);
  EXPECT_TRUE(plan.deliver_stderr);
  EXPECT_FALSE(plan.detach);

  auto config = Config({"id"});
  config.add_env("A=1");
  config.add_env("UNSET_ME");
  config.set_workdir("/tmp");
  config.set_user("1000:1000");
  config.set_privileged(true);
  config.set_tty(true);
  config.set_stdin(true);
  ASSERT_TRUE(PlanExec(config, ExecMode::kAttached, &plan).ok());
  EXPECT_EQ(plan.create_body["Env"], nlohmann::json::parse(R"(["A=1","UNSET_ME"])"));
  EXPECT_EQ(plan.create_body["WorkingDir"], "/tmp");
  EXPECT_EQ(plan.create_body["User"], "1000:1000");
  EXPECT_EQ(plan.create_body["Privileged"], true);
  EXPECT_EQ(plan.create_body["Tty"], true);
  EXPECT_EQ(plan.create_body["AttachStdin"], true);
  EXPECT_TRUE(plan.stdin);
  EXPECT_TRUE(plan.tty);
}

TEST(PlanExecTest, RefusesBadInputNamingTheField) {
  ExecPlan plan;
  struct Case {
    v1::ExecConfig config;
    ExecMode mode;
    std::string field;
  };
  auto with_env = Config({"true"});
  with_env.add_env("=x");
  auto with_stdin = Config({"cat"});
  with_stdin.set_stdin(true);
  auto nul = Config({"echo", std::string("a\0b", 3)});
  std::vector<Case> cases = {
      {Config({}), ExecMode::kCaptured, "config.cmd"},
      {Config({""}), ExecMode::kStreamed, "config.cmd[0]"},
      {nul, ExecMode::kCaptured, "config.cmd[1]"},
      {Config({"true"}, ""), ExecMode::kCaptured, "config.container"},
      {Config({"true"}, "a/b"), ExecMode::kDetached, "config.container"},
      {with_env, ExecMode::kCaptured, "config.env[0]"},
      {with_stdin, ExecMode::kCaptured, "config.stdin"},
      {with_stdin, ExecMode::kStreamed, "config.stdin"},
      {with_stdin, ExecMode::kDetached, "config.stdin"},
  };
  for (const Case& k : cases) {
    grpc::Status st = PlanExec(k.config, k.mode, &plan);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << k.field;
    EXPECT_THAT(st.error_message(), ::testing::StartsWith(k.field)) << st.error_message();
  }
}

TEST(PlanExecTest, StreamSelection) {
  ExecPlan plan;
  auto config = Config({"true"});
  config.set_stdout(false);
  ASSERT_TRUE(PlanExec(config, ExecMode::kCaptured, &plan).ok());
  EXPECT_EQ(plan.create_body["AttachStdout"], false);
  EXPECT_EQ(plan.create_body["AttachStderr"], true);
  EXPECT_FALSE(plan.deliver_stdout);
  EXPECT_TRUE(plan.deliver_stderr);

  // Neither: stdout stays attached so that the start call ends at the exit, and is dropped.
  config.set_stderr(false);
  ASSERT_TRUE(PlanExec(config, ExecMode::kStreamed, &plan).ok());
  EXPECT_EQ(plan.create_body["AttachStdout"], true);
  EXPECT_EQ(plan.create_body["AttachStderr"], false);
  EXPECT_FALSE(plan.deliver_stdout);
  EXPECT_FALSE(plan.deliver_stderr);

  // A TTY is one stream, relayed as stdout when either is wanted.
  config.set_tty(true);
  config.set_stderr(true);
  ASSERT_TRUE(PlanExec(config, ExecMode::kCaptured, &plan).ok());
  EXPECT_EQ(plan.create_body["AttachStdout"], true);
  EXPECT_TRUE(plan.deliver_stdout);
  EXPECT_FALSE(plan.deliver_stderr);

  // Detached: nothing attached.
  ASSERT_TRUE(PlanExec(Config({"true"}), ExecMode::kDetached, &plan).ok());
  EXPECT_TRUE(plan.detach);
  EXPECT_EQ(plan.create_body["AttachStdout"], false);
  EXPECT_EQ(plan.create_body["AttachStderr"], false);
}

// ---------------------------------------------------------------------------------------------
// Inspect

TEST(ExecInspectTest, FromTheDaemonsDocument) {
  auto j = nlohmann::json::parse(R"({"ID":"d46b","Running":false,"ExitCode":4,
    "ProcessConfig":{"tty":true,"entrypoint":"sh","arguments":["-c","x"],"privileged":true,
    "user":"1000"},"OpenStdin":false,"ContainerID":"df7d","Pid":17268})");
  v1::InspectExecResponse out;
  ASSERT_TRUE(ExecInspectFromJson(j, &out));
  EXPECT_EQ(out.exec_id(), "d46b");
  EXPECT_EQ(out.container_id(), "df7d");
  EXPECT_FALSE(out.running());
  ASSERT_TRUE(out.has_exit_code());
  EXPECT_EQ(out.exit_code(), 4);
  EXPECT_EQ(out.pid(), 17268);
  EXPECT_THAT(out.cmd(), ::testing::ElementsAre("sh", "-c", "x"));
  EXPECT_TRUE(out.tty());
  EXPECT_TRUE(out.privileged());
  EXPECT_EQ(out.user(), "1000");
}

TEST(ExecInspectTest, NullExitCodeIsUnsetAndOddTypesDoNotThrow) {
  v1::InspectExecResponse out;
  ASSERT_TRUE(ExecInspectFromJson(
      nlohmann::json::parse(R"({"ID":"x","Running":true,"ExitCode":null,"Pid":"12",
        "ProcessConfig":{"arguments":"nope","tty":1}})"),
      &out));
  EXPECT_TRUE(out.running());
  EXPECT_FALSE(out.has_exit_code());
  EXPECT_EQ(out.pid(), 0);
  EXPECT_TRUE(out.cmd().empty());
  EXPECT_FALSE(ExecInspectFromJson(nlohmann::json::parse("[1,2]"), &out));
  EXPECT_FALSE(ExecInspectFromJson(nlohmann::json::parse(R"({"Id":"lowercase"})"), &out));
}

// ---------------------------------------------------------------------------------------------
// Decoder and capture

std::vector<std::pair<StreamKind, std::string>> Decode(ExecOutputDecoder& decoder,
                                                       const std::vector<std::string>& feeds,
                                                       engine::Status* status = nullptr) {
  std::vector<std::pair<StreamKind, std::string>> runs;
  for (const std::string& feed : feeds) {
    std::vector<OutputPiece> pieces;
    engine::Status st = decoder.Feed(feed, &pieces);
    if (status != nullptr) {
      *status = st;
    }
    for (const auto& piece : pieces) {
      if (!runs.empty() && runs.back().first == piece.kind) {
        runs.back().second.append(piece.data);
      } else {
        runs.emplace_back(piece.kind, std::string(piece.data));
      }
    }
  }
  return runs;
}

using Runs = std::vector<std::pair<StreamKind, std::string>>;

TEST(ExecOutputDecoderTest, FramesSplitAcrossReads) {
  std::string all = Frame(1, "out\n") + Frame(2, "err\n") + Frame(0, "in") + Frame(1, "more");
  std::vector<std::string> feeds;
  for (char c : all) {
    feeds.emplace_back(1, c);
  }
  ExecOutputDecoder decoder(false, true, true);
  EXPECT_EQ(Decode(decoder, feeds), (Runs{{StreamKind::kStdout, "out\n"},
                                          {StreamKind::kStderr, "err\n"},
                                          {StreamKind::kStdout, "more"}}));
  EXPECT_TRUE(decoder.Finish().ok());
}

TEST(ExecOutputDecoderTest, SelectionAndTheDaemonsSystemErrFrames) {
  std::string all = Frame(1, "out") + Frame(2, "err") + Frame(3, "daemon says no");
  ExecOutputDecoder only_out(false, true, false);
  EXPECT_EQ(Decode(only_out, {all}), (Runs{{StreamKind::kStdout, "outdaemon says no"}}));
  ExecOutputDecoder only_err(false, false, true);
  EXPECT_EQ(Decode(only_err, {all}), (Runs{{StreamKind::kStderr, "errdaemon says no"}}));
  ExecOutputDecoder both(false, true, true);
  EXPECT_EQ(Decode(both, {all}),
            (Runs{{StreamKind::kStdout, "out"}, {StreamKind::kStderr, "errdaemon says no"}}));
  ExecOutputDecoder neither(false, false, false);
  EXPECT_TRUE(Decode(neither, {all}).empty());
}

TEST(ExecOutputDecoderTest, TtyIsRawAndABadHeaderIsAProtocolError) {
  ExecOutputDecoder tty(true, true, false);
  EXPECT_EQ(Decode(tty, {"a\r\n", std::string("\x01\x00", 2)}),
            (Runs{{StreamKind::kStdout, std::string("a\r\n\x01\x00", 5)}}));
  ExecOutputDecoder muxed(false, true, true);
  engine::Status st;
  Decode(muxed, {"hello world, not a frame"}, &st);
  EXPECT_EQ(st.code(), engine::Code::kProtocolError);
}

TEST(CapturedOutputTest, CapIsPerStreamAndSaysTruncated) {
  CapturedOutput combined(false, 5);
  combined.Add(StreamKind::kStdout, "abc");
  combined.Add(StreamKind::kStderr, "1234");
  combined.Add(StreamKind::kStdout, "defgh");
  combined.Add(StreamKind::kStderr, "5");
  v1::ExecContainerResponse resp;
  combined.MoveTo(&resp);
  EXPECT_EQ(resp.output(), "abc1234de5");
  EXPECT_TRUE(resp.truncated());

  CapturedOutput demuxed(true, 4);
  demuxed.Add(StreamKind::kStdout, "abcd");
  demuxed.Add(StreamKind::kStderr, "xy");
  v1::ExecContainerResponse exact;
  demuxed.MoveTo(&exact);
  EXPECT_EQ(exact.stdout(), "abcd");
  EXPECT_EQ(exact.stderr(), "xy");
  EXPECT_EQ(exact.output(), "");
  EXPECT_FALSE(exact.truncated());
}

}  // namespace
}  // namespace dockline::server
