#include "client/client.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/container_spec_builder.h"
#include "unit/client/fake_dockline.h"

namespace dockline::client {
namespace {

// gRPC sends a deadline as a grpc-timeout header and rounds it up to a coarser unit on the way
// (30 s has been seen arriving as 30.099 s), so the server may see up to this much more than the
// client asked for. Without it these checks failed in about one run in five.
constexpr std::chrono::milliseconds kTimeoutEncodingSlack{200};

using ::google::protobuf::util::TimeUtil;
using testing::ClientTest;
using ::testing::ElementsAre;
using testing::Exited;
using ::testing::HasSubstr;
using testing::Output;
using ::testing::Pair;
using testing::Started;

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

}  // namespace
}  // namespace dockline::client
