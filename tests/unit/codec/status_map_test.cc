#include "server/codec/status_map.h"

#include <gtest/gtest.h>

namespace dockline::server {
namespace {

using engine::Code;
using grpc::StatusCode;

TEST(StatusMapTest, TheOneTable) {
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
  EXPECT_EQ(ToGrpcCode(Code::kDataLoss), StatusCode::DATA_LOSS);
  grpc::Status st = ToGrpcStatus(engine::Status(Code::kNotFound, "No such container: x", 404));
  EXPECT_EQ(st.error_message(), "No such container: x");
}

TEST(StatusMapTest, DaemonTextBecomesAShortValidUtf8Message) {
  EXPECT_EQ(StatusMessage("caf\xc3\xa9 \xe2\x9c\x93\tok\n"), "caf\xc3\xa9 \xe2\x9c\x93\tok\n");
  // A NUL, an escape, a lone continuation byte and a cut sequence each become U+FFFD.
  EXPECT_EQ(StatusMessage(std::string("a\0b\x1b"
                                      "c\x80"
                                      "d\xe2\x9c",
                                      9)),
            "a\xef\xbf\xbd"
            "b\xef\xbf\xbd"
            "c\xef\xbf\xbd"
            "d\xef\xbf\xbd");

  // The daemon's 404 echoing a 70,000-byte name, with multi-byte characters at the cut.
  std::string echoed = "No such container: " + std::string(70000, 'x');
  for (size_t i = 4000; i < 4100; i += 3) {
    echoed.replace(i, 3, "\xe2\x9c\x93");
  }
  grpc::Status st = ToGrpcStatus(engine::Status(Code::kNotFound, echoed, 404));
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
  EXPECT_LE(st.error_message().size(), kMaxStatusMessage);
  EXPECT_GT(st.error_message().size(), kMaxStatusMessage - 16);
  EXPECT_TRUE(st.error_message().starts_with("No such container: xxx"));
  EXPECT_TRUE(st.error_message().ends_with(" [... cut]"));
  EXPECT_EQ(StatusMessage(st.error_message()), st.error_message());  // valid as it is
}

}  // namespace
}  // namespace dockline::server
