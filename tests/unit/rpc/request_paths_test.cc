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
#include "request_path_cases.h"
#include "unit/fake_engine.h"
#include "unit/rpc/scripted_service_test.h"

namespace dockline {
namespace {

using testing::ScriptedServiceTest;

using testing::IdCase;
using testing::IdCases;
using testing::RpcCase;
using testing::RpcCases;

TEST_F(ScriptedServiceTest, HostileIdsReachOnlyTheirEndpointAsOneEscapedSegment) {
  // Every daemon call answers as a daemon does for an unknown object.
  engine_->stream = [](const engine::ApiRequest&, const std::shared_ptr<testing::FakeBody>& body) {
    body->Fail(engine::Status(engine::Code::kNotFound, "No such container"));
  };
  // An archive's header carries its stat, so a missing container is refused at the opening.
  engine_->open = [](const engine::ApiRequest& request) {
    return request.path.ends_with("/archive")
               ? engine::Status(engine::Code::kNotFound, "No such container")
               : engine::Status::Ok();
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
      std::string prefix = std::string(rpc.collection) + "/" + engine::UrlEncode(c.id);
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
