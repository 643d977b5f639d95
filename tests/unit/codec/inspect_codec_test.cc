#include "server/codec/inspect_codec.h"

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>

namespace dockline::server {
namespace {

using nlohmann::json;

template <typename Message>
Message Proto(const std::string& text) {
  Message message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

template <typename Message>
void ExpectProtoEq(const Message& got, const Message& want) {
  google::protobuf::util::MessageDifferencer differencer;
  std::string diff;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(got, want)) << diff << "\ngot:\n" << got.DebugString();
}

google::protobuf::Timestamp Time(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  t.set_nanos(nanos);
  return t;
}

// 2026-11-27T00:01:44Z
constexpr int64_t kT = 1795737704;

TEST(ParseDockerTimeTest, Forms) {
  struct Case {
    const char* text;
    int64_t seconds;
    int32_t nanos;
  } cases[] = {
      {"2026-11-27T00:01:44.254699673Z", kT, 254699673},
      {"2026-11-27T00:01:44Z", kT, 0},
      {"2026-11-27T00:01:44.5Z", kT, 500000000},
      {"2026-11-27T00:01:44.25469967Z", kT, 254699670},
      {"2026-11-27T00:01:44.000000001Z", kT, 1},
      {"2026-11-27T00:01:44.254699673+00:00", kT, 254699673},
      {"2026-11-27T02:01:44+02:00", kT, 0},
      {"2026-11-26T17:01:44.1-07:00", kT, 100000000},
      {"2026-11-27T05:31:44+05:30", kT, 0},
      {"1970-01-01T00:00:00Z", 0, 0},
      {"1969-12-31T23:59:59.5Z", -1, 500000000},
      {"2024-02-29T12:00:00Z", 1709208000, 0},
      {"2026-05-07T21:09:36.000000000+00:00", 1778188176, 0},
      {"0001-01-01T00:00:01Z", -62135596799, 0},
      {"9999-12-31T23:59:59.999999999Z", 253402300799, 999999999},
  };
  for (const Case& c : cases) {
    google::protobuf::Timestamp t;
    ASSERT_TRUE(ParseDockerTime(c.text, &t)) << c.text;
    EXPECT_EQ(t.seconds(), c.seconds) << c.text;
    EXPECT_EQ(t.nanos(), c.nanos) << c.text;
  }
}

TEST(ParseDockerTimeTest, ZeroTimeIsUnset) {
  google::protobuf::Timestamp t = Time(42, 7);
  EXPECT_FALSE(ParseDockerTime("0001-01-01T00:00:00Z", &t));
  EXPECT_EQ(t.seconds(), 42);
  EXPECT_EQ(t.nanos(), 7);
  EXPECT_FALSE(ParseDockerTime("0001-01-01T00:00:00.000000000Z", &t));
}

TEST(ParseDockerTimeTest, Refused) {
  for (const char* text : {"",
                           "2026",
                           "2026-11-27",
                           "2026-11-27T00:01:44",
                           "2026-11-27T00:01:44.Z",
                           "2026-11-27T00:01:44.1234567890Z",
                           "2026-11-27 00:01:44Z",
                           "2026-13-01T00:00:00Z",
                           "2026-02-29T00:00:00Z",
                           "2026-11-31T00:00:00Z",
                           "2026-11-27T24:00:00Z",
                           "2026-11-27T00:60:00Z",
                           "2026-11-27T00:00:60Z",
                           "2026-11-27T00:01:44ZZ",
                           "2026-11-27T00:01:44+0100",
                           "2026-11-27T00:01:44+01",
                           "2026-11-27T00:01:44+1:00",
                           "0000-01-01T00:00:00Z",
                           "x026-11-27T00:01:44Z",
                           "2026-11-27T00:01:44.x5Z",
                           "2026-11-27T00:01:44 Z",
                           "1795737704"}) {
    google::protobuf::Timestamp t = Time(42);
    EXPECT_FALSE(ParseDockerTime(text, &t)) << text;
    EXPECT_EQ(t.seconds(), 42) << text;
  }
}

TEST(ContainerStatusTest, Strings) {
  EXPECT_EQ(ContainerStatusFromString("created"), v1::CONTAINER_STATUS_CREATED);
  EXPECT_EQ(ContainerStatusFromString("running"), v1::CONTAINER_STATUS_RUNNING);
  EXPECT_EQ(ContainerStatusFromString("paused"), v1::CONTAINER_STATUS_PAUSED);
  EXPECT_EQ(ContainerStatusFromString("restarting"), v1::CONTAINER_STATUS_RESTARTING);
  EXPECT_EQ(ContainerStatusFromString("removing"), v1::CONTAINER_STATUS_REMOVING);
  EXPECT_EQ(ContainerStatusFromString("exited"), v1::CONTAINER_STATUS_EXITED);
  EXPECT_EQ(ContainerStatusFromString("dead"), v1::CONTAINER_STATUS_DEAD);
  EXPECT_EQ(ContainerStatusFromString(""), v1::CONTAINER_STATUS_UNSPECIFIED);
  EXPECT_EQ(ContainerStatusFromString("Up 2 minutes"), v1::CONTAINER_STATUS_UNSPECIFIED);
}

TEST(HealthFromJsonTest, AbsentOrNullIsNone) {
  v1::Health health;
  health.set_failing_streak(3);
  HealthFromJson(json(), &health);
  ExpectProtoEq(health, Proto<v1::Health>("status: HEALTH_STATUS_NONE"));
  HealthFromJson(json::array(), &health);
  EXPECT_EQ(health.status(), v1::HEALTH_STATUS_NONE);
  HealthFromJson("healthy", &health);
  EXPECT_EQ(health.status(), v1::HEALTH_STATUS_NONE);
}

TEST(HealthFromJsonTest, Document) {
  json doc = json::parse(R"({"Status":"unhealthy","FailingStreak":2,"Log":[
    {"Start":"2026-11-27T00:01:44.254699673Z","End":"2026-11-27T00:01:44.3Z","ExitCode":1,
     "Output":"no\n"},
    {"Start":"2026-11-27T00:01:45Z","End":"2026-11-27T00:01:45.000001Z","ExitCode":0,
     "Output":""}]})");
  v1::Health health;
  HealthFromJson(doc, &health);
  v1::Health want = Proto<v1::Health>(R"pb(
    status: HEALTH_STATUS_UNHEALTHY
    failing_streak: 2
    log {
      start { seconds: 1795737704 nanos: 254699673 }
      end { seconds: 1795737704 nanos: 300000000 }
      exit_code: 1
      output: "no\n"
    }
    log {
      start { seconds: 1795737705 }
      end { seconds: 1795737705 nanos: 1000 }
    }
  )pb");
  ExpectProtoEq(health, want);
}

TEST(HealthFromJsonTest, Statuses) {
  v1::Health health;
  for (auto [text, status] : {std::pair{"starting", v1::HEALTH_STATUS_STARTING},
                              std::pair{"healthy", v1::HEALTH_STATUS_HEALTHY},
                              std::pair{"unhealthy", v1::HEALTH_STATUS_UNHEALTHY},
                              std::pair{"none", v1::HEALTH_STATUS_NONE},
                              std::pair{"weird", v1::HEALTH_STATUS_UNSPECIFIED}}) {
    HealthFromJson(json{{"Status", text}, {"FailingStreak", 0}, {"Log", json::array()}}, &health);
    EXPECT_EQ(health.status(), status) << text;
  }
}

// A created-then-started busybox container on 20.10.24 (trimmed to what the codec reads, plus
// some fields it ignores).
constexpr const char* kInspect = R"({
  "Id":"0dfa419d7c4b1a2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3be4",
  "Created":"2026-11-27T00:01:17.981563511Z",
  "Path":"sh","Args":["-c","echo hello; sleep 1"],
  "State":{"Status":"running","Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,
    "Dead":false,"Pid":6983,"ExitCode":0,"Error":"",
    "StartedAt":"2026-11-27T00:01:18.385127629Z","FinishedAt":"0001-01-01T00:00:00Z",
    "Health":{"Status":"starting","FailingStreak":0,"Log":[]}},
  "Image":"sha256:9113c1b9d3f4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4",
  "ResolvConfPath":"/var/lib/docker/containers/0dfa/resolv.conf",
  "Name":"/demo-full","RestartCount":2,"Driver":"overlay2","Platform":"linux",
  "HostConfig":{"Binds":["/srv/hostdir:/data:rw"],"LogConfig":{"Type":"json-file","Config":{}},
    "NetworkMode":"none","PortBindings":{},"RestartPolicy":{"Name":"on-failure",
    "MaximumRetryCount":3},"AutoRemove":true,"Memory":536870912,"NanoCpus":500000000,
    "Init":true},
  "Mounts":[{"Type":"bind","Source":"/srv/hostdir","Destination":"/data","Mode":"rw","RW":true,
    "Propagation":"rprivate"}],
  "Config":{"Hostname":"myhost","Domainname":"","User":"1000:1000","AttachStdin":false,
    "AttachStdout":false,"AttachStderr":false,"ExposedPorts":{"8000/tcp":{}},"Tty":true,
    "OpenStdin":false,"StdinOnce":false,"Env":["A=1","B","C=x=y",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    "Cmd":["sh","-c","echo hello; sleep 1"],
    "Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":1000000000,"Timeout":2000000000,
    "Retries":3},"Image":"bb:latest","Volumes":{"/data":{}},"WorkingDir":"/data",
    "Entrypoint":null,"OnBuild":null,"Labels":{"demo":"1","empty":""},"StopSignal":"SIGINT"},
  "NetworkSettings":{"Bridge":"","Ports":{},"Networks":{"none":{}}}
})";

TEST(ContainerInfoFromJsonTest, RealisticDocument) {
  v1::ContainerInfo info;
  ContainerInfoFromJson(json::parse(kInspect), &info);
  v1::ContainerInfo want = Proto<v1::ContainerInfo>(R"pb(
    id: "0dfa419d7c4b1a2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3be4"
    name: "demo-full"
    image: "bb:latest"
    image_id: "sha256:9113c1b9d3f4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4"
    created { seconds: 1795737677 nanos: 981563511 }
    state {
      status: CONTAINER_STATUS_RUNNING
      running: true
      pid: 6983
      started_at { seconds: 1795737678 nanos: 385127629 }
      health { status: HEALTH_STATUS_STARTING }
    }
    command: [ "sh", "-c", "echo hello; sleep 1" ]
    env: [
      "A=1",
      "B",
      "C=x=y",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    ]
    labels { key: "demo" value: "1" }
    labels { key: "empty" value: "" }
    tty: true
    auto_remove: true
    network_mode: "none"
    log_driver: "json-file"
    restart_count: 2
    hostname: "myhost"
    working_dir: "/data"
    user: "1000:1000"
    mounts {
      type: MOUNT_TYPE_BIND
      source: "/srv/hostdir"
      destination: "/data"
      propagation: "rprivate"
    }
    restart_policy { name: RESTART_POLICY_NAME_ON_FAILURE maximum_retry_count: 3 }
  )pb");
  ExpectProtoEq(info, want);
  EXPECT_FALSE(info.state().has_finished_at());
}

TEST(ContainerInfoFromJsonTest, PortsMountsRestartAndTmpfs) {
  json doc = json::parse(R"({
    "HostConfig":{"PortBindings":{"8000/tcp":[{"HostIp":"","HostPort":"8080"}],
        "53/udp":[{"HostIp":"127.0.0.1","HostPort":""}],"7/sctp":[{"HostIp":"","HostPort":"7"}],
        "bad/tcp":[{"HostIp":"","HostPort":"1"}],"9/quic":[{"HostIp":"","HostPort":"1"}],
        "10/tcp":null,"11/tcp":[{"HostIp":"","HostPort":"99999"}],"12/tcp":["x"]},
      "RestartPolicy":{"Name":"unless-stopped","MaximumRetryCount":0},
      "Tmpfs":{"/run":"size=1m","/bad":7}},
    "NetworkSettings":{"Ports":{"8000/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},
        {"HostIp":"::","HostPort":"8080"}],"9000/tcp":null}},
    "Mounts":[{"Type":"volume","Name":"vol1","Source":"/var/lib/docker/volumes/vol1/_data",
        "Destination":"/vol","Driver":"local","Mode":"z","RW":false,"Propagation":""},
      {"Type":"npipe","Source":"a","Destination":"b","RW":true},
      "not a mount"]
  })");
  v1::ContainerInfo info;
  ContainerInfoFromJson(doc, &info);
  v1::ContainerInfo want = Proto<v1::ContainerInfo>(R"pb(
    state { health { status: HEALTH_STATUS_NONE } }
    # In key order; an out-of-range host port is left unset.
    port_bindings { container_port: 11 protocol: PROTOCOL_TCP }
    port_bindings { container_port: 53 protocol: PROTOCOL_UDP host_ip: "127.0.0.1" }
    port_bindings { container_port: 7 protocol: PROTOCOL_SCTP host_port: 7 }
    port_bindings { container_port: 8000 protocol: PROTOCOL_TCP host_port: 8080 }
    ports { container_port: 8000 protocol: PROTOCOL_TCP host_ip: "0.0.0.0" host_port: 8080 }
    ports { container_port: 8000 protocol: PROTOCOL_TCP host_ip: "::" host_port: 8080 }
    mounts {
      type: MOUNT_TYPE_VOLUME
      name: "vol1"
      source: "/var/lib/docker/volumes/vol1/_data"
      destination: "/vol"
      read_only: true
      driver: "local"
    }
    mounts { source: "a" destination: "b" }
    restart_policy { name: RESTART_POLICY_NAME_UNLESS_STOPPED }
    tmpfs { key: "/run" value: "size=1m" }
  )pb");
  ExpectProtoEq(info, want);
}

TEST(ContainerInfoFromJsonTest, ExitedWithoutHealth) {
  json doc = json::parse(R"({"Id":"abc","Name":"/x","Created":"2026-11-27T00:01:17Z",
    "State":{"Status":"exited","Running":false,"OOMKilled":true,"Dead":false,"Pid":0,
      "ExitCode":137,"Error":"oops","StartedAt":"2026-11-27T00:01:18Z",
      "FinishedAt":"2026-11-27T00:01:44.254699673Z"},
    "Config":{"Cmd":"echo hi","Entrypoint":["/init"],"Env":null,"Labels":null,"Tty":false},
    "HostConfig":{"AutoRemove":false,"NetworkMode":"default"}})");
  v1::ContainerInfo info;
  ContainerInfoFromJson(doc, &info);
  v1::ContainerInfo want = Proto<v1::ContainerInfo>(R"pb(
    id: "abc"
    name: "x"
    created { seconds: 1795737677 }
    state {
      status: CONTAINER_STATUS_EXITED
      oom_killed: true
      exit_code: 137
      error: "oops"
      started_at { seconds: 1795737678 }
      finished_at { seconds: 1795737704 nanos: 254699673 }
      health { status: HEALTH_STATUS_NONE }
    }
    command: "echo hi"
    entrypoint: "/init"
    network_mode: "default"
  )pb");
  ExpectProtoEq(info, want);
}

TEST(ContainerInfoFromJsonTest, CreatedNeverStarted) {
  json doc = json::parse(R"({"Id":"abc","Name":"/x","State":{"Status":"created",
    "StartedAt":"0001-01-01T00:00:00Z","FinishedAt":"0001-01-01T00:00:00Z"}})");
  v1::ContainerInfo info;
  ContainerInfoFromJson(doc, &info);
  EXPECT_EQ(info.state().status(), v1::CONTAINER_STATUS_CREATED);
  EXPECT_FALSE(info.state().has_started_at());
  EXPECT_FALSE(info.state().has_finished_at());
  EXPECT_FALSE(info.has_created());
}

TEST(ContainerInfoFromJsonTest, ClearsPreviousContents) {
  v1::ContainerInfo info;
  info.set_hostname("stale");
  info.add_command("stale");
  ContainerInfoFromJson(json::object(), &info);
  EXPECT_EQ(info.hostname(), "");
  EXPECT_TRUE(info.command().empty());
  EXPECT_EQ(info.state().health().status(), v1::HEALTH_STATUS_NONE);
}

// Every field the codec reads, with a wrong type: nothing may throw, and nothing is filled.
TEST(ContainerInfoFromJsonTest, WrongTypesEverywhere) {
  json doc = json::parse(R"({
    "Id":1,"Name":["x"],"Created":12345,"Image":{},"RestartCount":"2",
    "State":{"Status":7,"Running":"true","Paused":1,"Restarting":null,"OOMKilled":"no",
      "Dead":[],"Pid":"6983","ExitCode":"0","Error":false,"StartedAt":1795737678,
      "FinishedAt":{},"Health":{"Status":3,"FailingStreak":"2","Log":{"Start":1}}},
    "Config":{"Hostname":5,"User":1000,"Tty":"true","Env":{"A":"1"},"Cmd":7,
      "Entrypoint":{"a":1},"Labels":["a","b"],"Image":false,"WorkingDir":[]},
    "HostConfig":{"AutoRemove":"yes","NetworkMode":1,"LogConfig":"json-file",
      "RestartPolicy":"always","PortBindings":[],"Tmpfs":["/run"]},
    "NetworkSettings":{"Ports":"8000/tcp"},"Mounts":{"Type":"bind"}})");
  v1::ContainerInfo info;
  EXPECT_NO_THROW(ContainerInfoFromJson(doc, &info));
  v1::ContainerInfo want = Proto<v1::ContainerInfo>(R"pb(
    state { health { status: HEALTH_STATUS_UNSPECIFIED } }
  )pb");
  ExpectProtoEq(info, want);

  for (const char* text :
       {"null", "[]", "\"x\"", "5", "true", R"({"State":null,"Config":[],"HostConfig":"x"})",
        R"({"State":{"Health":{"Log":[1,"x",null,{"Start":"bad","ExitCode":1e30}]}}})",
        R"({"Config":{"Cmd":[1,"ok",null,{}],"Labels":{"a":1,"b":"2"}}})",
        R"({"State":{"Pid":1.5e300,"ExitCode":18446744073709551615}})"}) {
    v1::ContainerInfo out;
    EXPECT_NO_THROW(ContainerInfoFromJson(json::parse(text), &out)) << text;
  }
  v1::ContainerInfo mixed;
  ContainerInfoFromJson(json::parse(R"({"Config":{"Cmd":[1,"ok",null,{}],
    "Labels":{"a":1,"b":"2"}},"State":{"Pid":1.5e300,"ExitCode":18446744073709551615,
    "Health":{"Status":"healthy","Log":[1,"x",null,{"Start":"bad","ExitCode":1e30}]}}})"),
                        &mixed);
  EXPECT_EQ(mixed.command_size(), 1);
  EXPECT_EQ(mixed.command(0), "ok");
  EXPECT_EQ(mixed.labels().size(), 1u);
  EXPECT_EQ(mixed.labels().at("b"), "2");
  EXPECT_EQ(mixed.state().pid(), 0);
  EXPECT_EQ(mixed.state().exit_code(), 0);
  ASSERT_EQ(mixed.state().health().log_size(), 1);
  EXPECT_FALSE(mixed.state().health().log(0).has_start());
  EXPECT_EQ(mixed.state().health().log(0).exit_code(), 0);
}

constexpr const char* kListItem = R"({
  "Id":"9e2a1b","Names":["/demo-l","/other/alias"],"Image":"bb:latest",
  "ImageID":"sha256:9113","Command":"sh -c 'sleep 60'","Created":1795737677,
  "Ports":[{"IP":"0.0.0.0","PrivatePort":8000,"PublicPort":8080,"Type":"tcp"},
           {"IP":"::","PrivatePort":53,"PublicPort":49153,"Type":"udp"},
           {"PrivatePort":9000,"Type":"sctp"}],
  "Labels":{"demo-l":"1"},"State":"running","Status":"Up 2 minutes",
  "HostConfig":{"NetworkMode":"bridge"},"NetworkSettings":{"Networks":{}},"Mounts":[]})";

TEST(ContainerSummaryFromJsonTest, Item) {
  v1::ContainerSummary summary;
  ContainerSummaryFromJson(json::parse(kListItem), &summary);
  v1::ContainerSummary want = Proto<v1::ContainerSummary>(R"pb(
    id: "9e2a1b"
    names: [ "demo-l", "other/alias" ]
    image: "bb:latest"
    image_id: "sha256:9113"
    command: "sh -c 'sleep 60'"
    created { seconds: 1795737677 }
    state: CONTAINER_STATUS_RUNNING
    status: "Up 2 minutes"
    labels { key: "demo-l" value: "1" }
    ports { container_port: 8000 protocol: PROTOCOL_TCP host_ip: "0.0.0.0" host_port: 8080 }
    ports { container_port: 53 protocol: PROTOCOL_UDP host_ip: "::" host_port: 49153 }
    ports { container_port: 9000 protocol: PROTOCOL_SCTP }
  )pb");
  ExpectProtoEq(summary, want);
}

TEST(ContainerSummaryFromJsonTest, WrongTypes) {
  for (const char* text :
       {"null", "[]", "{}", R"({"Names":"x","Ports":{},"Labels":[],"Created":"1"})",
        R"({"Names":[1,null],"Ports":[1,{"PrivatePort":"80","PublicPort":-1,"Type":5,"IP":[]},
            {"PrivatePort":70000}],"State":{},"Status":1,"Id":[],"Created":1.5e300})"}) {
    v1::ContainerSummary summary;
    EXPECT_NO_THROW(ContainerSummaryFromJson(json::parse(text), &summary)) << text;
    EXPECT_TRUE(summary.id().empty());
    EXPECT_TRUE(summary.names().empty());
    EXPECT_FALSE(summary.has_created());
    for (const v1::PortMapping& port : summary.ports()) {
      EXPECT_EQ(port.container_port(), 0u);
      EXPECT_EQ(port.host_port(), 0u);
      EXPECT_EQ(port.protocol(), v1::PROTOCOL_UNSPECIFIED);
    }
  }
}

TEST(EngineInfoFromVersionJsonTest, Version) {
  json doc = json::parse(R"({"Platform":{"Name":""},"Components":[{"Name":"Engine",
    "Version":"20.10.24+dfsg1","Details":{"ApiVersion":"1.41","MinAPIVersion":"1.12"}}],
    "Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12","GitCommit":"5d6db84",
    "GoVersion":"go1.19.8","Os":"linux","Arch":"amd64","KernelVersion":"6.18.44-fc-v657",
    "BuildTime":"2026-05-07T21:09:36.000000000+00:00"})");
  v1::GetEngineInfoResponse info;
  info.set_api_version("1.41");
  info.set_dockline_version("0.1.0");
  EXPECT_TRUE(EngineInfoFromVersionJson(doc, &info));
  ExpectProtoEq(info, Proto<v1::GetEngineInfoResponse>(R"pb(
                  engine_version: "20.10.24+dfsg1"
                  api_version: "1.41"
                  engine_api_version: "1.41"
                  engine_min_api_version: "1.12"
                  os: "linux"
                  arch: "amd64"
                  kernel_version: "6.18.44-fc-v657"
                  dockline_version: "0.1.0"
                )pb"));
  v1::GetEngineInfoResponse bad;
  EXPECT_FALSE(EngineInfoFromVersionJson(json::parse(R"({"Version":1,"Os":null})"), &bad));
  EXPECT_FALSE(EngineInfoFromVersionJson(json::parse("[1,2]"), &bad));
  EXPECT_FALSE(EngineInfoFromVersionJson(json::parse(R"({"Version":"20.10.24"})"), &bad));
  EXPECT_EQ(bad.engine_version(), "");
}

}  // namespace
}  // namespace dockline::server
