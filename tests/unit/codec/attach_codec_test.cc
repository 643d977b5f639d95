#include "server/codec/attach_codec.h"

#include <gtest/gtest.h>

namespace dockline::server {
namespace {

TEST(AttachCodecTest, DetachKeysAreDockersSyntax) {
  for (const char* ok : {"ctrl-p,ctrl-q", "ctrl-x,x", "a", "ctrl-@", "ctrl-_,ctrl-\\"}) {
    EXPECT_TRUE(ValidDetachKeys(ok)) << ok;
  }
  for (const char* bad : {"", "ctrl-1", "ctrl-pq", "ctrl-P", "ab", "ctrl-p,", "alt-x", ",,"}) {
    EXPECT_FALSE(ValidDetachKeys(bad)) << bad;
  }
}

TEST(AttachCodecTest, PlanNamesTheFieldAndAlwaysAttachesSomeOutput) {
  v1::AttachConfig config;
  engine::AttachQuery query;
  grpc::Status st = PlanAttach(config, &query);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("config.container: ", 0), 0u) << st.error_message();

  config.set_container("web");
  config.set_detach_keys("ctrl-1");
  st = PlanAttach(config, &query);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("config.detach_keys: ", 0), 0u) << st.error_message();

  config.set_detach_keys("ctrl-a");
  config.set_stdin(true);
  config.set_logs(true);
  ASSERT_TRUE(PlanAttach(config, &query).ok());
  EXPECT_TRUE(query.want_stdin && query.want_stdout && query.want_stderr && query.logs);
  EXPECT_EQ(query.detach_keys, "ctrl-a");

  config.set_stdout(false);
  ASSERT_TRUE(PlanAttach(config, &query).ok());
  EXPECT_FALSE(query.want_stdout);
  EXPECT_TRUE(query.want_stderr);
  // Neither: the daemon would end the attach at once, so stdout is read and dropped.
  config.set_stderr(false);
  ASSERT_TRUE(PlanAttach(config, &query).ok());
  EXPECT_TRUE(query.want_stdout);
  EXPECT_FALSE(query.want_stderr);
}

}  // namespace
}  // namespace dockline::server
