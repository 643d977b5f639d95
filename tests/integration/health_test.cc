// GetHealth, WaitHealthy and WatchHealth (and `dockline health`) against the real daemon.
// Probes run every 100ms; a container that is to turn healthy waits for a file the test
// creates through the daemon's exec API, so "starting" is certain to be seen first and
// nothing depends on timing.

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "harness.h"

namespace dockline::testing {
namespace {

using ::testing::HasSubstr;

constexpr auto kGenerous = std::chrono::seconds(60);  // catches hangs only

class HealthTest : public DaemonTest {
 protected:
  // `command` runs with a CMD-SHELL `probe` every 100ms; `retries` failures make it unhealthy.
  v1::ContainerSpec HealthSpec(std::vector<std::string> command, const std::string& probe,
                               int retries) {
    v1::ContainerSpec spec = Spec(std::move(command));
    auto* hc = spec.mutable_healthcheck();
    hc->add_test("CMD-SHELL");
    hc->add_test(probe);
    hc->mutable_interval()->set_nanos(100000000);
    hc->mutable_timeout()->set_seconds(10);
    hc->set_retries(retries);
    return spec;
  }

  // Healthy once the test creates /tmp/ok; never unhealthy before that.
  std::string StartGated() {
    return CreateAndStart(HealthSpec({"sleep", "300"}, "test -f /tmp/ok", 1000000));
  }

  // Creates /tmp/ok in the container through the daemon, not through dockline.
  void OpenGate(const std::string& id) {
    engine::ApiRequest create("POST", "/containers/" + id + "/exec");
    create.body = nlohmann::json{{"Cmd", {"touch", "/tmp/ok"}}}.dump();
    auto created = Daemon(create);
    ASSERT_TRUE(created.ok()) << created.status().message();
    auto exec_id = nlohmann::json::parse(created->body, nullptr, false).value("Id", "");
    engine::ApiRequest start("POST", "/exec/" + exec_id + "/start");
    start.body = R"({"Detach":true})";
    auto started = Daemon(start);
    ASSERT_TRUE(started.ok()) << started.status().message();
  }

  grpc::Status GetHealth(const std::string& id, v1::GetHealthResponse* resp) {
    v1::GetHealthRequest req;
    req.set_container(id);
    auto ctx = Context();
    return stub().GetHealth(ctx.get(), req, resp);
  }

  grpc::Status WaitHealthy(const std::string& id, int timeout_ms, v1::WaitHealthyResponse* resp,
                           std::chrono::milliseconds rpc_deadline = kGenerous) {
    v1::WaitHealthyRequest req;
    req.set_container(id);
    if (timeout_ms > 0) {
      *req.mutable_timeout() = google::protobuf::util::TimeUtil::MillisecondsToDuration(timeout_ms);
    }
    auto ctx = Context(rpc_deadline);
    return stub().WaitHealthy(ctx.get(), req, resp);
  }

  std::string DaemonHealthStatus(const std::string& id) {
    auto inspect = DaemonInspect(id);
    if (!inspect.is_object() || !inspect["State"].contains("Health")) {
      return "";
    }
    return inspect["State"]["Health"].value("Status", "");
  }

  void Kill(const std::string& id) {
    engine::ApiRequest kill("POST", "/containers/" + id + "/kill");
    auto res = Daemon(kill);
    ASSERT_TRUE(res.ok()) << res.status().message();
  }

  CommandResult Cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {DOCKLINE_CLI_PATH, "--addr", ServerAddress()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
};

TEST_F(HealthTest, WaitHealthyReachesHealthyOnceTheProbePasses) {
  std::string id = StartGated();
  ASSERT_FALSE(id.empty());
  auto waiting = std::async(std::launch::async, [&] {
    v1::WaitHealthyResponse resp;
    grpc::Status st = WaitHealthy(id, 0, &resp);
    return std::make_pair(st, resp);
  });
  v1::GetHealthResponse before;
  ASSERT_TRUE(GetHealth(id, &before).ok());
  EXPECT_EQ(before.health().status(), v1::HEALTH_STATUS_STARTING);
  EXPECT_EQ(before.container_status(), v1::CONTAINER_STATUS_RUNNING);
  OpenGate(id);
  auto [st, resp] = waiting.get();
  ASSERT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  EXPECT_EQ(resp.health().status(), v1::HEALTH_STATUS_HEALTHY);
  ASSERT_GT(resp.health().log_size(), 0);
  EXPECT_EQ(resp.health().log(resp.health().log_size() - 1).exit_code(), 0);
  EXPECT_EQ(DaemonHealthStatus(id), "healthy");
}

TEST_F(HealthTest, GetHealthOfAHealthyContainerMatchesTheDaemon) {
  std::string id = CreateAndStart(HealthSpec({"sleep", "300"}, "echo fine", 3));
  ASSERT_FALSE(id.empty());
  v1::WaitHealthyResponse waited;
  ASSERT_TRUE(WaitHealthy(id, 60000, &waited).ok());
  v1::GetHealthResponse resp;
  ASSERT_TRUE(GetHealth(id, &resp).ok());
  EXPECT_EQ(resp.health().status(), v1::HEALTH_STATUS_HEALTHY);
  EXPECT_EQ(resp.health().failing_streak(), 0);
  ASSERT_GT(resp.health().log_size(), 0);
  const auto& probe = resp.health().log(resp.health().log_size() - 1);
  EXPECT_EQ(probe.exit_code(), 0);
  EXPECT_EQ(probe.output(), "fine\n");
  EXPECT_TRUE(probe.has_start());
  EXPECT_TRUE(probe.has_end());
  auto inspect = DaemonInspect(id);
  EXPECT_EQ(resp.health().log_size(), static_cast<int>(inspect["State"]["Health"]["Log"].size()));
}

TEST_F(HealthTest, WaitHealthyFailsWhenTheContainerTurnsUnhealthy) {
  std::string id = CreateAndStart(HealthSpec({"sleep", "300"}, "echo nope; exit 3", 2));
  ASSERT_FALSE(id.empty());
  v1::WaitHealthyResponse resp;
  grpc::Status st = WaitHealthy(id, 60000, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_THAT(st.error_message(), HasSubstr("unhealthy"));
  EXPECT_THAT(st.error_message(), HasSubstr("exited with 3"));
  EXPECT_THAT(st.error_message(), HasSubstr("nope"));
  EXPECT_EQ(DaemonHealthStatus(id), "unhealthy");
  v1::GetHealthResponse health;
  ASSERT_TRUE(GetHealth(id, &health).ok());
  EXPECT_EQ(health.health().status(), v1::HEALTH_STATUS_UNHEALTHY);
  EXPECT_GE(health.health().failing_streak(), 2);
}

TEST_F(HealthTest, NoHealthcheckIsReportedAndRefusedForWaiting) {
  v1::ContainerSpec spec = Spec({"sleep", "300"});
  spec.mutable_healthcheck()->add_test("NONE");
  std::string id = CreateAndStart(spec);
  ASSERT_FALSE(id.empty());
  v1::GetHealthResponse health;
  ASSERT_TRUE(GetHealth(id, &health).ok());
  EXPECT_EQ(health.health().status(), v1::HEALTH_STATUS_NONE);
  v1::WaitHealthyResponse resp;
  grpc::Status st = WaitHealthy(id, 60000, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("no healthcheck"));

  v1::WatchHealthRequest req;
  req.set_container(id);
  auto ctx = Context();
  auto reader = stub().WatchHealth(ctx.get(), req);
  v1::WatchHealthResponse msg;
  EXPECT_FALSE(reader->Read(&msg));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(HealthTest, WaitHealthyTimesOut) {
  std::string id = StartGated();
  ASSERT_FALSE(id.empty());
  v1::WaitHealthyResponse resp;
  grpc::Status st = WaitHealthy(id, 500, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
  EXPECT_THAT(st.error_message(), HasSubstr("did not become healthy"));
  // The RPC deadline bounds the wait the same way.
  st = WaitHealthy(id, 0, &resp, std::chrono::milliseconds(500));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
  auto inspect = DaemonInspect(id);
  EXPECT_TRUE(inspect["State"].value("Running", false)) << "the wait must not touch the container";
}

TEST_F(HealthTest, WaitHealthyEndsWhenTheContainerExits) {
  std::string id =
      CreateAndStart(HealthSpec({"sh", "-c", "sleep 1; exit 4"}, "test -f /tmp/never", 1000000));
  ASSERT_FALSE(id.empty());
  v1::WaitHealthyResponse resp;
  grpc::Status st = WaitHealthy(id, 60000, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  // Either the exit was seen while waiting, or (on a slow machine) it came first.
  EXPECT_THAT(st.error_message(),
              ::testing::AnyOf(HasSubstr("exited while waiting"), HasSubstr("is not running")));
}

TEST_F(HealthTest, WaitHealthyOnAStoppedContainerSaysItIsNotRunning) {
  std::string id = StartGated();
  ASSERT_FALSE(id.empty());
  Kill(id);
  ASSERT_TRUE(
      PollUntil([&] { return !DaemonInspect(id)["State"].value("Running", true); }, kGenerous));
  v1::WaitHealthyResponse resp;
  grpc::Status st = WaitHealthy(id, 60000, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("not running"));
  // The daemon says "unhealthy" for it; GetHealth says why that is not the application's fault.
  v1::GetHealthResponse health;
  ASSERT_TRUE(GetHealth(id, &health).ok());
  EXPECT_EQ(health.container_status(), v1::CONTAINER_STATUS_EXITED);
}

TEST_F(HealthTest, WaitHealthyOnAMissingContainerIsNotFound) {
  v1::WaitHealthyResponse resp;
  grpc::Status st = WaitHealthy(UniqueName("missing"), 5000, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
}

TEST_F(HealthTest, WatchHealthSeesStartingThenHealthyAndEndsAtTheStop) {
  std::string id = StartGated();
  ASSERT_FALSE(id.empty());
  v1::WatchHealthRequest req;
  req.set_container(id);
  auto ctx = Context(std::chrono::seconds(120));
  auto reader = stub().WatchHealth(ctx.get(), req);
  v1::WatchHealthResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.health().status(), v1::HEALTH_STATUS_STARTING);
  EXPECT_TRUE(msg.has_time());
  OpenGate(id);
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.health().status(), v1::HEALTH_STATUS_HEALTHY);
  ASSERT_GT(msg.health().log_size(), 0);
  Kill(id);
  // The daemon's "unhealthy" after the stop is not reported: the stream just ends.
  std::vector<v1::HealthStatus> after;
  while (reader->Read(&msg)) {
    after.push_back(msg.health().status());
  }
  grpc::Status st = reader->Finish();
  EXPECT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  EXPECT_THAT(after, ::testing::IsEmpty());
}

TEST_F(HealthTest, WatchHealthReportsUnhealthyAndEndsWhenRemoved) {
  std::string id = CreateAndStart(HealthSpec({"sleep", "300"}, "exit 1", 2));
  ASSERT_FALSE(id.empty());
  v1::WatchHealthRequest req;
  req.set_container(id);
  auto ctx = Context(std::chrono::seconds(120));
  auto reader = stub().WatchHealth(ctx.get(), req);
  v1::WatchHealthResponse msg;
  std::vector<v1::HealthStatus> seen;
  while (reader->Read(&msg)) {
    seen.push_back(msg.health().status());
    if (msg.health().status() == v1::HEALTH_STATUS_UNHEALTHY) {
      engine::ApiRequest del("DELETE", "/containers/" + id);
      del.Query("force", "1");
      ASSERT_TRUE(Daemon(del).ok());
    }
  }
  grpc::Status st = reader->Finish();
  EXPECT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), v1::HEALTH_STATUS_UNHEALTHY);
  // Starting first, unless the probes were faster than the subscription.
  EXPECT_LE(seen.size(), 2u);
}

TEST_F(HealthTest, IntervalBelowTheDaemonsMinimumIsRefusedNamingTheField) {
  v1::ContainerSpec spec = HealthSpec({"sleep", "300"}, "true", 1);
  spec.mutable_healthcheck()->mutable_interval()->set_nanos(500000);  // 0.5ms
  std::string id;
  grpc::Status st = Create(spec, &id);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("spec.healthcheck.interval"));
  spec = HealthSpec({"sleep", "300"}, "true", -1);
  st = Create(spec, &id);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("spec.healthcheck.retries"));
}

TEST_F(HealthTest, CliShowsWaitsAndWatches) {
  std::string id = StartGated();
  ASSERT_FALSE(id.empty());
  CommandResult shown = Cli({"health", id});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("Status:          starting"));

  CommandResult timed_out = Cli({"health", "--wait", "--timeout", "300ms", id});
  EXPECT_EQ(timed_out.exit_code, 1);
  EXPECT_THAT(timed_out.err, HasSubstr("did not become healthy"));
  EXPECT_EQ(timed_out.out, "") << "no progress line when stdout is not a terminal";

  auto watching = std::async(std::launch::async, [&] { return Cli({"health", "--watch", id}); });
  auto waiting = std::async(std::launch::async, [&] {
    return Cli({"health", "--wait", id, "--json"});
  });
  // The watch prints its first line once subscribed; the gate opens after that at the latest
  // by this poll (a hang guard, not a timing assumption: starting is printed either way).
  PollUntil([] { return false; }, std::chrono::milliseconds(300));
  OpenGate(id);
  CommandResult waited = waiting.get();
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  auto j = nlohmann::json::parse(waited.out, nullptr, false);
  EXPECT_EQ(j["health"]["status"], "HEALTH_STATUS_HEALTHY") << waited.out;
  Kill(id);
  CommandResult watched = watching.get();
  EXPECT_EQ(watched.exit_code, 0) << watched.err;
  EXPECT_THAT(watched.out, HasSubstr("  healthy")) << watched.out;
  EXPECT_THAT(watched.out, ::testing::Not(HasSubstr("unhealthy"))) << watched.out;
}

}  // namespace
}  // namespace dockline::testing
