#include "server/reactor/output_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "dockline/v1/dockline.pb.h"

namespace dockline::server {
namespace {

using engine::StreamKind;

v1::StreamExecResponse Chunk(StreamKind kind, std::string&& data) {
  v1::StreamExecResponse msg;
  msg.mutable_output()->set_stream(kind == StreamKind::kStderr ? v1::STREAM_STDERR
                                                               : v1::STREAM_STDOUT);
  msg.mutable_output()->set_data(std::move(data));
  return msg;
}

using QueueClock = OutputQueue<v1::StreamExecResponse>::Clock;

TEST(OutputQueueTest, GathersWhileWritingAndFlushesWhenIdle) {
  QueueClock::time_point now{};
  OutputQueue<v1::StreamExecResponse> queue(&Chunk, /*max_messages=*/2, /*max_chunk=*/4,
                                            [&now] { return now; });
  v1::StreamExecResponse id;
  id.set_exec_id("e1");
  queue.Push(id);
  const auto* first = queue.NextWrite();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->exec_id(), "e1");
  EXPECT_EQ(queue.NextWrite(), nullptr);  // one write in flight
  queue.Add(StreamKind::kStdout, "ab");
  queue.FlushIfIdle();  // busy: keeps gathering
  queue.Add(StreamKind::kStdout, "c");
  EXPECT_TRUE(queue.HasRoom());
  queue.WriteDone();
  EXPECT_FALSE(queue.drained());
  now += OutputQueue<v1::StreamExecResponse>::kFlushDelay;  // the held chunk is due
  EXPECT_EQ(queue.FlushIfIdle().count(), 0);
  const auto* second = queue.NextWrite();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->output().data(), "abc");
  // A stream switch and a full chunk each close the pending chunk; the queue then fills.
  queue.Add(StreamKind::kStdout, "12345");
  queue.Add(StreamKind::kStderr, "e");
  EXPECT_FALSE(queue.HasRoom());
  v1::StreamExecResponse exited;
  exited.mutable_exited()->set_exit_code(3);
  queue.Push(exited);  // pending output goes first
  std::vector<std::string> order;
  queue.WriteDone();
  while (const auto* next = queue.NextWrite()) {
    order.push_back(next->has_exited() ? "exit" : next->output().data());
    queue.WriteDone();
  }
  EXPECT_EQ(order, (std::vector<std::string>{"1234", "5", "e", "exit"}));
  EXPECT_TRUE(queue.drained());
}

// An idle writer does not send each small piece at once: it waits a moment for more (the
// daemon sends a log line per HTTP chunk), unless enough has gathered for a message.
TEST(OutputQueueTest, IdleWriterHoldsSmallChunksBriefly) {
  using Queue = OutputQueue<v1::StreamExecResponse>;
  QueueClock::time_point now{};
  Queue queue(&Chunk, Queue::kDefaultMaxMessages, 64 * 1024, [&now] { return now; });
  EXPECT_EQ(queue.FlushIfIdle().count(), 0);  // nothing held
  queue.Add(StreamKind::kStdout, "line 1\n");
  EXPECT_EQ(queue.FlushIfIdle(), Queue::kFlushDelay);
  EXPECT_EQ(queue.NextWrite(), nullptr);
  now += std::chrono::milliseconds(1);
  queue.Add(StreamKind::kStdout, "line 2\n");
  EXPECT_EQ(queue.FlushIfIdle(), Queue::kFlushDelay - std::chrono::milliseconds(1));
  now += std::chrono::milliseconds(1);
  EXPECT_EQ(queue.FlushIfIdle().count(), 0);
  const auto* held = queue.NextWrite();
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->output().data(), "line 1\nline 2\n");
  queue.WriteDone();
  // Enough for a message of its own goes at once.
  queue.Add(StreamKind::kStdout, std::string(Queue::kEagerBytes, 'x'));
  EXPECT_EQ(queue.FlushIfIdle().count(), 0);
  const auto* big = queue.NextWrite();
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->output().data().size(), Queue::kEagerBytes);
  queue.WriteDone();
  EXPECT_TRUE(queue.drained());
}

}  // namespace
}  // namespace dockline::server
