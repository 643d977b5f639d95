#include "server/reactor/coalescer.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "unit/frame.h"

namespace dockline::server {
namespace {

using engine::FrameDemuxer;
using engine::StreamKind;
using testing::Frame;

using Chunks = std::vector<std::pair<StreamKind, std::string>>;

struct Emitted {
  Chunks chunks;
  Coalescer::EmitCallback Callback() {
    return [this](StreamKind kind, std::string&& chunk) {
      chunks.emplace_back(kind, std::move(chunk));
    };
  }
};

TEST(CoalescerTest, JoinsOneStreamUntilFlush) {
  Coalescer coalescer(1024);
  Emitted out;
  EXPECT_TRUE(coalescer.empty());
  coalescer.Add(StreamKind::kStdout, "a\n", out.Callback());
  coalescer.Add(StreamKind::kStdout, "b\n", out.Callback());
  coalescer.Add(StreamKind::kStdout, "", out.Callback());
  EXPECT_TRUE(out.chunks.empty());
  EXPECT_EQ(coalescer.pending_bytes(), 4u);
  EXPECT_EQ(coalescer.pending_kind(), StreamKind::kStdout);
  coalescer.Flush(out.Callback());
  EXPECT_EQ(out.chunks, (Chunks{{StreamKind::kStdout, "a\nb\n"}}));
  EXPECT_TRUE(coalescer.empty());
  coalescer.Flush(out.Callback());  // nothing pending: nothing emitted
  EXPECT_EQ(out.chunks.size(), 1u);
}

TEST(CoalescerTest, StreamSwitchEmits) {
  Coalescer coalescer(1024);
  Emitted out;
  coalescer.Add(StreamKind::kStdout, "o1", out.Callback());
  coalescer.Add(StreamKind::kStdout, "o2", out.Callback());
  coalescer.Add(StreamKind::kStderr, "e1", out.Callback());
  EXPECT_EQ(out.chunks, (Chunks{{StreamKind::kStdout, "o1o2"}}));
  coalescer.Add(StreamKind::kStdout, "o3", out.Callback());
  coalescer.Flush(out.Callback());
  EXPECT_EQ(out.chunks, (Chunks{{StreamKind::kStdout, "o1o2"},
                                {StreamKind::kStderr, "e1"},
                                {StreamKind::kStdout, "o3"}}));
}

TEST(CoalescerTest, SizeLimit) {
  Coalescer coalescer(4);
  Emitted out;
  coalescer.Add(StreamKind::kStdout, "ab", out.Callback());
  coalescer.Add(StreamKind::kStdout, "cd", out.Callback());  // reaches the limit exactly
  EXPECT_EQ(out.chunks, (Chunks{{StreamKind::kStdout, "abcd"}}));
  EXPECT_TRUE(coalescer.empty());
  coalescer.Add(StreamKind::kStdout, "efg", out.Callback());
  coalescer.Add(StreamKind::kStdout, "hijklmnopq", out.Callback());  // split over chunks
  EXPECT_EQ(out.chunks, (Chunks{{StreamKind::kStdout, "abcd"},
                                {StreamKind::kStdout, "efgh"},
                                {StreamKind::kStdout, "ijkl"},
                                {StreamKind::kStdout, "mnop"}}));
  EXPECT_EQ(coalescer.pending_bytes(), 1u);
  coalescer.Flush(out.Callback());
  EXPECT_EQ(out.chunks.back(), (std::pair<StreamKind, std::string>{StreamKind::kStdout, "q"}));
}

TEST(CoalescerTest, DefaultLimitAndBytesPreserved) {
  Coalescer coalescer;
  Emitted out;
  std::string all_out;
  std::string all_err;
  for (int i = 0; i < 5000; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    StreamKind kind = (i % 100 == 99) ? StreamKind::kStderr : StreamKind::kStdout;
    (kind == StreamKind::kStdout ? all_out : all_err) += line;
    coalescer.Add(kind, line, out.Callback());
  }
  coalescer.Flush(out.Callback());
  std::string got_out;
  std::string got_err;
  for (size_t i = 0; i < out.chunks.size(); ++i) {
    const auto& [kind, chunk] = out.chunks[i];
    EXPECT_LE(chunk.size(), Coalescer::kDefaultMaxChunk);
    EXPECT_FALSE(chunk.empty());
    (kind == StreamKind::kStdout ? got_out : got_err) += chunk;
  }
  EXPECT_EQ(got_out, all_out);
  EXPECT_EQ(got_err, all_err);
  // 50 stderr lines each split the stdout run: about 100 chunks, not 5000.
  EXPECT_LE(out.chunks.size(), 110u);
}

TEST(CoalescerTest, WithDemuxer) {
  std::string input;
  for (int i = 0; i < 10; ++i) {
    input += Frame(1, "out\n");
  }
  input += Frame(2, "err\n");
  FrameDemuxer demuxer;
  Coalescer coalescer(16);
  Emitted out;
  ASSERT_TRUE(demuxer
                  .Feed(input,
                        [&](StreamKind kind, std::string_view payload) {
                          coalescer.Add(kind, payload, out.Callback());
                        })
                  .ok());
  coalescer.Flush(out.Callback());
  EXPECT_EQ(out.chunks, (Chunks{{StreamKind::kStdout, "out\nout\nout\nout\n"},
                                {StreamKind::kStdout, "out\nout\nout\nout\n"},
                                {StreamKind::kStdout, "out\nout\n"},
                                {StreamKind::kStderr, "err\n"}}));
}

}  // namespace
}  // namespace dockline::server
