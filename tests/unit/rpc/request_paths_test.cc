// Hostile container and exec references through every RPC that takes one: each is refused
// (INVALID_ARGUMENT naming the field) or reaches the Engine API only as one escaped path segment
// of the endpoints that RPC is for (the scripted daemon then answers NOT_FOUND). Nothing may reach
// another endpoint: ids are escaped in one place, engine/docker_api.cc.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/url.h"
#include "unit/fake_engine.h"
#include "unit/rpc/scripted_service_test.h"

namespace dockline {
namespace {

using testing::ScriptedServiceTest;

// The ids of issue 9's path cases, and what the service must answer for each.
struct IdCase {
  std::string id;
  bool refused;  // INVALID_ARGUMENT before any engine call; else one escaped segment
};

std::vector<IdCase> IdCases() {
  return {
      {"../images/json", true},
      {"a/kill?signal=9", true},
      {"x#y", true},
      {"", true},
      {".", true},
      {"..", true},
      {"%2e%2e%2fimages", false},
      {"a?b=c", true},
      {std::string("a\0b", 3), true},
      {std::string(256, 'a'), false},
      {std::string(257, 'a'), true},
      {std::string(10000, 'a'), true},
      {"abc def", false},
      {"...", false},
  };
}

// One RPC that takes a reference: `call` sends `id` and returns the status.
struct RpcCase {
  const char* name;
  const char* field;       // what a refusal names
  const char* collection;  // "containers" or "exec"
  // What may follow "/<collection>/<escaped id>": the RPC's endpoints, nothing else.
  std::vector<std::string> suffixes;
  bool events = false;  // it also subscribes to GET /events (the id goes in the filters)
  std::function<grpc::Status(v1::Dockline::Stub&, grpc::ClientContext*, const std::string&)> call;
};

template <typename Request, typename Response>
grpc::Status Unary(grpc::Status (v1::Dockline::Stub::*method)(grpc::ClientContext*, const Request&,
                                                              Response*),
                   v1::Dockline::Stub& stub, grpc::ClientContext* ctx, const Request& request) {
  Response response;
  return (stub.*method)(ctx, request, &response);
}

template <typename Response, typename Reader>
grpc::Status Drain(Reader reader) {
  Response msg;
  while (reader->Read(&msg)) {
  }
  return reader->Finish();
}

v1::ExecConfig ExecConfigFor(const std::string& id) {
  v1::ExecConfig config;
  config.set_container(id);
  config.add_cmd("true");
  return config;
}

std::vector<RpcCase> RpcCases() {
  using Stub = v1::Dockline::Stub;
  return {
      {"StartContainer",
       "container",
       "containers",
       {"/start"},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::StartContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::StartContainer, s, c, r);
       }},
      {"StopContainer",
       "container",
       "containers",
       {"/stop"},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::StopContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::StopContainer, s, c, r);
       }},
      {"RestartContainer",
       "container",
       "containers",
       {"/restart"},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::RestartContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::RestartContainer, s, c, r);
       }},
      {"KillContainer",
       "container",
       "containers",
       {"/kill"},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::KillContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::KillContainer, s, c, r);
       }},
      {"RemoveContainer",
       "container",
       "containers",
       {""},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::RemoveContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::RemoveContainer, s, c, r);
       }},
      {"InspectContainer",
       "container",
       "containers",
       {"/json"},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::InspectContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::InspectContainer, s, c, r);
       }},
      {"WaitContainer",
       "container",
       "containers",
       {"/wait"},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::WaitContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::WaitContainer, s, c, r);
       }},
      {"GetHealth",
       "container",
       "containers",
       {"/json"},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::GetHealthRequest r;
         r.set_container(id);
         return Unary(&Stub::GetHealth, s, c, r);
       }},
      {"WaitHealthy",
       "container",
       "containers",
       {"/json"},
       true,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::WaitHealthyRequest r;
         r.set_container(id);
         return Unary(&Stub::WaitHealthy, s, c, r);
       }},
      {"WatchHealth",
       "container",
       "containers",
       {"/json"},
       true,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::WatchHealthRequest r;
         r.set_container(id);
         return Drain<v1::WatchHealthResponse>(s.WatchHealth(c, r));
       }},
      {"ExecContainer",
       "config.container",
       "containers",
       {"/exec"},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::ExecContainerRequest r;
         *r.mutable_config() = ExecConfigFor(id);
         return Unary(&Stub::ExecContainer, s, c, r);
       }},
      {"StreamExec",
       "config.container",
       "containers",
       {"/exec"},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::StreamExecRequest r;
         *r.mutable_config() = ExecConfigFor(id);
         return Drain<v1::StreamExecResponse>(s.StreamExec(c, r));
       }},
      {"StartExec",
       "config.container",
       "containers",
       {"/exec"},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::StartExecRequest r;
         *r.mutable_config() = ExecConfigFor(id);
         return Unary(&Stub::StartExec, s, c, r);
       }},
      {"AttachExec",
       "config.container",
       "containers",
       {"/exec"},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         auto stream = s.AttachExec(c);
         v1::AttachExecRequest r;
         *r.mutable_config() = ExecConfigFor(id);
         // The server may have ended the call already; Finish says how.
         stream->Write(r);
         stream->WritesDone();
         return Drain<v1::AttachExecResponse>(std::move(stream));
       }},
      {"InspectExec",
       "exec_id",
       "exec",
       {"/json"},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::InspectExecRequest r;
         r.set_exec_id(id);
         return Unary(&Stub::InspectExec, s, c, r);
       }},
      {"StreamLogs",
       "container",
       "containers",
       {"/json", "/logs"},
       false,
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::StreamLogsRequest r;
         r.set_container(id);
         return Drain<v1::StreamLogsResponse>(s.StreamLogs(c, r));
       }},
  };
}

TEST_F(ScriptedServiceTest, HostileIdsReachOnlyTheirEndpointAsOneEscapedSegment) {
  // Every daemon call answers as a daemon does for an unknown object.
  engine_->stream = [](const engine::ApiRequest&, const std::shared_ptr<testing::FakeBody>& body) {
    body->Fail(engine::Status(engine::Code::kNotFound, "No such container"));
  };
  for (const RpcCase& rpc : RpcCases()) {
    for (const IdCase& c : IdCases()) {
      SCOPED_TRACE(std::string(rpc.name) + " with id \"" + c.id.substr(0, 40) + "\"");
      size_t before = engine_->Requests().size();
      auto ctx = Context();
      grpc::Status st = rpc.call(*stub_, ctx.get(), c.id);
      auto requests = engine_->Requests();
      if (c.refused) {
        EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
        EXPECT_TRUE(st.error_message().starts_with(std::string(rpc.field) + ": "))
            << st.error_message();
        EXPECT_EQ(requests.size(), before) << "the daemon saw " << requests.back().path;
        continue;
      }
      EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
      ASSERT_GT(requests.size(), before);
      std::string prefix = "/" + std::string(rpc.collection) + "/" + engine::UrlEncode(c.id);
      for (size_t i = before; i < requests.size(); ++i) {
        const std::string& path = requests[i].path;
        if (rpc.events && path == "/events") {
          continue;
        }
        ASSERT_TRUE(path.starts_with(prefix)) << path.substr(0, 80);
        EXPECT_THAT(rpc.suffixes, ::testing::Contains(path.substr(prefix.size())))
            << path.substr(0, 80);
      }
    }
  }
}

}  // namespace
}  // namespace dockline
