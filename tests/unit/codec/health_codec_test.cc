#include "server/codec/health_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "unit/health_documents.h"

namespace dockline {
namespace {

using testing::HealthJson;
using testing::Inspect;
using testing::kId;
using json = nlohmann::json;
using ::testing::HasSubstr;

TEST(ContainerEventTest, FilterSubscribesToHealthDieAndDestroyOfOneContainer) {
  auto filter = server::HealthEventsFilter("web");
  EXPECT_EQ(filter, (json{{"type", {"container"}},
                          {"event", {"health_status", "die", "destroy"}},
                          {"container", {"web"}}}));
}

TEST(HealthVerdictTest, StoppedBeatsTheDaemonsUnhealthy) {
  using Kind = server::HealthVerdict::Kind;
  EXPECT_EQ(server::HealthVerdictFromInspect(Inspect(true, HealthJson("healthy"))).kind,
            Kind::kHealthy);
  EXPECT_EQ(server::HealthVerdictFromInspect(Inspect(true, HealthJson("starting"))).kind,
            Kind::kStarting);
  EXPECT_EQ(
      server::HealthVerdictFromInspect(Inspect(true, HealthJson("unhealthy", 3, 1, "no\n"))).kind,
      Kind::kUnhealthy);
  EXPECT_EQ(server::HealthVerdictFromInspect(Inspect(true, nullptr)).kind, Kind::kNoHealthcheck);
  auto stopped = server::HealthVerdictFromInspect(Inspect(false, HealthJson("unhealthy", 1)));
  EXPECT_EQ(stopped.kind, Kind::kNotRunning);
  EXPECT_EQ(stopped.container_status, v1::CONTAINER_STATUS_EXITED);
  EXPECT_EQ(stopped.id, kId);
  EXPECT_EQ(server::HealthVerdictFromInspect(json::array()).kind, Kind::kNotRunning);
}

TEST(HealthVerdictTest, DescribesTheLastProbe) {
  v1::Health health;
  EXPECT_EQ(server::DescribeLastProbe(health), "");
  health.add_log()->set_exit_code(0);
  auto* last = health.add_log();
  last->set_exit_code(3);
  last->set_output("connection refused\n");
  EXPECT_EQ(server::DescribeLastProbe(health), "last probe exited with 3: \"connection refused\"");
  last->set_output(std::string(500, 'x'));
  EXPECT_THAT(server::DescribeLastProbe(health), HasSubstr("...\""));
  EXPECT_LT(server::DescribeLastProbe(health).size(), 260u);
}

}  // namespace
}  // namespace dockline
