#include "engine/docker_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>

#include "unit/fake_engine.h"

namespace dockline::engine {
namespace {

using testing::FakeEngine;
using ::testing::HasSubstr;
using testing::QueryValue;
using testing::Reply;

constexpr std::chrono::milliseconds kUnaryTimeout{1234};

class DockerApiTest : public ::testing::Test {
 protected:
  // The only request made so far.
  ApiRequest Only() {
    auto requests = engine_->Requests();
    EXPECT_EQ(requests.size(), 1u);
    return requests.empty() ? ApiRequest() : requests.front();
  }

  std::shared_ptr<FakeEngine> engine_ = std::make_shared<FakeEngine>();
  DockerApi api_{engine_, kUnaryTimeout};
};

template <typename T>
struct Outcome {
  std::promise<Result<T>> promise;
  Done<T> Callback() {
    return [this](Result<T> r) { promise.set_value(std::move(r)); };
  }
  Result<T> Get() { return promise.get_future().get(); }
};

struct StatusOutcome {
  std::promise<Status> promise;
  StatusDone Callback() {
    return [this](const Status& st) { promise.set_value(st); };
  }
  Status Get() { return promise.get_future().get(); }
};

TEST_F(DockerApiTest, IdsAreOneEscapedPathSegment) {
  engine_->unary = [](const ApiRequest&) { return Reply(nlohmann::json::object()); };
  StatusOutcome out;
  api_.StartContainer("../x y/?#", out.Callback());
  EXPECT_TRUE(out.Get().ok());
  EXPECT_EQ(Only().path, "/containers/..%2Fx%20y%2F%3F%23/start");
}

TEST_F(DockerApiTest, ShortCallsCarryTheUnaryTimeoutAndLongOnesNone) {
  engine_->unary = [](const ApiRequest&) { return Reply(nlohmann::json::object()); };
  StatusOutcome start, kill, stop, restart;
  api_.StartContainer("a", start.Callback());
  api_.KillContainer("a", "SIGTERM", kill.Callback());
  api_.StopContainer("a", 10, stop.Callback());
  api_.RestartContainer("a", std::nullopt, restart.Callback());
  start.Get();
  kill.Get();
  stop.Get();
  restart.Get();
  auto requests = engine_->Requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].timeout, kUnaryTimeout);
  EXPECT_EQ(requests[1].timeout, kUnaryTimeout);
  EXPECT_EQ(QueryValue(requests[1], "signal"), "SIGTERM");
  // The daemon answers a stop only after the grace period: no deadline of ours.
  EXPECT_EQ(requests[2].timeout.count(), 0);
  EXPECT_EQ(QueryValue(requests[2], "t"), "10");
  EXPECT_EQ(requests[3].timeout.count(), 0);
  EXPECT_EQ(QueryValue(requests[3], "t"), "");
}

TEST_F(DockerApiTest, CreateReadsIdAndWarnings) {
  engine_->unary = [](const ApiRequest&) {
    return Reply({{"Id", "abc"}, {"Warnings", {"w1", 7, "w2"}}}, 201);
  };
  Outcome<CreatedContainer> out;
  api_.CreateContainer("demo", nlohmann::json{{"Image", "busybox"}}, out.Callback());
  auto created = out.Get();
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->id, "abc");
  EXPECT_EQ(created->warnings, (std::vector<std::string>{"w1", "w2"}));
  ApiRequest request = Only();
  EXPECT_EQ(request.path, "/containers/create");
  EXPECT_EQ(QueryValue(request, "name"), "demo");
  EXPECT_EQ(nlohmann::json::parse(request.body)["Image"], "busybox");
}

TEST_F(DockerApiTest, CreateWithoutIdIsAProtocolError) {
  engine_->unary = [](const ApiRequest&) { return Reply({{"Warnings", nullptr}}, 201); };
  Outcome<CreatedContainer> out;
  api_.CreateContainer("", nlohmann::json::object(), out.Callback());
  auto created = out.Get();
  EXPECT_EQ(created.status().code(), Code::kProtocolError);
  EXPECT_THAT(created.status().message(), HasSubstr("no Id"));
  EXPECT_EQ(QueryValue(Only(), "name"), "");
}

TEST_F(DockerApiTest, DocumentsOfTheWrongKindAreProtocolErrorsNamingTheEndpoint) {
  engine_->unary = [](const ApiRequest&) {
    ApiResponse res;
    res.status = 200;
    res.body = "{\"truncated\":";
    return Result<ApiResponse>(res);
  };
  Outcome<Json> list;
  api_.ListContainers(ListContainersQuery{}, list.Callback());
  auto listed = list.Get();
  EXPECT_EQ(listed.status().code(), Code::kProtocolError);
  EXPECT_THAT(listed.status().message(), HasSubstr("container list"));
  Outcome<ContainerDocument> inspect;
  api_.InspectContainer("a", inspect.Callback());
  EXPECT_EQ(inspect.Get().status().code(), Code::kProtocolError);
}

TEST_F(DockerApiTest, InspectKeepsTheRawDocument) {
  engine_->unary = [](const ApiRequest&) { return Reply({{"Id", "abc"}}); };
  Outcome<ContainerDocument> out;
  api_.InspectContainer("abc", out.Callback());
  auto doc = out.Get();
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->raw, R"({"Id":"abc"})");
  EXPECT_EQ(doc->json["Id"], "abc");
  EXPECT_EQ(Only().timeout, kUnaryTimeout);
}

TEST_F(DockerApiTest, ListAndPruneSendFiltersOnlyWhenGiven) {
  engine_->unary = [](const ApiRequest& r) {
    return r.path == "/containers/json" ? Reply(nlohmann::json::array())
                                        : Reply(nlohmann::json::object());
  };
  Outcome<Json> list, prune;
  ListContainersQuery query;
  query.all = true;
  query.limit = 3;
  api_.ListContainers(query, list.Callback());
  ASSERT_TRUE(list.Get().ok());
  api_.Prune(PruneTarget::kVolumes, Json{{"label", {"a=1"}}}, prune.Callback());
  ASSERT_TRUE(prune.Get().ok());
  auto requests = engine_->Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(QueryValue(requests[0], "all"), "1");
  EXPECT_EQ(QueryValue(requests[0], "limit"), "3");
  EXPECT_EQ(QueryValue(requests[0], "filters"), "");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].path, "/volumes/prune");
  EXPECT_EQ(QueryValue(requests[1], "filters"), R"({"label":["a=1"]})");
  // A prune lasts as long as the deleting does.
  EXPECT_EQ(requests[1].timeout.count(), 0);
}

TEST_F(DockerApiTest, WaitRegistersThenReadsTheExitFromTheBody) {
  std::promise<void> registered;
  Outcome<ExitStatus> out;
  api_.WaitContainer(
      "abc", "next-exit", std::chrono::milliseconds(0), [&] { registered.set_value(); },
      out.Callback());
  registered.get_future().get();
  ApiRequest request = Only();
  EXPECT_EQ(request.path, "/containers/abc/wait");
  EXPECT_EQ(QueryValue(request, "condition"), "next-exit");
  EXPECT_EQ(request.timeout.count(), 0);
  auto body = engine_->body(0);
  body->Push(R"({"StatusCode":7,"Error":{"Message":"oom"}})");
  body->End();
  auto exit = out.Get();
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->exit_code, 7);
  EXPECT_EQ(exit->error, "oom");
}

TEST_F(DockerApiTest, WaitReplyWithoutStatusCodeIsAProtocolError) {
  Outcome<ExitStatus> out;
  api_.WaitContainer("abc", "not-running", std::chrono::milliseconds(0), nullptr, out.Callback());
  ASSERT_TRUE(engine_->AwaitCalls(1));
  auto body = engine_->body(0);
  body->Push("garbage");
  body->End();
  auto exit = out.Get();
  EXPECT_EQ(exit.status().code(), Code::kProtocolError);
  EXPECT_THAT(exit.status().message(), HasSubstr("garbage"));
}

TEST_F(DockerApiTest, CancellingAWaitClosesItsBody) {
  std::promise<void> registered;
  Outcome<ExitStatus> out;
  auto call = api_.WaitContainer(
      "abc", "next-exit", std::chrono::milliseconds(0), [&] { registered.set_value(); },
      out.Callback());
  registered.get_future().get();
  call->Cancel();
  EXPECT_EQ(out.Get().status().code(), Code::kCancelled);
  EXPECT_TRUE(engine_->body(0)->cancelled());
}

TEST(CallChainTest, AStepSetAfterTheCancelIsCancelledAtOnce) {
  struct Step : Call {
    void Cancel() override { cancelled = true; }
    bool cancelled = false;
  };
  CallChain chain;
  auto first = std::make_shared<Step>();
  chain.Set(0, first);
  chain.Cancel();
  EXPECT_TRUE(first->cancelled);
  auto second = std::make_shared<Step>();
  chain.Set(1, second);
  EXPECT_TRUE(second->cancelled);
  EXPECT_TRUE(chain.cancelled());
}

TEST(CallChainTest, AnEarlierStepArrivingLateDoesNotHideTheCurrentOne) {
  struct Step : Call {
    void Cancel() override { cancelled = true; }
    bool cancelled = false;
  };
  CallChain chain;
  auto body = std::make_shared<Step>();
  auto header = std::make_shared<Step>();
  chain.Set(1, body);    // the header's callback ran first and handed on the body
  chain.Set(0, header);  // then the call that started the header returned its handle
  chain.Cancel();
  EXPECT_TRUE(body->cancelled);
}

}  // namespace
}  // namespace dockline::engine
