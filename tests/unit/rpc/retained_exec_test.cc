#include "server/rpc/retained_exec.h"

#include <gmock/gmock.h>
#include <grpcpp/support/status.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/codec/exec_codec.h"
#include "unit/exec_config.h"
#include "unit/frame.h"
#include "unit/rpc/exec_fake_engine.h"

namespace dockline::server {
namespace {

using testing::Config;
using testing::Frame;
using ::testing::HasSubstr;
using testing::exec_fake::FakeEngine;
using testing::exec_fake::ScriptDaemon;

bool PollUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

class RetainedExecTest : public ::testing::Test {
 protected:
  // Starts the scripted exec (its output `frames`, split into reads of `piece` bytes) and waits
  // for its id.
  std::shared_ptr<RetainedExec> Start(const std::string& frames, size_t piece,
                                      const std::string& owner = "alice") {
    std::vector<std::string> pieces;
    for (size_t at = 0; at < frames.size(); at += piece) {
      pieces.push_back(frames.substr(at, piece));
    }
    engine_.body->Script(pieces, false);
    ExecPlan plan;
    EXPECT_TRUE(PlanExec(Config({"x"}), ExecMode::kStreamed, &plan).ok());
    std::shared_ptr<engine::Engine> borrowed(&engine_, [](engine::Engine*) {});
    std::mutex mu;
    std::condition_variable cv;
    bool started = false;
    grpc::Status status;
    auto exec = registry_->Start(engine::DockerApi(borrowed, std::chrono::milliseconds(0)), plan,
                                 owner, [&](const grpc::Status& st, const std::string&) {
                                   std::lock_guard<std::mutex> lock(mu);
                                   started = true;
                                   status = st;
                                   cv.notify_all();
                                 });
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return started; }));
    EXPECT_TRUE(status.ok()) << status.error_message();
    return exec;
  }

  // Reads from `offset` until the end, as one reader.
  static RetainedSlice ReadToEnd(RetainedExec& exec, uint64_t offset, std::string* out,
                                 grpc::Status* status = nullptr) {
    uint64_t reader = exec.AddReader(offset, [] {});
    RetainedSlice first;
    bool have_first = false;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < give_up) {
      RetainedSlice slice;
      grpc::Status st = exec.Read(reader, offset, 1000, &slice);
      if (!st.ok()) {
        if (status != nullptr) {
          *status = st;
        }
        break;
      }
      if (!have_first) {
        first = slice;
        have_first = true;
      }
      for (const auto& p : slice.pieces) {
        out->append(p.data);
      }
      offset = slice.next;
      if (slice.end) {
        first.end = true;
        first.exit_code = slice.exit_code;
        first.status = slice.status;
        first.next = slice.next;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    exec.RemoveReader(reader);
    return first;
  }

  void SetUp() override { ScriptDaemon(engine_, /*running_answers=*/0, /*exit_code=*/7); }

  RetainOptions options_;
  FakeEngine engine_;
  std::shared_ptr<RetainedExecs> registry_;
};

TEST_F(RetainedExecTest, KeepsEverythingUnderTheCapAndReadsFromAnyOffset) {
  registry_ = std::make_shared<RetainedExecs>(options_);
  std::string frames = Frame(1, "hello ") + Frame(2, "oops\n") + Frame(1, "world\n");
  auto exec = Start(frames, 5);
  std::string all;
  RetainedSlice whole = ReadToEnd(*exec, 0, &all);
  EXPECT_EQ(all, "hello oops\nworld\n");
  EXPECT_EQ(whole.start, 0u);
  EXPECT_EQ(whole.lost, 0u);
  EXPECT_TRUE(whole.end);
  EXPECT_EQ(whole.exit_code, 7);
  // Any offset inside, a cut piece included.
  for (uint64_t offset = 0; offset <= all.size(); ++offset) {
    std::string rest;
    RetainedSlice s = ReadToEnd(*exec, offset, &rest);
    EXPECT_EQ(rest, all.substr(offset)) << offset;
    EXPECT_EQ(s.start, offset);
    EXPECT_EQ(s.exit_code, 7);
  }
  std::string none;
  grpc::Status past;
  ReadToEnd(*exec, all.size() + 1, &none, &past);
  EXPECT_EQ(past.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(past.error_message(), HasSubstr("offset"));
}

TEST_F(RetainedExecTest, WithNobodyReadingTheOldestBytesGoAndAreCounted) {
  options_.bytes = 1000;
  registry_ = std::make_shared<RetainedExecs>(options_);
  std::string out;
  std::string frames;
  for (int i = 0; i < 100; ++i) {
    std::string line = "line " + std::to_string(i) + " of the output\n";
    frames += Frame(i % 3 == 0 ? 2 : 1, line);
    out += line;
  }
  auto exec = Start(frames, 37);
  // Wait for the exit without a reader (a reader would hold the daemon back).
  std::shared_ptr<RetainedExec> found;
  ASSERT_TRUE(PollUntil(
      [&] {
        RetainedSlice s;
        uint64_t r = exec->AddReader(out.size(), [] {});
        bool end = exec->Read(r, out.size(), 0, &s).ok() && s.end;
        exec->RemoveReader(r);
        return end;
      },
      std::chrono::seconds(10)));
  std::string kept;
  RetainedSlice s = ReadToEnd(*exec, 0, &kept);
  EXPECT_EQ(s.lost, out.size() - 1000);
  EXPECT_EQ(s.start, out.size() - 1000);
  EXPECT_EQ(kept, out.substr(out.size() - 1000));
  EXPECT_EQ(s.exit_code, 7);
  // From inside what is gone: the lost part only.
  std::string later;
  RetainedSlice t = ReadToEnd(*exec, 10, &later);
  EXPECT_EQ(t.lost, out.size() - 1000 - 10);
  EXPECT_EQ(later, kept);
}

TEST_F(RetainedExecTest, OnlyItsOwnerFindsItAndItGoesAfterTheLinger) {
  options_.linger = std::chrono::milliseconds(50);
  registry_ = std::make_shared<RetainedExecs>(options_);
  auto exec = Start(Frame(1, "x\n"), 100, "alice");
  std::shared_ptr<RetainedExec> found;
  grpc::Status other = registry_->Find("e1", "bob", &found);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(other.error_message(), HasSubstr("exec_id e1"));
  EXPECT_EQ(found, nullptr);
  ASSERT_TRUE(registry_->Find("e1", "alice", &found).ok());
  EXPECT_EQ(found, exec);
  ASSERT_TRUE(PollUntil([&] { return registry_->size() == 0; }, std::chrono::seconds(10)));
  EXPECT_EQ(registry_->Find("e1", "alice", &found).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RetainedExecTest, AFullRegistryRefusesWhileAllRun) {
  options_.max_execs = 1;
  registry_ = std::make_shared<RetainedExecs>(options_);
  engine_.body->Script({}, /*hold_open=*/true);
  ExecPlan plan;
  ASSERT_TRUE(PlanExec(Config({"x"}), ExecMode::kStreamed, &plan).ok());
  std::shared_ptr<engine::Engine> borrowed(&engine_, [](engine::Engine*) {});
  engine::DockerApi api(borrowed, std::chrono::milliseconds(0));
  std::atomic<int> ok{0};
  grpc::Status refused;
  registry_->Start(api, plan, "alice",
                   [&](const grpc::Status& st, const std::string&) { ok += st.ok() ? 1 : 0; });
  ASSERT_TRUE(PollUntil([&] { return ok == 1; }, std::chrono::seconds(10)));
  registry_->Start(api, plan, "alice",
                   [&](const grpc::Status& st, const std::string&) { refused = st; });
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("--exec-retain-max"));
  engine_.body->Cancel();
}

// Before the engine stops, the server closes what retained execs hold open in it: a read left
// pending there would keep its operation, and the engine, alive for good.
TEST_F(RetainedExecTest, CloseAllCancelsTheReadsItHoldsOpen) {
  registry_ = std::make_shared<RetainedExecs>(options_);
  engine_.body->Script({Frame(1, "still running\n")}, /*hold_open=*/true);
  ExecPlan plan;
  ASSERT_TRUE(PlanExec(Config({"x"}), ExecMode::kStreamed, &plan).ok());
  std::shared_ptr<engine::Engine> borrowed(&engine_, [](engine::Engine*) {});
  std::atomic<bool> started{false};
  auto exec =
      registry_->Start(engine::DockerApi(borrowed, std::chrono::milliseconds(0)), plan, "alice",
                       [&](const grpc::Status& st, const std::string&) { started = st.ok(); });
  ASSERT_TRUE(PollUntil([&] { return started.load(); }, std::chrono::seconds(10)));
  ASSERT_EQ(registry_->size(), 1u);
  EXPECT_FALSE(engine_.body->cancelled());
  registry_->CloseAll();
  EXPECT_TRUE(engine_.body->cancelled());
  EXPECT_EQ(registry_->size(), 0u);
  // A reader still attached sees the end, not a hang.
  RetainedSlice slice;
  uint64_t reader = exec->AddReader(0, [] {});
  ASSERT_TRUE(exec->Read(reader, 0, 1000, &slice).ok());
  EXPECT_TRUE(slice.end);
  EXPECT_EQ(slice.status.error_code(), grpc::StatusCode::CANCELLED);
}

}  // namespace
}  // namespace dockline::server
