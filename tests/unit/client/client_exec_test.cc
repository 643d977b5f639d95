#include "client/client_exec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dockline::client {
namespace {

TEST(ExecCommandTest, ListsStayStringsSplit) {
  client::ExecCommand list({"echo", "a b"});
  EXPECT_THAT(list.argv(), ::testing::ElementsAre("echo", "a b"));
  client::ExecCommand line("echo 'a b' c");
  EXPECT_THAT(line.argv(), ::testing::ElementsAre("echo", "a b", "c"));
  client::ExecCommand bad("echo 'open");
  EXPECT_EQ(bad.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace dockline::client
