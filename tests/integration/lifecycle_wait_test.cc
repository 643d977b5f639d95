// WaitContainer (docker-py's wait()): its conditions, its timeout and the RPC's deadline, and
// that a cancelled or expired wait closes its daemon connection.

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lifecycle_fixture.h"

namespace dockline::testing {
namespace {

TEST_F(LifecycleTest, WaitNotRunningReturnsAtOnceForCreatedAndExited) {
  std::string created;
  ASSERT_TRUE(Create(Spec({"sh", "-c", "exit 5"}), &created).ok());
  v1::WaitContainerResponse resp;
  grpc::Status st = Wait(created, v1::WAIT_CONDITION_NOT_RUNNING, &resp, 20);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.exit_code(), 0);  // never started

  v1::StartContainerResponse started;
  ASSERT_TRUE(Start(created, &started).ok());
  ASSERT_TRUE(
      PollUntil([&] { return DaemonInspect(created)["State"]["Status"] == "exited"; }, kGenerous));
  st = Wait(created, v1::WAIT_CONDITION_NOT_RUNNING, &resp, 20);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.exit_code(), 5);
  // UNSPECIFIED is not-running.
  v1::WaitContainerResponse unspecified;
  st = Wait(created, v1::WAIT_CONDITION_UNSPECIFIED, &unspecified, 20);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(unspecified.exit_code(), 5);

  // next-exit does not return for an exited container: it waits for the next run.
  auto begin = std::chrono::steady_clock::now();
  st = Wait(created, v1::WAIT_CONDITION_NEXT_EXIT, &resp, 2);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, kGenerous);
}

TEST_F(LifecycleTest, WaitNextExitGetsTheNextRunsCode) {
  std::string id;
  ASSERT_TRUE(Create(Spec({"sh", "-c", "exit 7"}), &id).ok());
  auto waiter = std::async(std::launch::async, [&] {
    v1::WaitContainerResponse resp;
    grpc::Status st = Wait(id, v1::WAIT_CONDITION_NEXT_EXIT, &resp, 60);
    return std::make_pair(st, resp.exit_code());
  });
  // Give the wait time to reach the daemon; it must still be waiting (nothing ran yet).
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(1500)), std::future_status::timeout);
  v1::StartContainerResponse started;
  ASSERT_TRUE(Start(id, &started).ok());
  ASSERT_EQ(waiter.wait_for(kGenerous), std::future_status::ready);
  auto [st, code] = waiter.get();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(code, 7);
}

TEST_F(LifecycleTest, WaitRemovedGetsTheCodeWhenRemoved) {
  std::string id = CreateAndStart(Spec({"sleep", "600"}));
  ASSERT_FALSE(id.empty());
  auto waiter = std::async(std::launch::async, [&] {
    v1::WaitContainerResponse resp;
    grpc::Status st = Wait(id, v1::WAIT_CONDITION_REMOVED, &resp, 60);
    return std::make_pair(st, resp.exit_code());
  });
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(1500)), std::future_status::timeout);
  v1::RemoveContainerRequest remove;
  remove.set_container(id);
  remove.set_force(true);
  v1::RemoveContainerResponse removed;
  auto ctx = Context();
  grpc::Status rm = stub().RemoveContainer(ctx.get(), remove, &removed);
  ASSERT_TRUE(rm.ok()) << rm.error_message();
  ASSERT_EQ(waiter.wait_for(kGenerous), std::future_status::ready);
  auto [st, code] = waiter.get();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(code, 137);
  EXPECT_TRUE(DaemonInspect(id).is_null());
}

TEST_F(LifecycleTest, WaitTimeoutIsDeadlineExceededAndLeavesTheContainerRunning) {
  std::string id = CreateAndStart(Spec({"sleep", "600"}));
  ASSERT_FALSE(id.empty());
  auto begin = std::chrono::steady_clock::now();
  v1::WaitContainerResponse resp;
  grpc::Status st = Wait(id, v1::WAIT_CONDITION_NOT_RUNNING, &resp, 2);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, kGenerous);
  EXPECT_EQ(DaemonInspect(id)["State"]["Running"], true);
}

TEST_F(LifecycleTest, WaitHonoursTheRpcDeadline) {
  std::string id = CreateAndStart(Spec({"sleep", "600"}));
  ASSERT_FALSE(id.empty());
  auto begin = std::chrono::steady_clock::now();
  v1::WaitContainerResponse resp;
  grpc::Status st = Wait(id, v1::WAIT_CONDITION_NOT_RUNNING, &resp, 0, std::chrono::seconds(1));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, kGenerous);
  EXPECT_EQ(DaemonInspect(id)["State"]["Running"], true);
}

// ENGINE_NOTES section 9: a cancelled wait must close its daemon connection, or the daemon keeps
// a waiter (and its goroutines) per abandoned call.
TEST_F(LifecycleTest, CancelledWaitsCloseTheirDaemonConnections) {
  std::string id = CreateAndStart(Spec({"sleep", "600"}));
  ASSERT_FALSE(id.empty());
  // Warm the channel so that the waits below go out at once.
  v1::InspectContainerResponse warm;
  ASSERT_TRUE(Inspect(id, &warm).ok());

  int baseline = DaemonGoroutines();
  ASSERT_GT(baseline, 0);
  constexpr int kWaits = 20;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<grpc::Status> statuses(kWaits);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaits; ++i) {
    contexts.push_back(Context(std::chrono::seconds(120)));
  }
  for (int i = 0; i < kWaits; ++i) {
    threads.emplace_back([&, i] {
      v1::WaitContainerRequest req;
      req.set_container(id);
      v1::WaitContainerResponse resp;
      statuses[i] = stub().WaitContainer(contexts[i].get(), req, &resp);
    });
  }
  // Every open wait holds at least one goroutine in the daemon (its connection).
  int peak = 0;
  bool all_open = PollUntil(
      [&] {
        peak = DaemonGoroutines();
        return peak >= baseline + kWaits;
      },
      kGenerous);
  for (auto& ctx : contexts) {
    ctx->TryCancel();
  }
  for (auto& t : threads) {
    t.join();
  }
  ASSERT_TRUE(all_open) << "baseline " << baseline << ", peak " << peak;
  for (const auto& st : statuses) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED) << st.error_message();
  }
  int now = 0;
  bool released = PollUntil(
      [&] {
        now = DaemonGoroutines();
        return now >= 0 && now <= baseline + kWaits / 2;
      },
      kGenerous);
  EXPECT_TRUE(released) << "baseline " << baseline << ", with " << kWaits << " waits " << peak
                        << ", after cancelling " << now;

  // The same for waits whose RPC deadline expires.
  threads.clear();
  for (int i = 0; i < kWaits; ++i) {
    threads.emplace_back([&, i] {
      v1::WaitContainerRequest req;
      req.set_container(id);
      v1::WaitContainerResponse resp;
      auto ctx = Context(std::chrono::seconds(8));
      statuses[i] = stub().WaitContainer(ctx.get(), req, &resp);
    });
  }
  all_open = PollUntil(
      [&] {
        peak = DaemonGoroutines();
        return peak >= baseline + kWaits;
      },
      std::chrono::seconds(7));
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_TRUE(all_open) << "baseline " << baseline << ", peak " << peak;
  for (const auto& st : statuses) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
  }
  released = PollUntil(
      [&] {
        now = DaemonGoroutines();
        return now >= 0 && now <= baseline + kWaits / 2;
      },
      kGenerous);
  EXPECT_TRUE(released) << "baseline " << baseline << ", after " << kWaits
                        << " waits ran out of time " << now;
  EXPECT_EQ(DaemonInspect(id)["State"]["Running"], true);
}

}  // namespace
}  // namespace dockline::testing
