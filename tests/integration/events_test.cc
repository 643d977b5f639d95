// WatchEvents (and `dockline events`) against the real daemon: a labelled container's life as
// typed events, live and replayed, narrowed by docker's filters, bounded by since/until, refused
// with the field named, and scoped to an owned identity's own containers.

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "harness.h"
#include "policy_fixture.h"

namespace dockline::testing {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kEventsLabel[] = "dockline-events-test";

google::protobuf::Timestamp Now(std::chrono::seconds shift = std::chrono::seconds(0)) {
  return TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          (std::chrono::system_clock::now() + shift).time_since_epoch())
          .count());
}

v1::WatchEventsRequest Window(const google::protobuf::Timestamp& since,
                              const std::vector<std::pair<std::string, std::string>>& filters) {
  v1::WatchEventsRequest request;
  for (const auto& [key, value] : filters) {
    v1::Filter* filter = request.add_filters();
    filter->set_key(key);
    filter->set_value(value);
  }
  *request.mutable_since() = since;
  *request.mutable_until() = Now();
  return request;
}

// Every event of a stream that ends by itself (a window with `until`), and how it ended.
grpc::Status Drain(v1::Dockline::Stub& stub, grpc::ClientContext* ctx,
                   const v1::WatchEventsRequest& request, std::vector<v1::Event>* events) {
  auto reader = stub.WatchEvents(ctx, request);
  v1::WatchEventsResponse msg;
  while (reader->Read(&msg)) {
    events->push_back(msg.event());
  }
  return reader->Finish();
}

std::vector<std::string> Actions(const std::vector<v1::Event>& events) {
  std::vector<std::string> actions;
  for (const v1::Event& event : events) {
    actions.push_back(event.action());
  }
  return actions;
}

class EventsTest : public DaemonTest {
 protected:
  // A container run to its end and removed, labelled with this test's own value.
  std::string RunOnce() {
    v1::RunContainerRequest run;
    *run.mutable_spec() = Spec({"true"});
    run.mutable_spec()->set_name(name_);
    run.mutable_spec()->set_auto_remove(true);
    (*run.mutable_spec()->mutable_labels())[kEventsLabel] = label_;
    RunOutput out = Run(run);
    EXPECT_TRUE(out.status.ok()) << out.status.error_message();
    EXPECT_TRUE(out.removed);
    return out.id;
  }
  std::pair<std::string, std::string> LabelFilter() const {
    return {"label", std::string(kEventsLabel) + "=" + label_};
  }
  CommandResult Cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {DOCKLINE_CLI_PATH, "--addr", ServerAddress()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  const std::string name_ = UniqueName("events");
  const std::string label_ = UniqueLabelValue();
};

TEST_F(EventsTest, AContainersLifeArrivesLiveInOrderAndReplaysWithinItsWindow) {
  const google::protobuf::Timestamp since = Now(std::chrono::seconds(-1));
  // Live: subscribed before the container exists, followed until we stop.
  v1::WatchEventsRequest live;
  v1::Filter* filter = live.add_filters();
  filter->set_key("label");
  filter->set_value(LabelFilter().second);
  // since: what happens before the subscription reaches the daemon is replayed, not missed.
  *live.mutable_since() = since;
  auto ctx = Context();
  auto reader = stub().WatchEvents(ctx.get(), live);
  const std::string id = RunOnce();
  std::vector<v1::Event> followed;
  v1::WatchEventsResponse msg;
  while ((followed.empty() || followed.back().action() != "destroy") && reader->Read(&msg)) {
    followed.push_back(msg.event());
  }
  ctx->TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  std::vector<std::string> actions = Actions(followed);
  ASSERT_GE(actions.size(), 4u) << ::testing::PrintToString(actions);
  EXPECT_EQ(actions.front(), "create");
  EXPECT_EQ(actions.back(), "destroy");
  EXPECT_THAT(actions, ::testing::IsSupersetOf({"create", "start", "die", "destroy"}));
  int64_t last = 0;
  for (const v1::Event& event : followed) {
    EXPECT_EQ(event.type(), "container");
    EXPECT_EQ(event.actor_id(), id);
    EXPECT_EQ(event.scope(), "local");
    EXPECT_EQ(event.attributes().at("name"), name_);
    EXPECT_EQ(event.attributes().at("image"), Image());
    EXPECT_EQ(event.attributes().at(kEventsLabel), label_);
    const int64_t nanos = TimeUtil::TimestampToNanoseconds(event.time());
    EXPECT_GE(nanos, last) << "out of order";
    last = nanos;
  }
  // Nanoseconds, not whole seconds: four events all on a second boundary would be a fluke.
  EXPECT_TRUE(std::any_of(followed.begin(), followed.end(),
                          [](const v1::Event& e) { return e.time().nanos() != 0; }));
  auto die = std::find_if(followed.begin(), followed.end(),
                          [](const v1::Event& e) { return e.action() == "die"; });
  ASSERT_NE(die, followed.end());
  EXPECT_EQ(die->attributes().at("exitCode"), "0");

  // Replayed: a past window gives the same events and ends by itself, OK.
  std::vector<v1::Event> replayed;
  auto replay_ctx = Context(std::chrono::seconds(30));
  grpc::Status st = Drain(stub(), replay_ctx.get(), Window(since, {LabelFilter()}), &replayed);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(Actions(replayed), actions);

  // Filters narrow: docker's keys, ORed within a key, ANDed across keys.
  std::vector<v1::Event> narrowed;
  auto narrow_ctx = Context(std::chrono::seconds(30));
  st = Drain(
      stub(), narrow_ctx.get(),
      Window(since, {LabelFilter(), {"event", "start"}, {"event", "die"}, {"type", "container"}}),
      &narrowed);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(Actions(narrowed), ElementsAre("start", "die"));
  std::vector<v1::Event> images;
  auto image_ctx = Context(std::chrono::seconds(30));
  st = Drain(stub(), image_ctx.get(), Window(since, {LabelFilter(), {"type", "image"}}), &images);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(images.empty());

  // The CLI: docker's line, and --format json's daemon-shaped objects.
  const std::string since_text = TimeUtil::ToString(since);
  CommandResult line = Cli({"events", "--since", since_text, "--until", "0s", "--filter",
                            "label=" + LabelFilter().second, "--filter", "event=start"});
  ASSERT_EQ(line.exit_code, 0) << line.err;
  EXPECT_THAT(line.out, HasSubstr(" container start " + id + " ("));
  EXPECT_THAT(line.out, HasSubstr("name=" + name_ + ")\n"));
  CommandResult json = Cli({"events", "--since", since_text, "--until", "0s", "--format", "json",
                            "--filter", "label=" + LabelFilter().second, "-f", "event=die"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  nlohmann::json object = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(object.is_object()) << json.out;
  EXPECT_EQ(object["Type"], "container");
  EXPECT_EQ(object["Action"], "die");
  EXPECT_EQ(object["Actor"]["ID"], id);
  EXPECT_EQ(object["Actor"]["Attributes"]["exitCode"], "0");
  EXPECT_EQ(object["timeNano"].get<int64_t>() / 1000000000, object["time"].get<int64_t>());
}

TEST_F(EventsTest, ABadFilterKeyOrABackwardWindowIsRefusedNamingTheField) {
  v1::WatchEventsRequest colour =
      Window(Now(std::chrono::seconds(-5)), {{"type", "container"}, {"colour", "red"}});
  std::vector<v1::Event> events;
  auto ctx = Context();
  grpc::Status st = Drain(stub(), ctx.get(), colour, &events);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(),
              StartsWith("filters[1].key: \"colour\" is not an events filter (container, "));
  v1::WatchEventsRequest backward = Window(Now(std::chrono::seconds(60)), {});
  auto backward_ctx = Context();
  st = Drain(stub(), backward_ctx.get(), backward, &events);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), StartsWith("since: must not be after until"));
  EXPECT_TRUE(events.empty());
  CommandResult cli = Cli({"events", "--filter", "colour=red", "--until", "0s"});
  EXPECT_NE(cli.exit_code, 0);
  EXPECT_THAT(cli.err, HasSubstr("filters[0].key: \"colour\""));
}

// The README's events lines, run as written but for this test's label.
TEST_F(EventsTest, ReadmeEventsLinesRunAsWritten) {
  const std::string id = RunOnce();
  std::string block = ShBlockAfter(ReadmeText(), "<!-- readme-test:events -->");
  ASSERT_FALSE(block.empty()) << "the README lost its events block";
  ReplaceAll(&block, "label=app=web", "label=" + LabelFilter().second);
  const auto commands = ReadmeCommands(block);
  ASSERT_EQ(commands.size(), 2u) << block;
  for (const ReadmeCommand& command : commands) {
    ASSERT_EQ(command.argv.at(0), "dockline");
    CommandResult r = Cli(std::vector<std::string>(command.argv.begin() + 1, command.argv.end()));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr(id)) << ::testing::PrintToString(command.argv);
    EXPECT_THAT(r.out, HasSubstr(command.comment)) << ::testing::PrintToString(command.argv);
  }
}

class EventsPolicyTest : public PolicyFixture {};

TEST_F(EventsPolicyTest, AnOwnedIdentitySeesItsOwnContainersEventsOnly) {
  Start();
  const google::protobuf::Timestamp since = Now(std::chrono::seconds(-1));
  std::string alices;
  std::string bobs;
  ASSERT_TRUE(CreateAs("alice", NamedSpec({"true"}), &alices).ok());
  ASSERT_TRUE(CreateAs("bob", NamedSpec({"true"}), &bobs).ok());
  ASSERT_TRUE(StartAs("bob", bobs).ok());
  const std::pair<std::string, std::string> test_containers = {
      "label", std::string(kTestLabel) + "=" + test_label_};
  std::vector<v1::Event> seen;
  auto ctx = As("alice");
  grpc::Status st = Drain(*client_, ctx.get(), Window(since, {test_containers}), &seen);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_FALSE(seen.empty());
  for (const v1::Event& event : seen) {
    EXPECT_EQ(event.type(), "container");
    EXPECT_EQ(event.actor_id(), alices);
  }
  // Not even by naming bob's container, nor by asking for other types of events.
  std::vector<v1::Event> asked;
  auto asked_ctx = As("alice");
  st = Drain(
      *client_, asked_ctx.get(),
      Window(since,
             {{"container", bobs}, {"type", "container"}, {"type", "network"}, {"type", "image"}}),
      &asked);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(asked.empty()) << asked.front().DebugString();
  // The unowned reader sees both.
  std::vector<v1::Event> everyone;
  auto reader_ctx = As("reader");
  st = Drain(*client_, reader_ctx.get(), Window(since, {test_containers}), &everyone);
  ASSERT_TRUE(st.ok()) << st.error_message();
  bool saw_bob = false;
  for (const v1::Event& event : everyone) {
    saw_bob = saw_bob || event.actor_id() == bobs;
  }
  EXPECT_TRUE(saw_bob);
}

}  // namespace
}  // namespace dockline::testing
