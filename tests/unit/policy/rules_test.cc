#include "server/policy/rules.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace dockline::server::policy {
namespace {

IdentityRules Everything() {
  IdentityRules rules;
  rules.entry = "ci";
  for (const auto& [group, rpcs] : RpcGroups()) {
    rules.rpcs.insert(rpcs.begin(), rpcs.end());
  }
  return rules;
}

void ExpectDenied(const Decision& d, const std::string& rule, const std::string& text) {
  EXPECT_EQ(d.status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << d.status.error_message();
  EXPECT_EQ(d.rule, rule);
  EXPECT_NE(d.status.error_message().find("policy rule " + rule + ": "), std::string::npos)
      << d.status.error_message();
  EXPECT_NE(d.status.error_message().find(text), std::string::npos) << d.status.error_message();
}

TEST(AllowRpcTest, NoPolicyAllowsAndAListDecides) {
  EXPECT_TRUE(AllowRpc(nullptr, "x", "PruneImages").ok());
  IdentityRules rules;
  rules.entry = "ci";
  rules.rpcs = {"StreamLogs"};
  EXPECT_TRUE(AllowRpc(&rules, "ci", "StreamLogs").ok());
  ExpectDenied(AllowRpc(&rules, "ci", "PruneImages"), "allow",
               "identity \"ci\" (entry \"ci\") may not call PruneImages (group prune)");
  IdentityRules no_entry;  // what Policy::For gives an identity with no entry and no "*"
  ExpectDenied(AllowRpc(&no_entry, "bob", "StreamLogs"), "allow", "\"bob\" has no entry");
}

TEST(CheckSpecTest, ImagesAreGlobsOnTheReferenceWithItsImplicitLatest) {
  IdentityRules rules = Everything();
  rules.images = std::vector<std::string>{"alpine:3.*", "registry.local/*", "busybox:latest"};
  v1::ContainerSpec spec;
  for (const char* ok :
       {"alpine:3.19", "registry.local/team/app:1", "busybox", "registry.local/x@sha256:abc"}) {
    spec.set_image(ok);
    EXPECT_TRUE(CheckSpec(rules, "ci", spec, "spec").ok()) << ok;
  }
  for (const char* bad :
       {"alpine", "nginx:latest", "docker.io/library/alpine:3.19", "localhost:5000/busybox"}) {
    spec.set_image(bad);
    ExpectDenied(CheckSpec(rules, "ci", spec, "spec"), "images",
                 std::string("spec.image \"") + bad + "\" matches none of");
  }
}

TEST(CheckSpecTest, HostBindsOnlyUnderRootsAfterDotDotAndNamedVolumesPass) {
  IdentityRules rules = Everything();
  v1::ContainerSpec spec;
  spec.set_image("alpine");
  auto* bind = spec.add_volumes();
  bind->set_source("/srv/ci/data");
  bind->set_target("/data");
  ExpectDenied(CheckSpec(rules, "ci", spec, "spec"), "bind_roots",
               "spec.volumes[0].source \"/srv/ci/data\" is a host path, and this identity may "
               "mount none");
  rules.bind_roots = {"/srv/ci"};
  EXPECT_TRUE(CheckSpec(rules, "ci", spec, "spec").ok());
  for (const char* escape : {"/srv/ci/../../etc", "/srv/cix", "/srv", "/", "/srv/ci/./../x"}) {
    bind->set_source(escape);
    ExpectDenied(CheckSpec(rules, "ci", spec, "spec"), "bind_roots", "is not under any of");
  }
  bind->set_source("named-volume");
  EXPECT_TRUE(CheckSpec(rules, "ci", spec, "spec").ok());
}

TEST(CheckSpecTest, MountsBindAndLocalVolumeDeviceOptionsAreHostPaths) {
  IdentityRules rules = Everything();
  rules.bind_roots = {"/srv/ci"};
  v1::ContainerSpec spec;
  spec.set_image("alpine");
  auto* mount = spec.add_mounts();
  mount->set_type(v1::MOUNT_TYPE_BIND);
  mount->set_source("/etc");
  mount->set_target("/x");
  ExpectDenied(CheckSpec(rules, "ci", spec, "spec"), "bind_roots",
               "spec.mounts[0].source \"/etc\"");

  mount->set_type(v1::MOUNT_TYPE_VOLUME);
  mount->set_source("v");
  EXPECT_TRUE(CheckSpec(rules, "ci", spec, "spec").ok());
  (*mount->mutable_volume_driver_options())["type"] = "none";
  (*mount->mutable_volume_driver_options())["o"] = "bind";
  (*mount->mutable_volume_driver_options())["device"] = "/etc";
  ExpectDenied(CheckSpec(rules, "ci", spec, "spec"), "bind_roots",
               "spec.mounts[0].volume_driver_options.device \"/etc\"");
  (*mount->mutable_volume_driver_options())["device"] = "/srv/ci/vol";
  EXPECT_TRUE(CheckSpec(rules, "ci", spec, "spec").ok());
  mount->mutable_volume_driver_options()->erase("device");
  ExpectDenied(CheckSpec(rules, "ci", spec, "spec"), "bind_roots",
               "type/o without a device that is an absolute host path");

  mount->clear_volume_driver_options();
  mount->set_volume_driver("rexray");
  ExpectDenied(CheckSpec(rules, "ci", spec, "spec"), "volume_drivers", "\"rexray\" is not local");
  rules.volume_drivers = {"rexray"};
  EXPECT_TRUE(CheckSpec(rules, "ci", spec, "spec").ok());

  mount->set_type(v1::MOUNT_TYPE_TMPFS);
  mount->clear_volume_driver();
  mount->clear_source();
  rules.bind_roots.clear();
  EXPECT_TRUE(CheckSpec(rules, "ci", spec, "spec").ok());
}

TEST(CheckSpecTest, NetworkHostAndContainerNeedListingAListIsExclusive) {
  IdentityRules rules = Everything();
  v1::ContainerSpec spec;
  spec.set_image("alpine");
  for (const char* ok : {"", "none", "bridge", "my-net"}) {
    spec.set_network(ok);
    EXPECT_TRUE(CheckSpec(rules, "ci", spec, "spec").ok()) << ok;
  }
  for (const char* bad : {"host", "container:abc"}) {
    spec.set_network(bad);
    ExpectDenied(CheckSpec(rules, "ci", spec, "spec"), "network_modes",
                 std::string("spec.network \"") + bad + "\" shares another namespace");
  }
  rules.network_modes = std::vector<std::string>{"none", "container:*"};
  spec.set_network("container:abc");
  EXPECT_TRUE(CheckSpec(rules, "ci", spec, "spec").ok());
  spec.set_network("bridge");
  ExpectDenied(CheckSpec(rules, "ci", spec, "spec"), "network_modes",
               "spec.network \"bridge\" matches none of [none, container:*]");
}

TEST(CheckSpecTest, TheOwnerLabelIsDocklinesToSet) {
  IdentityRules rules = Everything();
  v1::ContainerSpec spec;
  spec.set_image("alpine");
  (*spec.mutable_labels())[kOwnerLabel] = "someone-else";
  ExpectDenied(CheckSpec(rules, "ci", spec, "spec"), "owned",
               "spec.labels[dockline.owner] is set by dockline");
  rules.owned = true;
  ExpectDenied(CheckSpec(rules, "ci", spec, "spec"), "owned", "set by dockline");
  (*spec.mutable_labels())[kOwnerLabel] = "ci";
  EXPECT_TRUE(CheckSpec(rules, "ci", spec, "spec").ok());
}

TEST(CheckAttachTest, StdinNeedsTheOperateGroup) {
  IdentityRules reader;
  reader.entry = "reader";
  reader.rpcs.insert(RpcGroups().at("read").begin(), RpcGroups().at("read").end());
  v1::AttachConfig config;
  config.set_container("c");
  EXPECT_TRUE(CheckAttach(reader, "reader", config, "config").ok());
  config.set_stdin(true);
  ExpectDenied(CheckAttach(reader, "reader", config, "config"), "allow",
               "config.stdin needs the operate group");
  EXPECT_TRUE(CheckAttach(Everything(), "ci", config, "config").ok());
}

TEST(CheckExecTest, CommandsPrivilegedAndUsers) {
  IdentityRules rules = Everything();
  v1::ExecConfig config;
  config.set_container("c");
  config.add_cmd("/bin/sh");
  EXPECT_TRUE(CheckExec(rules, config, "config").ok());
  rules.exec_commands = std::vector<std::string>{"/usr/bin/*", "cat"};
  ExpectDenied(CheckExec(rules, config, "config"), "exec_commands",
               "config.cmd[0] \"/bin/sh\" matches none of [/usr/bin/*, cat]");
  config.set_cmd(0, "/usr/bin/env");
  EXPECT_TRUE(CheckExec(rules, config, "config").ok());

  config.set_privileged(true);
  ExpectDenied(CheckExec(rules, config, "config"), "exec_privileged", "config.privileged is true");
  rules.exec_privileged = true;
  EXPECT_TRUE(CheckExec(rules, config, "config").ok());

  rules.exec_users = std::vector<std::string>{"nobody", "1000:*"};
  ExpectDenied(CheckExec(rules, config, "config"), "exec_users",
               "config.user \"\" (the container's default user) matches none of");
  config.set_user("root");
  ExpectDenied(CheckExec(rules, config, "config"), "exec_users", "config.user \"root\"");
  config.set_user("1000:1000");
  EXPECT_TRUE(CheckExec(rules, config, "config").ok());
}

TEST(AdmitTest, ChecksTheRpcListThenTheTypedFieldsOfEachRequestKind) {
  IdentityRules rules = Everything();
  rules.images = std::vector<std::string>{"alpine:*"};
  rules.exec_commands = std::vector<std::string>{"ls"};
  v1::CreateContainerRequest create;
  create.mutable_spec()->set_image("nginx");
  ExpectDenied(Admit(&rules, "ci", "CreateContainer", &create), "images", "spec.image");
  v1::RunContainerRequest run;
  run.mutable_spec()->set_image("alpine:3");
  EXPECT_TRUE(Admit(&rules, "ci", "RunContainer", &run).ok());
  v1::StreamExecRequest exec;
  exec.mutable_config()->add_cmd("sh");
  ExpectDenied(Admit(&rules, "ci", "StreamExec", &exec), "exec_commands", "config.cmd[0]");
  v1::StartExecRequest start;
  start.mutable_config()->add_cmd("ls");
  EXPECT_TRUE(Admit(&rules, "ci", "StartExec", &start).ok());
  rules.rpcs.erase("RunContainer");
  ExpectDenied(Admit(&rules, "ci", "RunContainer", &run), "allow", "may not call RunContainer");
  EXPECT_TRUE(Admit<v1::RunContainerRequest>(nullptr, "ci", "RunContainer", &run).ok());
}

class UnderRootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/dockline-roots-XXXXXX";
    root_ = mkdtemp(dir);
    std::filesystem::create_directories(root_ + "/real/sub");
    std::filesystem::create_symlink("/etc", root_ + "/escape");
    std::filesystem::create_symlink(root_ + "/real", root_ + "/inside");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(UnderRootsTest, ASymlinkBelowTheRootIsRefusedWhereverItPoints) {
  std::string why;
  EXPECT_TRUE(UnderRoots({root_}, root_ + "/real/sub", &why)) << why;
  EXPECT_TRUE(UnderRoots({root_}, root_ + "/not-yet/created", &why)) << why;
  EXPECT_FALSE(UnderRoots({root_}, root_ + "/escape/passwd", &why));
  EXPECT_NE(why.find("passes through the symbolic link " + root_ + "/escape"), std::string::npos)
      << why;
  EXPECT_FALSE(UnderRoots({root_}, root_ + "/inside/sub", &why));
  EXPECT_FALSE(UnderRoots({root_}, root_ + "/escape", &why));
  EXPECT_FALSE(UnderRoots({root_}, "relative/path", &why));
  EXPECT_NE(why.find("not an absolute path"), std::string::npos);
}

}  // namespace
}  // namespace dockline::server::policy
