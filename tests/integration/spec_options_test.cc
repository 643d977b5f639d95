// Every ContainerSpec option (docker-py's run()/create() keyword arguments), checked field by
// field in the daemon's inspect document. Their effects inside running containers are in
// spec_options_effects_test.cc.

#include <gmock/gmock.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "spec_options_fixture.h"

namespace dockline::testing {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

TEST_F(SpecOptionsTest, EveryOptionReachesTheDaemon) {
  TempDir host_dir;
  std::string name = UniqueName("full");
  std::string bind_volume = UniqueName("vol");
  std::string mount_volume = UniqueName("mvol");
  VolumeGuard bind_volume_guard(bind_volume);
  VolumeGuard mount_volume_guard(mount_volume);

  v1::ContainerSpec spec = Spec({"echo full"});
  spec.add_entrypoint("/bin/sh");
  spec.add_entrypoint("-c");
  spec.set_name(name);
  spec.set_hostname("full-host");
  spec.add_env("A=1");
  spec.add_env("B");  // passed unset
  spec.add_env("C=x=y");
  spec.set_working_dir("/work/dir");
  spec.set_user("1000:1000");
  // docker-py: {"8000/tcp": 8080}, {"8443/tcp": ("127.0.0.1", 8443)}, {"1111": ("127.0.0.1",)},
  // {"9000/udp": None}, {53: [53, 5353]}.
  AddPort(&spec, 8000, v1::PROTOCOL_TCP, "", 8080);
  AddPort(&spec, 8443, v1::PROTOCOL_UNSPECIFIED, "127.0.0.1", 8443);
  AddPort(&spec, 1111, v1::PROTOCOL_UNSPECIFIED, "127.0.0.1", 0);
  AddPort(&spec, 9000, v1::PROTOCOL_UDP, "", 0);
  AddPort(&spec, 53, v1::PROTOCOL_UNSPECIFIED, "", 53);
  AddPort(&spec, 53, v1::PROTOCOL_UNSPECIFIED, "", 5353);
  auto* rw = spec.add_volumes();
  rw->set_source(host_dir.path());
  rw->set_target("/data");
  auto* ro = spec.add_volumes();
  ro->set_source(host_dir.path());
  ro->set_target("/data-ro");
  ro->set_read_only(true);
  auto* prop = spec.add_volumes();
  prop->set_source(host_dir.path());
  prop->set_target("/data-p");
  prop->set_read_only(true);
  prop->set_propagation("rslave");
  auto* named = spec.add_volumes();
  named->set_source(bind_volume);
  named->set_target("/vol");
  auto* mbind = spec.add_mounts();
  mbind->set_type(v1::MOUNT_TYPE_BIND);
  mbind->set_source(host_dir.path());
  mbind->set_target("/m-bind");
  mbind->set_read_only(true);
  mbind->set_propagation("rprivate");
  auto* mvol = spec.add_mounts();
  mvol->set_type(v1::MOUNT_TYPE_VOLUME);
  mvol->set_source(mount_volume);
  mvol->set_target("/m-vol");
  mvol->set_no_copy(true);
  (*mvol->mutable_volume_labels())["dl-volume"] = "yes";
  (*mvol->mutable_volume_labels())[LabelKey()] = LabelValue();
  auto* mtmp = spec.add_mounts();
  mtmp->set_type(v1::MOUNT_TYPE_TMPFS);
  mtmp->set_target("/m-tmp");
  mtmp->set_tmpfs_size_bytes(1048576);
  mtmp->set_tmpfs_mode(0700);
  (*spec.mutable_tmpfs())["/run/x"] = "size=100m,mode=1777";
  spec.set_read_only(true);
  spec.set_init(true);
  spec.mutable_restart_policy()->set_name(v1::RESTART_POLICY_NAME_ON_FAILURE);
  spec.mutable_restart_policy()->set_maximum_retry_count(3);
  spec.set_stop_signal("SIGINT");
  spec.set_memory("512m");
  spec.set_nano_cpus(500000000);
  (*spec.mutable_labels())["app"] = "web";
  (*spec.mutable_labels())["version"] = "1.0";
  auto* hc = spec.mutable_healthcheck();
  hc->add_test("CMD-SHELL");
  hc->add_test("exit 0");
  hc->mutable_interval()->set_seconds(10);
  hc->mutable_timeout()->set_seconds(5);
  hc->mutable_timeout()->set_nanos(500000000);
  hc->set_retries(3);
  hc->mutable_start_period()->set_seconds(30);
  spec.set_tty(true);
  spec.set_stdin_open(true);
  spec.mutable_stop_timeout()->set_seconds(7);

  std::string id;
  grpc::Status st = Create(spec, &id);
  ASSERT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  json d = DaemonInspect(id);
  ASSERT_TRUE(d.is_object());
  const json& config = d["Config"];
  const json& host = d["HostConfig"];

  EXPECT_EQ(d["Name"], "/" + name);
  EXPECT_EQ(config["Image"], Image());
  EXPECT_EQ(config["Cmd"], json::array({"echo full"}));
  EXPECT_EQ(config["Entrypoint"], json::array({"/bin/sh", "-c"}));
  EXPECT_EQ(config["Hostname"], "full-host");
  std::vector<std::string> env = config["Env"].get<std::vector<std::string>>();
  ASSERT_GE(env.size(), 3u);
  EXPECT_THAT(std::vector<std::string>(env.begin(), env.begin() + 3),
              ElementsAre("A=1", "B", "C=x=y"));
  EXPECT_EQ(config["WorkingDir"], "/work/dir");
  EXPECT_EQ(config["User"], "1000:1000");

  EXPECT_EQ(host["PortBindings"], json::parse(R"({
              "8000/tcp": [{"HostIp": "", "HostPort": "8080"}],
              "8443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8443"}],
              "1111/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
              "9000/udp": [{"HostIp": "", "HostPort": ""}],
              "53/tcp": [{"HostIp": "", "HostPort": "53"}, {"HostIp": "", "HostPort": "5353"}]
            })"));
  EXPECT_EQ(config["ExposedPorts"], json::parse(R"({"8000/tcp": {}, "8443/tcp": {},
              "1111/tcp": {}, "9000/udp": {}, "53/tcp": {}})"));
  EXPECT_EQ(host["NetworkMode"], "none");

  const std::string& dir = host_dir.path();
  EXPECT_EQ(host["Binds"], json::array({dir + ":/data:rw", dir + ":/data-ro:ro",
                                        dir + ":/data-p:ro,rslave", bind_volume + ":/vol:rw"}));
  // The named volume exists as soon as the container does.
  EXPECT_TRUE(VolumeExists(bind_volume));
  const json& mounts = host["Mounts"];
  ASSERT_TRUE(mounts.is_array());
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(MountAt(mounts, "/m-bind"), json({{"Type", "bind"},
                                              {"Source", dir},
                                              {"Target", "/m-bind"},
                                              {"ReadOnly", true},
                                              {"BindOptions", {{"Propagation", "rprivate"}}}}));
  const json& volume_mount = MountAt(mounts, "/m-vol");
  EXPECT_EQ(volume_mount["Type"], "volume");
  EXPECT_EQ(volume_mount["Source"], mount_volume);
  EXPECT_EQ(volume_mount.value("ReadOnly", false), false);
  EXPECT_EQ(volume_mount["VolumeOptions"]["NoCopy"], true);
  EXPECT_EQ(volume_mount["VolumeOptions"]["Labels"],
            json({{"dl-volume", "yes"}, {LabelKey(), LabelValue()}}));
  EXPECT_EQ(MountAt(mounts, "/m-tmp"),
            json({{"Type", "tmpfs"},
                  {"Target", "/m-tmp"},
                  {"TmpfsOptions", {{"SizeBytes", 1048576}, {"Mode", 448}}}}));
  EXPECT_EQ(host["Tmpfs"], json({{"/run/x", "size=100m,mode=1777"}}));
  EXPECT_EQ(host["ReadonlyRootfs"], true);
  EXPECT_EQ(host["AutoRemove"], false);
  EXPECT_EQ(host["Init"], true);
  EXPECT_EQ(host["RestartPolicy"], json({{"Name", "on-failure"}, {"MaximumRetryCount", 3}}));
  EXPECT_EQ(config["StopSignal"], "SIGINT");
  EXPECT_EQ(config["StopTimeout"], 7);
  EXPECT_EQ(host["Memory"], 536870912);
  EXPECT_EQ(host["NanoCpus"], 500000000);
  EXPECT_EQ(config["Labels"],
            json({{"app", "web"}, {"version", "1.0"}, {LabelKey(), LabelValue()}}));
  EXPECT_EQ(config["Healthcheck"], json({{"Test", {"CMD-SHELL", "exit 0"}},
                                         {"Interval", 10000000000LL},
                                         {"Timeout", 5500000000LL},
                                         {"Retries", 3},
                                         {"StartPeriod", 30000000000LL}}));
  EXPECT_EQ(config["Tty"], true);
  EXPECT_EQ(config["OpenStdin"], true);
  // CreateContainer is docker-py's create(): nothing is attached.
  EXPECT_EQ(config["AttachStdin"], false);
  EXPECT_EQ(config["AttachStdout"], false);
  EXPECT_EQ(config["StdinOnce"], false);

  // dockline's typed inspect agrees with the daemon.
  v1::InspectContainerRequest ireq;
  ireq.set_container(id);
  v1::InspectContainerResponse iresp;
  auto ctx = Context();
  st = stub().InspectContainer(ctx.get(), ireq, &iresp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const v1::ContainerInfo& info = iresp.container();
  EXPECT_THAT(info.command(), ElementsAre("echo full"));
  EXPECT_THAT(info.entrypoint(), ElementsAre("/bin/sh", "-c"));
  EXPECT_EQ(std::vector<std::string>(info.env().begin(), info.env().end()), env);
  EXPECT_EQ(info.hostname(), "full-host");
  EXPECT_EQ(info.working_dir(), "/work/dir");
  EXPECT_EQ(info.user(), "1000:1000");
  EXPECT_TRUE(info.tty());
  EXPECT_FALSE(info.auto_remove());
  EXPECT_EQ(info.network_mode(), "none");
  EXPECT_EQ(info.labels().at("app"), "web");

  // Ports, mounts, restart policy and tmpfs, typed.
  std::vector<std::string> bindings;
  for (const v1::PortBinding& p : info.port_bindings()) {
    bindings.push_back(std::to_string(p.container_port()) + "/" + v1::Protocol_Name(p.protocol()) +
                       " " + p.host_ip() + ":" + std::to_string(p.host_port()));
  }
  EXPECT_THAT(bindings,
              UnorderedElementsAre("8000/PROTOCOL_TCP :8080", "8443/PROTOCOL_TCP 127.0.0.1:8443",
                                   "1111/PROTOCOL_TCP 127.0.0.1:0", "9000/PROTOCOL_UDP :0",
                                   "53/PROTOCOL_TCP :53", "53/PROTOCOL_TCP :5353"));
  EXPECT_THAT(info.ports(), IsEmpty());  // network none publishes nothing
  EXPECT_EQ(info.restart_policy().name(), v1::RESTART_POLICY_NAME_ON_FAILURE);
  EXPECT_EQ(info.restart_policy().maximum_retry_count(), 3);
  EXPECT_EQ(info.tmpfs().at("/run/x"), "size=100m,mode=1777");
  // Every mount the daemon reports, field for field.
  ASSERT_TRUE(d["Mounts"].is_array());
  ASSERT_EQ(static_cast<size_t>(info.mounts_size()), d["Mounts"].size());
  std::map<std::string, const v1::MountPoint*> by_destination;
  for (const v1::MountPoint& m : info.mounts()) {
    by_destination[m.destination()] = &m;
  }
  for (const json& m : d["Mounts"]) {
    std::string destination = m.value("Destination", "");
    ASSERT_TRUE(by_destination.count(destination)) << destination;
    const v1::MountPoint& typed = *by_destination[destination];
    EXPECT_EQ(typed.source(), m.value("Source", "")) << destination;
    EXPECT_EQ(typed.name(), m.value("Name", "")) << destination;
    EXPECT_EQ(typed.read_only(), !m.value("RW", true)) << destination;
    EXPECT_EQ(typed.propagation(), m.value("Propagation", "")) << destination;
    EXPECT_EQ(typed.driver(), m.value("Driver", "")) << destination;
  }
  for (const char* bind : {"/data", "/data-ro", "/data-p", "/m-bind"}) {
    ASSERT_TRUE(by_destination.count(bind)) << bind;
    EXPECT_EQ(by_destination[bind]->type(), v1::MOUNT_TYPE_BIND) << bind;
    EXPECT_EQ(by_destination[bind]->source(), host_dir.path()) << bind;
  }
  EXPECT_FALSE(by_destination["/data"]->read_only());
  EXPECT_TRUE(by_destination["/data-ro"]->read_only());
  EXPECT_EQ(by_destination["/data-p"]->propagation(), "rslave");
  EXPECT_TRUE(by_destination["/m-bind"]->read_only());
  ASSERT_TRUE(by_destination.count("/vol"));
  EXPECT_EQ(by_destination["/vol"]->type(), v1::MOUNT_TYPE_VOLUME);
  EXPECT_EQ(by_destination["/vol"]->name(), bind_volume);
  EXPECT_EQ(by_destination["/vol"]->driver(), "local");
  ASSERT_TRUE(by_destination.count("/m-vol"));
  EXPECT_EQ(by_destination["/m-vol"]->name(), mount_volume);

  // The volume mount's labels went to the volume the daemon created.
  auto vol = Daemon(engine::ApiRequest("GET", "/volumes/" + mount_volume));
  ASSERT_TRUE(vol.ok());
  EXPECT_EQ(json::parse(vol->body)["Labels"]["dl-volume"], "yes");

  // Named volumes outlive their container: remove both explicitly.
  ASSERT_TRUE(DaemonRemove(id));
  EXPECT_TRUE(RemoveVolume(bind_volume));
  EXPECT_TRUE(RemoveVolume(mount_volume));
  EXPECT_FALSE(VolumeExists(bind_volume));
  EXPECT_FALSE(VolumeExists(mount_volume));
}

TEST_F(SpecOptionsTest, AutoRemoveAndMemoryBytes) {
  v1::ContainerSpec spec = Spec({"true"});
  spec.set_auto_remove(true);
  spec.set_memory_bytes(268435456);
  spec.mutable_restart_policy()->set_name(v1::RESTART_POLICY_NAME_NO);
  std::string id;
  grpc::Status st = Create(spec, &id);
  ASSERT_TRUE(st.ok()) << st.error_message();
  json d = DaemonInspect(id);
  EXPECT_EQ(d["HostConfig"]["AutoRemove"], true);
  EXPECT_EQ(d["HostConfig"]["Memory"], 268435456);
  EXPECT_EQ(d["HostConfig"]["RestartPolicy"]["Name"], "no");
  // Defaults that must stay defaults.
  EXPECT_EQ(d["HostConfig"]["ReadonlyRootfs"], false);
  EXPECT_EQ(d["HostConfig"]["NanoCpus"], 0);
  EXPECT_EQ(d["Config"]["Tty"], false);
  EXPECT_EQ(d["Config"]["OpenStdin"], false);
  EXPECT_TRUE(d["Config"]["Healthcheck"].is_null());
  EXPECT_EQ(d["Config"]["Cmd"], json::array({"true"}));
  // The image's entrypoint is kept (busybox has none).
  EXPECT_TRUE(d["Config"]["Entrypoint"].is_null());
}

TEST_F(SpecOptionsTest, MemoryForms) {
  for (const auto& [text, bytes] : std::vector<std::pair<std::string, int64_t>>{
           {"512m", 536870912}, {"1.5g", 1610612736}, {"64MB", 67108864}, {"8388608", 8388608}}) {
    v1::ContainerSpec spec = Spec({"true"});
    spec.set_memory(text);
    std::string id;
    grpc::Status st = Create(spec, &id);
    ASSERT_TRUE(st.ok()) << text << ": " << st.error_message();
    EXPECT_EQ(DaemonInspect(id)["HostConfig"]["Memory"], bytes) << text;
  }
}

}  // namespace
}  // namespace dockline::testing
