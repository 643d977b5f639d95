#include "server/codec/status_map.h"

#include <gtest/gtest.h>

namespace dockline::server {
namespace {

using engine::Code;

TEST(StatusMapTest, TheOneTable) {
  using grpc::StatusCode;
  EXPECT_EQ(ToGrpcCode(Code::kOk), StatusCode::OK);
  EXPECT_EQ(ToGrpcCode(Code::kNotModified), StatusCode::OK);
  EXPECT_EQ(ToGrpcCode(Code::kBadRequest), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcCode(Code::kNotFound), StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpcCode(Code::kNameConflict), StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ToGrpcCode(Code::kConflict), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ToGrpcCode(Code::kUnsupportedVersion), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ToGrpcCode(Code::kDaemonError), StatusCode::INTERNAL);
  EXPECT_EQ(ToGrpcCode(Code::kProtocolError), StatusCode::INTERNAL);
  EXPECT_EQ(ToGrpcCode(Code::kUnreachable), StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcCode(Code::kTimeout), StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(ToGrpcCode(Code::kCancelled), StatusCode::CANCELLED);
  EXPECT_EQ(ToGrpcCode(Code::kExhausted), StatusCode::RESOURCE_EXHAUSTED);
  grpc::Status st = ToGrpcStatus(engine::Status(Code::kNotFound, "No such container: x", 404));
  EXPECT_EQ(st.error_message(), "No such container: x");
}

}  // namespace
}  // namespace dockline::server
