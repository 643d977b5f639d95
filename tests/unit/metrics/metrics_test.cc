#include "server/metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace dockline::server::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsListenTest, LoopbackOnlyUnlessInsecureRemote) {
  EXPECT_TRUE(CheckListenAddress("127.0.0.1:9464", false).ok());
  EXPECT_TRUE(CheckListenAddress("localhost:0", false).ok());
  EXPECT_TRUE(CheckListenAddress("[::1]:9464", false).ok());
  for (const char* remote : {"0.0.0.0:9464", "192.0.2.10:9464", "127.example.com:9464"}) {
    engine::Status st = CheckListenAddress(remote, false);
    EXPECT_FALSE(st.ok()) << remote;
    EXPECT_THAT(st.message(), HasSubstr("--allow-insecure-remote")) << remote;
    EXPECT_TRUE(CheckListenAddress(remote, true).ok()) << remote;
  }
}

TEST(MetricsListenTest, OnlyHostAndPort) {
  // civetweb would read these as every address, two listeners, TLS or a redirect.
  for (const char* odd :
       {"9464", "127.0.0.1:9464,0.0.0.0:9465", "127.0.0.1:9464s", "127.0.0.1:9464r",
        "unix:///tmp/m.sock", "", "127.0.0.1:", "dns:127.0.0.1:9464"}) {
    engine::Status st = CheckListenAddress(odd, true);
    EXPECT_FALSE(st.ok()) << odd;
    EXPECT_THAT(st.message(), HasSubstr("host:port")) << odd;
  }
}

TEST(MetricsTest, CallsAreCountedByMethodAndCode) {
  Metrics metrics([] {
    return std::map<engine::Code, uint64_t>{{engine::Code::kNotFound, 3},
                                            {engine::Code::kUnreachable, 1}};
  });
  auto* info = metrics.Started("/dockline.v1.Dockline/GetEngineInfo", false);
  metrics.Sent(info, 120);
  metrics.Ended(info, false, grpc::StatusCode::OK, std::chrono::milliseconds(3));
  auto* inspect = metrics.Started("/dockline.v1.Dockline/InspectContainer", false);
  metrics.Ended(inspect, false, grpc::StatusCode::NOT_FOUND, std::chrono::milliseconds(1));
  auto* logs = metrics.Started("/dockline.v1.Dockline/StreamLogs", true);
  metrics.Sent(logs, 10);
  metrics.Sent(logs, 15);
  auto* unknown = metrics.Started("/nobody.Knows/This", false);
  metrics.Ended(unknown, false, grpc::StatusCode::UNIMPLEMENTED, std::chrono::milliseconds(0));
  metrics.SetDaemonReachable(true);

  std::string text = metrics.Text();
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(dockline_rpc_calls_total{code="OK",method="dockline.v1.Dockline/GetEngineInfo"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(dockline_rpc_calls_total{code="NOT_FOUND",method="dockline.v1.Dockline/InspectContainer"} 1)"));
  EXPECT_THAT(text,
              HasSubstr(R"(dockline_rpc_calls_total{code="UNIMPLEMENTED",method="other"} 1)"));
  EXPECT_THAT(text, Not(HasSubstr("nobody.Knows")));
  EXPECT_THAT(
      text,
      HasSubstr(R"(dockline_sent_bytes_total{method="dockline.v1.Dockline/GetEngineInfo"} 120)"));
  EXPECT_THAT(
      text, HasSubstr(R"(dockline_sent_bytes_total{method="dockline.v1.Dockline/StreamLogs"} 25)"));
  EXPECT_THAT(text,
              HasSubstr(R"(dockline_active_streams{method="dockline.v1.Dockline/StreamLogs"} 1)"));
  EXPECT_THAT(
      text,
      Not(HasSubstr(R"(dockline_active_streams{method="dockline.v1.Dockline/GetEngineInfo"})")));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(dockline_rpc_duration_seconds_count{method="dockline.v1.Dockline/GetEngineInfo"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(dockline_engine_errors_total{code="not_found"} 3)"));
  EXPECT_THAT(text, HasSubstr(R"(dockline_engine_errors_total{code="unreachable"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(dockline_engine_errors_total{code="conflict"} 0)"));
  EXPECT_THAT(text, HasSubstr("dockline_daemon_reachable 1"));

  metrics.Ended(logs, true, grpc::StatusCode::CANCELLED, std::chrono::seconds(2));
  text = metrics.Text();
  EXPECT_THAT(text,
              HasSubstr(R"(dockline_active_streams{method="dockline.v1.Dockline/StreamLogs"} 0)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(dockline_rpc_calls_total{code="CANCELLED",method="dockline.v1.Dockline/StreamLogs"} 1)"));
}

TEST(MetricsTest, ListenServesAndRefuses) {
  Metrics metrics(nullptr);
  EXPECT_EQ(metrics.port(), 0);
  EXPECT_FALSE(metrics.Listen("0.0.0.0:0", false).ok());
  ASSERT_TRUE(metrics.Listen("127.0.0.1:0", false).ok());
  EXPECT_GT(metrics.port(), 0);
  // A port in use is an error, not an exception.
  Metrics second(nullptr);
  engine::Status st = second.Listen("127.0.0.1:" + std::to_string(metrics.port()), false);
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("cannot listen"));
}

}  // namespace
}  // namespace dockline::server::metrics
