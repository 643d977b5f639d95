#include "server/codec/spec_codec.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <string>

namespace dockline::server {
namespace {

using nlohmann::json;

v1::ContainerSpec Spec(const std::string& text) {
  v1::ContainerSpec spec;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &spec)) << text;
  return spec;
}

json Build(const v1::ContainerSpec& spec, const CreateOptions& options = {}) {
  json body;
  grpc::Status status = BuildCreateBody(spec, options, &body);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return body;
}

json Build(const std::string& text, const CreateOptions& options = {}) {
  return Build(Spec(text), options);
}

// The body of a spec with nothing but an image: the fields every body carries.
json Minimal(json extra = json::object(), json host_extra = json::object()) {
  json body = {
      {"Image", "bb:latest"},  {"Tty", false},
      {"OpenStdin", false},    {"AttachStdin", false},
      {"StdinOnce", false},    {"AttachStdout", false},
      {"AttachStderr", false}, {"HostConfig", {{"ReadonlyRootfs", false}, {"AutoRemove", false}}}};
  // A braced `{}` argument arrives as null, not as an empty object.
  if (extra.is_object()) {
    body.update(extra);
  }
  if (host_extra.is_object()) {
    body["HostConfig"].update(host_extra);
  }
  return body;
}

TEST(BuildCreateBodyTest, FullSpec) {
  v1::ContainerSpec spec = Spec(R"pb(
    image: "bb:latest"
    command: [ "sh", "-c", "echo hello; sleep 1" ]
    name: "demo-full"
    hostname: "myhost"
    env: [ "A=1", "B", "C=x=y" ]
    working_dir: "/data"
    user: "1000:1000"
    ports { container_port: 8000 host_port: 8080 }
    ports { container_port: 8443 protocol: PROTOCOL_TCP host_ip: "127.0.0.1" host_port: 8443 }
    network: "none"
    volumes { source: "/srv/hostdir" target: "/data" }
    mounts { type: MOUNT_TYPE_BIND target: "/m" source: "/srv/hostdir" read_only: true }
    tmpfs { key: "/tmp" value: "size=100m" }
    read_only: true
    init: true
    restart_policy { name: RESTART_POLICY_NAME_ON_FAILURE maximum_retry_count: 3 }
    stop_signal: "SIGINT"
    memory: "512m"
    nano_cpus: 500000000
    labels { key: "demo" value: "1" }
    healthcheck {
      test: [ "CMD-SHELL", "true" ]
      interval { seconds: 1 }
      timeout { seconds: 2 }
      retries: 3
    }
  )pb");
  json want = json::parse(R"({
    "Hostname":"myhost","ExposedPorts":{"8000/tcp":{},"8443/tcp":{}},"User":"1000:1000",
    "Tty":false,"OpenStdin":false,"StdinOnce":false,"AttachStdin":false,"AttachStdout":false,
    "AttachStderr":false,"Env":["A=1","B","C=x=y"],"Cmd":["sh","-c","echo hello; sleep 1"],
    "Image":"bb:latest","Volumes":{"/data":{}},"WorkingDir":"/data",
    "HostConfig":{"Memory":536870912,"ReadonlyRootfs":true,"NetworkMode":"none",
      "RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"Binds":["/srv/hostdir:/data:rw"],
      "PortBindings":{"8000/tcp":[{"HostIp":"","HostPort":"8080"}],
                      "8443/tcp":[{"HostIp":"127.0.0.1","HostPort":"8443"}]},
      "Tmpfs":{"/tmp":"size=100m"},"Init":true,"NanoCpus":500000000,"AutoRemove":false,
      "Mounts":[{"Target":"/m","Source":"/srv/hostdir","Type":"bind","ReadOnly":true}]},
    "Labels":{"demo":"1"},"StopSignal":"SIGINT",
    "Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":1000000000,"Timeout":2000000000,
                   "Retries":3}})");
  EXPECT_EQ(Build(spec), want) << Build(spec).dump(2);
}

TEST(BuildCreateBodyTest, MinimalSpec) {
  json body = Build(R"pb(image: "bb:latest")pb");
  EXPECT_EQ(body, Minimal()) << body.dump();
  EXPECT_FALSE(body.contains("name"));
  EXPECT_FALSE(body.contains("Name"));
  EXPECT_FALSE(body["HostConfig"].contains("NetworkMode"));  // the daemon's default
  EXPECT_FALSE(body["HostConfig"].contains("Init"));         // *bool: absent keeps daemon's
}

TEST(BuildCreateBodyTest, NameIsNotInTheBody) {
  json body = Build(R"pb(image: "bb:latest" name: "/demo_1.x-y")pb");
  EXPECT_EQ(body, Minimal());
}

TEST(BuildCreateBodyTest, ConfigFields) {
  json body = Build(R"pb(
    image: "bb:latest"
    command: [ "echo", "hi there" ]
    entrypoint: [ "/bin/sh", "-c" ]
    hostname: "h"
    env: [ "A=1", "EMPTY=", "BARE" ]
    working_dir: "/w"
    user: "nobody"
    labels { key: "a" value: "1" }
    labels { key: "b" value: "" }
    stop_signal: "TERM"
    stop_timeout { seconds: 20 }
    tty: true
  )pb");
  EXPECT_EQ(body, Minimal({{"Cmd", {"echo", "hi there"}},
                           {"Entrypoint", {"/bin/sh", "-c"}},
                           {"Hostname", "h"},
                           {"Env", {"A=1", "EMPTY=", "BARE"}},
                           {"WorkingDir", "/w"},
                           {"User", "nobody"},
                           {"Labels", {{"a", "1"}, {"b", ""}}},
                           {"StopSignal", "TERM"},
                           {"StopTimeout", 20},
                           {"Tty", true}}))
      << body.dump();
}

TEST(BuildCreateBodyTest, StopTimeout) {
  EXPECT_EQ(Build(R"pb(image: "bb:latest"
                       stop_timeout {})pb")["StopTimeout"],
            0);
  EXPECT_EQ(Build(R"pb(image: "bb:latest"
                       stop_timeout { seconds: 1 nanos: 500000000 })pb")["StopTimeout"],
            2);
  EXPECT_EQ(Build(R"pb(image: "bb:latest"
                       stop_timeout { nanos: 1 })pb")["StopTimeout"],
            1);
  EXPECT_FALSE(Build(R"pb(image: "bb:latest")pb").contains("StopTimeout"));
}

TEST(BuildCreateBodyTest, AttachAndStdin) {
  CreateOptions attach;
  attach.attach = true;
  EXPECT_EQ(Build(R"pb(image: "bb:latest")pb", attach),
            Minimal({{"AttachStdout", true}, {"AttachStderr", true}}));
  EXPECT_EQ(Build(R"pb(image: "bb:latest" stdin_open: true)pb", attach),
            Minimal({{"AttachStdout", true},
                     {"AttachStderr", true},
                     {"OpenStdin", true},
                     {"AttachStdin", true},
                     {"StdinOnce", true}}));
  // Detached (create / run detach): stdin stays open for a later attach, nothing attached now.
  EXPECT_EQ(Build(R"pb(image: "bb:latest" stdin_open: true tty: true)pb"),
            Minimal({{"OpenStdin", true}, {"Tty", true}}));
  // Created for docker run -i's attach: stdin closes for good when that client closes it.
  EXPECT_EQ(Build(R"pb(image: "bb:latest" stdin_open: true stdin_once: true)pb"),
            Minimal({{"OpenStdin", true}, {"StdinOnce", true}}));
  EXPECT_EQ(Build(R"pb(image: "bb:latest" stdin_once: true)pb"), Minimal());
}

TEST(BuildCreateBodyTest, PortForms) {
  json body = Build(R"pb(
    image: "bb:latest"
    ports { container_port: 8000 host_port: 8080 }
    ports { container_port: 8443 host_ip: "127.0.0.1" host_port: 8443 }
    ports { container_port: 1111 host_ip: "127.0.0.1" }
    ports { container_port: 2222 host_port: 3333 }
    ports { container_port: 53 protocol: PROTOCOL_TCP host_port: 53 }
    ports { container_port: 53 host_port: 5353 }
    ports { container_port: 9000 protocol: PROTOCOL_UDP }
    ports { container_port: 4444 host_ip: "::1" host_port: 4444 }
    ports { container_port: 7000 protocol: PROTOCOL_SCTP host_port: 7001 }
    ports { container_port: 65535 host_port: 65535 }
  )pb");
  json want_exposed = {
      {"8000/tcp", json::object()}, {"8443/tcp", json::object()},  {"1111/tcp", json::object()},
      {"2222/tcp", json::object()}, {"53/tcp", json::object()},    {"9000/udp", json::object()},
      {"4444/tcp", json::object()}, {"7000/sctp", json::object()}, {"65535/tcp", json::object()}};
  json want_bindings = json::parse(R"({
    "8000/tcp":[{"HostIp":"","HostPort":"8080"}],
    "8443/tcp":[{"HostIp":"127.0.0.1","HostPort":"8443"}],
    "1111/tcp":[{"HostIp":"127.0.0.1","HostPort":""}],
    "2222/tcp":[{"HostIp":"","HostPort":"3333"}],
    "53/tcp":[{"HostIp":"","HostPort":"53"},{"HostIp":"","HostPort":"5353"}],
    "9000/udp":[{"HostIp":"","HostPort":""}],
    "4444/tcp":[{"HostIp":"::1","HostPort":"4444"}],
    "7000/sctp":[{"HostIp":"","HostPort":"7001"}],
    "65535/tcp":[{"HostIp":"","HostPort":"65535"}]})");
  EXPECT_EQ(body["ExposedPorts"], want_exposed);
  EXPECT_EQ(body["HostConfig"]["PortBindings"], want_bindings) << body.dump(2);
}

TEST(BuildCreateBodyTest, SamePortTcpAndUdp) {
  json body = Build(R"pb(
    image: "bb:latest"
    ports { container_port: 53 protocol: PROTOCOL_UDP host_port: 53 }
    ports { container_port: 53 host_port: 53 }
  )pb");
  EXPECT_EQ(body["HostConfig"]["PortBindings"], json::parse(R"({
    "53/udp":[{"HostIp":"","HostPort":"53"}],"53/tcp":[{"HostIp":"","HostPort":"53"}]})"));
}

TEST(BuildCreateBodyTest, Volumes) {
  json body = Build(R"pb(
    image: "bb:latest"
    volumes { source: "/host" target: "/data" }
    volumes { source: "/h2" target: "/d2" read_only: true }
    volumes { source: "/h3" target: "/d3" read_only: true propagation: "rslave" }
    volumes { source: "/h4" target: "/d4" propagation: "shared" }
    volumes { source: "named" target: "/c" }
  )pb");
  EXPECT_EQ(body["Volumes"], json::parse(R"({"/data":{},"/d2":{},"/d3":{},"/d4":{},"/c":{}})"));
  EXPECT_EQ(body["HostConfig"]["Binds"],
            json::parse(R"(["/host:/data:rw","/h2:/d2:ro","/h3:/d3:ro,rslave",
                            "/h4:/d4:rw,shared","named:/c:rw"])"));
}

TEST(BuildCreateBodyTest, Mounts) {
  json body = Build(R"pb(
    image: "bb:latest"
    mounts { type: MOUNT_TYPE_BIND target: "/b" source: "/src" propagation: "rprivate" }
    mounts {
      type: MOUNT_TYPE_VOLUME
      target: "/v"
      source: "vol1"
      read_only: true
      no_copy: true
      volume_labels { key: "l" value: "v" }
      volume_driver: "local"
      volume_driver_options { key: "type" value: "tmpfs" }
    }
    mounts { type: MOUNT_TYPE_VOLUME target: "/anon" }
    mounts { type: MOUNT_TYPE_VOLUME target: "/drv" volume_driver: "local" }
    mounts { type: MOUNT_TYPE_TMPFS target: "/t" tmpfs_size_bytes: 1048576 tmpfs_mode: 1023 }
    mounts { type: MOUNT_TYPE_TMPFS target: "/t2" }
  )pb");
  json want = json::parse(R"([
    {"Type":"bind","Target":"/b","Source":"/src","ReadOnly":false,
     "BindOptions":{"Propagation":"rprivate"}},
    {"Type":"volume","Target":"/v","Source":"vol1","ReadOnly":true,
     "VolumeOptions":{"NoCopy":true,"Labels":{"l":"v"},
                      "DriverConfig":{"Name":"local","Options":{"type":"tmpfs"}}}},
    {"Type":"volume","Target":"/anon","ReadOnly":false},
    {"Type":"volume","Target":"/drv","ReadOnly":false,"VolumeOptions":{"DriverConfig":{"Name":"local"}}},
    {"Type":"tmpfs","Target":"/t","ReadOnly":false,"TmpfsOptions":{"SizeBytes":1048576,"Mode":1023}},
    {"Type":"tmpfs","Target":"/t2","ReadOnly":false}])");
  EXPECT_EQ(body["HostConfig"]["Mounts"], want) << body["HostConfig"]["Mounts"].dump(2);
  EXPECT_FALSE(body.contains("Volumes"));
}

TEST(BuildCreateBodyTest, HostConfigFlags) {
  EXPECT_EQ(Build(R"pb(
              image: "bb:latest"
              tmpfs { key: "/run" value: "" }
              tmpfs { key: "/tmp" value: "size=100m,mode=1777" }
              read_only: true
              auto_remove: true
              init: true
              memory_bytes: 67108864
              nano_cpus: 1500000000
            )pb"),
            Minimal({}, {{"Tmpfs", {{"/run", ""}, {"/tmp", "size=100m,mode=1777"}}},
                         {"ReadonlyRootfs", true},
                         {"AutoRemove", true},
                         {"Init", true},
                         {"Memory", 67108864},
                         {"NanoCpus", 1500000000}}));
}

TEST(BuildCreateBodyTest, AutoRemoveOverride) {
  CreateOptions on;
  on.auto_remove = true;
  CreateOptions off;
  off.auto_remove = false;
  EXPECT_EQ(Build(R"pb(image: "bb:latest")pb", on)["HostConfig"]["AutoRemove"], true);
  EXPECT_EQ(Build(R"pb(image: "bb:latest" auto_remove: true)pb", off)["HostConfig"]["AutoRemove"],
            false);
  // With the override off, a restart policy is fine even though spec.auto_remove is set.
  EXPECT_EQ(Build(R"pb(image: "bb:latest"
                       auto_remove: true
                       restart_policy { name: RESTART_POLICY_NAME_ALWAYS })pb",
                  off)["HostConfig"]["RestartPolicy"]["Name"],
            "always");
}

TEST(BuildCreateBodyTest, Memory) {
  EXPECT_EQ(Build(R"pb(image: "bb:latest" memory: "512m")pb")["HostConfig"]["Memory"], 536870912);
  EXPECT_EQ(Build(R"pb(image: "bb:latest" memory: "1.5g")pb")["HostConfig"]["Memory"], 1610612736);
  EXPECT_EQ(Build(R"pb(image: "bb:latest" memory_bytes: 7340032)pb")["HostConfig"]["Memory"],
            7340032);
  EXPECT_FALSE(Build(R"pb(image: "bb:latest" memory_bytes: 0)pb")["HostConfig"].contains("Memory"));
}

TEST(BuildCreateBodyTest, RestartPolicies) {
  struct Case {
    const char* text;
    json want;
  } cases[] = {
      {"name: RESTART_POLICY_NAME_NO", {{"Name", "no"}, {"MaximumRetryCount", 0}}},
      {"name: RESTART_POLICY_NAME_ALWAYS", {{"Name", "always"}, {"MaximumRetryCount", 0}}},
      {"name: RESTART_POLICY_NAME_UNLESS_STOPPED",
       {{"Name", "unless-stopped"}, {"MaximumRetryCount", 0}}},
      {"name: RESTART_POLICY_NAME_ON_FAILURE", {{"Name", "on-failure"}, {"MaximumRetryCount", 0}}},
      {"name: RESTART_POLICY_NAME_ON_FAILURE maximum_retry_count: 5",
       {{"Name", "on-failure"}, {"MaximumRetryCount", 5}}},
  };
  for (const Case& c : cases) {
    json body = Build(std::string(R"pb(image: "bb:latest" restart_policy {)pb") + c.text + "}");
    EXPECT_EQ(body["HostConfig"]["RestartPolicy"], c.want) << c.text;
  }
  EXPECT_FALSE(Build(R"pb(image: "bb:latest"
                          restart_policy {})pb")["HostConfig"]
                   .contains("RestartPolicy"));
  // "no" with auto-remove is fine.
  EXPECT_EQ(
      Build(R"pb(image: "bb:latest"
                 auto_remove: true
                 restart_policy { name: RESTART_POLICY_NAME_NO })pb")["HostConfig"]["AutoRemove"],
      true);
}

TEST(BuildCreateBodyTest, Networks) {
  for (const char* builtin : {"none", "host", "bridge", "default", "container:abc123"}) {
    json body = Build(std::string(R"pb(image: "bb:latest" network: ")pb") + builtin + "\"");
    EXPECT_EQ(body, Minimal({}, {{"NetworkMode", builtin}})) << builtin;
  }
  json body = Build(R"pb(image: "bb:latest" network: "demo-net")pb");
  EXPECT_EQ(body,
            Minimal({{"NetworkingConfig", {{"EndpointsConfig", {{"demo-net", json::object()}}}}}},
                    {{"NetworkMode", "demo-net"}}))
      << body.dump();
}

TEST(BuildCreateBodyTest, Healthchecks) {
  EXPECT_EQ(Build(R"pb(image: "bb:latest"
                       healthcheck {
                         test: [ "CMD", "/bin/check", "--quick" ]
                         interval { seconds: 30 }
                         timeout { nanos: 1000000 }
                         retries: 2
                         start_period { seconds: 5 nanos: 500000000 }
                       })pb")["Healthcheck"],
            json::parse(R"({"Test":["CMD","/bin/check","--quick"],"Interval":30000000000,
                            "Timeout":1000000,"Retries":2,"StartPeriod":5500000000})"));
  CreateOptions newer;
  newer.api_version = "1.44";
  EXPECT_EQ(
      Build(R"pb(image: "bb:latest"
                 healthcheck {
                   test: [ "CMD-SHELL", "curl -f localhost" ]
                   start_interval { seconds: 1 }
                 })pb",
            newer)["Healthcheck"],
      json::parse(R"({"Test":["CMD-SHELL","curl -f localhost"],"StartInterval":1000000000})"));
  newer.api_version = "1.100";
  EXPECT_TRUE(Build(R"pb(image: "bb:latest"
                         healthcheck { start_interval { seconds: 1 } })pb",
                    newer)["Healthcheck"]
                  .contains("StartInterval"));
  EXPECT_EQ(Build(R"pb(image: "bb:latest"
                       healthcheck { test: "NONE" })pb")["Healthcheck"],
            json::parse(R"({"Test":["NONE"]})"));
  // Zero durations mean the daemon's defaults and are left out; an empty test inherits.
  EXPECT_EQ(Build(R"pb(image: "bb:latest"
                       healthcheck {
                         interval {}
                         retries: 4
                       })pb")["Healthcheck"],
            json::parse(R"({"Retries":4})"));
  EXPECT_FALSE(Build(R"pb(image: "bb:latest"
                          healthcheck {})pb")
                   .contains("Healthcheck"));
  // Trailing empty arguments after a real command are the user's business.
  EXPECT_EQ(
      Build(R"pb(image: "bb:latest"
                 healthcheck { test: [ "CMD-SHELL", "", "true" ] })pb")["Healthcheck"]["Test"],
      json::parse(R"(["CMD-SHELL","","true"])"));
}

struct InvalidCase {
  const char* spec;
  const char* message;  // the whole message, or its start when it ends in "..."
};

void ExpectInvalid(const InvalidCase& c, const CreateOptions& options = {}) {
  json body = {{"untouched", true}};
  grpc::Status status = BuildCreateBody(Spec(c.spec), options, &body);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.spec;
  std::string want = c.message;
  if (want.size() > 3 && want.ends_with("...")) {
    want.resize(want.size() - 3);
    EXPECT_EQ(status.error_message().substr(0, want.size()), want) << c.spec;
  } else {
    EXPECT_EQ(status.error_message(), want) << c.spec;
  }
  EXPECT_EQ(body, (json{{"untouched", true}}));
  // ValidateContainerSpec says the same without building.
  EXPECT_EQ(ValidateContainerSpec(Spec(c.spec), options).error_message(), status.error_message());
}

TEST(BuildCreateBodyTest, ValidationErrors) {
  const InvalidCase cases[] = {
      {"", "spec.image: must not be empty"},
      {R"pb(image: "a\nb")pb", "spec.image: must not contain control characters..."},
      {R"pb(image: "bb" name: "bad/name")pb",
       "spec.name: must match [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least two characters, an optional "
       "leading \"/\"), got \"bad/name\""},
      {R"pb(image: "bb" name: "x")pb", "spec.name: must match..."},
      {R"pb(image: "bb" name: "_ab")pb", "spec.name: must match..."},
      {R"pb(image: "bb" name: "//ab")pb", "spec.name: must match..."},
      {R"pb(image: "bb" name: "a b")pb", "spec.name: must match..."},
      {R"pb(image: "bb"
            env: [ "A=1", "=x" ])pb",
       "spec.env[1]: needs a variable name (\"KEY=value\" or \"KEY\"), got \"=x\""},
      {R"pb(image: "bb"
            env: [ "" ])pb",
       "spec.env[0]: needs a variable name..."},
      {R"pb(image: "bb"
            ports { container_port: 80 }
            ports { container_port: 0 })pb",
       "spec.ports[1].container_port: must be 1-65535, got 0"},
      {R"pb(image: "bb"
            ports { container_port: 65536 })pb",
       "spec.ports[0].container_port: must be 1-65535, got 65536"},
      {R"pb(image: "bb"
            ports { container_port: 80 host_port: 70000 })pb",
       "spec.ports[0].host_port: must be 0-65535 (0: the daemon picks), got 70000"},
      {R"pb(image: "bb"
            ports { container_port: 80 protocol: 9 })pb",
       "spec.ports[0].protocol: unknown value 9"},
      {R"pb(image: "bb" network: "container:")pb",
       "spec.network: \"container:\" needs a container id or name after it"},
      {R"pb(image: "bb"
            volumes { target: "/d" })pb",
       "spec.volumes[0].source: must not be empty (a host path or a volume name)"},
      {R"pb(image: "bb"
            volumes { source: "/h" })pb",
       "spec.volumes[0].target: must not be empty"},
      {R"pb(image: "bb"
            volumes { source: "/h" target: "d" })pb",
       "spec.volumes[0].target: must be an absolute path, got \"d\""},
      {R"pb(image: "bb"
            volumes { source: "/h:x" target: "/d" })pb",
       "spec.volumes[0].source: must not contain ':'..."},
      {R"pb(image: "bb"
            volumes { source: "/h" target: "/d:ro" })pb",
       "spec.volumes[0].target: must not contain ':'..."},
      {R"pb(image: "bb"
            volumes { source: "/h" target: "/d" propagation: "slavish" })pb",
       "spec.volumes[0].propagation: must be one of private, rprivate, shared, rshared, slave, "
       "rslave, got \"slavish\""},
      {R"pb(image: "bb"
            mounts { target: "/m" source: "v" })pb",
       "spec.mounts[0].type: must be set: bind, volume or tmpfs"},
      {R"pb(image: "bb"
            mounts { type: 7 target: "/m" })pb",
       "spec.mounts[0].type: unknown value 7"},
      {R"pb(image: "bb"
            mounts { type: MOUNT_TYPE_VOLUME })pb",
       "spec.mounts[0].target: must not be empty"},
      {R"pb(image: "bb"
            mounts { type: MOUNT_TYPE_VOLUME target: "rel" })pb",
       "spec.mounts[0].target: must be an absolute path, got \"rel\""},
      {R"pb(image: "bb"
            mounts { type: MOUNT_TYPE_BIND target: "/m" })pb",
       "spec.mounts[0].source: a bind mount needs a host path"},
      {R"pb(image: "bb"
            mounts { type: MOUNT_TYPE_BIND target: "/m" source: "rel" })pb",
       "spec.mounts[0].source: a bind mount needs an absolute host path, got \"rel\""},
      {R"pb(image: "bb"
            mounts { type: MOUNT_TYPE_TMPFS target: "/m" source: "x" })pb",
       "spec.mounts[0].source: must be empty for a tmpfs mount"},
      {R"pb(image: "bb"
            mounts { type: MOUNT_TYPE_BIND target: "/m" source: "/s" tmpfs_size_bytes: 10 })pb",
       "spec.mounts[0].tmpfs_size_bytes: applies to tmpfs mounts only, not to a bind mount"},
      {R"pb(image: "bb"
            mounts { type: MOUNT_TYPE_VOLUME target: "/m" tmpfs_mode: 511 })pb",
       "spec.mounts[0].tmpfs_mode: applies to tmpfs mounts only, not to a volume mount"},
      {R"pb(image: "bb"
            mounts { type: MOUNT_TYPE_TMPFS target: "/m" propagation: "shared" })pb",
       "spec.mounts[0].propagation: applies to bind mounts only, not to a tmpfs mount"},
      {R"pb(image: "bb"
            mounts { type: MOUNT_TYPE_BIND target: "/m" source: "/s" no_copy: true })pb",
       "spec.mounts[0].no_copy: applies to volume mounts only, not to a bind mount"},
      {R"pb(image: "bb"
            mounts {
              type: MOUNT_TYPE_TMPFS
              target: "/m"
              volume_labels { key: "a" value: "b" }
            })pb",
       "spec.mounts[0].volume_labels: applies to volume mounts only, not to a tmpfs mount"},
      {R"pb(image: "bb"
            mounts { type: MOUNT_TYPE_BIND target: "/m" source: "/s" volume_driver: "local" })pb",
       "spec.mounts[0].volume_driver: applies to volume mounts only, not to a bind mount"},
      {R"pb(image: "bb"
            mounts {
              type: MOUNT_TYPE_BIND
              target: "/m"
              source: "/s"
              volume_driver_options { key: "a" value: "b" }
            })pb",
       "spec.mounts[0].volume_driver_options: applies to volume mounts only, not to a bind mount"},
      {R"pb(image: "bb"
            mounts { type: MOUNT_TYPE_BIND target: "/m" source: "/s" propagation: "bogus" })pb",
       "spec.mounts[0].propagation: must be one of..."},
      {R"pb(image: "bb"
            mounts { type: MOUNT_TYPE_TMPFS target: "/m" tmpfs_size_bytes: -1 })pb",
       "spec.mounts[0].tmpfs_size_bytes: must not be negative, got -1"},
      {R"pb(image: "bb"
            mounts { type: MOUNT_TYPE_TMPFS target: "/m" tmpfs_mode: 4096 })pb",
       "spec.mounts[0].tmpfs_mode: must be a permission mode up to 07777 (4095), got 4096"},
      {R"pb(image: "bb"
            mounts {
              type: MOUNT_TYPE_VOLUME
              target: "/m"
              volume_labels { key: "" value: "b" }
            })pb",
       "spec.mounts[0].volume_labels: keys must not be empty"},
      {R"pb(image: "bb"
            tmpfs { key: "tmp" value: "" })pb",
       "spec.tmpfs: keys must be absolute paths, got \"tmp\""},
      {R"pb(image: "bb"
            restart_policy { name: 12 })pb",
       "spec.restart_policy.name: unknown value 12"},
      {R"pb(image: "bb"
            restart_policy { name: RESTART_POLICY_NAME_ON_FAILURE maximum_retry_count: -1 })pb",
       "spec.restart_policy.maximum_retry_count: must not be negative, got -1"},
      {R"pb(image: "bb"
            restart_policy { name: RESTART_POLICY_NAME_ALWAYS maximum_retry_count: 3 })pb",
       "spec.restart_policy.maximum_retry_count: applies to the on-failure policy only, not to "
       "\"always\""},
      {R"pb(image: "bb"
            restart_policy { maximum_retry_count: 3 })pb",
       "spec.restart_policy.maximum_retry_count: applies to the on-failure policy only, not to "
       "\"no\""},
      {R"pb(image: "bb"
            auto_remove: true
            restart_policy { name: RESTART_POLICY_NAME_ALWAYS })pb",
       "spec.auto_remove: cannot be combined with restart_policy \"always\"..."},
      {R"pb(image: "bb"
            auto_remove: true
            restart_policy { name: RESTART_POLICY_NAME_UNLESS_STOPPED })pb",
       "spec.auto_remove: cannot be combined with restart_policy \"unless-stopped\"..."},
      {R"pb(image: "bb"
            auto_remove: true
            restart_policy { name: RESTART_POLICY_NAME_ON_FAILURE })pb",
       "spec.auto_remove: cannot be combined with restart_policy \"on-failure\"..."},
      {R"pb(image: "bb" stop_signal: "SIGBOGUS")pb",
       "spec.stop_signal: unknown signal \"SIGBOGUS\" (use a name such as \"SIGTERM\" or "
       "\"TERM\", or a number 1-64)"},
      {R"pb(image: "bb" stop_signal: "0")pb",
       "spec.stop_signal: a signal number must be 1-64, got \"0\""},
      {R"pb(image: "bb" stop_signal: "65")pb", "spec.stop_signal: a signal number must be 1-64..."},
      {R"pb(image: "bb" stop_signal: "-9")pb", "spec.stop_signal: unknown signal \"-9\"..."},
      {R"pb(image: "bb" stop_signal: "SIG")pb", "spec.stop_signal: unknown signal..."},
      {R"pb(image: "bb" stop_signal: "SIGRTMIN+16")pb", "spec.stop_signal: unknown signal..."},
      {R"pb(image: "bb" memory: "1t")pb", "spec.memory: invalid size \"1t\"..."},
      {R"pb(image: "bb" memory: "")pb", "spec.memory: invalid size \"\"..."},
      {R"pb(image: "bb" memory_bytes: -1)pb", "spec.memory_bytes: must not be negative, got -1"},
      {R"pb(image: "bb" nano_cpus: -5)pb", "spec.nano_cpus: must not be negative, got -5"},
      {R"pb(image: "bb"
            labels { key: "" value: "x" })pb",
       "spec.labels: keys must not be empty"},
      {R"pb(image: "bb"
            healthcheck { test: "CMD" })pb",
       "spec.healthcheck.test: \"CMD\" needs a command after it"},
      {R"pb(image: "bb"
            healthcheck { test: [ "CMD", "" ] })pb",
       "spec.healthcheck.test: \"CMD\" needs a command after it"},
      {R"pb(image: "bb"
            healthcheck { test: [ "CMD", "", "" ] })pb",
       "spec.healthcheck.test: \"CMD\" needs a command after it"},
      {R"pb(image: "bb"
            healthcheck { test: "CMD-SHELL" })pb",
       "spec.healthcheck.test: \"CMD-SHELL\" needs a command after it"},
      {R"pb(image: "bb"
            healthcheck { test: [ "CMD-SHELL", "" ] })pb",
       "spec.healthcheck.test: \"CMD-SHELL\" needs a command after it"},
      {R"pb(image: "bb"
            healthcheck { test: [ "CMD", "", "arg" ] })pb",
       "spec.healthcheck.test[1]: the executable must not be empty"},
      {R"pb(image: "bb"
            healthcheck { test: [ "true" ] })pb",
       "spec.healthcheck.test[0]: must be \"CMD\", \"CMD-SHELL\" or \"NONE\", got \"true\""},
      {R"pb(image: "bb"
            healthcheck { test: [ "cmd", "true" ] })pb",
       "spec.healthcheck.test[0]: must be \"CMD\", \"CMD-SHELL\" or \"NONE\", got \"cmd\""},
      {R"pb(image: "bb"
            healthcheck { test: [ "", "true" ] })pb",
       "spec.healthcheck.test[0]: must be..."},
      {R"pb(image: "bb"
            healthcheck { test: [ "NONE", "x" ] })pb",
       "spec.healthcheck.test: \"NONE\" takes nothing after it"},
      {R"pb(image: "bb"
            healthcheck { interval { nanos: 999999 } })pb",
       "spec.healthcheck.interval: must be at least 1ms (or zero for the daemon's default), got "
       "999999ns"},
      {R"pb(image: "bb"
            healthcheck { timeout { seconds: -1 } })pb",
       "spec.healthcheck.timeout: must not be negative"},
      {R"pb(image: "bb"
            healthcheck { start_period { nanos: 1 } })pb",
       "spec.healthcheck.start_period: must be at least 1ms..."},
      {R"pb(image: "bb"
            healthcheck { start_interval { nanos: 10 } })pb",
       "spec.healthcheck.start_interval: must be at least 1ms..."},
      {R"pb(image: "bb"
            healthcheck { interval { seconds: 1 nanos: -5 } })pb",
       "spec.healthcheck.interval: not a valid duration or too large"},
      {R"pb(image: "bb"
            healthcheck { interval { seconds: 315576000000 } })pb",
       "spec.healthcheck.interval: not a valid duration or too large"},
      {R"pb(image: "bb"
            healthcheck { retries: -1 })pb",
       "spec.healthcheck.retries: must not be negative, got -1"},
      {R"pb(image: "bb"
            stop_timeout { seconds: -1 })pb",
       "spec.stop_timeout: must not be negative"},
  };
  for (const InvalidCase& c : cases) {
    ExpectInvalid(c);
  }
}

TEST(BuildCreateBodyTest, StartIntervalNeedsApi144) {
  ExpectInvalid({R"pb(image: "bb"
                      healthcheck {
                        test: [ "CMD-SHELL", "true" ]
                        start_interval { seconds: 1 }
                      })pb",
                 "spec.healthcheck.start_interval: needs Engine API 1.44 or newer; this daemon "
                 "speaks 1.41"});
}

TEST(BuildCreateBodyTest, AutoRemoveOverrideConflicts) {
  CreateOptions on;
  on.auto_remove = true;
  ExpectInvalid({R"pb(image: "bb"
                      restart_policy { name: RESTART_POLICY_NAME_ALWAYS })pb",
                 "spec.auto_remove: cannot be combined with restart_policy \"always\"..."},
                on);
}

TEST(FiltersTest, GroupsByKey) {
  v1::ListContainersRequest request;
  ASSERT_TRUE(
      google::protobuf::TextFormat::ParseFromString(R"pb(
                                                      filters { key: "label" value: "demo=1" }
                                                      filters { key: "status" value: "created" }
                                                      filters { key: "label" value: "other" }
                                                      filters { key: "name" value: "" }
                                                    )pb",
                                                    &request));
  json want = json::parse(R"({"label":["demo=1","other"],"status":["created"],"name":[""]})");
  EXPECT_EQ(FiltersToJson(request.filters()), want);
  json out;
  ASSERT_TRUE(FiltersToJson("filters", request.filters(), &out).ok());
  EXPECT_EQ(out, want);
  EXPECT_EQ(FiltersToJson(google::protobuf::RepeatedPtrField<v1::Filter>()), json::object());
}

TEST(FiltersTest, EmptyKeyRefused) {
  v1::ListContainersRequest request;
  request.add_filters()->set_key("label");
  request.add_filters()->set_value("x");
  json out = "untouched";
  grpc::Status status = FiltersToJson("filters", request.filters(), &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "filters[1].key: must not be empty");
  EXPECT_EQ(out, "untouched");
}

}  // namespace
}  // namespace dockline::server
