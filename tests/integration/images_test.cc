// Images against a real registry: Debian's docker-registry, started on loopback by this suite,
// holding an image of this run's own (a busybox layer plus one layer of random bytes that the
// daemon does not have), so a pull really downloads. Never the internet.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "harness.h"

extern char** environ;

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kRegistryBinary = "/usr/bin/docker-registry";

class ImagesTest : public DaemonTest {
 public:
  static void SetUpTestSuite() {
    DaemonTest::SetUpTestSuite();
    ASSERT_EQ(access(kRegistryBinary, X_OK), 0)
        << kRegistryBinary << " is missing: scripts/install-deps.sh installs docker-registry";
    dir_ = new TempDir();
    port_ = FreeLoopbackPort();
    ASSERT_GT(port_, 0);
    dir_->Write("config.yml",
                "version: 0.1\n"
                "log:\n  level: error\n"
                "storage:\n  filesystem:\n    rootdirectory: " +
                    dir_->path() +
                    "/data\n  delete:\n    enabled: true\n"
                    "http:\n  addr: 127.0.0.1:" +
                    std::to_string(port_) + "\n");
    std::string config = dir_->path() + "/config.yml";
    std::vector<char*> argv = {const_cast<char*>(kRegistryBinary), const_cast<char*>("serve"),
                               config.data(), nullptr};
    // Its request log goes to a file beside its data, not into the test output.
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    std::string log = dir_->path() + "/registry.log";
    posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);
    int spawned =
        posix_spawn(&registry_pid_, kRegistryBinary, &files, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&files);
    ASSERT_EQ(spawned, 0);
    ASSERT_TRUE(::dockline::testing::PollUntil([] { return AcceptsOnLoopback(port_); },
                                               std::chrono::seconds(20)))
        << "the registry did not listen on 127.0.0.1:" << port_;
    PushImage();
  }

  static void TearDownTestSuite() {
    RemoveLocal(Reference());
    RemoveLocal(Registry() + "/dockline-test/other:v2");
    if (registry_pid_ > 0) {
      kill(registry_pid_, SIGTERM);
      waitpid(registry_pid_, nullptr, 0);
      registry_pid_ = -1;
    }
    delete dir_;
    dir_ = nullptr;
    DaemonTest::TearDownTestSuite();
  }

 protected:
  static std::string Registry() { return "127.0.0.1:" + std::to_string(port_); }
  // The image the registry holds and the daemon does not (until a test pulls it).
  static std::string Reference() { return Registry() + "/dockline-test/pull:v1"; }

  static void RemoveLocal(const std::string& image) {
    engine::ApiRequest request("DELETE", "/images/" + image);
    request.Query("force", "1");
    Daemon(request);
  }

  static bool PresentLocally(const std::string& image) {
    return Daemon(engine::ApiRequest("GET", "/images/" + image + "/json")).ok();
  }

  // Commits a container with 256 KiB of random bytes on top of the test image, pushes it, and
  // removes it from the daemon, so its top layer exists only in the registry.
  static void PushImage() {
    engine::ApiRequest create("POST", "/containers/create");
    nlohmann::json body = {
        {"Image", Image()},
        {"Cmd", {"sh", "-c", "head -c 262144 /dev/urandom > /payload && echo pulled > /marker"}},
        {"Labels", {{LabelKey(), LabelValue()}}},
        {"HostConfig", {{"NetworkMode", "none"}}}};
    create.body = body.dump();
    auto created = Daemon(create);
    ASSERT_TRUE(created.ok()) << created.status().message();
    std::string id = nlohmann::json::parse(created->body)["Id"];
    ASSERT_TRUE(Daemon(engine::ApiRequest("POST", "/containers/" + id + "/start")).ok());
    engine::ApiRequest wait("POST", "/containers/" + id + "/wait");
    ASSERT_TRUE(Daemon(wait).ok());
    engine::ApiRequest commit("POST", "/commit");
    commit.Query("container", id)
        .Query("repo", Registry() + "/dockline-test/pull")
        .Query("tag", "v1");
    auto committed = Daemon(commit);
    ASSERT_TRUE(committed.ok()) << committed.status().message();
    engine::ApiRequest remove("DELETE", "/containers/" + id);
    Daemon(remove);
    engine::ApiRequest push("POST", "/images/" + Registry() + "/dockline-test/pull/push");
    push.Query("tag", "v1");
    push.headers.emplace_back("X-Registry-Auth", "e30=");  // "{}": the daemon wants the header
    auto pushed = Daemon(push);
    ASSERT_TRUE(pushed.ok()) << pushed.status().message();
    ASSERT_THAT(pushed->body, Not(HasSubstr("\"error\""))) << pushed->body;
    RemoveLocal(Reference());
    ASSERT_FALSE(PresentLocally(Reference()));
  }

  static std::vector<v1::PullImageResponse> Pull(const std::string& image, grpc::Status* status) {
    auto ctx = Context(std::chrono::seconds(120));
    v1::PullImageRequest request;
    request.set_image(image);
    auto reader = stubs_for_pull_->PullImage(ctx.get(), request);
    std::vector<v1::PullImageResponse> messages;
    v1::PullImageResponse msg;
    while (reader->Read(&msg)) {
      messages.push_back(msg);
    }
    *status = reader->Finish();
    return messages;
  }

  void SetUp() override {
    DaemonTest::SetUp();
    stubs_for_pull_ = &stub();
    RemoveLocal(Reference());
  }

  CommandResult Cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {DOCKLINE_CLI_PATH, "--addr", ServerAddress()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  static TempDir* dir_;
  static int port_;
  static pid_t registry_pid_;
  static v1::Dockline::Stub* stubs_for_pull_;
};

TempDir* ImagesTest::dir_ = nullptr;
int ImagesTest::port_ = -1;
pid_t ImagesTest::registry_pid_ = -1;
v1::Dockline::Stub* ImagesTest::stubs_for_pull_ = nullptr;

TEST_F(ImagesTest, PullStreamsTypedProgressThenThePulledImage) {
  grpc::Status status;
  auto messages = Pull(Reference(), &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GE(messages.size(), 2u);
  ASSERT_TRUE(messages.back().has_pulled());
  const v1::PulledImage& pulled = messages.back().pulled();
  EXPECT_EQ(pulled.image(), Reference());
  EXPECT_THAT(pulled.digest(), StartsWith("sha256:"));
  nlohmann::json local = nlohmann::json::parse(
      Daemon(engine::ApiRequest("GET", "/images/" + Reference() + "/json"))->body);
  EXPECT_EQ(pulled.id(), local["Id"]);

  bool downloaded_with_sizes = false;
  bool completed = false;
  std::string layer;
  for (size_t i = 0; i + 1 < messages.size(); ++i) {
    ASSERT_TRUE(messages[i].has_progress()) << i;
    const v1::PullProgress& p = messages[i].progress();
    if (p.status() == "Downloading" && p.total() > 0 && p.current() > 0) {
      downloaded_with_sizes = true;
      layer = p.id();
      EXPECT_LE(p.current(), p.total());
    }
    if (p.status() == "Pull complete" && p.id() == layer) {
      completed = true;
    }
  }
  EXPECT_TRUE(downloaded_with_sizes) << "no Downloading line with current/total bytes";
  EXPECT_TRUE(completed) << "the downloaded layer never reported Pull complete";
}

TEST_F(ImagesTest, PullWithoutATagPullsLatestOnly) {
  // The Engine API pulls every tag of a repository given without one; docker pulls :latest.
  grpc::Status status;
  Pull(Registry() + "/dockline-test/pull", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("latest"));
  EXPECT_FALSE(PresentLocally(Reference())) << "v1 came along with a pull of :latest";
}

TEST_F(ImagesTest, PullOfAnImageTheRegistryLacksIsNotFound) {
  grpc::Status status;
  auto messages = Pull(Registry() + "/dockline-test/absent:v1", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
}

TEST_F(ImagesTest, PullRefusesBadReferencesNamingTheField) {
  for (const std::string& bad : {std::string(), std::string("a/../b"), std::string("a b"),
                                 std::string("sha256:0123456789abcdef")}) {
    grpc::Status status;
    Pull(bad, &status);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(status.error_message(), StartsWith("image: ")) << bad;
  }
}

TEST_F(ImagesTest, RunPullsAMissingImageAndRelaysTheProgressBeforeStarted) {
  v1::RunContainerRequest request;
  *request.mutable_spec() = Spec({"cat", "/marker"});
  request.mutable_spec()->set_image(Reference());
  request.mutable_spec()->set_auto_remove(true);
  RunOutput out = Run(request);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.stdout_data, "pulled\n");
  EXPECT_EQ(out.exit_code, 0);
  ASSERT_FALSE(out.pull.empty());
  EXPECT_THAT(out.sequence, ::testing::MatchesRegex("p+so+x"));
  EXPECT_TRUE(PresentLocally(Reference()));

  // Now present: MISSING does not pull again.
  RunOutput again = Run(request);
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_TRUE(again.pull.empty());
  EXPECT_EQ(again.stdout_data, "pulled\n");
}

TEST_F(ImagesTest, RunWithPullNeverDoesNotPull) {
  v1::RunContainerRequest request;
  *request.mutable_spec() = Spec({"true"});
  request.mutable_spec()->set_image(Reference());
  request.set_pull(v1::PULL_POLICY_NEVER);
  RunOutput out = Run(request);
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::NOT_FOUND) << out.status.error_message();
  EXPECT_THAT(out.status.error_message(), HasSubstr("No such image"));
  EXPECT_FALSE(PresentLocally(Reference()));
}

TEST_F(ImagesTest, RunWithPullAlwaysAsksTheRegistryAgain) {
  v1::RunContainerRequest request;
  *request.mutable_spec() = Spec({"cat", "/marker"});
  request.mutable_spec()->set_image(Reference());
  request.mutable_spec()->set_auto_remove(true);
  request.set_pull(v1::PULL_POLICY_ALWAYS);
  ASSERT_TRUE(Run(request).status.ok());  // pulled once
  RunOutput twice = Run(request);
  ASSERT_TRUE(twice.status.ok()) << twice.status.error_message();
  EXPECT_EQ(twice.stdout_data, "pulled\n");
  bool up_to_date = false;
  for (const v1::PullProgress& p : twice.pull) {
    up_to_date = up_to_date || p.status().find("Image is up to date") != std::string::npos;
  }
  EXPECT_TRUE(up_to_date) << "ALWAYS did not ask the registry about a present image";
}

TEST_F(ImagesTest, RunRefusesAnUnknownPullPolicy) {
  v1::RunContainerRequest request;
  *request.mutable_spec() = Spec({"true"});
  request.set_pull(static_cast<v1::PullPolicy>(9));
  RunOutput out = Run(request);
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(out.status.error_message(), StartsWith("pull: unknown pull policy 9"));
}

TEST_F(ImagesTest, CreatePullsAMissingImageQuietly) {
  v1::ContainerSpec spec = Spec({"true"});
  spec.set_image(Reference());
  std::string id;
  grpc::Status created = Create(spec, &id);
  ASSERT_TRUE(created.ok()) << created.error_message();
  EXPECT_FALSE(id.empty());
  EXPECT_TRUE(PresentLocally(Reference()));
  // The image goes with the fixture's next SetUp, which a container using it would prevent.
  Daemon(engine::ApiRequest("DELETE", "/containers/" + id));

  RemoveLocal(Registry() + "/dockline-test/absent:v1");
  spec.set_image(Registry() + "/dockline-test/absent:v1");
  grpc::Status missing = Create(spec, &id);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND) << missing.error_message();

  v1::CreateContainerRequest never;
  *never.mutable_spec() = Spec({"true"});
  never.mutable_spec()->set_image(Registry() + "/dockline-test/other:v2");
  never.set_pull(v1::PULL_POLICY_NEVER);
  v1::CreateContainerResponse resp;
  grpc::Status st = stub().CreateContainer(Context().get(), never, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(st.error_message(), HasSubstr("No such image"));
}

TEST_F(ImagesTest, ListInspectAndRemove) {
  grpc::Status status;
  Pull(Reference(), &status);
  ASSERT_TRUE(status.ok()) << status.error_message();

  v1::ListImagesRequest list;
  list.set_name(Registry() + "/dockline-test/pull");
  v1::ListImagesResponse listed;
  ASSERT_TRUE(stub().ListImages(Context().get(), list, &listed).ok());
  ASSERT_EQ(listed.images_size(), 1);
  EXPECT_THAT(listed.images(0).repo_tags(), ::testing::Contains(Reference()));
  EXPECT_GT(listed.images(0).size(), 262144);
  EXPECT_TRUE(listed.images(0).has_created());

  v1::InspectImageRequest inspect;
  inspect.set_image(Reference());
  v1::InspectImageResponse info;
  ASSERT_TRUE(stub().InspectImage(Context().get(), inspect, &info).ok());
  EXPECT_EQ(info.image().id(), listed.images(0).id());
  EXPECT_EQ(info.image().os(), "linux");
  EXPECT_FALSE(info.image().architecture().empty());
  EXPECT_THAT(info.image().repo_digests(),
              ::testing::Contains(StartsWith(Registry() + "/dockline-test/pull@sha256:")));
  EXPECT_EQ(nlohmann::json::parse(info.raw_json())["Id"], info.image().id());

  v1::RemoveImageRequest remove;
  remove.set_image(Reference());
  v1::RemoveImageResponse removed;
  grpc::Status st = stub().RemoveImage(Context().get(), remove, &removed);
  ASSERT_TRUE(st.ok()) << st.error_message();
  bool untagged = false;
  bool deleted = false;
  for (const v1::ImageDeleted& d : removed.deleted()) {
    untagged = untagged || d.untagged() == Reference();
    deleted = deleted || d.deleted() == info.image().id();
  }
  EXPECT_TRUE(untagged);
  EXPECT_TRUE(deleted);
  grpc::Status gone = stub().InspectImage(Context().get(), inspect, &info);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ImagesTest, CliPullImagesRmiAndRunPull) {
  CommandResult pull = Cli({"pull", Reference()});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  // Not a terminal: a line per change of a layer's status, docker's way, then the reference.
  EXPECT_THAT(pull.out, HasSubstr(": Pull complete\n"));
  EXPECT_THAT(pull.out, HasSubstr("Digest: sha256:"));
  EXPECT_THAT(pull.out, ::testing::EndsWith("\n" + Reference() + "\n"));

  CommandResult images = Cli({"images", Registry() + "/dockline-test/pull"});
  ASSERT_EQ(images.exit_code, 0) << images.err;
  EXPECT_THAT(images.out, StartsWith("REPOSITORY"));
  EXPECT_THAT(images.out, HasSubstr(Registry() + "/dockline-test/pull   v1"));

  CommandResult rmi = Cli({"rmi", Reference()});
  ASSERT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_THAT(rmi.out, HasSubstr("Untagged: " + Reference() + "\n"));

  CommandResult never = Cli({"run", "--rm", "--pull", "never", "--network", "none", "-l",
                             LabelKey() + "=" + LabelValue(), Reference(), "true"});
  EXPECT_EQ(never.exit_code, 125);
  EXPECT_THAT(never.err, HasSubstr("No such image"));

  CommandResult run = Cli({"run", "--rm", "--network", "none", "-l",
                           LabelKey() + "=" + LabelValue(), Reference(), "cat", "/marker"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "pulled\n");  // the progress goes to stderr, as docker run's does
  EXPECT_THAT(run.err, HasSubstr("Unable to find image '" + Reference() + "' locally"));
  EXPECT_THAT(run.err, HasSubstr("Pull complete"));

  CommandResult bad = Cli({"run", "--pull", "sometimes", Image(), "true"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("invalid --pull \"sometimes\": want missing, always or never"));
}

// The README's grpcurl block, run as written through a reflection-only client (what grpcurl
// does: no proto files). Swapped: the server's address, the registry (this suite's own), and
// a label on the container the RunContainer example creates, and the WatchEvents window (this
// test's own time, so that the replay holds the RunContainer's start).
TEST_F(ImagesTest, ReadmeGrpcurlExamplesRunAsWritten) {
  const auto started = std::chrono::system_clock::now() - std::chrono::seconds(1);
  const std::string probe =
      std::string(DOCKLINE_SOURCE_DIR) + "/tests/integration/py/grpc_probe.py";
  std::string block = ShBlockAfter(ReadmeText(), "<!-- readme-test:grpcurl -->");
  ASSERT_FALSE(block.empty()) << "the README lost its grpcurl block";
  ReplaceAll(&block, "127.0.0.1:5000/team/app:1.4", Reference());
  ReplaceAll(&block, "\"autoRemove\":true",
             "\"autoRemove\":true,\"labels\":{\"" + LabelKey() + "\":\"" + LabelValue() + "\"}");
  // "web": a running container of this test's own that has logged three lines.
  const std::string web = UniqueName("web");
  auto spec = Spec({"sh", "-c", "echo a; echo b; echo c; sleep 120"});
  spec.set_name(web);
  const std::string web_id = CreateAndStart(spec);
  ASSERT_TRUE(PollUntil([&] { return DaemonTest::Logs(web_id).stdout_data == "a\nb\nc\n"; },
                        std::chrono::seconds(30)));
  ReplaceAll(&block, "\"container\":\"web\"", "\"container\":\"" + web + "\"");
  // "job": a created container of this test's own, for AttachContainer to start.
  const std::string job = UniqueName("job");
  auto job_spec = Spec({"echo", "attached"});
  job_spec.set_name(job);
  std::string job_id;
  ASSERT_TRUE(Create(job_spec, &job_id).ok());
  ReplaceAll(&block, "\"container\":\"job\"", "\"container\":\"" + job + "\"");
  std::map<std::string, std::string> outputs;  // by what was asked
  std::vector<std::string> run_call;
  const auto commands = ReadmeCommands(block);
  ASSERT_GE(commands.size(), 6u);
  for (const ReadmeCommand& command : commands) {
    ASSERT_FALSE(command.argv.empty());
    ASSERT_EQ(command.argv[0], "grpcurl");
    bool emit_defaults = false;
    std::string body = "{}";
    std::vector<std::string> rest;
    for (size_t i = 1; i < command.argv.size(); ++i) {
      const std::string& arg = command.argv[i];
      if (arg == "-plaintext") {
        continue;
      }
      if (arg == "-emit-defaults") {
        emit_defaults = true;
      } else if (arg == "-d" && i + 1 < command.argv.size()) {
        body = command.argv[++i];
      } else {
        ASSERT_NE(arg[0], '-') << "a grpcurl flag this test does not know: " << arg;
        rest.push_back(arg);
      }
    }
    ASSERT_GE(rest.size(), 2u);
    EXPECT_EQ(rest[0], "127.0.0.1:50051");
    std::vector<std::string> argv = {"/usr/bin/python3", probe, ServerAddress()};
    std::string asked = rest[1];
    if (rest.size() == 2 && rest[1] == "list") {
      argv.push_back("reflection");
    } else if (rest.size() == 3 && (rest[1] == "list" || rest[1] == "describe")) {
      argv.insert(argv.end(), {"describe", rest[2]});
      asked += " " + rest[2];
    } else if (rest.size() == 2) {
      argv.insert(argv.end(), {"call", rest[1], body});
      if (emit_defaults) {
        argv.push_back("emit-defaults");
      }
      if (rest[1].ends_with("/WatchEvents")) {
        auto rfc3339 = [](std::chrono::system_clock::time_point t) {
          return google::protobuf::util::TimeUtil::ToString(
              google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
                  std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch())
                      .count()));
        };
        ReplaceAll(&argv[5], "2026-12-03T11:00:00Z", rfc3339(started));
        ReplaceAll(&argv[5], "2026-12-03T11:05:00Z", rfc3339(std::chrono::system_clock::now()));
      }
      if (rest[1].ends_with("/RunContainer")) {
        run_call = {argv.begin(), argv.begin() + 6};
      }
      if (rest[1].ends_with("/StreamExec")) {
        // The README's EXEC_ID is the id StartExec answered just before.
        std::smatch id;
        const std::string& started_exec = outputs["dockline.v1.Dockline/StartExec"];
        ASSERT_TRUE(
            std::regex_search(started_exec, id, std::regex("\"execId\": \"([0-9a-f]{64})\"")))
            << started_exec;
        ReplaceAll(&argv[5], "EXEC_ID", id[1].str());
      }
    } else {
      FAIL() << "a grpcurl command this test does not know: " << ::testing::PrintToString(rest);
    }
    CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 0) << ::testing::PrintToString(command.argv) << "\n" << r.out << r.err;
    while (outputs.count(asked) > 0) {
      asked += " again";  // the second call of the same method
    }
    outputs[asked] = r.out;
  }
  EXPECT_THAT(outputs["list"], HasSubstr("service dockline.v1.Dockline\n"));
  EXPECT_THAT(outputs["list"], HasSubstr("service grpc.health.v1.Health\n"));
  EXPECT_THAT(outputs["describe grpc.health.v1.Health"], HasSubstr("rpc Check("));
  EXPECT_THAT(outputs["list dockline.v1.Dockline"],
              HasSubstr("rpc PullImage(dockline.v1.PullImageRequest) returns "
                        "(stream dockline.v1.PullImageResponse)"));
  const std::string& run = outputs["dockline.v1.Dockline/RunContainer"];
  EXPECT_THAT(run, HasSubstr("\"data\": \"aGkK\""));  // the README: "aGkK" is hi\n
  EXPECT_THAT(run, HasSubstr("\"exitCode\": 0"));     // shown with -emit-defaults
  EXPECT_THAT(outputs["dockline.v1.Dockline/PullImage"], HasSubstr("\"pulled\": {"));
  const std::string& events = outputs["dockline.v1.Dockline/WatchEvents"];
  EXPECT_THAT(events, HasSubstr("\"action\": \"start\""));
  EXPECT_THAT(events, HasSubstr("\"dockline-test\": \"" + LabelValue() + "\""));
  EXPECT_THAT(outputs["grpc.health.v1.Health/Check"], HasSubstr("\"status\": \"SERVING\""));
  EXPECT_THAT(outputs["dockline.v1.Dockline/PruneContainers"], HasSubstr("\"token\": \"dlplan1."));
  const std::string& applied = outputs["dockline.v1.Dockline/PruneContainers again"];
  EXPECT_THAT(applied, HasSubstr("\"id\": \"old-build-1\""));
  EXPECT_THAT(applied, HasSubstr("\"reason\": \"PRUNE_SKIP_REASON_GONE\""));
  const std::string& logs = outputs["dockline.v1.Dockline/StreamLogs"];
  EXPECT_THAT(logs, HasSubstr("\"data\": \"Y"));        // b\n and c\n (tail 2), in base64
  EXPECT_THAT(logs, Not(HasSubstr("\"data\": \"YQ")));  // not a\n
  EXPECT_THAT(logs, HasSubstr("\"cursor\": \"dlcur1."));
  EXPECT_THAT(outputs["dockline.v1.Dockline/GetStats"], HasSubstr("\"memoryUsage\":"));
  const std::string& retained = outputs["dockline.v1.Dockline/StreamExec"];
  EXPECT_THAT(retained, HasSubstr("\"resumed\": {"));
  EXPECT_THAT(retained, HasSubstr("\"data\": \"aGkK\""));
  EXPECT_THAT(retained, HasSubstr("\"exitCode\": 3"));
  const std::string& attached = outputs["dockline.v1.Dockline/AttachContainer"];
  EXPECT_THAT(attached, HasSubstr("\"id\": \"" + job_id + "\""));
  EXPECT_THAT(attached, HasSubstr("\"data\": \"YXR0YWNoZWQK\""));  // attached\n
  EXPECT_THAT(attached, HasSubstr("\"exitCode\": 0"));

  // And what the README says of the same call without -emit-defaults.
  ASSERT_EQ(run_call.size(), 6u);
  CommandResult bare = RunCommand(run_call);
  EXPECT_EQ(bare.exit_code, 0) << bare.err;
  EXPECT_THAT(bare.out, HasSubstr("\"exited\": {\n    \"removed\": true\n  }"));
  EXPECT_THAT(bare.out, Not(HasSubstr("exitCode")));
}

}  // namespace
}  // namespace dockline::testing
