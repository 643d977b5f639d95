#include "client/cli/format.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace dockline::cli {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

TEST(FormatTest, HumanDuration) {
  EXPECT_EQ(HumanDuration(500ms), "Less than a second");
  EXPECT_EQ(HumanDuration(1s), "1 second");
  EXPECT_EQ(HumanDuration(45s), "45 seconds");
  EXPECT_EQ(HumanDuration(90s), "About a minute");
  EXPECT_EQ(HumanDuration(5min), "5 minutes");
  EXPECT_EQ(HumanDuration(70min), "About an hour");
  EXPECT_EQ(HumanDuration(3h), "3 hours");
  EXPECT_EQ(HumanDuration(72h), "3 days");
  EXPECT_EQ(HumanDuration(24h * 21), "3 weeks");
  EXPECT_EQ(HumanDuration(24h * 90), "3 months");
  EXPECT_EQ(HumanDuration(24h * 365 * 3), "3 years");
}

TEST(FormatTest, PsTableLooksLikeDockers) {
  v1::ListContainersResponse list;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        containers {
          id: "4f1c2d3e4b5a69788796a5b4c3d2e1f0"
          names: "web"
          image: "busybox"
          command: "sh -c 'while true; do sleep 1; done'"
          status: "Up 5 minutes"
          ports { container_port: 80 protocol: PROTOCOL_TCP host_ip: "127.0.0.1" host_port: 8080 }
          ports { container_port: 53 protocol: PROTOCOL_UDP }
          ports { container_port: 81 host_ip: "::1" host_port: 8081 }
        }
        containers { id: "abc" names: "a" names: "b" image: "x" command: "true" status: "Created" }
      )pb",
      &list));
  const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);
  *list.mutable_containers(0)->mutable_created() =
      TimeUtil::SecondsToTimestamp(1'700'000'000 - 300);

  const std::string table = FormatPsTable(list, now, /*no_trunc=*/false);

  EXPECT_EQ(
      table,
      "CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS         "
      "PORTS                                                NAMES\n"
      "4f1c2d3e4b5a   busybox   \"sh -c 'while true; \u2026\"   5 minutes ago   Up 5 minutes   "
      "127.0.0.1:8080->80/tcp, 53/udp, [::1]:8081->81/tcp   web\n"
      "abc            x         \"true\"                                   Created        "
      "                                                     a,b\n");
  EXPECT_THAT(FormatPsTable(list, now, /*no_trunc=*/true),
              HasSubstr("4f1c2d3e4b5a69788796a5b4c3d2e1f0   busybox   "
                        "\"sh -c 'while true; do sleep 1; done'\""));
}

TEST(FormatTest, JsonPrintsZeroValues) {
  v1::WaitContainerResponse wait;
  EXPECT_EQ(ToJson(wait), R"({"exitCode":0,"error":""})");
}

TEST(FormatTest, InspectArrayIsDockerShaped) {
  v1::InspectContainerResponse reply;
  reply.set_raw_json(R"({"Id":"abc","Created":"2024-01-01","State":{"Running":true}})");
  v1::InspectContainerResponse not_json;
  not_json.set_raw_json("garbage");
  not_json.mutable_container()->set_id("def");
  // The daemon's key order is kept; a document that is not JSON gives the typed view.
  EXPECT_THAT(FormatInspectArray({reply, not_json}),
              StartsWith("[\n"
                         "    {\n"
                         "        \"Id\": \"abc\",\n"
                         "        \"Created\": \"2024-01-01\",\n"
                         "        \"State\": {\n"
                         "            \"Running\": true\n"
                         "        }\n"
                         "    },\n"
                         "    {\n"
                         "        \"id\": \"def\",\n"));
}

}  // namespace
}  // namespace dockline::cli
