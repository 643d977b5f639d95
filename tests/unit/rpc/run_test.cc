// RunContainer's log resume against a scripted engine: the orderings dockerd produces only
// under load (entries of one stream written after later-stamped entries of the other, follow
// streams that end mid-entry) are scripted here exactly.

#include "server/rpc/run.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "unit/fake_engine.h"
#include "unit/frame.h"

namespace dockline {
namespace {

using engine::ApiRequest;
using engine::ApiResponse;
using engine::Result;
using google::protobuf::util::TimeUtil;
using testing::FakeBody;
using testing::QueryValue;
using testing::Reply;

constexpr int64_t kSecond = 1795738021;

// One entry of a json-file log, in the order the daemon wrote it.
struct Entry {
  int stream;  // 1 stdout, 2 stderr
  int64_t nanos;
  std::string text;
};

std::string EntryFrame(const Entry& e, size_t cut = std::string::npos) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(kSecond + e.nanos / 1000000000);
  ts.set_nanos(static_cast<int32_t>(e.nanos % 1000000000));
  std::string payload = TimeUtil::ToString(ts) + " " + e.text;
  if (cut != std::string::npos) {
    // The frame's header still announces the whole payload: the stream ends inside it.
    return testing::Frame(static_cast<uint8_t>(e.stream), payload)
        .substr(0, 8 + payload.size() - e.text.size() + cut);
  }
  return testing::Frame(static_cast<uint8_t>(e.stream), payload);
}

// Nanoseconds after kSecond of a since=<seconds>.<nanos> parameter ("" is the beginning).
int64_t SinceNanos(const std::string& since) {
  if (since.empty()) {
    return INT64_MIN;
  }
  long long sec = 0;
  long long nanos = 0;
  EXPECT_EQ(std::sscanf(since.c_str(), "%lld.%lld", &sec, &nanos), 2) << since;
  return (sec - kSecond) * 1000000000 + nanos;
}

class RunResumeTest : public ::testing::Test {
 protected:
  // `follow_passes[i]` is what the i-th follow pass delivers; it ends the pass when `end` is
  // set. A non-follow pass gets the whole log from `since` on, as dockerd serves it.
  struct FollowPass {
    std::string bytes;
    bool end = false;
  };

  void Script(std::vector<Entry> log, std::vector<FollowPass> follow_passes) {
    auto& engine = scripted_.engine;
    engine->unary = [](const ApiRequest& request) {
      if (request.path == "/containers/create") {
        return Reply({{"Id", "c0ffee"}, {"Warnings", nlohmann::json::array()}}, 201);
      }
      if (request.path.starts_with("/images/")) {  // the pull policy's check: present
        return Reply({{"Id", "sha256:feed"}});
      }
      ApiResponse res;
      res.status = 204;
      return Result<ApiResponse>(std::move(res));
    };
    engine->stream = [this, log, follow_passes](const ApiRequest& request,
                                                const std::shared_ptr<FakeBody>& body) {
      std::lock_guard<std::mutex> lock(mu_);
      if (request.path.ends_with("/wait")) {
        wait_ = body;
        return;
      }
      sinces_.push_back(QueryValue(request, "since"));
      if (QueryValue(request, "follow") == "1") {
        size_t i = follows_++;
        if (i < follow_passes.size()) {
          body->Push(follow_passes[i].bytes);
          if (follow_passes[i].end) {
            body->End();
          }
        }
        return;
      }
      int64_t since = SinceNanos(sinces_.back());
      std::string all;
      for (const Entry& e : log) {
        if (e.nanos >= since) {
          all += EntryFrame(e);
        }
      }
      all.resize(all.size() - std::min(all.size(), final_pass_cut_));
      body->Push(all);
      body->End();
    };
  }

  // Runs, reads output until `before_exit` has arrived, then lets the container exit. Returns
  // how the call ended.
  [[nodiscard]] grpc::Status RunUntilExit(const std::string& before_exit_out,
                                          const std::string& before_exit_err) {
    v1::RunContainerRequest request;
    request.mutable_spec()->set_image("busybox");
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto reader = scripted_.stub->RunContainer(&ctx, request);
    v1::RunContainerResponse msg;
    bool exited_sent = false;
    while (reader->Read(&msg)) {
      if (msg.has_output()) {
        (msg.output().stream() == v1::STREAM_STDERR ? err_ : out_) += msg.output().data();
      }
      if (msg.has_exited()) {
        exit_code_ = msg.exited().exit_code();
      }
      if (!exited_sent && out_ == before_exit_out && err_ == before_exit_err) {
        exited_sent = true;
        std::lock_guard<std::mutex> lock(mu_);
        EXPECT_TRUE(wait_);
        if (!wait_) {
          break;
        }
        wait_->Push("{\"StatusCode\":3}\n");
        wait_->End();
      }
    }
    return reader->Finish();
  }

  testing::ScriptedService scripted_;
  std::mutex mu_;
  std::shared_ptr<FakeBody> wait_;
  size_t follows_ = 0;
  std::vector<std::string> sinces_;
  std::string out_;
  std::string err_;
  int64_t exit_code_ = -1;
  size_t final_pass_cut_ = 0;  // bytes the final (non-follow) pass leaves off its end
};

// stderr's first line was stamped before stdout's but written after it: the follow had only
// the stdout line when the exit came. Resuming at stdout's timestamp would drop it.
TEST_F(RunResumeTest, LateWrittenEntryOfASilentStreamIsNotLost) {
  std::vector<Entry> log = {{1, 200, "o1\n"}, {2, 100, "e1\n"}};
  Script(log, {{EntryFrame(log[0])}});
  ASSERT_TRUE(scripted_.server);
  grpc::Status st = RunUntilExit("o1\n", "");
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out_, "o1\n");
  EXPECT_EQ(err_, "e1\n");
  EXPECT_EQ(exit_code_, 3);
}

// Both streams have relayed lines; stderr's second line is written after stdout's later one.
TEST_F(RunResumeTest, LateWrittenEntryAfterBothStreamsRelayedIsNotLost) {
  std::vector<Entry> log = {{2, 100, "e1\n"}, {1, 300, "o1\n"}, {2, 200, "e2\n"}, {1, 400, "o2\n"}};
  Script(log, {{EntryFrame(log[0]) + EntryFrame(log[1])}});
  ASSERT_TRUE(scripted_.server);
  grpc::Status st = RunUntilExit("o1\n", "e1\n");
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out_, "o1\no2\n");
  EXPECT_EQ(err_, "e1\ne2\n");
  // The final pass started no later than the late entry.
  ASSERT_FALSE(sinces_.empty());
  EXPECT_LE(SinceNanos(sinces_.back()), 200);
}

// A follow stream that ends inside an entry twice: each resume skips exactly the bytes of it
// already relayed, counted over both earlier passes.
TEST_F(RunResumeTest, EntryCutTwiceIsRelayedOnce) {
  std::string line = std::string(100, 'x') + "\n";
  std::vector<Entry> log = {{1, 100, line}, {1, 200, "after\n"}};
  Script(log,
         {{EntryFrame(log[0], 30), true}, {EntryFrame(log[0], 60), true}, {EntryFrame(log[0])}});
  ASSERT_TRUE(scripted_.server);
  grpc::Status st = RunUntilExit(line, "");
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out_, line + "after\n");
  EXPECT_EQ(follows_, 3u);
}

// Several entries share one timestamp: a resume skips as many as were relayed, no more.
TEST_F(RunResumeTest, EntriesSharingATimestampAreCounted) {
  std::vector<Entry> log = {{1, 100, "a\n"}, {1, 100, "b\n"}, {1, 100, "c\n"}};
  Script(log, {{EntryFrame(log[0]) + EntryFrame(log[1]), true}, {}});
  ASSERT_TRUE(scripted_.server);
  grpc::Status st = RunUntilExit("a\nb\n", "");
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out_, "a\nb\nc\n");
}

// The final pass has no pass after it to resume a cut entry: the run reports its exit code and
// then ends with DATA_LOSS instead of passing the cut output off as complete.
TEST_F(RunResumeTest, AFinalPassCutInsideAFrameEndsWithDataLoss) {
  std::vector<Entry> log = {{1, 100, "a\n"}, {1, 200, "lost line\n"}};
  final_pass_cut_ = 4;
  Script(log, {{EntryFrame(log[0]), true}});
  ASSERT_TRUE(scripted_.server);
  grpc::Status st = RunUntilExit("a\n", "");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DATA_LOSS) << st.error_message();
  EXPECT_NE(st.error_message().find("4 of its"), std::string::npos) << st.error_message();
  EXPECT_EQ(exit_code_, 3);
  EXPECT_EQ(out_.substr(0, 2), "a\n");
}

}  // namespace
}  // namespace dockline
