// ContainerSpec options in effect inside running containers: environment, argv, read-only root
// and tmpfs, bind mounts and named volumes, init and limits, the stop signal, ports.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "spec_options_fixture.h"

namespace dockline::testing {
namespace {

using nlohmann::json;

// docker-py's run pattern with the options in effect inside the container.
TEST_F(SpecOptionsTest, EnvWorkdirUserAndHostnameAreSeenByTheProcess) {
  v1::RunContainerRequest req = Request(
      {"sh", "-c", "id -u; id -g; pwd; echo \"$A\"; echo \"${B-unset}\"; echo \"$C\"; hostname"});
  v1::ContainerSpec& spec = *req.mutable_spec();
  spec.add_env("A=hello world");
  spec.add_env("B");
  spec.add_env("C=x=y");
  spec.set_working_dir("/tmp");
  spec.set_user("1000:1000");
  spec.set_hostname("run-host");
  RunOutput out = Run(req);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.stdout_data, "1000\n1000\n/tmp\nhello world\nunset\nx=y\nrun-host\n");
  EXPECT_EQ(out.stderr_data, "");
  EXPECT_EQ(out.exit_code, 0);
}

TEST_F(SpecOptionsTest, EntrypointAndCommandFormTheArgv) {
  v1::RunContainerRequest req = Request({"a b", "c"});
  req.mutable_spec()->add_entrypoint("/bin/echo");
  req.mutable_spec()->add_entrypoint("ep");
  RunOutput out = Run(req);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.stdout_data, "ep a b c\n");
}

TEST_F(SpecOptionsTest, ReadOnlyRootfsRefusesWritesWhileTmpfsTakesThem) {
  v1::RunContainerRequest req =
      Request({"sh", "-c",
               "if touch /rootfile 2>/dev/null; then echo wrote; else echo refused; fi; "
               "echo data > /scratch/f && cat /scratch/f; "
               "echo more > /m-tmp/g && cat /m-tmp/g; stat -c %a /m-tmp; stat -c %a /scratch; "
               "grep ' /scratch ' /proc/mounts | grep -o 'size=[0-9a-z]*'; "
               "grep ' /m-tmp ' /proc/mounts | grep -o 'size=[0-9a-z]*'"});
  v1::ContainerSpec& spec = *req.mutable_spec();
  spec.set_read_only(true);
  (*spec.mutable_tmpfs())["/scratch"] = "size=2m,mode=1777";
  auto* m = spec.add_mounts();
  m->set_type(v1::MOUNT_TYPE_TMPFS);
  m->set_target("/m-tmp");
  m->set_tmpfs_size_bytes(1048576);
  m->set_tmpfs_mode(0700);
  RunOutput out = Run(req);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.stdout_data, "refused\ndata\nmore\n700\n1777\nsize=2048k\nsize=1024k\n");
  EXPECT_EQ(out.stderr_data, "");
  EXPECT_EQ(out.exit_code, 0);
}

TEST_F(SpecOptionsTest, BindMountsShowHostContentAndHonourReadOnly) {
  TempDir dir;
  dir.Write("f", "hello-bind\n");
  v1::RunContainerRequest req = Request(
      {"sh", "-c",
       "cat /data/f /data-ro/f /m-bind/f; echo from-container > /data/g; "
       "if { echo x > /data-ro/h; } 2>/dev/null; then echo ro-wrote; else echo ro-refused; fi; "
       "if { echo x > /m-bind/h; } 2>/dev/null; then echo mount-wrote; else echo mount-refused; "
       "fi"});
  v1::ContainerSpec& spec = *req.mutable_spec();
  auto* rw = spec.add_volumes();
  rw->set_source(dir.path());
  rw->set_target("/data");
  auto* ro = spec.add_volumes();
  ro->set_source(dir.path());
  ro->set_target("/data-ro");
  ro->set_read_only(true);
  auto* m = spec.add_mounts();
  m->set_type(v1::MOUNT_TYPE_BIND);
  m->set_source(dir.path());
  m->set_target("/m-bind");
  m->set_read_only(true);
  RunOutput out = Run(req);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.stdout_data, "hello-bind\nhello-bind\nhello-bind\nro-refused\nmount-refused\n");
  EXPECT_EQ(out.stderr_data, "");
  EXPECT_EQ(dir.Read("g"), "from-container\n");
  EXPECT_EQ(dir.Read("h"), "");
}

TEST_F(SpecOptionsTest, NamedVolumePersistsBetweenContainers) {
  std::string volume = UniqueName("persist");
  VolumeGuard guard(volume);
  auto with_volume = [&](std::vector<std::string> command) {
    v1::RunContainerRequest req = Request(std::move(command));
    req.mutable_spec()->set_auto_remove(true);
    auto* v = req.mutable_spec()->add_volumes();
    v->set_source(volume);
    v->set_target("/vol");
    return req;
  };
  RunOutput write = Run(with_volume({"sh", "-c", "echo persisted > /vol/f"}));
  ASSERT_TRUE(write.status.ok()) << write.status.error_message();
  EXPECT_EQ(write.exit_code, 0);
  EXPECT_TRUE(write.removed);
  EXPECT_TRUE(VolumeExists(volume));
  RunOutput read = Run(with_volume({"cat", "/vol/f"}));
  ASSERT_TRUE(read.status.ok()) << read.status.error_message();
  EXPECT_EQ(read.stdout_data, "persisted\n");
  EXPECT_TRUE(RemoveVolume(volume));
  EXPECT_FALSE(VolumeExists(volume));
}

TEST_F(SpecOptionsTest, InitMemoryAndCpuLimitsApply) {
  v1::RunContainerRequest req = Request({"sh", "-c",
                                         "cat /proc/1/comm; "
                                         "cat /sys/fs/cgroup/memory.max 2>/dev/null || "
                                         "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
                                         "cut -d' ' -f1 /sys/fs/cgroup/cpu.max 2>/dev/null || "
                                         "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us"});
  v1::ContainerSpec& spec = *req.mutable_spec();
  spec.set_init(true);
  spec.set_memory("512m");
  spec.set_nano_cpus(500000000);
  RunOutput out = Run(req);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.stdout_data, "docker-init\n536870912\n50000\n");
  EXPECT_EQ(out.stderr_data, "");

  // Without init the shell itself is PID 1.
  RunOutput plain = Run(Request({"cat", "/proc/1/comm"}));
  ASSERT_TRUE(plain.status.ok()) << plain.status.error_message();
  EXPECT_EQ(plain.stdout_data, "cat\n");
}

TEST_F(SpecOptionsTest, StopSignalIsWhatStopSends) {
  // The container turns SIGINT into exit 11 (and, as PID 1, ignores SIGTERM): the exit code
  // shows that stop sent the StopSignal.
  v1::ContainerSpec spec =
      Spec({"sh", "-c", "trap 'exit 11' INT; echo ready; while :; do sleep 0.1; done"});
  spec.set_stop_signal("SIGINT");
  std::string id = CreateAndStart(spec);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(
      PollUntil([&] { return Logs(id).stdout_data == "ready\n"; }, std::chrono::seconds(30)));
  v1::StopContainerRequest stop;
  stop.set_container(id);
  v1::StopContainerResponse stopped;
  auto ctx = Context();
  grpc::Status st = stub().StopContainer(ctx.get(), stop, &stopped);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(DaemonInspect(id)["State"]["ExitCode"], 11);
}

TEST_F(SpecOptionsTest, PortsAreAcceptedOnNetworkNone) {
  // ENGINE_NOTES 2.1: with network none the bindings are kept in HostConfig and ignored.
  v1::RunContainerRequest req = Request({"true"});
  AddPort(req.mutable_spec(), 8000, v1::PROTOCOL_TCP, "", 8080);
  RunOutput out = Run(req);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.exit_code, 0);
  json d = DaemonInspect(out.id);
  EXPECT_EQ(d["HostConfig"]["PortBindings"]["8000/tcp"][0]["HostPort"], "8080");
}

}  // namespace
}  // namespace dockline::testing
