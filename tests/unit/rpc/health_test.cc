#include "server/rpc/health.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "server/codec/health_codec.h"
#include "unit/fake_engine.h"
#include "unit/health_documents.h"
#include "unit/rpc/scripted_service_test.h"

// WaitHealthy, WatchHealth and GetHealth through a real in-process gRPC server against a
// scripted Engine, to pin down call order (subscribe before inspect), events split across
// reads and cancellation.

namespace dockline {
namespace {

using engine::ApiRequest;
using google::protobuf::util::TimeUtil;
using testing::HealthJson;
using testing::Inspect;
using testing::kId;
using testing::QueryValue;
using testing::Reply;
using testing::ScriptedServiceTest;
using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kOtherId = std::string(63, 'a') + "b";

std::string EventLine(const std::string& action, const std::string& id = kId,
                      json attributes = json::object()) {
  return json{{"Type", "container"},
              {"Action", action},
              {"Actor", {{"ID", id}, {"Attributes", attributes}}},
              {"time", 1795738021},
              {"timeNano", 1795738021501234180}}
             .dump() +
         "\n";
}

TEST_F(ScriptedServiceTest, WaitHealthySubscribesBeforeInspectingAndReadsSplitEvents) {
  ScriptInspects(
      {Inspect(true, HealthJson("starting")), Inspect(true, HealthJson("healthy", 0, 0, "ok\n"))});
  v1::WaitHealthyRequest request;
  request.set_container("web");
  request.mutable_timeout()->set_seconds(5);
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  auto done = std::async(std::launch::async,
                         [&] { return stub_->WaitHealthy(ctx.get(), request, &response); });
  ASSERT_TRUE(engine_->AwaitCalls(2));
  EXPECT_THAT(engine_->Calls(),
              ElementsAre("STREAM GET /events", "UNARY GET /containers/web/json"));
  ApiRequest events = engine_->Requests()[0];
  EXPECT_EQ(json::parse(QueryValue(events, "filters")), server::HealthEventsFilter("web"));
  EXPECT_EQ(events.timeout, std::chrono::seconds(5));

  // Another container whose name starts like ours, then ours, split mid-line.
  std::string line = EventLine("health_status: healthy");
  engine_->body(0)->Push(EventLine("health_status: healthy", kOtherId) + line.substr(0, 17));
  engine_->body(0)->Push(line.substr(17));
  grpc::Status st = done.get();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(response.health().status(), v1::HEALTH_STATUS_HEALTHY);
  ASSERT_EQ(response.health().log_size(), 1);
  EXPECT_EQ(response.health().log(0).output(), "ok\n");
  // One inspect for the state, one for our event; none for the other container's.
  EXPECT_EQ(engine_->Calls().size(), 3u);
  EXPECT_TRUE(engine_->body(0)->cancelled()) << "the events connection stayed open";
}

TEST_F(ScriptedServiceTest, WaitHealthyFailsOnUnhealthyWithTheLastProbe) {
  ScriptInspects({Inspect(true, HealthJson("starting")),
                  Inspect(true, HealthJson("unhealthy", 2, 7, "connection refused\n"))});
  v1::WaitHealthyRequest request;
  request.set_container("web");
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  auto done = std::async(std::launch::async,
                         [&] { return stub_->WaitHealthy(ctx.get(), request, &response); });
  ASSERT_TRUE(engine_->AwaitCalls(2));
  engine_->body(0)->Push(EventLine("health_status: unhealthy"));
  grpc::Status st = done.get();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("unhealthy"));
  EXPECT_THAT(st.error_message(), HasSubstr("exited with 7"));
  EXPECT_THAT(st.error_message(), HasSubstr("connection refused"));
}

TEST_F(ScriptedServiceTest, WaitHealthyEndsWhenTheContainerDies) {
  ScriptInspects({Inspect(true, HealthJson("starting"))});
  v1::WaitHealthyRequest request;
  request.set_container("web");
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  auto done = std::async(std::launch::async,
                         [&] { return stub_->WaitHealthy(ctx.get(), request, &response); });
  ASSERT_TRUE(engine_->AwaitCalls(2));
  engine_->body(0)->Push(EventLine("die", kId, {{"exitCode", "3"}}));
  grpc::Status st = done.get();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("exited while waiting"));
  EXPECT_THAT(st.error_message(), HasSubstr("exit code 3"));
}

TEST_F(ScriptedServiceTest, WaitHealthyAppliesEventsThatCameBeforeTheInspect) {
  // The transition lands between subscribing and the inspect's reply: it must not be lost.
  auto gate = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  auto count = std::make_shared<int>(0);
  engine_->unary = [opened, count](const ApiRequest&) {
    if ((*count)++ == 0) {
      opened.wait();
      return Reply(Inspect(true, HealthJson("starting")));
    }
    return Reply(Inspect(true, HealthJson("healthy")));
  };
  v1::WaitHealthyRequest request;
  request.set_container("web");
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  auto done = std::async(std::launch::async,
                         [&] { return stub_->WaitHealthy(ctx.get(), request, &response); });
  // The fake answers synchronously inside Unary, so the event is pushed first.
  std::thread pusher([&] {
    while (!engine_->body(0)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    engine_->body(0)->Push(EventLine("health_status: healthy"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gate->set_value();
  });
  grpc::Status st = done.get();
  pusher.join();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(response.health().status(), v1::HEALTH_STATUS_HEALTHY);
}

TEST_F(ScriptedServiceTest, WaitHealthyRefusesWithoutHealthcheckOrWhenStopped) {
  for (const auto& [inspect, text] : std::vector<std::pair<json, std::string>>{
           {Inspect(true, nullptr), "no healthcheck"},
           {Inspect(false, HealthJson("unhealthy")), "is not running (exited)"}}) {
    ScriptInspects({inspect});
    v1::WaitHealthyRequest request;
    request.set_container("web");
    v1::WaitHealthyResponse response;
    auto ctx = Context();
    grpc::Status st = stub_->WaitHealthy(ctx.get(), request, &response);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(st.error_message(), HasSubstr(text));
  }
}

TEST_F(ScriptedServiceTest, WaitHealthyTimeoutIsDeadlineExceeded) {
  ScriptInspects({Inspect(true, HealthJson("starting"))});
  v1::WaitHealthyRequest request;
  request.set_container("web");
  request.mutable_timeout()->set_seconds(2);
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  auto done = std::async(std::launch::async,
                         [&] { return stub_->WaitHealthy(ctx.get(), request, &response); });
  ASSERT_TRUE(engine_->AwaitCalls(2));
  // What the Beast engine reports when the events request's deadline passes.
  engine_->body(0)->Fail(engine::Status(engine::Code::kTimeout, "timed out reading"));
  grpc::Status st = done.get();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(st.error_message(), HasSubstr("did not become healthy within 2s"));
  EXPECT_THAT(st.error_message(), HasSubstr("still starting"));
}

TEST_F(ScriptedServiceTest, WaitHealthyCancelClosesTheEventsConnection) {
  ScriptInspects({Inspect(true, HealthJson("starting"))});
  v1::WaitHealthyRequest request;
  request.set_container("web");
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  auto done = std::async(std::launch::async,
                         [&] { return stub_->WaitHealthy(ctx.get(), request, &response); });
  ASSERT_TRUE(engine_->AwaitCalls(2));
  ctx->TryCancel();
  EXPECT_EQ(done.get().error_code(), grpc::StatusCode::CANCELLED);
  bool closed = false;
  for (int i = 0; i < 400 && !closed; ++i) {
    closed = engine_->body(0)->cancelled();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(closed);
}

TEST_F(ScriptedServiceTest, WaitHealthyValidatesItsRequest) {
  v1::WaitHealthyRequest request;
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  EXPECT_EQ(stub_->WaitHealthy(ctx.get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_container("web");
  request.mutable_timeout()->set_seconds(-1);
  auto ctx2 = Context();
  grpc::Status st = stub_->WaitHealthy(ctx2.get(), request, &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("timeout"));
  EXPECT_THAT(engine_->Calls(), IsEmpty());
}

TEST_F(ScriptedServiceTest, WatchHealthReportsTransitionsAndEndsAtTheStop) {
  ScriptInspects({Inspect(true, HealthJson("starting")),
                  Inspect(true, HealthJson("healthy", 0, 0, "ok")),
                  Inspect(true, HealthJson("unhealthy", 1, 1, "down"))});
  v1::WatchHealthRequest request;
  request.set_container("web");
  auto ctx = Context();
  auto reader = stub_->WatchHealth(ctx.get(), request);
  v1::WatchHealthResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.health().status(), v1::HEALTH_STATUS_STARTING);
  EXPECT_THAT(engine_->Calls(),
              ElementsAre("STREAM GET /events", "UNARY GET /containers/web/json"));
  engine_->body(0)->Push(EventLine("health_status: healthy"));
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.health().status(), v1::HEALTH_STATUS_HEALTHY);
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(msg.time()), 1795738021501234180);
  ASSERT_EQ(msg.health().log_size(), 1);
  EXPECT_EQ(msg.health().log(0).output(), "ok");
  // A repeat of the same status is no transition; the stop ends the stream.
  engine_->body(0)->Push(EventLine("health_status: healthy") +
                         EventLine("health_status: unhealthy") +
                         EventLine("die", kId, {{"exitCode", "0"}}));
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.health().status(), v1::HEALTH_STATUS_UNHEALTHY);
  EXPECT_FALSE(reader->Read(&msg));
  grpc::Status st = reader->Finish();
  EXPECT_TRUE(st.ok()) << st.error_message();
}

TEST_F(ScriptedServiceTest, WatchHealthRefusesAStoppedContainer) {
  ScriptInspects({Inspect(false, HealthJson("unhealthy"))});
  v1::WatchHealthRequest request;
  request.set_container("web");
  auto ctx = Context();
  auto reader = stub_->WatchHealth(ctx.get(), request);
  v1::WatchHealthResponse msg;
  EXPECT_FALSE(reader->Read(&msg));
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("not running"));
  EXPECT_TRUE(engine_->body(0)->cancelled());
}

TEST_F(ScriptedServiceTest, GetHealthSaysTheContainerStatus) {
  ScriptInspects({Inspect(false, HealthJson("unhealthy", 4))});
  v1::GetHealthRequest request;
  request.set_container("web");
  v1::GetHealthResponse response;
  auto ctx = Context();
  ASSERT_TRUE(stub_->GetHealth(ctx.get(), request, &response).ok());
  EXPECT_EQ(response.health().status(), v1::HEALTH_STATUS_UNHEALTHY);
  EXPECT_EQ(response.health().failing_streak(), 4);
  EXPECT_EQ(response.container_status(), v1::CONTAINER_STATUS_EXITED);
}

}  // namespace
}  // namespace dockline
