#include "server/events/event_follower.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "unit/health_documents.h"

namespace dockline {
namespace {

using testing::kId;
using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(LineSplitterTest, JoinsLinesSplitAcrossReads) {
  server::LineSplitter splitter;
  std::vector<std::string> lines;
  auto collect = [&lines](std::string_view line) { lines.emplace_back(line); };
  EXPECT_TRUE(splitter.Feed("{\"a\":", collect));
  EXPECT_THAT(lines, IsEmpty());
  EXPECT_TRUE(splitter.Feed("1}\n\n{\"b\"", collect));
  EXPECT_TRUE(splitter.Feed(":2}\n{\"c\":3}\n", collect));
  EXPECT_THAT(lines, ElementsAre("{\"a\":1}", "{\"b\":2}", "{\"c\":3}"));
}

// The limit holds for a long line that comes whole in one read, too (found by json_fuzz).
TEST(LineSplitterTest, RefusesALongLineWhateverTheReads) {
  auto ignore = [](std::string_view) {};
  server::LineSplitter whole(8);
  EXPECT_FALSE(whole.Feed("123456789\n", ignore));
  server::LineSplitter joined(8);
  EXPECT_TRUE(joined.Feed("12345", ignore));
  EXPECT_FALSE(joined.Feed("6789\n", ignore));
  server::LineSplitter exact(8);
  std::vector<std::string> lines;
  EXPECT_TRUE(exact.Feed("1234", ignore));
  EXPECT_TRUE(exact.Feed("5678\n", [&lines](std::string_view l) { lines.emplace_back(l); }));
  EXPECT_THAT(lines, ElementsAre("12345678"));
}

TEST(LineSplitterTest, RefusesAnEndlessLine) {
  server::LineSplitter splitter(8);
  auto ignore = [](std::string_view) {};
  EXPECT_TRUE(splitter.Feed("12345", ignore));
  EXPECT_FALSE(splitter.Feed("6789", ignore));
}

// Found by json_fuzz: a "time" in seconds past int64 nanoseconds overflowed.
TEST(ContainerEventTest, TimesThatCannotBeNanosecondsAreUnknown) {
  EXPECT_EQ(server::ParseContainerEvent(json::parse(R"({"time":17261565697000})")).time_nanos, 0);
  EXPECT_EQ(server::ParseContainerEvent(json::parse(R"({"time":-5})")).time_nanos, 0);
  EXPECT_EQ(server::ParseContainerEvent(json::parse(R"({"time":1700000000})")).time_nanos,
            1700000000000000000LL);
  EXPECT_EQ(server::ParseContainerEvent(json::parse(R"({"time":1,"timeNano":7})")).time_nanos, 7);
}

TEST(ContainerEventTest, HealthStatusDieAndDestroy) {
  auto healthy = server::ParseContainerEvent(json::parse(
      R"({"status":"health_status: healthy","id":")" + kId +
      R"(","Type":"container","Action":"health_status: healthy","Actor":{"ID":")" + kId +
      R"(","Attributes":{"name":"web"}},"time":1795738021,"timeNano":1795738021501234180})"));
  EXPECT_EQ(healthy.kind, server::ContainerEvent::Kind::kHealth);
  EXPECT_EQ(healthy.health, v1::HEALTH_STATUS_HEALTHY);
  EXPECT_EQ(healthy.id, kId);
  EXPECT_EQ(healthy.time_nanos, 1795738021501234180);

  // API 1.52 drops status/id/from: Action and Actor are enough.
  auto unhealthy = server::ParseContainerEvent(json{{"Type", "container"},
                                                    {"Action", "health_status: unhealthy"},
                                                    {"Actor", {{"ID", kId}}},
                                                    {"time", 5}});
  EXPECT_EQ(unhealthy.health, v1::HEALTH_STATUS_UNHEALTHY);
  EXPECT_EQ(unhealthy.time_nanos, 5000000000);

  auto die = server::ParseContainerEvent(
      json{{"Type", "container"},
           {"Action", "die"},
           {"Actor", {{"ID", kId}, {"Attributes", {{"exitCode", "137"}}}}}});
  EXPECT_EQ(die.kind, server::ContainerEvent::Kind::kDie);
  EXPECT_EQ(die.exit_code, 137);

  auto destroy = server::ParseContainerEvent(
      json{{"Type", "container"}, {"Action", "destroy"}, {"Actor", {{"ID", kId}}}});
  EXPECT_EQ(destroy.kind, server::ContainerEvent::Kind::kDestroy);

  auto exec = server::ParseContainerEvent(
      json{{"Type", "container"}, {"Action", "exec_die"}, {"Actor", {{"ID", kId}}}});
  EXPECT_EQ(exec.kind, server::ContainerEvent::Kind::kOther);
  auto network = server::ParseContainerEvent(
      json{{"Type", "network"}, {"Action", "destroy"}, {"Actor", {{"ID", kId}}}});
  EXPECT_EQ(network.kind, server::ContainerEvent::Kind::kOther);
  auto garbage = server::ParseContainerEvent(json{{"Action", 7}, {"Actor", "x"}});
  EXPECT_EQ(garbage.kind, server::ContainerEvent::Kind::kOther);
}

// WatchEvents relays the whole event; the health and logs followers read the same parse.
TEST(DaemonEventTest, EveryFieldOfTheEventTyped) {
  auto event = server::ParseDaemonEvent(json::parse(
      R"({"status":"start","id":")" + kId +
      R"(","from":"busybox","Type":"container","Action":"start","Actor":{"ID":")" + kId +
      R"(","Attributes":{"name":"web","image":"busybox","team":"a","odd":7}},"scope":"local",)"
      R"("time":1795738021,"timeNano":1795738021501234180})"));
  EXPECT_EQ(event.type, "container");
  EXPECT_EQ(event.action, "start");
  EXPECT_EQ(event.actor_id, kId);
  // A value that is not a string is no attribute docker prints: left out, not thrown on.
  EXPECT_THAT(event.attributes,
              ElementsAre(std::pair<const std::string, std::string>("image", "busybox"),
                          std::pair<const std::string, std::string>("name", "web"),
                          std::pair<const std::string, std::string>("team", "a")));
  EXPECT_EQ(event.scope, "local");
  EXPECT_EQ(event.time_nanos, 1795738021501234180);
  EXPECT_EQ(server::ToContainerEvent(event).kind, server::ContainerEvent::Kind::kStart);

  auto network = server::ParseDaemonEvent(json::parse(
      R"({"Type":"network","Action":"connect","Actor":{"ID":"n1","Attributes":{"container":"c"}},)"
      R"("scope":"swarm","time":5})"));
  EXPECT_EQ(network.type, "network");
  EXPECT_EQ(network.actor_id, "n1");
  EXPECT_EQ(network.scope, "swarm");
  EXPECT_EQ(network.time_nanos, 5000000000);

  v1::Event proto;
  server::EventToProto(network, &proto);
  EXPECT_EQ(proto.type(), "network");
  EXPECT_EQ(proto.action(), "connect");
  EXPECT_EQ(proto.attributes().at("container"), "c");
  EXPECT_EQ(proto.time().seconds(), 5);

  // Pre-1.22: no Type, Action or Actor.
  auto old = server::ParseDaemonEvent(json{{"status", "die"}, {"id", kId}, {"time", 1}});
  EXPECT_EQ(old.type, "container");
  EXPECT_EQ(old.action, "die");
  EXPECT_EQ(old.actor_id, kId);
}

// std::stoll threw on these.
TEST(ContainerEventTest, AnExitCodeThatIsNoNumberIsNone) {
  for (const char* code : {"-", "1-2", "", "99999999999999999999", "7x"}) {
    auto die = server::ParseContainerEvent(
        json{{"Type", "container"},
             {"Action", "die"},
             {"Actor", {{"ID", kId}, {"Attributes", {{"exitCode", code}}}}}});
    EXPECT_EQ(die.kind, server::ContainerEvent::Kind::kDie);
    EXPECT_FALSE(die.exit_code.has_value()) << code;
  }
}

}  // namespace
}  // namespace dockline
