// `dockline events`: parsing and docker events' line and JSON forms.

#include "client/cli/events.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <utility>

#include "client/cli/cli.h"

namespace dockline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Filter = std::pair<std::string, std::string>;

TEST(EventsCliTest, FiltersAndAWindowOfTimesOrDurations) {
  auto parsed = cli::ParseArgs({"events", "--filter", "type=container", "-f", "label=team=a",
                                "--since", "2026-12-03T11:00:00.5Z", "--until", "1m"});
  ASSERT_TRUE(parsed.ok()) << parsed.status.error_message();
  EXPECT_EQ(parsed.value.kind, cli::CommandKind::kEvents);
  const client::EventsOptions& options = parsed.value.events.options;
  EXPECT_THAT(options.filters, ElementsAre(Filter("type", "container"), Filter("label", "team=a")));
  ASSERT_TRUE(options.since.has_value());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(options.since->time_since_epoch())
                .count(),
            1796295600500);
  ASSERT_TRUE(options.until.has_value());
  EXPECT_LT(*options.until, std::chrono::system_clock::now());  // a minute back from now
  EXPECT_FALSE(parsed.value.events.format_json);

  auto bare = cli::ParseArgs({"events", "--format", "json"});
  ASSERT_TRUE(bare.ok()) << bare.status.error_message();
  EXPECT_FALSE(bare.value.events.options.since.has_value());
  EXPECT_FALSE(bare.value.events.options.until.has_value());
  EXPECT_TRUE(bare.value.events.format_json);
}

TEST(EventsCliTest, BadValuesNameTheirFlag) {
  auto since = cli::ParseArgs({"events", "--since", "yesterday"});
  EXPECT_FALSE(since.ok());
  EXPECT_THAT(since.status.error_message(), HasSubstr("--since: "));
  auto format = cli::ParseArgs({"events", "--format", "{{.ID}}"});
  EXPECT_FALSE(format.ok());
  EXPECT_THAT(format.status.error_message(), HasSubstr("--format: only \"json\""));
  EXPECT_FALSE(cli::ParseArgs({"events", "-f", "nokey"}).ok());
}

v1::Event Start() {
  v1::Event event;
  event.set_type("container");
  event.set_action("start");
  event.set_actor_id("3f2a");
  (*event.mutable_attributes())["name"] = "x";
  (*event.mutable_attributes())["image"] = "busybox";
  event.set_scope("local");
  *event.mutable_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(1796298300000001230LL);
  return event;
}

TEST(EventsCliTest, TheLineIsDockers) {
  EXPECT_EQ(cli::FormatEventLine(Start()),
            "2026-12-03T11:45:00.000001230Z container start 3f2a (image=busybox, name=x)");
  v1::Event bare;
  bare.set_type("daemon");
  bare.set_action("reload");
  EXPECT_EQ(cli::FormatEventLine(bare), "1970-01-01T00:00:00.000000000Z daemon reload ");
}

TEST(EventsCliTest, TheJsonIsTheDaemonsEventObject) {
  nlohmann::json j = nlohmann::json::parse(cli::FormatEventJson(Start()));
  EXPECT_EQ(j["Type"], "container");
  EXPECT_EQ(j["Action"], "start");
  EXPECT_EQ(j["Actor"]["ID"], "3f2a");
  EXPECT_EQ(j["Actor"]["Attributes"], nlohmann::json({{"image", "busybox"}, {"name", "x"}}));
  EXPECT_EQ(j["scope"], "local");
  EXPECT_EQ(j["time"], 1796298300);
  EXPECT_EQ(j["timeNano"], 1796298300000001230LL);
}

}  // namespace
}  // namespace dockline
