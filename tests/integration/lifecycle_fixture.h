#pragma once

// LifecycleTest: the fixture the container lifecycle tests share (lifecycle_test.cc,
// lifecycle_wait_test.cc): one call per lifecycle RPC, and the daemon's times as nanoseconds.

#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "harness.h"

namespace dockline::testing {

class LifecycleTest : public DaemonTest {
 protected:
  static constexpr std::chrono::seconds kGenerous{30};  // catches hangs only

  grpc::Status Wait(const std::string& id, v1::WaitCondition condition,
                    v1::WaitContainerResponse* resp, int timeout_seconds = 0,
                    std::chrono::milliseconds rpc_deadline = std::chrono::seconds(60)) {
    v1::WaitContainerRequest req;
    req.set_container(id);
    req.set_condition(condition);
    if (timeout_seconds > 0) {
      req.mutable_timeout()->set_seconds(timeout_seconds);
    }
    auto ctx = Context(rpc_deadline);
    return stub().WaitContainer(ctx.get(), req, resp);
  }

  grpc::Status Start(const std::string& id, v1::StartContainerResponse* resp) {
    v1::StartContainerRequest req;
    req.set_container(id);
    auto ctx = Context();
    return stub().StartContainer(ctx.get(), req, resp);
  }

  grpc::Status Stop(const std::string& id, int timeout_seconds, v1::StopContainerResponse* resp) {
    v1::StopContainerRequest req;
    req.set_container(id);
    req.mutable_timeout()->set_seconds(timeout_seconds);
    auto ctx = Context();
    return stub().StopContainer(ctx.get(), req, resp);
  }

  grpc::Status Kill(const std::string& id, const std::string& signal) {
    v1::KillContainerRequest req;
    req.set_container(id);
    req.set_signal(signal);
    v1::KillContainerResponse resp;
    auto ctx = Context();
    return stub().KillContainer(ctx.get(), req, &resp);
  }

  grpc::Status Inspect(const std::string& id, v1::InspectContainerResponse* resp) {
    v1::InspectContainerRequest req;
    req.set_container(id);
    auto ctx = Context();
    return stub().InspectContainer(ctx.get(), req, resp);
  }

  // The daemon's time text as nanoseconds since the epoch (what a Timestamp field must hold).
  static int64_t DaemonNanos(const nlohmann::json& text) {
    google::protobuf::Timestamp t;
    EXPECT_TRUE(text.is_string() &&
                google::protobuf::util::TimeUtil::FromString(text.get<std::string>(), &t))
        << text;
    return google::protobuf::util::TimeUtil::TimestampToNanoseconds(t);
  }

  // Waits until the container's log shows `marker` (a shell that has installed its traps).
  static bool LogShows(const std::string& id, const std::string& marker) {
    return PollUntil([&] { return Logs(id).stdout_data.find(marker) != std::string::npos; },
                     kGenerous);
  }
};

}  // namespace dockline::testing
