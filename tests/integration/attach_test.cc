// AttachContainer: the main process's output, stdin, its close and TTY resizes over one
// bidirectional stream; start once attached; several clients at once; the log replayed; a
// cancel or the detach keys leave the container running; the refusals and the policy; and the
// CLI's `run -i` / `run -it` / `attach` on top of it.

#include <gmock/gmock.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli_io.h"
#include "harness.h"
#include "policy_fixture.h"

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;
using Request = v1::AttachContainerRequest;
using Response = v1::AttachContainerResponse;
using Stream = grpc::ClientReaderWriterInterface<Request, Response>;

constexpr std::chrono::seconds kGenerous{60};  // catches hangs only

struct Attached {
  grpc::Status status;
  std::string id;
  bool tty = false;
  std::string out;
  std::string err;
  int exit_code = -1;
  bool detached = false;
  // One letter per message: 'a' attached, 'o' output, 'x' exited, 'd' detached.
  std::string sequence;
};

// Reads what is left of the stream, then its status.
Attached ReadAll(Stream* stream, Attached a = {}) {
  Response msg;
  while (stream->Read(&msg)) {
    if (msg.has_attached()) {
      a.sequence.push_back('a');
      a.id = msg.attached().id();
      a.tty = msg.attached().tty();
    } else if (msg.has_output()) {
      a.sequence.push_back('o');
      (msg.output().stream() == v1::STREAM_STDERR ? a.err : a.out) += msg.output().data();
    } else if (msg.has_exited()) {
      a.sequence.push_back('x');
      a.exit_code = msg.exited().exit_code();
    } else if (msg.has_detached()) {
      a.sequence.push_back('d');
      a.detached = true;
    }
  }
  a.status = stream->Finish();
  return a;
}

// Reads up to the `attached` message: from then on no output of the container is missed.
bool AwaitAttached(Stream* stream, Attached* a) {
  Response msg;
  if (!stream->Read(&msg) || !msg.has_attached()) {
    return false;
  }
  a->sequence.push_back('a');
  a->id = msg.attached().id();
  a->tty = msg.attached().tty();
  return true;
}

Request ConfigMessage(const std::string& container, bool stdin = false, bool start = false) {
  Request req;
  req.mutable_config()->set_container(container);
  req.mutable_config()->set_stdin(stdin);
  req.mutable_config()->set_start(start);
  return req;
}

Request StdinMessage(std::string data) {
  Request req;
  req.set_stdin(std::move(data));
  return req;
}

Request CloseMessage() {
  Request req;
  req.set_close_stdin(true);
  return req;
}

class AttachTest : public DaemonTest {
 protected:
  // A created (not started) container that keeps stdin open, closed for good when the
  // attached client closes it (docker run -i's container).
  std::string CreatedWithStdin(std::vector<std::string> command, bool tty = false) {
    v1::ContainerSpec spec = Spec(std::move(command));
    spec.set_stdin_open(true);
    spec.set_stdin_once(true);
    spec.set_tty(tty);
    std::string id;
    grpc::Status st = Create(spec, &id);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return id;
  }

  // A running container that prints `before`, waits for /tmp/go, then prints `after` and exits
  // with 7.
  std::string Gated(const std::string& before, const std::string& after) {
    return CreateAndStart(
        Spec({"sh", "-c",
              "printf '" + before + "'; while [ ! -f /tmp/go ]; do sleep 0.05; done; printf '" +
                  after + "'; exit 7"}));
  }
  void Open(const std::string& container) {
    v1::ExecContainerRequest req;
    req.mutable_config()->set_container(container);
    req.mutable_config()->add_cmd("touch");
    req.mutable_config()->add_cmd("/tmp/go");
    v1::ExecContainerResponse resp;
    grpc::Status st = stub().ExecContainer(Context().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  static bool DaemonRunning(const std::string& id) {
    nlohmann::json doc = DaemonInspect(id);
    return doc.is_object() && doc["State"]["Running"] == true;
  }
};

TEST_F(AttachTest, StdinThroughCatCloseGivesEofAndTheExitCode) {
  std::string c = CreatedWithStdin({"sh", "-c", "cat; echo done >&2; exit 3"});
  auto ctx = Context(kGenerous);
  auto stream = stub().AttachContainer(ctx.get());
  ASSERT_TRUE(stream->Write(ConfigMessage(c, true, true)));
  ASSERT_TRUE(stream->Write(StdinMessage("hello ")));
  ASSERT_TRUE(stream->Write(StdinMessage("world\n")));
  ASSERT_TRUE(stream->Write(CloseMessage()));
  Attached a = ReadAll(stream.get());
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_TRUE(std::regex_match(a.sequence, std::regex("ao+x"))) << a.sequence;
  EXPECT_EQ(a.id, c);
  EXPECT_FALSE(a.tty);
  EXPECT_EQ(a.out, "hello world\n");
  EXPECT_EQ(a.err, "done\n");
  EXPECT_EQ(a.exit_code, 3);
  EXPECT_EQ(DaemonInspect(c)["State"]["ExitCode"], 3);
}

TEST_F(AttachTest, StartOnceAttachedGetsTheVeryFirstOutput) {
  v1::ContainerSpec spec = Spec({"sh", "-c", "echo first; echo second >&2; exit 9"});
  std::string c;
  ASSERT_TRUE(Create(spec, &c).ok());
  auto ctx = Context(kGenerous);
  auto stream = stub().AttachContainer(ctx.get());
  ASSERT_TRUE(stream->Write(ConfigMessage(c, false, true)));
  ASSERT_TRUE(stream->WritesDone());
  Attached a = ReadAll(stream.get());
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_EQ(a.out, "first\n");
  EXPECT_EQ(a.err, "second\n");
  EXPECT_EQ(a.exit_code, 9);
}

TEST_F(AttachTest, TtyResizeIsSeenInsideAndStdinIsTyped) {
  std::string c = CreatedWithStdin(
      {"sh", "-c",
       "while [ \"$(stty size)\" != \"40 120\" ]; do sleep 0.05; done; echo resized; "
       "read line; echo got:$line; exit 4"},
      true);
  auto ctx = Context(kGenerous);
  auto stream = stub().AttachContainer(ctx.get());
  ASSERT_TRUE(stream->Write(ConfigMessage(c, true, true)));
  // Sent before the container runs: held until it does.
  Request resize;
  resize.mutable_resize()->set_rows(40);
  resize.mutable_resize()->set_columns(120);
  ASSERT_TRUE(stream->Write(resize));
  ASSERT_TRUE(stream->Write(StdinMessage("typed\r")));
  Attached a = ReadAll(stream.get());
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_TRUE(a.tty);
  EXPECT_THAT(a.out, HasSubstr("resized\r\n"));
  EXPECT_THAT(a.out, HasSubstr("got:typed\r\n"));
  EXPECT_EQ(a.err, "");
  EXPECT_EQ(a.exit_code, 4);
}

TEST_F(AttachTest, TwoClientsAttachedAtOnceEachGetTheWholeOutput) {
  // Long enough to take many chunks; each client must see all of it.
  std::string c = CreateAndStart(
      Spec({"sh", "-c",
            "while [ ! -f /tmp/go ]; do sleep 0.05; done; seq 1 20000; echo err >&2; exit 7"}));
  auto ctx1 = Context(kGenerous);
  auto ctx2 = Context(kGenerous);
  auto s1 = stub().AttachContainer(ctx1.get());
  auto s2 = stub().AttachContainer(ctx2.get());
  ASSERT_TRUE(s1->Write(ConfigMessage(c)));
  ASSERT_TRUE(s2->Write(ConfigMessage(c)));
  Attached a1;
  Attached a2;
  ASSERT_TRUE(AwaitAttached(s1.get(), &a1));
  ASSERT_TRUE(AwaitAttached(s2.get(), &a2));
  Open(c);
  Attached r2;
  std::thread second([&] { r2 = ReadAll(s2.get(), a2); });
  Attached r1 = ReadAll(s1.get(), a1);
  second.join();
  std::string want;
  for (int i = 1; i <= 20000; ++i) {
    want += std::to_string(i) + "\n";
  }
  for (const Attached* r : {&r1, &r2}) {
    ASSERT_TRUE(r->status.ok()) << r->status.error_message();
    EXPECT_TRUE(r->out == want) << r->out.size() << " bytes of " << want.size();
    EXPECT_EQ(r->err, "err\n");
    EXPECT_EQ(r->exit_code, 7);
  }
}

TEST_F(AttachTest, LogsReplaysTheOutputSoFarFirst) {
  std::string c = Gated("early\\n", "late\\n");
  ASSERT_TRUE(PollUntil([&] { return Logs(c).stdout_data == "early\n"; }, kGenerous));
  auto ctx = Context(kGenerous);
  auto stream = stub().AttachContainer(ctx.get());
  Request config = ConfigMessage(c);
  config.mutable_config()->set_logs(true);
  ASSERT_TRUE(stream->Write(config));
  Attached a;
  ASSERT_TRUE(AwaitAttached(stream.get(), &a));
  Open(c);
  a = ReadAll(stream.get(), a);
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_EQ(a.out, "early\nlate\n");
  EXPECT_EQ(a.exit_code, 7);
}

TEST_F(AttachTest, CancelLeavesTheContainerRunning) {
  // Without stdin_once the container's stdin outlives each client.
  v1::ContainerSpec spec = Spec({"cat"});
  spec.set_stdin_open(true);
  std::string c;
  ASSERT_TRUE(Create(spec, &c).ok());
  auto typed = [&](bool start, const std::string& line) {
    auto ctx = Context(kGenerous);
    auto stream = stub().AttachContainer(ctx.get());
    EXPECT_TRUE(stream->Write(ConfigMessage(c, true, start)));
    Attached a;
    EXPECT_TRUE(AwaitAttached(stream.get(), &a));
    EXPECT_TRUE(stream->Write(StdinMessage(line)));
    Response msg;
    EXPECT_TRUE(stream->Read(&msg));
    EXPECT_EQ(msg.output().data(), line);
    ctx->TryCancel();
    return ReadAll(stream.get(), a).status;
  };
  EXPECT_EQ(typed(true, "one\n").error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(DaemonRunning(c));
  // And a new client can still feed it.
  EXPECT_EQ(typed(false, "two\n").error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(DaemonRunning(c));
}

TEST_F(AttachTest, DetachKeysLetGoAndTheContainerKeepsRunning) {
  std::string c = CreatedWithStdin({"sh", "-c", "read line; echo got:$line; sleep 3600"}, true);
  auto ctx = Context(kGenerous);
  auto stream = stub().AttachContainer(ctx.get());
  Request config = ConfigMessage(c, true, true);
  config.mutable_config()->set_detach_keys("ctrl-x,x");
  ASSERT_TRUE(stream->Write(config));
  ASSERT_TRUE(stream->Write(StdinMessage("hi\r")));
  Attached a;
  ASSERT_TRUE(AwaitAttached(stream.get(), &a));
  Response msg;
  std::string out;
  while (out.find("got:hi") == std::string::npos && stream->Read(&msg)) {
    out += msg.output().data();
  }
  ASSERT_TRUE(stream->Write(StdinMessage("\x18x")));
  a = ReadAll(stream.get(), a);
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_TRUE(a.detached) << a.sequence;
  EXPECT_EQ(a.exit_code, -1);
  EXPECT_TRUE(DaemonRunning(c));
}

TEST_F(AttachTest, RefusalsNameTheField) {
  auto attach = [&](std::vector<Request> messages) {
    auto ctx = Context(kGenerous);
    auto stream = stub().AttachContainer(ctx.get());
    for (const Request& m : messages) {
      if (!stream->Write(m)) {
        break;
      }
    }
    stream->WritesDone();
    return ReadAll(stream.get());
  };
  std::string missing = "nosuch-" + UniqueName();
  Attached a = attach({ConfigMessage(missing)});
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(a.status.error_message(), HasSubstr(missing));

  a = attach({ConfigMessage("")});
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(a.status.error_message(), HasSubstr("config.container"));

  std::string running = CreateAndStart(Spec({"sleep", "3600"}));
  a = attach({ConfigMessage(running, true)});
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(a.status.error_message(), HasSubstr("config.stdin"));
  EXPECT_THAT(a.status.error_message(), HasSubstr("stdin_open"));

  a = attach({StdinMessage("x"), ConfigMessage(running)});
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(a.status.error_message(), HasSubstr("first message must carry config"));

  a = attach({ConfigMessage(running), ConfigMessage(running)});
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(a.status.error_message(), HasSubstr("config may only be sent first"));

  a = attach({ConfigMessage(running), StdinMessage("x")});
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(a.status.error_message(), HasSubstr("config.stdin was not set"));

  Request bad_keys = ConfigMessage(running);
  bad_keys.mutable_config()->set_detach_keys("ctrl-1");
  a = attach({bad_keys});
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(a.status.error_message(), HasSubstr("config.detach_keys"));

  a = attach({});
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  std::string created;
  ASSERT_TRUE(Create(Spec({"true"}), &created).ok());
  a = attach({ConfigMessage(created)});
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(a.status.error_message(), HasSubstr("config.start"));
  EXPECT_EQ(DaemonInspect(created)["State"]["Status"], "created");
  EXPECT_TRUE(DaemonRunning(running));
}

// ---------------------------------------------------------------------------------------------
// Policy

using AttachPolicyTest = PolicyFixture;

TEST_F(AttachPolicyTest, ReadMayWatchOperateMayTypeOwnersOnlyTheirOwn) {
  Start();
  v1::ContainerSpec spec = NamedSpec({"sh", "-c", "read line; echo got:$line"});
  spec.set_stdin_open(true);
  spec.set_stdin_once(true);
  std::string id;
  ASSERT_TRUE(CreateAs("alice", spec, &id).ok());
  ASSERT_TRUE(StartAs("alice", id).ok());

  auto attach = [&](const std::string& who, bool stdin, const std::string& data) {
    auto ctx = As(who);
    auto stream = client_->AttachContainer(ctx.get());
    stream->Write(ConfigMessage(id, stdin));
    if (!data.empty()) {
      stream->Write(StdinMessage(data));
    }
    stream->WritesDone();
    return ReadAll(stream.get());
  };
  // reader (read only) may not type.
  Attached a = attach("reader", true, "");
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(a.status.error_message(), HasSubstr("config.stdin needs the operate group"));
  EXPECT_EQ(a.sequence, "");
  // bob owns his own containers only: alice's is not there for him.
  a = attach("bob", false, "");
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::NOT_FOUND);
  // carol ("*": engine info only) may not attach at all.
  a = attach("carol", false, "");
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // reader may watch: attached without stdin, it sees what alice types.
  auto watch_ctx = As("reader");
  auto watch = client_->AttachContainer(watch_ctx.get());
  ASSERT_TRUE(watch->Write(ConfigMessage(id)));
  Attached watched;
  ASSERT_TRUE(AwaitAttached(watch.get(), &watched));
  a = attach("alice", true, "hello\n");
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_EQ(a.out, "got:hello\n");
  EXPECT_EQ(a.exit_code, 0);
  watched = ReadAll(watch.get(), watched);
  ASSERT_TRUE(watched.status.ok()) << watched.status.error_message();
  EXPECT_EQ(watched.out, "got:hello\n");
  EXPECT_EQ(watched.exit_code, 0);
}

// ---------------------------------------------------------------------------------------------
// CLI

class AttachCliTest : public AttachTest {
 protected:
  std::vector<std::string> Cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {DOCKLINE_CLI_PATH, "--addr", ServerAddress()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  // `run` flags that keep the container in the test's reach: its label, no network.
  std::vector<std::string> Run(std::vector<std::string> flags, std::vector<std::string> command) {
    std::vector<std::string> args = {"run", "--network", "none", "-l",
                                     LabelKey() + "=" + LabelValue()};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(Image());
    args.insert(args.end(), command.begin(), command.end());
    return Cli(args);
  }
};

TEST_F(AttachCliTest, RunInteractivePipesStdinAndExitsWithTheCode) {
  CommandResult r = RunWithInput(Run({"-i"}, {"cat"}), "hi\n");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "hi\n");

  std::string name = UniqueName("rm");
  std::string input;
  for (int i = 0; i < 5000; ++i) {
    input += "line " + std::to_string(i) + "\n";
  }
  r = RunWithInput(Run({"-i", "--rm", "--name", name}, {"sh", "-c", "wc -l; exit 3"}), input);
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(r.out, "5000\n");
  EXPECT_TRUE(PollUntil([&] { return DaemonInspect(name).is_null(); }, kGenerous))
      << "--rm did not remove " << name;
}

TEST_F(AttachCliTest, RunDetachedInteractiveKeepsStdinOpen) {
  CommandResult r = RunWithInput(Run({"-d", "-i"}, {"cat"}), "");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::string id = r.out.substr(0, r.out.find('\n'));
  ASSERT_EQ(id.size(), 64u) << r.out;
  // The detached client's end of stdin closed nothing: cat still runs and takes a client.
  EXPECT_TRUE(DaemonRunning(id));
  EXPECT_EQ(DaemonInspect(id)["Config"]["OpenStdin"], true);
  EXPECT_EQ(DaemonInspect(id)["Config"]["StdinOnce"], false);
}

TEST_F(AttachCliTest, AttachForwardsStdinToAContainerThatKeepsItOpen) {
  std::string c = CreatedWithStdin({"sh", "-c", "cat; exit 4"});
  ASSERT_EQ(RunCommand(Cli({"start", c})).exit_code, 0);
  CommandResult r = RunWithInput(Cli({"attach", c}), "piped\n");
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_EQ(r.out, "piped\n");
  r = RunCommand(Cli({"attach", "nosuch-" + UniqueName()}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("No such container"));
}

// `dockline run -it` in a real pseudo-terminal, as `exec -it` is (ExpectInteractiveTerminal).
TEST_F(AttachCliTest, RunInteractiveTtyInAPseudoTerminal) {
  ExpectInteractiveTerminal(Run({"-it", "--rm"}, {}), kGenerous);
}

}  // namespace
}  // namespace dockline::testing
