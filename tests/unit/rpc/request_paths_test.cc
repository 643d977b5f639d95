// Hostile container and exec references through every RPC that takes one: each is refused
// (INVALID_ARGUMENT) or reaches the Engine API only as one escaped path segment of the endpoint
// that RPC is for (the scripted daemon then answers NOT_FOUND). Nothing may reach another
// endpoint: ids are escaped in one place, engine/docker_api.cc.

#include <gtest/gtest.h>

#include <functional>
#include <string>
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
      {"%2e%2e%2fimages", false},
      {"a?b=c", true},
      {std::string(10000, 'a'), false},
      {"abc def", false},
  };
}

// One RPC that takes a reference: `call` sends `id` and returns the status.
struct RpcCase {
  const char* name;
  const char* collection;  // "containers" or "exec"
  std::function<grpc::Status(v1::Dockline::Stub&, grpc::ClientContext*, const std::string&)> call;
};

template <typename Request, typename Response>
grpc::Status Unary(grpc::Status (v1::Dockline::Stub::*method)(grpc::ClientContext*, const Request&,
                                                              Response*),
                   v1::Dockline::Stub& stub, grpc::ClientContext* ctx, const Request& request) {
  Response response;
  return (stub.*method)(ctx, request, &response);
}

std::vector<RpcCase> RpcCases() {
  using Stub = v1::Dockline::Stub;
  return {
      {"StartContainer", "containers",
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::StartContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::StartContainer, s, c, r);
       }},
      {"StopContainer", "containers",
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::StopContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::StopContainer, s, c, r);
       }},
      {"RestartContainer", "containers",
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::RestartContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::RestartContainer, s, c, r);
       }},
      {"KillContainer", "containers",
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::KillContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::KillContainer, s, c, r);
       }},
      {"RemoveContainer", "containers",
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::RemoveContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::RemoveContainer, s, c, r);
       }},
      {"InspectContainer", "containers",
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::InspectContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::InspectContainer, s, c, r);
       }},
      {"WaitContainer", "containers",
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::WaitContainerRequest r;
         r.set_container(id);
         return Unary(&Stub::WaitContainer, s, c, r);
       }},
      {"GetHealth", "containers",
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::GetHealthRequest r;
         r.set_container(id);
         return Unary(&Stub::GetHealth, s, c, r);
       }},
      {"ExecContainer", "containers",
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::ExecContainerRequest r;
         r.mutable_config()->set_container(id);
         r.mutable_config()->add_cmd("true");
         return Unary(&Stub::ExecContainer, s, c, r);
       }},
      {"InspectExec", "exec",
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::InspectExecRequest r;
         r.set_exec_id(id);
         return Unary(&Stub::InspectExec, s, c, r);
       }},
      {"StreamLogs", "containers",
       [](Stub& s, grpc::ClientContext* c, const std::string& id) {
         v1::StreamLogsRequest r;
         r.set_container(id);
         auto reader = s.StreamLogs(c, r);
         v1::StreamLogsResponse msg;
         while (reader->Read(&msg)) {
         }
         return reader->Finish();
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
        EXPECT_EQ(requests.size(), before) << "the daemon saw " << requests.back().path;
        continue;
      }
      EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
      ASSERT_GT(requests.size(), before);
      // "/<collection>/<escaped id>" or "/<collection>/<escaped id>/<action>", nothing else.
      std::string prefix = "/" + std::string(rpc.collection) + "/" + engine::UrlEncode(c.id);
      for (size_t i = before; i < requests.size(); ++i) {
        const std::string& path = requests[i].path;
        ASSERT_TRUE(path.starts_with(prefix)) << path.substr(0, 80);
        std::string rest = path.substr(prefix.size());
        EXPECT_TRUE(rest.empty() || (rest[0] == '/' && rest.find('/', 1) == std::string::npos &&
                                     rest.find_first_of("?#%") == std::string::npos))
            << rest;
      }
    }
  }
}

}  // namespace
}  // namespace dockline
