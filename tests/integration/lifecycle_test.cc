// The container lifecycle of docker-py's create()/start()/stop()/restart()/kill()/remove()/
// reload() and list() through dockline, checked against the daemon's own view. Waits are in
// lifecycle_wait_test.cc.

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "lifecycle_fixture.h"

namespace dockline::testing {
namespace {

using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// Spec section 1/6: create, start, wait, logs, remove.
TEST_F(LifecycleTest, CreateStartWaitLogsRemove) {
  std::string id;
  ASSERT_TRUE(Create(Spec({"sh", "-c", "echo hello; echo oops >&2; exit 3"}), &id).ok());
  EXPECT_EQ(DaemonInspect(id)["State"]["Status"], "created");

  v1::StartContainerResponse started;
  ASSERT_TRUE(Start(id, &started).ok());
  EXPECT_FALSE(started.already_running());

  v1::WaitContainerResponse waited;
  grpc::Status st = Wait(id, v1::WAIT_CONDITION_NOT_RUNNING, &waited);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(waited.exit_code(), 3);
  EXPECT_EQ(waited.error(), "");

  auto state = DaemonInspect(id)["State"];
  EXPECT_EQ(state["Status"], "exited");
  EXPECT_EQ(state["ExitCode"], 3);
  DaemonLogs logs = Logs(id);
  ASSERT_TRUE(logs.ok);
  EXPECT_EQ(logs.stdout_data, "hello\n");
  EXPECT_EQ(logs.stderr_data, "oops\n");

  v1::RemoveContainerRequest remove;
  remove.set_container(id);
  v1::RemoveContainerResponse removed;
  auto ctx = Context();
  st = stub().RemoveContainer(ctx.get(), remove, &removed);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(DaemonInspect(id).is_null());
}

TEST_F(LifecycleTest, RemoveVolumesTakesTheAnonymousVolumes) {
  for (bool remove_volumes : {false, true}) {
    v1::ContainerSpec spec = Spec({"true"});
    auto* m = spec.add_mounts();
    m->set_type(v1::MOUNT_TYPE_VOLUME);
    m->set_target("/anon");
    std::string id;
    ASSERT_TRUE(Create(spec, &id).ok());
    auto mounts = DaemonInspect(id)["Mounts"];
    ASSERT_EQ(mounts.size(), 1u);
    std::string volume = mounts[0]["Name"].get<std::string>();
    ASSERT_FALSE(volume.empty());
    ASSERT_TRUE(Daemon(engine::ApiRequest("GET", "/volumes/" + volume)).ok());

    v1::RemoveContainerRequest req;
    req.set_container(id);
    req.set_remove_volumes(remove_volumes);
    v1::RemoveContainerResponse resp;
    auto ctx = Context();
    grpc::Status st = stub().RemoveContainer(ctx.get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(DaemonInspect(id).is_null());
    bool volume_left = Daemon(engine::ApiRequest("GET", "/volumes/" + volume)).ok();
    EXPECT_EQ(volume_left, !remove_volumes) << "remove_volumes=" << remove_volumes;
    if (volume_left) {
      Daemon(engine::ApiRequest("DELETE", "/volumes/" + volume));
    }
  }
}

TEST_F(LifecycleTest, StartTwiceReportsAlreadyRunning) {
  std::string id;
  ASSERT_TRUE(Create(Spec({"sleep", "600"}), &id).ok());
  v1::StartContainerResponse first;
  ASSERT_TRUE(Start(id, &first).ok());
  EXPECT_FALSE(first.already_running());
  v1::StartContainerResponse second;
  grpc::Status st = Start(id, &second);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(second.already_running());
  EXPECT_EQ(DaemonInspect(id)["State"]["Running"], true);
}

TEST_F(LifecycleTest, StopWithTimeoutThenAlreadyStopped) {
  // sleep as PID 1 ignores SIGTERM: the grace period runs out and the daemon kills it.
  std::string id = CreateAndStart(Spec({"sleep", "600"}));
  ASSERT_FALSE(id.empty());
  auto begin = std::chrono::steady_clock::now();
  v1::StopContainerResponse stopped;
  grpc::Status st = Stop(id, 1, &stopped);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, kGenerous);
  EXPECT_FALSE(stopped.already_stopped());
  auto state = DaemonInspect(id)["State"];
  EXPECT_EQ(state["Status"], "exited");
  EXPECT_EQ(state["Running"], false);
  EXPECT_EQ(state["ExitCode"], 137);

  v1::StopContainerResponse again;
  st = Stop(id, 1, &again);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(again.already_stopped());
}

TEST_F(LifecycleTest, RestartRunsTheContainerAgain) {
  std::string id = CreateAndStart(Spec({"sleep", "600"}));
  ASSERT_FALSE(id.empty());
  auto before = DaemonInspect(id)["State"];
  ASSERT_EQ(before["Running"], true);

  v1::RestartContainerRequest req;
  req.set_container(id);
  req.mutable_timeout()->set_seconds(1);
  v1::RestartContainerResponse resp;
  auto ctx = Context();
  grpc::Status st = stub().RestartContainer(ctx.get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();

  auto after = DaemonInspect(id)["State"];
  EXPECT_EQ(after["Running"], true);
  EXPECT_NE(after["StartedAt"], before["StartedAt"]);
  EXPECT_NE(after["Pid"], before["Pid"]);
  // The old process was killed after the grace period: FinishedAt is now set.
  EXPECT_NE(after["FinishedAt"], "0001-01-01T00:00:00Z");

  // Restart also starts a stopped container.
  ASSERT_TRUE(Kill(id, "SIGKILL").ok());
  ASSERT_TRUE(PollUntil([&] { return DaemonInspect(id)["State"]["Running"] == false; }, kGenerous));
  auto ctx2 = Context();
  st = stub().RestartContainer(ctx2.get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(DaemonInspect(id)["State"]["Running"], true);
}

TEST_F(LifecycleTest, KillSigkillGivesExit137) {
  std::string id = CreateAndStart(Spec({"sleep", "600"}));
  ASSERT_FALSE(id.empty());
  grpc::Status st = Kill(id, "SIGKILL");
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::WaitContainerResponse waited;
  st = Wait(id, v1::WAIT_CONDITION_NOT_RUNNING, &waited);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(waited.exit_code(), 137);
  EXPECT_EQ(DaemonInspect(id)["State"]["ExitCode"], 137);
}

TEST_F(LifecycleTest, KillDeliversTheNamedSignal) {
  // The shell turns SIGUSR1 into exit 42, so the exit code proves which signal arrived.
  std::string id = CreateAndStart(
      Spec({"sh", "-c", "trap 'exit 42' USR1; echo ready; while :; do sleep 0.1; done"}));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(LogShows(id, "ready\n"));
  grpc::Status st = Kill(id, "SIGUSR1");
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::WaitContainerResponse waited;
  st = Wait(id, v1::WAIT_CONDITION_NOT_RUNNING, &waited);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(waited.exit_code(), 42);
  EXPECT_EQ(DaemonInspect(id)["State"]["ExitCode"], 42);
}

TEST_F(LifecycleTest, KillWithoutSignalIsSigkill) {
  // The shell traps TERM and INT; only SIGKILL ends it with 137.
  std::string id = CreateAndStart(
      Spec({"sh", "-c", "trap '' TERM INT; echo ready; while :; do sleep 0.1; done"}));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(LogShows(id, "ready\n"));
  grpc::Status st = Kill(id, "");
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::WaitContainerResponse waited;
  st = Wait(id, v1::WAIT_CONDITION_NOT_RUNNING, &waited);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(waited.exit_code(), 137);
}

TEST_F(LifecycleTest, InspectTypedStateMatchesTheDaemon) {
  v1::ContainerSpec spec = Spec({"sleep", "600"});
  std::string name = UniqueName("inspect");
  spec.set_name(name);
  spec.set_hostname("inspect-host");
  spec.set_working_dir("/tmp");
  spec.set_user("1000");
  spec.add_env("FOO=bar");
  (*spec.mutable_labels())["dl-inspect"] = "yes";
  std::string id;
  ASSERT_TRUE(Create(spec, &id).ok());

  // Created, never started.
  v1::InspectContainerResponse created;
  grpc::Status st = Inspect(name, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(created.container().id(), id);
  EXPECT_EQ(created.container().state().status(), v1::CONTAINER_STATUS_CREATED);
  EXPECT_FALSE(created.container().state().running());
  EXPECT_EQ(created.container().state().pid(), 0);
  EXPECT_FALSE(created.container().state().has_started_at());
  EXPECT_FALSE(created.container().state().has_finished_at());

  v1::StartContainerResponse started;
  ASSERT_TRUE(Start(id, &started).ok());
  auto d = DaemonInspect(id);
  v1::InspectContainerResponse running;
  st = Inspect(id, &running);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const v1::ContainerInfo& info = running.container();
  EXPECT_EQ(info.id(), d["Id"]);
  EXPECT_EQ(info.name(), name);
  EXPECT_EQ("/" + info.name(), d["Name"]);
  EXPECT_EQ(info.image(), d["Config"]["Image"]);
  EXPECT_EQ(info.image_id(), d["Image"]);
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(info.created()), DaemonNanos(d["Created"]));
  EXPECT_EQ(info.state().status(), v1::CONTAINER_STATUS_RUNNING);
  EXPECT_TRUE(info.state().running());
  EXPECT_FALSE(info.state().paused());
  EXPECT_FALSE(info.state().restarting());
  EXPECT_FALSE(info.state().oom_killed());
  EXPECT_FALSE(info.state().dead());
  EXPECT_GT(info.state().pid(), 0);
  EXPECT_EQ(info.state().pid(), d["State"]["Pid"]);
  EXPECT_EQ(info.state().exit_code(), 0);
  ASSERT_TRUE(info.state().has_started_at());
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(info.state().started_at()),
            DaemonNanos(d["State"]["StartedAt"]));
  EXPECT_FALSE(info.state().has_finished_at());
  EXPECT_THAT(info.command(), ElementsAre("sleep", "600"));
  EXPECT_TRUE(info.entrypoint().empty());
  EXPECT_EQ(std::vector<std::string>(info.env().begin(), info.env().end()),
            d["Config"]["Env"].get<std::vector<std::string>>());
  EXPECT_EQ(info.labels().size(), 2u);
  EXPECT_EQ(info.labels().at("dl-inspect"), "yes");
  EXPECT_EQ(info.labels().at(LabelKey()), LabelValue());
  EXPECT_FALSE(info.tty());
  EXPECT_FALSE(info.auto_remove());
  EXPECT_EQ(info.network_mode(), "none");
  EXPECT_EQ(info.log_driver(), d["HostConfig"]["LogConfig"]["Type"]);
  EXPECT_EQ(info.restart_count(), 0);
  EXPECT_EQ(info.hostname(), "inspect-host");
  EXPECT_EQ(info.working_dir(), "/tmp");
  EXPECT_EQ(info.user(), "1000");

  // An id prefix names the container too.
  v1::InspectContainerResponse by_prefix;
  ASSERT_TRUE(Inspect(id.substr(0, 12), &by_prefix).ok());
  EXPECT_EQ(by_prefix.container().id(), id);

  auto raw = nlohmann::json::parse(running.raw_json(), nullptr, false);
  ASSERT_TRUE(raw.is_object());
  EXPECT_EQ(raw["Id"], id);
  EXPECT_EQ(raw["State"]["Pid"], d["State"]["Pid"]);

  // Exited.
  ASSERT_TRUE(Kill(id, "SIGKILL").ok());
  v1::WaitContainerResponse waited;
  ASSERT_TRUE(Wait(id, v1::WAIT_CONDITION_NOT_RUNNING, &waited).ok());
  d = DaemonInspect(id);
  v1::InspectContainerResponse exited;
  ASSERT_TRUE(Inspect(id, &exited).ok());
  EXPECT_EQ(exited.container().state().status(), v1::CONTAINER_STATUS_EXITED);
  EXPECT_FALSE(exited.container().state().running());
  EXPECT_EQ(exited.container().state().pid(), 0);
  EXPECT_EQ(exited.container().state().exit_code(), 137);
  ASSERT_TRUE(exited.container().state().has_finished_at());
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(exited.container().state().finished_at()),
            DaemonNanos(d["State"]["FinishedAt"]));
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(exited.container().state().started_at()),
            DaemonNanos(d["State"]["StartedAt"]));
}

TEST_F(LifecycleTest, InspectTypedHealthMatchesTheDaemon) {
  // No healthcheck: NONE.
  std::string plain = CreateAndStart(Spec({"sleep", "600"}));
  ASSERT_FALSE(plain.empty());
  v1::InspectContainerResponse resp;
  ASSERT_TRUE(Inspect(plain, &resp).ok());
  EXPECT_EQ(resp.container().state().health().status(), v1::HEALTH_STATUS_NONE);
  EXPECT_EQ(resp.container().state().health().log_size(), 0);

  // A probe that prints and fails twice, then succeeds.
  v1::ContainerSpec spec = Spec({"sleep", "600"});
  auto* hc = spec.mutable_healthcheck();
  hc->add_test("CMD-SHELL");
  hc->add_test(
      "echo probe; test -e /tmp/ok || { touch /tmp/n$(ls /tmp | wc -l); "
      "[ $(ls /tmp | wc -l) -ge 2 ] && touch /tmp/ok; exit 1; }");
  hc->mutable_interval()->set_nanos(200000000);
  hc->set_retries(2);
  std::string id = CreateAndStart(spec);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(PollUntil([&] { return DaemonInspect(id)["State"]["Health"]["Status"] == "healthy"; },
                        kGenerous));
  // The daemon's view and dockline's, from one inspect: compare against raw_json.
  ASSERT_TRUE(Inspect(id, &resp).ok());
  auto d = nlohmann::json::parse(resp.raw_json());
  const auto& health = d["State"]["Health"];
  const v1::Health& typed = resp.container().state().health();
  EXPECT_EQ(health["Status"], "healthy");
  EXPECT_EQ(typed.status(), v1::HEALTH_STATUS_HEALTHY);
  EXPECT_EQ(typed.failing_streak(), health["FailingStreak"]);
  ASSERT_EQ(static_cast<size_t>(typed.log_size()), health["Log"].size());
  ASSERT_GE(typed.log_size(), 3);
  for (int i = 0; i < typed.log_size(); ++i) {
    const auto& probe = health["Log"][i];
    EXPECT_EQ(typed.log(i).exit_code(), probe["ExitCode"]);
    EXPECT_EQ(typed.log(i).output(), probe["Output"]);
    EXPECT_EQ(typed.log(i).output(), "probe\n");
    EXPECT_EQ(TimeUtil::TimestampToNanoseconds(typed.log(i).start()), DaemonNanos(probe["Start"]));
    EXPECT_EQ(TimeUtil::TimestampToNanoseconds(typed.log(i).end()), DaemonNanos(probe["End"]));
  }
  EXPECT_EQ(typed.log(typed.log_size() - 1).exit_code(), 0);
}

TEST_F(LifecycleTest, ListAllVersusRunningWithLabelFilter) {
  std::string mark = UniqueLabelValue();
  v1::ContainerSpec spec = Spec({"sleep", "600"});
  (*spec.mutable_labels())["dl-list"] = mark;
  std::string name_running = UniqueName("list-running");
  std::string name_created = UniqueName("list-created");
  spec.set_name(name_running);
  std::string running = CreateAndStart(spec);
  ASSERT_FALSE(running.empty());
  spec.set_name(name_created);
  std::string created;
  ASSERT_TRUE(Create(spec, &created).ok());

  auto list = [&](bool all, const std::string& key, const std::string& value) {
    v1::ListContainersRequest req;
    req.set_all(all);
    auto* f = req.add_filters();
    f->set_key("label");
    f->set_value(key + "=" + value);
    v1::ListContainersResponse resp;
    auto ctx = Context();
    grpc::Status st = stub().ListContainers(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  };
  auto ids = [](const v1::ListContainersResponse& resp) {
    std::vector<std::string> out;
    for (const auto& c : resp.containers()) {
      out.push_back(c.id());
    }
    return out;
  };

  // limit: the newest first.
  v1::ListContainersRequest limited;
  limited.set_all(true);
  limited.set_limit(1);
  auto* f = limited.add_filters();
  f->set_key("label");
  f->set_value("dl-list=" + mark);
  v1::ListContainersResponse one;
  auto ctx = Context();
  ASSERT_TRUE(stub().ListContainers(ctx.get(), limited, &one).ok());
  ASSERT_EQ(one.containers_size(), 1);
  EXPECT_EQ(one.containers(0).id(), created);

  v1::ListContainersResponse all = list(true, "dl-list", mark);
  EXPECT_THAT(ids(all), UnorderedElementsAre(running, created));
  for (const auto& c : all.containers()) {
    EXPECT_THAT(c.names(), ElementsAre(c.id() == running ? name_running : name_created));
    EXPECT_EQ(c.state(),
              c.id() == running ? v1::CONTAINER_STATUS_RUNNING : v1::CONTAINER_STATUS_CREATED);
    EXPECT_EQ(c.labels().at("dl-list"), mark);
    EXPECT_EQ(c.image(), Image());
    EXPECT_EQ(c.command(), "sleep 600");
    EXPECT_FALSE(c.status().empty());
  }

  EXPECT_THAT(ids(list(false, "dl-list", mark)), ElementsAre(running));

  // The filter reaches the daemon: a label nobody has matches nothing, and the run's label
  // matches only this run's containers.
  EXPECT_TRUE(list(true, "dl-list", mark + "-nobody").containers().empty());
  v1::ListContainersResponse ours = list(true, LabelKey(), LabelValue());
  std::set<std::string> our_ids;
  for (const auto& c : ours.containers()) {
    EXPECT_EQ(c.labels().at(LabelKey()), LabelValue());
    our_ids.insert(c.id());
  }
  EXPECT_TRUE(our_ids.count(running) == 1 && our_ids.count(created) == 1);
}

TEST_F(LifecycleTest, GetEngineInfoReportsTheNegotiatedVersion) {
  auto version = Daemon(engine::ApiRequest("GET", "/version"));
  ASSERT_TRUE(version.ok());
  auto v = nlohmann::json::parse(version->body);

  v1::GetEngineInfoRequest req;
  v1::GetEngineInfoResponse resp;
  auto ctx = Context();
  grpc::Status st = stub().GetEngineInfo(ctx.get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  // The test daemon is dockerd 20.10 (API 1.41), below dockline's newest (1.47): the
  // negotiated version is the daemon's.
  ASSERT_EQ(v["ApiVersion"], "1.41");
  EXPECT_EQ(resp.api_version(), "1.41");
  EXPECT_EQ(resp.engine_version(), v["Version"]);
  EXPECT_EQ(resp.engine_api_version(), v["ApiVersion"]);
  EXPECT_EQ(resp.engine_min_api_version(), v["MinAPIVersion"]);
  EXPECT_EQ(resp.os(), v["Os"]);
  EXPECT_EQ(resp.arch(), v["Arch"]);
  EXPECT_EQ(resp.kernel_version(), v["KernelVersion"]);
  EXPECT_FALSE(resp.dockline_version().empty());
}

}  // namespace
}  // namespace dockline::testing
