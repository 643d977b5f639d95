// Health and prune without a daemon: the pure pieces (event parsing, verdicts, filters, reply
// codecs, CLI parsing and formatting), and the RPCs driven through a real in-process gRPC
// server against a scripted Engine, to pin down call order (subscribe before inspect), events
// split across reads, cancellation and the volume-prune version split.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "client/cli/cli.h"
#include "client/cli/health.h"
#include "server/service.h"
#include "server/rpc/health.h"
#include "server/rpc/prune.h"
#include "unit/fake_engine.h"

namespace dockline {
namespace {

using engine::ApiRequest;
using engine::ApiResponse;
using engine::Result;
using google::protobuf::util::TimeUtil;
using testing::FakeBody;
using testing::FakeEngine;
using testing::QueryValue;
using testing::Reply;
using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kId(64, 'a');
const std::string kOtherId = std::string(63, 'a') + "b";

// ---------------------------------------------------------------------------------------------
// Pure pieces

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

TEST(LineSplitterTest, RefusesAnEndlessLine) {
  server::LineSplitter splitter(8);
  auto ignore = [](std::string_view) {};
  EXPECT_TRUE(splitter.Feed("12345", ignore));
  EXPECT_FALSE(splitter.Feed("6789", ignore));
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

TEST(ContainerEventTest, FilterSubscribesToHealthDieAndDestroyOfOneContainer) {
  auto filter = json::parse(server::HealthEventsFilter("web"));
  EXPECT_EQ(filter, (json{{"type", {"container"}},
                          {"event", {"health_status", "die", "destroy"}},
                          {"container", {"web"}}}));
}

json Inspect(bool running, json health, std::string status = "") {
  json state = {{"Running", running},
                {"Status", status.empty() ? (running ? "running" : "exited") : status}};
  if (!health.is_null()) {
    state["Health"] = std::move(health);
  }
  return json{{"Id", kId}, {"State", state}};
}

json HealthJson(std::string status, int streak = 0, int exit_code = 0, std::string output = "") {
  json log = json::array();
  if (!output.empty() || exit_code != 0) {
    log.push_back({{"Start", "2026-11-28T06:13:40.015701729Z"},
                   {"End", "2026-11-28T06:13:40.027Z"},
                   {"ExitCode", exit_code},
                   {"Output", output}});
  }
  return json{{"Status", status}, {"FailingStreak", streak}, {"Log", log}};
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

TEST(PruneFiltersTest, UntilLabelsAndNegation) {
  v1::PruneFilters filters;
  *filters.mutable_until_time() = TimeUtil::NanosecondsToTimestamp(1700000000500000000);
  filters.add_labels("dockline-test=1");
  filters.add_labels("tier");
  filters.add_labels_not("keep");
  json out;
  ASSERT_TRUE(server::PruneFiltersToJson(server::PruneKind::kContainers, filters, &out).ok());
  EXPECT_EQ(out, (json{{"until", {"1700000000.500000000"}},
                       {"label", {"dockline-test=1", "tier"}},
                       {"label!", {"keep"}}}));

  v1::PruneFilters age;
  age.mutable_older_than()->set_seconds(3600);
  ASSERT_TRUE(server::PruneFiltersToJson(server::PruneKind::kNetworks, age, &out).ok());
  EXPECT_EQ(out, (json{{"until", {"3600s"}}}));

  v1::PruneFilters none;
  ASSERT_TRUE(server::PruneFiltersToJson(server::PruneKind::kImages, none, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(PruneFiltersTest, GoDurations) {
  google::protobuf::Duration d;
  d.set_seconds(90);
  EXPECT_EQ(server::GoDurationText(d), "90s");
  d.set_seconds(1);
  d.set_nanos(500000000);
  EXPECT_EQ(server::GoDurationText(d), "1.5s");
  d.set_seconds(0);
  d.set_nanos(1);
  EXPECT_EQ(server::GoDurationText(d), "0.000000001s");
}

TEST(PruneFiltersTest, RefusesWhatTheDaemonWouldNamingTheField) {
  json out;
  v1::PruneFilters until;
  until.mutable_older_than()->set_seconds(60);
  grpc::Status st = server::PruneFiltersToJson(server::PruneKind::kVolumes, until, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("filters.older_than"));

  v1::PruneFilters negative;
  negative.mutable_older_than()->set_seconds(-5);
  st = server::PruneFiltersToJson(server::PruneKind::kContainers, negative, &out);
  EXPECT_THAT(st.error_message(), HasSubstr("filters.older_than"));

  v1::PruneFilters empty_label;
  empty_label.add_labels("a");
  empty_label.add_labels("");
  st = server::PruneFiltersToJson(server::PruneKind::kContainers, empty_label, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("filters.labels[1]"));

  v1::PruneFilters no_key;
  no_key.add_labels_not("=x");
  st = server::PruneFiltersToJson(server::PruneKind::kNetworks, no_key, &out);
  EXPECT_THAT(st.error_message(), HasSubstr("filters.labels_not[0]"));
}

TEST(PruneFiltersTest, LabelMatchingFollowsTheDaemon) {
  v1::PruneFilters filters;
  filters.add_labels("a=1");
  filters.add_labels("b");
  EXPECT_TRUE(server::MatchPruneLabels(filters, json{{"a", "1"}, {"b", "x"}}));
  EXPECT_FALSE(server::MatchPruneLabels(filters, json{{"a", "2"}, {"b", "x"}}));
  EXPECT_FALSE(server::MatchPruneLabels(filters, json{{"a", "1"}}));
  EXPECT_FALSE(server::MatchPruneLabels(filters, nullptr));

  // label! excludes only when all of its entries match (filters.Args.MatchKVList).
  v1::PruneFilters negated;
  negated.add_labels_not("keep");
  negated.add_labels_not("tier=db");
  EXPECT_TRUE(server::MatchPruneLabels(negated, json{{"keep", ""}}));
  EXPECT_FALSE(server::MatchPruneLabels(negated, json{{"keep", ""}, {"tier", "db"}}));
  EXPECT_TRUE(server::MatchPruneLabels(negated, nullptr));
}

TEST(PruneFiltersTest, UntilBound) {
  v1::PruneFilters filters;
  EXPECT_FALSE(server::PruneUntilNanos(filters, 100).has_value());
  filters.mutable_older_than()->set_seconds(10);
  EXPECT_EQ(server::PruneUntilNanos(filters, 50000000000), 40000000000);
}

TEST(PruneVolumesTest, AnonymousByVersion) {
  json anonymous = {{"Name", std::string(64, 'c')}, {"Labels", nullptr}};
  json named = {{"Name", "data"}, {"Labels", {{"x", "1"}}}};
  json labelled = {{"Name", "whatever"}, {"Labels", {{"com.docker.volume.anonymous", ""}}}};
  EXPECT_TRUE(server::IsAnonymousVolume(anonymous, "1.41"));
  EXPECT_FALSE(server::IsAnonymousVolume(named, "1.41"));
  EXPECT_TRUE(server::IsAnonymousVolume(labelled, "1.41"));
  // 1.42 and later go by the label only, as the daemon does.
  EXPECT_FALSE(server::IsAnonymousVolume(anonymous, "1.44"));
  EXPECT_TRUE(server::IsAnonymousVolume(labelled, "1.44"));
  EXPECT_FALSE(server::IsAnonymousVolume(json{{"Name", std::string(64, 'C')}}, "1.41"));
}

TEST(PruneRepliesTest, NullListsAreEmpty) {
  v1::PruneContainersResponse containers;
  server::ContainersPruneFromJson(json::parse(R"({"ContainersDeleted":null,"SpaceReclaimed":0})"),
                                  &containers);
  EXPECT_EQ(containers.containers_deleted_size(), 0);
  server::ContainersPruneFromJson(
      json::parse(R"({"ContainersDeleted":["a","b"],"SpaceReclaimed":102400})"), &containers);
  EXPECT_THAT(containers.containers_deleted(), ElementsAre("a", "b"));
  EXPECT_EQ(containers.space_reclaimed(), 102400u);

  v1::PruneImagesResponse images;
  server::ImagesPruneFromJson(
      json::parse(
          R"({"ImagesDeleted":[{"Untagged":"x:1"},{"Deleted":"sha256:9"}],"SpaceReclaimed":51205})"),
      &images);
  ASSERT_EQ(images.images_deleted_size(), 2);
  EXPECT_EQ(images.images_deleted(0).untagged(), "x:1");
  EXPECT_EQ(images.images_deleted(1).deleted(), "sha256:9");
  EXPECT_EQ(images.space_reclaimed(), 51205u);

  v1::PruneVolumesResponse volumes;
  server::VolumesPruneFromJson(json::parse(R"({"VolumesDeleted":null,"SpaceReclaimed":-1})"),
                               &volumes);
  EXPECT_EQ(volumes.volumes_deleted_size(), 0);
  EXPECT_EQ(volumes.space_reclaimed(), 0u);

  v1::PruneNetworksResponse networks;
  server::NetworksPruneFromJson(json::parse(R"({"NetworksDeleted":["n1"]})"), &networks);
  EXPECT_THAT(networks.networks_deleted(), ElementsAre("n1"));
}

// ---------------------------------------------------------------------------------------------
// CLI

TEST(HealthCliTest, ParsesHealthForms) {
  auto plain = cli::ParseArgs({"health", "web"});
  ASSERT_TRUE(plain.ok()) << plain.status.error_message();
  EXPECT_EQ(plain.value.kind, cli::CommandKind::kHealth);
  EXPECT_EQ(plain.value.health.container, "web");
  EXPECT_FALSE(plain.value.health.wait);

  auto wait = cli::ParseArgs({"health", "--wait", "--timeout", "30s", "web", "--json"});
  ASSERT_TRUE(wait.ok()) << wait.status.error_message();
  EXPECT_TRUE(wait.value.health.wait);
  EXPECT_EQ(wait.value.health.timeout, std::chrono::seconds(30));
  EXPECT_TRUE(wait.value.json);

  EXPECT_TRUE(cli::ParseArgs({"health", "--watch", "web"}).value.health.watch);
  EXPECT_FALSE(cli::ParseArgs({"health", "--wait", "--watch", "web"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"health", "--timeout", "5s", "web"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"health", "--wait", "--timeout", "soon", "web"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"health"}).ok());
}

TEST(PruneCliTest, ParsesTargetsFiltersAndFlags) {
  auto parsed = cli::ParseArgs({"prune", "containers", "--filter", "label=a=b", "--filter",
                                "label!=keep", "--filter", "until=24h", "--dry-run"});
  ASSERT_TRUE(parsed.ok()) << parsed.status.error_message();
  EXPECT_EQ(parsed.value.kind, cli::CommandKind::kPrune);
  const auto& prune = parsed.value.prune;
  EXPECT_EQ(prune.target, cli::PruneTarget::kContainers);
  EXPECT_TRUE(prune.options.dry_run);
  EXPECT_THAT(prune.options.filters.labels(), ElementsAre("a=b"));
  EXPECT_THAT(prune.options.filters.labels_not(), ElementsAre("keep"));
  EXPECT_EQ(prune.options.filters.older_than().seconds(), 24 * 3600);

  auto stamp = cli::ParseArgs(
      {"prune", "images", "--filter", "until=1700000000", "--filter", "dangling=false"});
  ASSERT_TRUE(stamp.ok()) << stamp.status.error_message();
  EXPECT_EQ(stamp.value.prune.options.filters.until_time().seconds(), 1700000000);
  EXPECT_TRUE(stamp.value.prune.options.all);

  auto volumes = cli::ParseArgs({"prune", "volumes", "--all", "--json"});
  ASSERT_TRUE(volumes.ok()) << volumes.status.error_message();
  EXPECT_EQ(volumes.value.prune.target, cli::PruneTarget::kVolumes);
  EXPECT_TRUE(volumes.value.prune.options.all);
  EXPECT_TRUE(volumes.value.json);

  EXPECT_FALSE(cli::ParseArgs({"prune", "things"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"prune", "networks", "--all"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"prune", "volumes", "--filter", "until=1h"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"prune", "containers", "--filter", "dangling=true"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"prune", "containers", "--filter", "bogus=1"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"prune", "containers", "--filter", "until=yesterday"}).ok());
}

TEST(PruneCliTest, HumanSizeLikeDocker) {
  EXPECT_EQ(cli::HumanSize(0), "0B");
  EXPECT_EQ(cli::HumanSize(999), "999B");
  EXPECT_EQ(cli::HumanSize(1000), "1kB");
  EXPECT_EQ(cli::HumanSize(1234567), "1.235MB");
  EXPECT_EQ(cli::HumanSize(102400), "102.4kB");
  EXPECT_EQ(cli::HumanSize(5000000000), "5GB");
}

TEST(PruneCliTest, Summaries) {
  v1::PruneContainersResponse containers;
  containers.add_containers_deleted("abc");
  containers.add_containers_deleted("def");
  containers.set_space_reclaimed(1234567);
  EXPECT_EQ(cli::FormatPrune(containers, false),
            "Deleted Containers:\nabc\ndef\n\n2 containers deleted\nTotal reclaimed space: "
            "1.235MB\n");
  EXPECT_EQ(cli::FormatPrune(v1::PruneContainersResponse(), true),
            "0 containers would be deleted\nTotal reclaimable space: 0B\n");

  v1::PruneImagesResponse images;
  images.add_images_deleted()->set_untagged("x:1");
  images.add_images_deleted()->set_deleted("sha256:1");
  EXPECT_THAT(cli::FormatPrune(images, false),
              HasSubstr("untagged: x:1\ndeleted: sha256:1\n\n1 image, 1 tag deleted\n"));

  v1::PruneNetworksResponse networks;
  networks.add_networks_deleted("n1");
  EXPECT_EQ(cli::FormatPrune(networks, true),
            "Would delete Networks:\nn1\n\n1 network would be deleted\n");
}

TEST(HealthCliTest, ReportSaysWhenTheContainerStopped) {
  v1::GetHealthResponse reply;
  reply.mutable_health()->set_status(v1::HEALTH_STATUS_UNHEALTHY);
  reply.mutable_health()->set_failing_streak(2);
  auto* probe = reply.mutable_health()->add_log();
  *probe->mutable_start() = TimeUtil::NanosecondsToTimestamp(1795738021000000000);
  *probe->mutable_end() = TimeUtil::NanosecondsToTimestamp(1795738021012000000);
  probe->set_exit_code(1);
  probe->set_output("no\n");
  reply.set_container_status(v1::CONTAINER_STATUS_EXITED);
  std::string text = cli::FormatHealth(reply);
  EXPECT_THAT(text, HasSubstr("unhealthy (container exited"));
  EXPECT_THAT(text, HasSubstr("Failing streak:  2"));
  EXPECT_THAT(text, HasSubstr("exit 1"));
  EXPECT_THAT(text, HasSubstr("12ms"));
  EXPECT_THAT(text, HasSubstr(" no\n"));

  v1::GetHealthResponse none;
  none.mutable_health()->set_status(v1::HEALTH_STATUS_NONE);
  none.set_container_status(v1::CONTAINER_STATUS_RUNNING);
  EXPECT_EQ(cli::FormatHealth(none), "Status:          none\n");
}

// ---------------------------------------------------------------------------------------------
// The RPCs against a scripted engine

std::string EventLine(const std::string& action, const std::string& id = kId,
                      json attributes = json::object()) {
  return json{{"Type", "container"},
              {"Action", action},
              {"Actor", {{"ID", id}, {"Attributes", attributes}}},
              {"time", 1795738021},
              {"timeNano", 1795738021501234180}}
             .dump() +
         "\n";
}

class ScriptedServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(scripted_.server); }

  // The inspect replies in order; the last repeats.
  void ScriptInspects(std::vector<json> replies) {
    auto shared = std::make_shared<std::vector<json>>(std::move(replies));
    auto index = std::make_shared<size_t>(0);
    auto mu = std::make_shared<std::mutex>();
    engine_->unary = [shared, index, mu](const ApiRequest& request) {
      if (request.path.ends_with("/json") && request.path.starts_with("/containers/")) {
        std::lock_guard<std::mutex> lock(*mu);
        json body = (*shared)[std::min(*index, shared->size() - 1)];
        ++*index;
        return Reply(body);
      }
      return Result<ApiResponse>(engine::Status(engine::Code::kNotFound, "unscripted"));
    };
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  }

  testing::ScriptedService scripted_;
  std::shared_ptr<FakeEngine>& engine_ = scripted_.engine;
  std::unique_ptr<v1::Dockline::Stub>& stub_ = scripted_.stub;
};

TEST_F(ScriptedServiceTest, WaitHealthySubscribesBeforeInspectingAndReadsSplitEvents) {
  ScriptInspects(
      {Inspect(true, HealthJson("starting")), Inspect(true, HealthJson("healthy", 0, 0, "ok\n"))});
  v1::WaitHealthyRequest request;
  request.set_container("web");
  request.mutable_timeout()->set_seconds(5);
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  auto done = std::async(std::launch::async,
                         [&] { return stub_->WaitHealthy(ctx.get(), request, &response); });
  ASSERT_TRUE(engine_->AwaitCalls(2));
  EXPECT_THAT(engine_->Calls(),
              ElementsAre("STREAM GET /events", "UNARY GET /containers/web/json"));
  ApiRequest events = engine_->Requests()[0];
  EXPECT_EQ(json::parse(QueryValue(events, "filters")),
            json::parse(server::HealthEventsFilter("web")));
  EXPECT_EQ(events.timeout, std::chrono::seconds(5));

  // Another container whose name starts like ours, then ours, split mid-line.
  std::string line = EventLine("health_status: healthy");
  engine_->body(0)->Push(EventLine("health_status: healthy", kOtherId) + line.substr(0, 17));
  engine_->body(0)->Push(line.substr(17));
  grpc::Status st = done.get();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(response.health().status(), v1::HEALTH_STATUS_HEALTHY);
  ASSERT_EQ(response.health().log_size(), 1);
  EXPECT_EQ(response.health().log(0).output(), "ok\n");
  // One inspect for the state, one for our event; none for the other container's.
  EXPECT_EQ(engine_->Calls().size(), 3u);
  EXPECT_TRUE(engine_->body(0)->cancelled()) << "the events connection stayed open";
}

TEST_F(ScriptedServiceTest, WaitHealthyFailsOnUnhealthyWithTheLastProbe) {
  ScriptInspects({Inspect(true, HealthJson("starting")),
                  Inspect(true, HealthJson("unhealthy", 2, 7, "connection refused\n"))});
  v1::WaitHealthyRequest request;
  request.set_container("web");
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  auto done = std::async(std::launch::async,
                         [&] { return stub_->WaitHealthy(ctx.get(), request, &response); });
  ASSERT_TRUE(engine_->AwaitCalls(2));
  engine_->body(0)->Push(EventLine("health_status: unhealthy"));
  grpc::Status st = done.get();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("unhealthy"));
  EXPECT_THAT(st.error_message(), HasSubstr("exited with 7"));
  EXPECT_THAT(st.error_message(), HasSubstr("connection refused"));
}

TEST_F(ScriptedServiceTest, WaitHealthyEndsWhenTheContainerDies) {
  ScriptInspects({Inspect(true, HealthJson("starting"))});
  v1::WaitHealthyRequest request;
  request.set_container("web");
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  auto done = std::async(std::launch::async,
                         [&] { return stub_->WaitHealthy(ctx.get(), request, &response); });
  ASSERT_TRUE(engine_->AwaitCalls(2));
  engine_->body(0)->Push(EventLine("die", kId, {{"exitCode", "3"}}));
  grpc::Status st = done.get();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("exited while waiting"));
  EXPECT_THAT(st.error_message(), HasSubstr("exit code 3"));
}

TEST_F(ScriptedServiceTest, WaitHealthyAppliesEventsThatCameBeforeTheInspect) {
  // The transition lands between subscribing and the inspect's reply: it must not be lost.
  auto gate = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  auto count = std::make_shared<int>(0);
  engine_->unary = [opened, count](const ApiRequest&) {
    if ((*count)++ == 0) {
      opened.wait();
      return Reply(Inspect(true, HealthJson("starting")));
    }
    return Reply(Inspect(true, HealthJson("healthy")));
  };
  v1::WaitHealthyRequest request;
  request.set_container("web");
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  auto done = std::async(std::launch::async,
                         [&] { return stub_->WaitHealthy(ctx.get(), request, &response); });
  // The fake answers synchronously inside Unary, so the event is pushed first.
  std::thread pusher([&] {
    while (!engine_->body(0)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    engine_->body(0)->Push(EventLine("health_status: healthy"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gate->set_value();
  });
  grpc::Status st = done.get();
  pusher.join();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(response.health().status(), v1::HEALTH_STATUS_HEALTHY);
}

TEST_F(ScriptedServiceTest, WaitHealthyRefusesWithoutHealthcheckOrWhenStopped) {
  for (const auto& [inspect, text] : std::vector<std::pair<json, std::string>>{
           {Inspect(true, nullptr), "no healthcheck"},
           {Inspect(false, HealthJson("unhealthy")), "is not running (exited)"}}) {
    ScriptInspects({inspect});
    v1::WaitHealthyRequest request;
    request.set_container("web");
    v1::WaitHealthyResponse response;
    auto ctx = Context();
    grpc::Status st = stub_->WaitHealthy(ctx.get(), request, &response);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(st.error_message(), HasSubstr(text));
  }
}

TEST_F(ScriptedServiceTest, WaitHealthyTimeoutIsDeadlineExceeded) {
  ScriptInspects({Inspect(true, HealthJson("starting"))});
  v1::WaitHealthyRequest request;
  request.set_container("web");
  request.mutable_timeout()->set_seconds(2);
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  auto done = std::async(std::launch::async,
                         [&] { return stub_->WaitHealthy(ctx.get(), request, &response); });
  ASSERT_TRUE(engine_->AwaitCalls(2));
  // What the Beast engine reports when the events request's deadline passes.
  engine_->body(0)->Fail(engine::Status(engine::Code::kTimeout, "timed out reading"));
  grpc::Status st = done.get();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(st.error_message(), HasSubstr("did not become healthy within 2s"));
  EXPECT_THAT(st.error_message(), HasSubstr("still starting"));
}

TEST_F(ScriptedServiceTest, WaitHealthyCancelClosesTheEventsConnection) {
  ScriptInspects({Inspect(true, HealthJson("starting"))});
  v1::WaitHealthyRequest request;
  request.set_container("web");
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  auto done = std::async(std::launch::async,
                         [&] { return stub_->WaitHealthy(ctx.get(), request, &response); });
  ASSERT_TRUE(engine_->AwaitCalls(2));
  ctx->TryCancel();
  EXPECT_EQ(done.get().error_code(), grpc::StatusCode::CANCELLED);
  bool closed = false;
  for (int i = 0; i < 400 && !closed; ++i) {
    closed = engine_->body(0)->cancelled();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(closed);
}

TEST_F(ScriptedServiceTest, WaitHealthyValidatesItsRequest) {
  v1::WaitHealthyRequest request;
  v1::WaitHealthyResponse response;
  auto ctx = Context();
  EXPECT_EQ(stub_->WaitHealthy(ctx.get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_container("web");
  request.mutable_timeout()->set_seconds(-1);
  auto ctx2 = Context();
  grpc::Status st = stub_->WaitHealthy(ctx2.get(), request, &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("timeout"));
  EXPECT_THAT(engine_->Calls(), IsEmpty());
}

TEST_F(ScriptedServiceTest, WatchHealthReportsTransitionsAndEndsAtTheStop) {
  ScriptInspects({Inspect(true, HealthJson("starting")),
                  Inspect(true, HealthJson("healthy", 0, 0, "ok")),
                  Inspect(true, HealthJson("unhealthy", 1, 1, "down"))});
  v1::WatchHealthRequest request;
  request.set_container("web");
  auto ctx = Context();
  auto reader = stub_->WatchHealth(ctx.get(), request);
  v1::WatchHealthResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.health().status(), v1::HEALTH_STATUS_STARTING);
  EXPECT_THAT(engine_->Calls(),
              ElementsAre("STREAM GET /events", "UNARY GET /containers/web/json"));
  engine_->body(0)->Push(EventLine("health_status: healthy"));
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.health().status(), v1::HEALTH_STATUS_HEALTHY);
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(msg.time()), 1795738021501234180);
  ASSERT_EQ(msg.health().log_size(), 1);
  EXPECT_EQ(msg.health().log(0).output(), "ok");
  // A repeat of the same status is no transition; the stop ends the stream.
  engine_->body(0)->Push(EventLine("health_status: healthy") +
                         EventLine("health_status: unhealthy") +
                         EventLine("die", kId, {{"exitCode", "0"}}));
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.health().status(), v1::HEALTH_STATUS_UNHEALTHY);
  EXPECT_FALSE(reader->Read(&msg));
  grpc::Status st = reader->Finish();
  EXPECT_TRUE(st.ok()) << st.error_message();
}

TEST_F(ScriptedServiceTest, WatchHealthRefusesAStoppedContainer) {
  ScriptInspects({Inspect(false, HealthJson("unhealthy"))});
  v1::WatchHealthRequest request;
  request.set_container("web");
  auto ctx = Context();
  auto reader = stub_->WatchHealth(ctx.get(), request);
  v1::WatchHealthResponse msg;
  EXPECT_FALSE(reader->Read(&msg));
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("not running"));
  EXPECT_TRUE(engine_->body(0)->cancelled());
}

TEST_F(ScriptedServiceTest, GetHealthSaysTheContainerStatus) {
  ScriptInspects({Inspect(false, HealthJson("unhealthy", 4))});
  v1::GetHealthRequest request;
  request.set_container("web");
  v1::GetHealthResponse response;
  auto ctx = Context();
  ASSERT_TRUE(stub_->GetHealth(ctx.get(), request, &response).ok());
  EXPECT_EQ(response.health().status(), v1::HEALTH_STATUS_UNHEALTHY);
  EXPECT_EQ(response.health().failing_streak(), 4);
  EXPECT_EQ(response.container_status(), v1::CONTAINER_STATUS_EXITED);
}

void ScriptVolumes(FakeEngine& engine) {
  engine.unary = [](const ApiRequest& request) {
    if (request.method == "GET" && request.path == "/volumes") {
      return Reply(json{{"Volumes",
                         {{{"Name", std::string(64, 'e')}, {"Labels", {{"t", "1"}}}},
                          {{"Name", "named"}, {"Labels", {{"t", "1"}}}}}},
                        {"Warnings", nullptr}});
    }
    if (request.path == "/system/df") {
      return Reply(json{{"Volumes",
                         {{{"Name", std::string(64, 'e')}, {"UsageData", {{"Size", 4096}}}},
                          {{"Name", "named"}, {"UsageData", {{"Size", 1}}}}}}});
    }
    if (request.method == "DELETE") {
      ApiResponse res;
      res.status = 204;
      return Result<ApiResponse>(res);
    }
    if (request.path == "/volumes/prune") {
      return Reply(json{{"VolumesDeleted", nullptr}, {"SpaceReclaimed", 0}});
    }
    return Result<ApiResponse>(engine::Status(engine::Code::kNotFound, "unscripted"));
  };
}

TEST_F(ScriptedServiceTest, VolumePruneOn141KeepsNamedVolumesByDeletingOneByOne) {
  ScriptVolumes(*engine_);
  v1::PruneVolumesRequest request;
  request.mutable_filters()->add_labels("t=1");
  v1::PruneVolumesResponse response;
  auto ctx = Context();
  grpc::Status st = stub_->PruneVolumes(ctx.get(), request, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(response.volumes_deleted(), ElementsAre(std::string(64, 'e')));
  EXPECT_EQ(response.space_reclaimed(), 4096u);
  EXPECT_THAT(engine_->Calls(), ElementsAre("UNARY GET /volumes", "UNARY GET /system/df",
                                            "UNARY DELETE /volumes/" + std::string(64, 'e')));
  EXPECT_EQ(json::parse(QueryValue(engine_->Requests()[0], "filters")),
            (json{{"label", {"t=1"}}, {"dangling", {"true"}}}));
}

TEST_F(ScriptedServiceTest, VolumePruneAllOn141AndAnyOn142UseThePruneEndpoint) {
  ScriptVolumes(*engine_);
  v1::PruneVolumesRequest request;
  request.mutable_filters()->add_labels("t=1");
  request.set_all(true);
  v1::PruneVolumesResponse response;
  auto ctx = Context();
  ASSERT_TRUE(stub_->PruneVolumes(ctx.get(), request, &response).ok());
  ASSERT_THAT(engine_->Calls(), ElementsAre("UNARY POST /volumes/prune"));
  // 1.41 refuses the all filter.
  EXPECT_EQ(json::parse(QueryValue(engine_->Requests()[0], "filters")), (json{{"label", {"t=1"}}}));

  engine_->api_version = "1.44";
  auto ctx2 = Context();
  ASSERT_TRUE(stub_->PruneVolumes(ctx2.get(), request, &response).ok());
  EXPECT_EQ(json::parse(QueryValue(engine_->Requests()[1], "filters")),
            (json{{"label", {"t=1"}}, {"all", {"true"}}}));
  request.set_all(false);
  auto ctx3 = Context();
  ASSERT_TRUE(stub_->PruneVolumes(ctx3.get(), request, &response).ok());
  EXPECT_EQ(json::parse(QueryValue(engine_->Requests()[2], "filters")), (json{{"label", {"t=1"}}}));
  EXPECT_EQ(engine_->Calls().size(), 3u);
}

TEST_F(ScriptedServiceTest, DryRunsOnlyRead) {
  engine_->unary = [](const ApiRequest& request) {
    if (request.path == "/containers/json") {
      return Reply(
          json::array({{{"Id", "c1"},
                        {"Labels", {{"t", "1"}}},
                        {"Created", 100},
                        {"SizeRw", 10},
                        {"ImageID", "sha256:used"}},
                       {{"Id", "c2"}, {"Labels", {{"t", "1"}, {"keep", ""}}}, {"Created", 100}}}));
    }
    if (request.path == "/images/json") {
      return Reply(json::array({{{"Id", "sha256:used"}, {"Labels", {{"t", "1"}}}, {"Size", 5}},
                                {{"Id", "sha256:free"},
                                 {"Labels", {{"t", "1"}}},
                                 {"Size", 7},
                                 {"RepoTags", {"<none>:<none>"}}}}));
    }
    return Result<ApiResponse>(engine::Status(engine::Code::kNotFound, "unscripted"));
  };
  v1::PruneContainersRequest containers;
  containers.set_dry_run(true);
  containers.mutable_filters()->add_labels("t=1");
  containers.mutable_filters()->add_labels_not("keep");
  v1::PruneContainersResponse containers_reply;
  auto ctx = Context();
  ASSERT_TRUE(stub_->PruneContainers(ctx.get(), containers, &containers_reply).ok());
  EXPECT_THAT(containers_reply.containers_deleted(), ElementsAre("c1"));
  EXPECT_EQ(containers_reply.space_reclaimed(), 10u);
  json filters = json::parse(QueryValue(engine_->Requests()[0], "filters"));
  EXPECT_EQ(filters["status"], (json{"created", "exited", "dead"}));

  v1::PruneImagesRequest images;
  images.set_dry_run(true);
  v1::PruneImagesResponse images_reply;
  auto ctx2 = Context();
  ASSERT_TRUE(stub_->PruneImages(ctx2.get(), images, &images_reply).ok());
  ASSERT_EQ(images_reply.images_deleted_size(), 1);
  EXPECT_EQ(images_reply.images_deleted(0).deleted(), "sha256:free");
  EXPECT_EQ(images_reply.space_reclaimed(), 7u);
  for (const std::string& call : engine_->Calls()) {
    EXPECT_THAT(call, ::testing::StartsWith("UNARY GET")) << "a dry run must not change anything";
  }
}

}  // namespace
}  // namespace dockline
