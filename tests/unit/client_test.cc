#include "client/client.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "client/cli/cli.h"
#include "client/container_spec_builder.h"
#include "client/shlex.h"

namespace dockline::client {
namespace {

// gRPC sends a deadline as a grpc-timeout header and rounds it up to a coarser unit on the way
// (30 s has been seen arriving as 30.099 s), so the server may see up to this much more than the
// client asked for. Without it these checks failed in about one run in five.
constexpr std::chrono::milliseconds kTimeoutEncodingSlack{200};

using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// A scripted Dockline service: each RPC records its request and answers with what the test
// put in the fields below.
class FakeDockline final : public v1::Dockline::Service {
 public:
  grpc::Status RunContainer(grpc::ServerContext* context, const v1::RunContainerRequest* request,
                            grpc::ServerWriter<v1::RunContainerResponse>* writer) override {
    Record(context, *request, run_request);
    for (const v1::RunContainerResponse& event : run_events) {
      writer->Write(event);
    }
    return run_status;
  }

  grpc::Status WaitContainer(grpc::ServerContext* context, const v1::WaitContainerRequest* request,
                             v1::WaitContainerResponse* response) override {
    Record(context, *request, wait_request);
    *response = wait_response;
    return wait_status;
  }

  grpc::Status InspectContainer(grpc::ServerContext* context,
                                const v1::InspectContainerRequest* request,
                                v1::InspectContainerResponse* response) override {
    Record(context, *request, inspect_request);
    *response = inspect_response;
    return inspect_status;
  }

  grpc::Status CreateContainer(grpc::ServerContext* context,
                               const v1::CreateContainerRequest* request,
                               v1::CreateContainerResponse* response) override {
    Record(context, *request, create_request);
    response->set_id("c0ffee");
    response->add_warnings("careful");
    return grpc::Status::OK;
  }

  grpc::Status StopContainer(grpc::ServerContext* context, const v1::StopContainerRequest* request,
                             v1::StopContainerResponse* response) override {
    Record(context, *request, stop_request);
    response->set_already_stopped(true);
    return grpc::Status::OK;
  }

  grpc::Status KillContainer(grpc::ServerContext* context, const v1::KillContainerRequest* request,
                             v1::KillContainerResponse*) override {
    Record(context, *request, kill_request);
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "container abc is not running");
  }

  grpc::Status RemoveContainer(grpc::ServerContext* context,
                               const v1::RemoveContainerRequest* request,
                               v1::RemoveContainerResponse*) override {
    Record(context, *request, remove_request);
    return grpc::Status::OK;
  }

  grpc::Status ListContainers(grpc::ServerContext* context,
                              const v1::ListContainersRequest* request,
                              v1::ListContainersResponse* response) override {
    Record(context, *request, list_request);
    response->add_containers()->set_id("0123456789abcdef");
    return grpc::Status::OK;
  }

  grpc::Status GetEngineInfo(grpc::ServerContext* context, const v1::GetEngineInfoRequest* request,
                             v1::GetEngineInfoResponse* response) override {
    v1::GetEngineInfoRequest ignored;
    Record(context, *request, ignored);
    response->set_engine_version("20.10.24");
    response->set_api_version("1.41");
    return grpc::Status::OK;
  }

  // Scripted answers.
  std::vector<v1::RunContainerResponse> run_events;
  grpc::Status run_status;
  v1::WaitContainerResponse wait_response;
  grpc::Status wait_status;
  v1::InspectContainerResponse inspect_response;
  grpc::Status inspect_status;

  // What arrived. The server runs RPCs on its own threads; the client call returning orders the
  // writes before the test reads them.
  v1::RunContainerRequest run_request;
  v1::WaitContainerRequest wait_request;
  v1::InspectContainerRequest inspect_request;
  v1::CreateContainerRequest create_request;
  v1::StopContainerRequest stop_request;
  v1::KillContainerRequest kill_request;
  v1::RemoveContainerRequest remove_request;
  v1::ListContainersRequest list_request;
  // Time left until the deadline of the last call; nullopt when it had none.
  std::optional<std::chrono::milliseconds> last_deadline_left;

 private:
  template <class Request>
  void Record(grpc::ServerContext* context, const Request& request, Request& into) {
    std::lock_guard lock(mutex_);
    into = request;
    const auto deadline = context->deadline();
    if (deadline == std::chrono::system_clock::time_point::max()) {
      last_deadline_left.reset();
    } else {
      last_deadline_left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::system_clock::now());
    }
  }

  std::mutex mutex_;
};

v1::RunContainerResponse Started(const std::string& id) {
  v1::RunContainerResponse event;
  event.mutable_started()->set_id(id);
  return event;
}

v1::RunContainerResponse Output(v1::Stream stream, const std::string& data) {
  v1::RunContainerResponse event;
  event.mutable_output()->set_stream(stream);
  event.mutable_output()->set_data(data);
  return event;
}

v1::RunContainerResponse Exited(int64_t code) {
  v1::RunContainerResponse event;
  event.mutable_exited()->set_exit_code(code);
  return event;
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    address_ = "127.0.0.1:" + std::to_string(port);
  }

  void TearDown() override { server_->Shutdown(); }

  Client MakeClient(ClientOptions options = {}) { return Client::Connect(address_, options); }

  FakeDockline service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

TEST_F(ClientTest, RunCollectsOutputPerStreamAndExitCode) {
  service_.run_events = {Started("abc123"), Output(v1::STREAM_STDOUT, "hello "),
                         Output(v1::STREAM_STDERR, "oops\n"),
                         Output(v1::STREAM_STDOUT, std::string("wor\0ld\n", 7)), Exited(3)};
  Client client = MakeClient();
  std::vector<std::pair<v1::Stream, std::string>> seen;
  RunOptions options;
  options.on_output = [&seen](v1::Stream stream, std::string_view data) {
    seen.emplace_back(stream, std::string(data));
  };

  Result<RunResult> result =
      client.Run(ContainerSpecBuilder("busybox").Command("sh -c 'exit 3'").spec(), options);

  ASSERT_TRUE(result.ok()) << result.status.error_message();
  EXPECT_EQ(result.value.id, "abc123");
  EXPECT_EQ(result.value.exit_code, 3);
  EXPECT_EQ(result.value.stdout_bytes, std::string("hello wor\0ld\n", 13));
  EXPECT_EQ(result.value.stderr_bytes, "oops\n");
  EXPECT_EQ(result.value.output, std::string("hello oops\nwor\0ld\n", 18));
  EXPECT_THAT(seen,
              ElementsAre(Pair(v1::STREAM_STDOUT, "hello "), Pair(v1::STREAM_STDERR, "oops\n"),
                          Pair(v1::STREAM_STDOUT, std::string("wor\0ld\n", 7))));
  EXPECT_EQ(service_.run_request.spec().image(), "busybox");
  EXPECT_THAT(service_.run_request.spec().command(), ElementsAre("sh", "-c", "exit 3"));
  EXPECT_FALSE(service_.run_request.detach());
  // An attached run lasts as long as the container: no deadline unless asked for.
  EXPECT_FALSE(service_.last_deadline_left.has_value());
}

TEST_F(ClientTest, RunWithoutCollectingKeepsOnlyCallbacks) {
  service_.run_events = {Started("abc"), Output(v1::STREAM_STDOUT, "data"), Exited(0)};
  Client client = MakeClient();
  RunOptions options;
  options.collect_output = false;
  std::string seen;
  int events = 0;
  options.on_output = [&seen](v1::Stream, std::string_view data) { seen.append(data); };
  options.on_event = [&events](const v1::RunContainerResponse&) { ++events; };

  Result<RunResult> result = client.Run(ContainerSpecBuilder("busybox").spec(), options);

  ASSERT_TRUE(result.ok());
  EXPECT_EQ(seen, "data");
  EXPECT_EQ(events, 3);
  EXPECT_TRUE(result.value.output.empty());
  EXPECT_TRUE(result.value.stdout_bytes.empty());
}

TEST_F(ClientTest, RunDetachedReturnsIdWithoutExitCode) {
  service_.run_events = {Started("abc")};
  Client client = MakeClient(ClientOptions{std::chrono::seconds(30)});
  RunOptions options;
  options.detach = true;

  Result<RunResult> result = client.Run(ContainerSpecBuilder("busybox").spec(), options);

  ASSERT_TRUE(result.ok()) << result.status.error_message();
  EXPECT_EQ(result.value.id, "abc");
  EXPECT_EQ(result.value.exit_code, -1);
  EXPECT_TRUE(service_.run_request.detach());
  // A detached run is a short call, so the default deadline applies.
  ASSERT_TRUE(service_.last_deadline_left.has_value());
  EXPECT_LE(*service_.last_deadline_left, std::chrono::seconds(30) + kTimeoutEncodingSlack);
}

TEST_F(ClientTest, RunErrorStatusComesThroughWithPartialResult) {
  service_.run_events = {Started("abc"), Output(v1::STREAM_STDOUT, "partial")};
  service_.run_status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "engine went away");
  Client client = MakeClient();

  Result<RunResult> result = client.Run(ContainerSpecBuilder("busybox").spec());

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(result.status.error_message(), "engine went away");
  EXPECT_EQ(result.value.id, "abc");
  EXPECT_EQ(result.value.output, "partial");
  EXPECT_EQ(result.value.exit_code, -1);
}

TEST_F(ClientTest, RunErrorBeforeStart) {
  service_.run_status = grpc::Status(grpc::StatusCode::NOT_FOUND, "No such image: nope:latest");
  Client client = MakeClient();

  Result<RunResult> result = client.Run(ContainerSpecBuilder("nope").spec());

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(result.status.error_message(), "No such image: nope:latest");
  EXPECT_TRUE(result.value.id.empty());
}

TEST_F(ClientTest, RunStreamEndingWithoutExitIsAnError) {
  service_.run_events = {Started("abc"), Output(v1::STREAM_STDOUT, "x")};
  Client client = MakeClient();

  Result<RunResult> result = client.Run(ContainerSpecBuilder("busybox").spec());

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(result.status.error_message(), HasSubstr("exit status"));
}

TEST_F(ClientTest, RunCarriesExitedDetails) {
  v1::RunContainerResponse exited = Exited(137);
  exited.mutable_exited()->set_removed(true);
  v1::RunContainerResponse started = Started("abc");
  started.mutable_started()->add_warnings("memory limit ignored");
  service_.run_events = {started, exited};
  Client client = MakeClient();

  Result<RunResult> result = client.Run(ContainerSpecBuilder("busybox").AutoRemove().spec());

  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value.exit_code, 137);
  EXPECT_TRUE(result.value.removed);
  EXPECT_THAT(result.value.warnings, ElementsAre("memory limit ignored"));
  EXPECT_TRUE(service_.run_request.spec().auto_remove());
}

TEST_F(ClientTest, WaitPassesTimeoutAndConditionAndSetsDeadline) {
  service_.wait_response.set_exit_code(7);
  Client client = MakeClient();

  auto result = client.Wait("abc", std::chrono::seconds(2), v1::WAIT_CONDITION_NEXT_EXIT);

  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value.exit_code(), 7);
  EXPECT_EQ(service_.wait_request.container(), "abc");
  EXPECT_EQ(service_.wait_request.condition(), v1::WAIT_CONDITION_NEXT_EXIT);
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(service_.wait_request.timeout()), 2000);
  // The server should answer the timeout itself, so the RPC deadline comes a little later.
  ASSERT_TRUE(service_.last_deadline_left.has_value());
  EXPECT_GT(*service_.last_deadline_left, std::chrono::seconds(2));
  EXPECT_LE(*service_.last_deadline_left, std::chrono::seconds(8));
}

TEST_F(ClientTest, WaitTimeoutGivesDeadlineExceeded) {
  service_.wait_status =
      grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "container abc still running after 1s");
  Client client = MakeClient();

  auto result = client.Wait("abc", std::chrono::milliseconds(1500));

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(result.status.error_message(), "container abc still running after 1s");
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(service_.wait_request.timeout()), 1500);
}

TEST_F(ClientTest, WaitWithoutTimeoutHasNoDeadlineEvenWithADefault) {
  Client client = MakeClient(ClientOptions{std::chrono::seconds(5)});

  auto result = client.Wait("abc");

  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(service_.wait_request.has_timeout());
  EXPECT_EQ(service_.wait_request.condition(), v1::WAIT_CONDITION_UNSPECIFIED);
  EXPECT_FALSE(service_.last_deadline_left.has_value());
}

TEST_F(ClientTest, DefaultTimeoutAppliesToShortCalls) {
  service_.inspect_response.set_raw_json("{}");
  Client client = MakeClient(ClientOptions{std::chrono::seconds(5)});

  ASSERT_TRUE(client.Inspect("abc").ok());

  ASSERT_TRUE(service_.last_deadline_left.has_value());
  EXPECT_LE(*service_.last_deadline_left, std::chrono::seconds(5) + kTimeoutEncodingSlack);
  EXPECT_GT(*service_.last_deadline_left, std::chrono::seconds(3));
}

TEST_F(ClientTest, StopDeadlineCoversTheGracePeriod) {
  Client client = MakeClient(ClientOptions{std::chrono::seconds(5)});

  auto result = client.Stop("abc", std::chrono::seconds(30));

  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.value.already_stopped());
  EXPECT_EQ(TimeUtil::DurationToSeconds(service_.stop_request.timeout()), 30);
  ASSERT_TRUE(service_.last_deadline_left.has_value());
  EXPECT_GT(*service_.last_deadline_left, std::chrono::seconds(30));
}

TEST_F(ClientTest, StopWithoutTimeoutLeavesItUnset) {
  Client client = MakeClient();

  ASSERT_TRUE(client.Stop("abc").ok());

  EXPECT_FALSE(service_.stop_request.has_timeout());
  EXPECT_FALSE(service_.last_deadline_left.has_value());
}

TEST_F(ClientTest, ErrorStatusesComeThrough) {
  service_.inspect_status = grpc::Status(grpc::StatusCode::NOT_FOUND, "No such container: nope");
  Client client = MakeClient();

  auto inspect = client.Inspect("nope");
  grpc::Status kill = client.Kill("abc", "SIGINT");

  EXPECT_EQ(inspect.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(inspect.status.error_message(), "No such container: nope");
  EXPECT_FALSE(inspect.ok());
  EXPECT_EQ(kill.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(kill.error_message(), "container abc is not running");
  EXPECT_EQ(service_.kill_request.signal(), "SIGINT");
}

TEST_F(ClientTest, CreateRemoveListAndEngineInfoPassArguments) {
  Client client = MakeClient();

  auto created = client.Create(ContainerSpecBuilder("busybox").Name("one-off").spec());
  grpc::Status removed = client.Remove("one-off", /*force=*/true, /*volumes=*/true);
  auto listed = client.List(true, {{"label", "a=b"}, {"label", "c"}, {"status", "exited"}}, 3);
  auto info = client.EngineInfo();

  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created.value.id(), "c0ffee");
  EXPECT_THAT(created.value.warnings(), ElementsAre("careful"));
  EXPECT_EQ(service_.create_request.spec().name(), "one-off");
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(service_.remove_request.force());
  EXPECT_TRUE(service_.remove_request.remove_volumes());
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed.value.containers_size(), 1);
  EXPECT_TRUE(service_.list_request.all());
  EXPECT_EQ(service_.list_request.limit(), 3);
  ASSERT_EQ(service_.list_request.filters_size(), 3);
  EXPECT_EQ(service_.list_request.filters(1).key(), "label");
  EXPECT_EQ(service_.list_request.filters(1).value(), "c");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info.value.api_version(), "1.41");
}

TEST(ClientConnectTest, UnreachableServerIsUnavailable) {
  // Port 1 on loopback: nothing listens there in a test environment.
  Client client = Client::Connect("127.0.0.1:1", ClientOptions{std::chrono::seconds(5)});

  auto result = client.Inspect("abc");
  Result<RunResult> run = client.Run(ContainerSpecBuilder("busybox").spec());

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(run.status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

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
  EXPECT_THAT(out_.str(), HasSubstr(R"("exited":{"exitCode":"0")"));
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

TEST(ShlexSplitTest, SplitsLikePython) {
  const auto split = [](std::string_view command) {
    auto result = ShlexSplit(command);
    EXPECT_TRUE(result.ok()) << command << ": " << result.status.error_message();
    return result.value;
  };
  EXPECT_THAT(split("sh -c \"echo hi; exit 3\""), ElementsAre("sh", "-c", "echo hi; exit 3"));
  EXPECT_THAT(split("python -c 'print(1+1)'"), ElementsAre("python", "-c", "print(1+1)"));
  EXPECT_THAT(split("  a\t b\n c  "), ElementsAre("a", "b", "c"));
  EXPECT_THAT(split(""), ElementsAre());
  EXPECT_THAT(split("a'b c'd"), ElementsAre("ab cd"));
  EXPECT_THAT(split("'' \"\""), ElementsAre("", ""));
  EXPECT_THAT(split(R"(a\ b)"), ElementsAre("a b"));
  EXPECT_THAT(split(R"("a \"q\" \\ \n")"), ElementsAre(R"(a "q" \ \n)"));
  EXPECT_THAT(split(R"('it''s' 'a\b')"), ElementsAre("its", R"(a\b)"));
  EXPECT_THAT(split("echo $HOME 'a;b' #x"), ElementsAre("echo", "$HOME", "a;b", "#x"));
}

TEST(ShlexSplitTest, RejectsUnbalancedInput) {
  EXPECT_THAT(ShlexSplit("sh -c 'exit 3").status.error_message(),
              HasSubstr("no closing quotation"));
  EXPECT_THAT(ShlexSplit("a \"b").status.error_message(), HasSubstr("no closing quotation"));
  EXPECT_THAT(ShlexSplit("a \\").status.error_message(), HasSubstr("no escaped character"));
  EXPECT_EQ(ShlexSplit("'").status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(ContainerSpecBuilderTest, DockerPyValueForms) {
  HealthcheckOptions health;
  health.test = {"CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"};
  health.interval = std::chrono::seconds(10);
  health.timeout = std::chrono::seconds(5);
  health.retries = 3;
  health.start_period = std::chrono::minutes(1);

  auto spec = ContainerSpecBuilder("python:3.12-slim")
                  .Command("python app.py")
                  .Name("my-app")
                  .Ports({{"8000/tcp", 8080}, {"8443/tcp", {"127.0.0.1", 8443}}})
                  .Port("9000/udp", {"127.0.0.1"})
                  .Port(53)
                  .Env({{"DEBUG", "1"}, {"DB_URL", "sqlite:///data.db"}})
                  .Volume("/host/data", "/data", "rw")
                  .Volume("cache", "/cache", "ro")
                  .Tmpfs("/tmp", "size=100m")
                  .RestartPolicy("on-failure", 3)
                  .Memory("512m")
                  .NanoCpus(500'000'000)
                  .Labels({{"app", "web"}})
                  .Healthcheck(health)
                  .StopTimeout(std::chrono::seconds(20))
                  .Build();

  ASSERT_TRUE(spec.ok()) << spec.status.error_message();
  const v1::ContainerSpec& s = spec.value;
  EXPECT_THAT(s.command(), ElementsAre("python", "app.py"));
  ASSERT_EQ(s.ports_size(), 4);
  EXPECT_EQ(s.ports(0).container_port(), 8000u);
  EXPECT_EQ(s.ports(0).protocol(), v1::PROTOCOL_TCP);
  EXPECT_EQ(s.ports(0).host_ip(), "");
  EXPECT_EQ(s.ports(0).host_port(), 8080u);
  EXPECT_EQ(s.ports(1).host_ip(), "127.0.0.1");
  EXPECT_EQ(s.ports(1).host_port(), 8443u);
  EXPECT_EQ(s.ports(2).protocol(), v1::PROTOCOL_UDP);
  EXPECT_EQ(s.ports(2).host_ip(), "127.0.0.1");
  EXPECT_EQ(s.ports(2).host_port(), 0u);
  EXPECT_EQ(s.ports(3).container_port(), 53u);
  EXPECT_EQ(s.ports(3).host_port(), 0u);
  EXPECT_THAT(s.env(), UnorderedElementsAre("DEBUG=1", "DB_URL=sqlite:///data.db"));
  ASSERT_EQ(s.volumes_size(), 2);
  EXPECT_EQ(s.volumes(0).source(), "/host/data");
  EXPECT_FALSE(s.volumes(0).read_only());
  EXPECT_EQ(s.volumes(1).source(), "cache");
  EXPECT_TRUE(s.volumes(1).read_only());
  EXPECT_EQ(s.tmpfs().at("/tmp"), "size=100m");
  EXPECT_EQ(s.restart_policy().name(), v1::RESTART_POLICY_NAME_ON_FAILURE);
  EXPECT_EQ(s.restart_policy().maximum_retry_count(), 3);
  EXPECT_EQ(s.memory(), "512m");
  EXPECT_EQ(s.nano_cpus(), 500'000'000);
  EXPECT_EQ(s.labels().at("app"), "web");
  EXPECT_THAT(s.healthcheck().test(),
              ElementsAre("CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"));
  EXPECT_EQ(TimeUtil::DurationToSeconds(s.healthcheck().interval()), 10);
  EXPECT_EQ(TimeUtil::DurationToSeconds(s.healthcheck().timeout()), 5);
  EXPECT_EQ(TimeUtil::DurationToSeconds(s.healthcheck().start_period()), 60);
  EXPECT_FALSE(s.healthcheck().has_start_interval());
  EXPECT_EQ(s.healthcheck().retries(), 3);
  EXPECT_EQ(TimeUtil::DurationToSeconds(s.stop_timeout()), 20);
}

TEST(ContainerSpecBuilderTest, FirstErrorWins) {
  auto spec = ContainerSpecBuilder("busybox").Port("http/tcp", 80).Command("sh -c 'oops").Build();
  EXPECT_EQ(spec.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(spec.status.error_message(), HasSubstr("invalid port \"http\""));
}

TEST(ContainerSpecBuilderTest, RejectsBadValues) {
  const auto error = [](const ContainerSpecBuilder& builder) {
    return builder.Build().status.error_message();
  };
  EXPECT_THAT(error(ContainerSpecBuilder("")), HasSubstr("image is required"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").Port("80/xyz", 1)), HasSubstr("invalid protocol"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").Port("80", 70000)), HasSubstr("invalid host port"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").RestartPolicy("sometimes")),
              HasSubstr("invalid restart policy"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").RestartPolicy("always", 3)),
              HasSubstr("maximum retry count"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").Volume("/h", "relative")),
              HasSubstr("not an absolute path"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").Healthcheck({.test = {"CMD"}})),
              HasSubstr("needs a command"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").Healthcheck(
                  {.test = {"NONE"}, .interval = std::chrono::microseconds(10)})),
              HasSubstr("at least 1ms"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").Env("", "x")), HasSubstr("environment variable"));
}

TEST(ContainerSpecBuilderTest, AnonymousAndNoCopyVolumesBecomeMounts) {
  auto spec = ContainerSpecBuilder("b").Volume("", "/data").Volume("v", "/v", "nocopy").Build();
  ASSERT_TRUE(spec.ok()) << spec.status.error_message();
  ASSERT_EQ(spec.value.mounts_size(), 2);
  EXPECT_EQ(spec.value.mounts(0).type(), v1::MOUNT_TYPE_VOLUME);
  EXPECT_EQ(spec.value.mounts(0).source(), "");
  EXPECT_EQ(spec.value.mounts(0).target(), "/data");
  EXPECT_EQ(spec.value.mounts(1).source(), "v");
  EXPECT_TRUE(spec.value.mounts(1).no_copy());
}

}  // namespace
}  // namespace dockline::client
