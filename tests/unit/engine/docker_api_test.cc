#include "engine/docker_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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

TEST_F(DockerApiTest, ImageReferencesKeepTheirSlashesAndEscapeTheRest) {
  engine_->unary = [](const ApiRequest&) { return Reply(nlohmann::json::object()); };
  Outcome<ContainerDocument> out;
  api_.InspectImage("127.0.0.1:5000/team/app:v1", out.Callback());
  EXPECT_TRUE(out.Get().ok());
  EXPECT_EQ(Only().path, "/images/127.0.0.1%3A5000/team/app%3Av1/json");
}

TEST_F(DockerApiTest, ImageReferencesWithDotSegmentsAreNeverSent) {
  Outcome<ContainerDocument> out;
  api_.InspectImage("a/../../containers/x", out.Callback());
  EXPECT_EQ(out.Get().status().code(), Code::kBadRequest);
  EXPECT_TRUE(engine_->Requests().empty());
}

TEST_F(DockerApiTest, PullSendsTheReferenceAndTheCredentialsHeader) {
  std::promise<Status> opened;
  api_.PullImage({"127.0.0.1:5000/app:v1", "linux/amd64", "e30="},
                 [&](Result<ApiResponse> res, std::shared_ptr<BodyStream>) {
                   opened.set_value(res.status());
                 });
  EXPECT_TRUE(opened.get_future().get().ok());
  ApiRequest sent = Only();
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/images/create");
  EXPECT_EQ(QueryValue(sent, "fromImage"), "127.0.0.1:5000/app:v1");
  EXPECT_EQ(QueryValue(sent, "platform"), "linux/amd64");
  ASSERT_EQ(sent.headers.size(), 1u);
  EXPECT_EQ(sent.headers[0], std::make_pair(std::string("X-Registry-Auth"), std::string("e30=")));
  EXPECT_EQ(sent.timeout.count(), 0) << "a pull lasts as long as the download";
}

TEST_F(DockerApiTest, IdsAreOneEscapedPathSegment) {
  engine_->unary = [](const ApiRequest&) { return Reply(nlohmann::json::object()); };
  StatusOutcome out;
  api_.StartContainer("..x y?#%", out.Callback());
  EXPECT_TRUE(out.Get().ok());
  EXPECT_EQ(Only().path, "/containers/..x%20y%3F%23%25/start");
}

// Every function that puts an id into a path, called with `id`; each returns the status its
// callback got (the callbacks run on the engine's thread, as for any call).
std::vector<std::pair<std::string, Status>> CallEveryIdEndpoint(const DockerApi& api,
                                                                const std::string& id) {
  std::vector<std::pair<std::string, Status>> got;
  auto status = [&](const char* name, auto start) {
    StatusOutcome out;
    start(out.Callback());
    got.emplace_back(name, out.Get());
  };
  auto result = [&]<typename T>(const char* name, auto start, Outcome<T>&& out) {
    start(out.Callback());
    got.emplace_back(name, out.Get().status());
  };
  auto stream = [&](const char* name, auto start) {
    std::promise<Status> promise;
    start([&promise](Result<ApiResponse> res, std::shared_ptr<BodyStream> body) {
      promise.set_value(body ? Status(Code::kDaemonError, "a body for a refused call")
                             : res.status());
    });
    got.emplace_back(name, promise.get_future().get());
  };
  status("StartContainer", [&](StatusDone d) { api.StartContainer(id, d); });
  status("StopContainer", [&](StatusDone d) { api.StopContainer(id, 1, d); });
  status("RestartContainer", [&](StatusDone d) { api.RestartContainer(id, std::nullopt, d); });
  status("KillContainer", [&](StatusDone d) { api.KillContainer(id, "KILL", d); });
  status("RemoveContainer", [&](StatusDone d) { api.RemoveContainer(id, true, true, d); });
  result(
      "InspectContainer", [&](Done<ContainerDocument> d) { api.InspectContainer(id, d); },
      Outcome<ContainerDocument>());
  bool registered = false;
  result(
      "WaitContainer",
      [&](Done<ExitStatus> d) {
        api.WaitContainer(
            id, "not-running", std::chrono::milliseconds(0), [&registered] { registered = true; },
            d);
      },
      Outcome<ExitStatus>());
  EXPECT_FALSE(registered) << "a refused wait said it was in place";
  stream("ContainerLogs",
         [&](Engine::StreamCallback d) { api.ContainerLogs(id, LogsQuery{}, std::move(d)); });
  stream("AttachContainer",
         [&](Engine::StreamCallback d) { api.AttachContainer(id, AttachQuery{}, std::move(d)); });
  status("ResizeContainer", [&](StatusDone d) { api.ResizeContainer(id, 24, 80, d); });
  result(
      "CreateExec",
      [&](Done<std::string> d) {
        api.CreateExec(id, Json{{"Cmd", {"true"}}}, d);
      },
      Outcome<std::string>());
  status("StartExecDetached", [&](StatusDone d) { api.StartExecDetached(id, false, d); });
  stream("StartExecAttached",
         [&](Engine::StreamCallback d) { api.StartExecAttached(id, false, std::move(d)); });
  result(
      "InspectExec", [&](Done<Json> d) { api.InspectExec(id, d); }, Outcome<Json>());
  status("ResizeExec", [&](StatusDone d) { api.ResizeExec(id, 24, 80, d); });
  result(
      "InspectNetwork", [&](Done<Json> d) { api.InspectNetwork(id, d); }, Outcome<Json>());
  status("RemoveVolume", [&](StatusDone d) { api.RemoveVolume(id, d); });
  status("RemoveNetwork", [&](StatusDone d) { api.RemoveNetwork(id, d); });
  return got;
}

TEST_F(DockerApiTest, SegmentsTheDaemonWouldReRouteAreRefusedBeforeSending) {
  // dockerd unescapes the path, then redirects to its cleaned form: an empty, "." or ".."
  // segment, or an escaped '/', would lead away from the endpoint.
  for (const std::string id : {"", ".", "..", "a/b", "../images/json", "/abc", "abc/"}) {
    for (const auto& [name, st] : CallEveryIdEndpoint(api_, id)) {
      SCOPED_TRACE(name + " with id \"" + id + "\"");
      EXPECT_EQ(st.code(), Code::kBadRequest) << st.message();
      EXPECT_THAT(st.message(), HasSubstr("an id must be one path segment"));
    }
  }
  EXPECT_EQ(engine_->Calls(), std::vector<std::string>());
}

TEST_F(DockerApiTest, TheRefusalShowsTheEscapedPathCut) {
  StatusOutcome dots, slashes;
  api_.StartContainer("..", dots.Callback());
  EXPECT_EQ(dots.Get().message(),
            "refused to send \"/containers/../start\": an id must be one path segment, not "
            "empty, \".\" or \"..\" and without '/'");
  api_.StartContainer(std::string(1000, '/'), slashes.Callback());
  std::string message = slashes.Get().message();
  EXPECT_THAT(message, HasSubstr("\"/containers/%2F%2F"));
  EXPECT_THAT(message, HasSubstr("...\": an id"));
  EXPECT_LT(message.size(), 250u);
  EXPECT_TRUE(engine_->Calls().empty());
}

TEST_F(DockerApiTest, DotsThatAreNotWholeSegmentsAreSentEscaped) {
  engine_->unary = [](const ApiRequest&) { return Reply(nlohmann::json::object()); };
  for (const std::string id : {"...", ".a", "a..", "%2e%2e", "%2F"}) {
    StatusOutcome out;
    api_.StartContainer(id, out.Callback());
    EXPECT_TRUE(out.Get().ok()) << id;
  }
  auto requests = engine_->Requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[0].path, "/containers/.../start");
  EXPECT_EQ(requests[1].path, "/containers/.a/start");
  EXPECT_EQ(requests[2].path, "/containers/a../start");
  EXPECT_EQ(requests[3].path, "/containers/%252e%252e/start");
  EXPECT_EQ(requests[4].path, "/containers/%252F/start");
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
