#pragma once

// The fixture of the RPC tests that drive the dockline service over testing::FakeEngine (a
// named namespace: TEST_F in several files must see one fixture class).

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "unit/fake_engine.h"

namespace dockline::testing {

class ScriptedServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(scripted_.server); }

  // The inspect replies in order; the last repeats.
  void ScriptInspects(std::vector<nlohmann::json> replies) {
    auto shared = std::make_shared<std::vector<nlohmann::json>>(std::move(replies));
    auto index = std::make_shared<size_t>(0);
    auto mu = std::make_shared<std::mutex>();
    engine_->unary = [shared, index, mu](const ApiRequest& request) {
      if (request.path.ends_with("/json") && request.path.starts_with("/containers/")) {
        std::lock_guard<std::mutex> lock(*mu);
        nlohmann::json body = (*shared)[std::min(*index, shared->size() - 1)];
        ++*index;
        return Reply(body);
      }
      return Result<ApiResponse>(engine::Status(engine::Code::kNotFound, "unscripted"));
    };
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  }

  ScriptedService scripted_;
  std::shared_ptr<FakeEngine>& engine_ = scripted_.engine;
  std::unique_ptr<v1::Dockline::Stub>& stub_ = scripted_.stub;
};

}  // namespace dockline::testing
