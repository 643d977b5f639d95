#include "client/cli/run.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client/cli/cli.h"
#include "unit/client/cli/parse_args.h"

namespace dockline::cli {
namespace {

using ::testing::ElementsAre;
using testing::FakeEnv;
using ::testing::HasSubstr;
using testing::Parse;
using ::testing::StartsWith;

// Parses a `run` command line that must succeed and returns its spec.
v1::ContainerSpec RunSpec(std::vector<std::string> flags_and_image) {
  flags_and_image.insert(flags_and_image.begin(), "run");
  Result<Invocation> parsed = Parse(flags_and_image, FakeEnv({{"FROM_ENV", "client value"}}));
  EXPECT_TRUE(parsed.ok()) << parsed.status.error_message();
  EXPECT_EQ(parsed.value.kind, CommandKind::kRun);
  return parsed.value.spec;
}

std::string RunError(std::vector<std::string> flags_and_image) {
  flags_and_image.insert(flags_and_image.begin(), "run");
  Result<Invocation> parsed = Parse(flags_and_image);
  EXPECT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  return parsed.status.error_message();
}

v1::ContainerSpec SpecFromText(const std::string& text) {
  v1::ContainerSpec spec;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &spec)) << text;
  return spec;
}

MATCHER_P(EqualsProto, expected, "") {
  std::string differences;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&differences);
  if (differencer.Compare(expected, arg)) {
    return true;
  }
  *result_listener << "\n" << differences;
  return false;
}

TEST(RunArgsTest, ImageAlone) {
  EXPECT_THAT(RunSpec({"busybox"}), EqualsProto(SpecFromText(R"pb(image: "busybox")pb")));
}

TEST(RunArgsTest, EverythingAfterImageBelongsToTheContainer) {
  Result<Invocation> parsed =
      Parse({"run", "--rm", "busybox", "sh", "-c", "exit 7", "--rm", "-d", "--name", "x"});
  ASSERT_TRUE(parsed.ok()) << parsed.status.error_message();
  EXPECT_FALSE(parsed.value.detach);
  EXPECT_THAT(parsed.value.spec, EqualsProto(SpecFromText(R"pb(
                image: "busybox"
                command: [ "sh", "-c", "exit 7", "--rm", "-d", "--name", "x" ]
                auto_remove: true
              )pb")));
}

TEST(RunArgsTest, ImageNamedLikeACommand) {
  EXPECT_THAT(RunSpec({"ps", "-a"}).command(), ElementsAre("-a"));
  EXPECT_EQ(RunSpec({"ps", "-a"}).image(), "ps");
}

TEST(RunArgsTest, ScalarFlags) {
  Result<Invocation> parsed = Parse({"run",
                                     "-d",
                                     "--name=web",
                                     "-h",
                                     "web-host",
                                     "-w",
                                     "/app",
                                     "-u",
                                     "1000:1000",
                                     "--network",
                                     "app-net",
                                     "--read-only",
                                     "--init",
                                     "-it",
                                     "--stop-signal",
                                     "SIGTERM",
                                     "--stop-timeout",
                                     "30",
                                     "-m",
                                     "512m",
                                     "--cpus",
                                     "0.5",
                                     "-l",
                                     "app=web",
                                     "--label",
                                     "version=1.0",
                                     "-l",
                                     "flag",
                                     "--entrypoint",
                                     "/bin/sh",
                                     "python:3.12-slim",
                                     "python",
                                     "app.py"});
  ASSERT_TRUE(parsed.ok()) << parsed.status.error_message();
  EXPECT_TRUE(parsed.value.detach);
  EXPECT_THAT(parsed.value.spec, EqualsProto(SpecFromText(R"pb(
                image: "python:3.12-slim"
                command: [ "python", "app.py" ]
                entrypoint: [ "/bin/sh" ]
                name: "web"
                hostname: "web-host"
                working_dir: "/app"
                user: "1000:1000"
                network: "app-net"
                read_only: true
                init: true
                tty: true
                stdin_open: true
                stop_signal: "SIGTERM"
                stop_timeout { seconds: 30 }
                memory: "512m"
                nano_cpus: 500000000
                labels { key: "app" value: "web" }
                labels { key: "version" value: "1.0" }
                labels { key: "flag" value: "" }
              )pb")));
}

TEST(RunArgsTest, LongFormsAndBooleanValues) {
  EXPECT_THAT(
      RunSpec({"--hostname", "h", "--workdir", "/w", "--user", "u", "--net", "host", "--tty",
               "--interactive", "--rm=false", "--init=true", "--memory", "1.5g", "busybox"}),
      EqualsProto(SpecFromText(R"pb(
        image: "busybox"
        hostname: "h"
        working_dir: "/w"
        user: "u"
        network: "host"
        tty: true
        stdin_open: true
        init: true
        memory: "1.5g"
      )pb")));
}

TEST(RunArgsTest, EmptyEntrypointClearsTheImages) {
  EXPECT_THAT(RunSpec({"--entrypoint", "", "busybox"}).entrypoint(), ElementsAre(""));
  EXPECT_TRUE(RunSpec({"busybox"}).entrypoint().empty());
}

TEST(RunArgsTest, PublishForms) {
  EXPECT_THAT(
      RunSpec({"-p", "8080:80", "-p", "127.0.0.1:8443:443", "-p", "127.0.0.1::9000", "-p", "53/udp",
               "-p", "8053:53/udp", "-p", "[::1]:8081:81/tcp", "-p", "5000:5000/sctp",
               "--publish=7000-7001:80-81", "busybox"}),
      EqualsProto(SpecFromText(R"pb(
        image: "busybox"
        ports { container_port: 80 protocol: PROTOCOL_TCP host_port: 8080 }
        ports { container_port: 443 protocol: PROTOCOL_TCP host_ip: "127.0.0.1" host_port: 8443 }
        ports { container_port: 9000 protocol: PROTOCOL_TCP host_ip: "127.0.0.1" }
        ports { container_port: 53 protocol: PROTOCOL_UDP }
        ports { container_port: 53 protocol: PROTOCOL_UDP host_port: 8053 }
        ports { container_port: 81 protocol: PROTOCOL_TCP host_ip: "::1" host_port: 8081 }
        ports { container_port: 5000 protocol: PROTOCOL_SCTP host_port: 5000 }
        ports { container_port: 80 protocol: PROTOCOL_TCP host_port: 7000 }
        ports { container_port: 81 protocol: PROTOCOL_TCP host_port: 7001 }
      )pb")));
}

TEST(RunArgsTest, PublishUnbracketedIpv6AndContainerRange) {
  auto spec = RunSpec({"-p", "::1:8080:80", "-p", "90-91", "busybox"});
  ASSERT_EQ(spec.ports_size(), 3);
  EXPECT_EQ(spec.ports(0).host_ip(), "::1");
  EXPECT_EQ(spec.ports(0).host_port(), 8080u);
  EXPECT_EQ(spec.ports(1).container_port(), 90u);
  EXPECT_EQ(spec.ports(2).container_port(), 91u);
  EXPECT_EQ(spec.ports(2).host_port(), 0u);
}

TEST(RunArgsTest, BadPublishSpecs) {
  EXPECT_THAT(RunError({"-p", "x", "busybox"}), StartsWith("invalid publish spec \"x\""));
  EXPECT_THAT(RunError({"-p", "70000", "busybox"}), HasSubstr("invalid port \"70000\""));
  EXPECT_THAT(RunError({"-p", "0", "busybox"}), StartsWith("invalid publish spec \"0\""));
  EXPECT_THAT(RunError({"-p", "8080:80/xyz", "busybox"}), HasSubstr("invalid protocol \"xyz\""));
  EXPECT_THAT(RunError({"-p", "80/", "busybox"}), HasSubstr("missing protocol"));
  EXPECT_THAT(RunError({"-p", "localhost:8080:80", "busybox"}), HasSubstr("invalid IP address"));
  EXPECT_THAT(RunError({"-p", "999.1.1.1:8080:80", "busybox"}), HasSubstr("invalid IP address"));
  EXPECT_THAT(RunError({"-p", "[::1:8080:80", "busybox"}), HasSubstr("invalid IP address"));
  EXPECT_THAT(RunError({"-p", "8080-8090:80", "busybox"}), HasSubstr("same length"));
  EXPECT_THAT(RunError({"-p", "81-80", "busybox"}), HasSubstr("invalid port range"));
  EXPECT_THAT(RunError({"-p", "", "busybox"}), StartsWith("invalid publish spec \"\""));
}

TEST(RunArgsTest, EnvForms) {
  EXPECT_THAT(RunSpec({"-e", "A=1", "--env", "B=", "-e", "C=x=y", "-e", "FROM_ENV", "-e",
                       "UNSET_HERE", "busybox"})
                  .env(),
              ElementsAre("A=1", "B=", "C=x=y", "FROM_ENV=client value", "UNSET_HERE"));
  EXPECT_THAT(RunError({"-e", "=x", "busybox"}), StartsWith("invalid environment variable \"=x\""));
}

TEST(RunArgsTest, VolumeForms) {
  EXPECT_THAT(
      RunSpec({"-v", "/host/data:/data", "-v", "/host/ro:/ro:ro", "-v", "cache:/cache:rw", "-v",
               "/host/shared:/shared:ro,rshared", "-v", "/anon", "-v", "/anon-ro:ro", "-v",
               "seed:/seed:nocopy", "--volume=/x:/y:cached", "busybox"}),
      EqualsProto(SpecFromText(R"pb(
        image: "busybox"
        volumes { source: "/host/data" target: "/data" }
        volumes { source: "/host/ro" target: "/ro" read_only: true }
        volumes { source: "cache" target: "/cache" }
        volumes { source: "/host/shared" target: "/shared" read_only: true propagation: "rshared" }
        volumes { source: "/x" target: "/y" }
        mounts { type: MOUNT_TYPE_VOLUME target: "/anon" }
        mounts { type: MOUNT_TYPE_VOLUME target: "/anon-ro" read_only: true }
        mounts { type: MOUNT_TYPE_VOLUME source: "seed" target: "/seed" no_copy: true }
      )pb")));
}

TEST(RunArgsTest, BadVolumeSpecs) {
  EXPECT_THAT(RunError({"-v", "/h:data", "busybox"}),
              AllOf(StartsWith("invalid volume spec \"/h:data\""), HasSubstr("absolute")));
  EXPECT_THAT(RunError({"-v", "/h:/c:z", "busybox"}), HasSubstr("SELinux"));
  EXPECT_THAT(RunError({"-v", "/h:/c:ro:x", "busybox"}), HasSubstr("too many colons"));
  EXPECT_THAT(RunError({"-v", "/h::/c", "busybox"}), HasSubstr("empty part"));
  EXPECT_THAT(RunError({"-v", "/h:/c:ro,rw", "busybox"}), HasSubstr("twice"));
  EXPECT_THAT(RunError({"-v", "/h:/c:bogus", "busybox"}), HasSubstr("unknown option \"bogus\""));
  EXPECT_THAT(RunError({"-v", "/h:/c:nocopy", "busybox"}), HasSubstr("not host paths"));
  EXPECT_THAT(RunError({"-v", "vol:/c:rshared", "busybox"}), HasSubstr("not volumes"));
}

TEST(RunArgsTest, MountForms) {
  EXPECT_THAT(
      RunSpec({"--mount", "type=bind,source=/host/config,target=/config,readonly", "--mount",
               "type=bind,src=/h,dst=/b,ro=false,bind-propagation=rslave", "--mount",
               "type=volume,source=data,destination=/data,volume-nocopy,volume-label=a=b,"
               "volume-label=c,volume-driver=local,volume-opt=type=nfs,\"volume-opt=o=addr=1.2.3.4,"
               "rw\"",
               "--mount", "target=/anon,ro=1", "--mount",
               "type=tmpfs,dst=/scratch,tmpfs-size=64m,tmpfs-mode=1777", "--mount",
               "Type=volume,Target=/v,volume-nocopy=false", "busybox"}),
      EqualsProto(SpecFromText(R"pb(
        image: "busybox"
        mounts { type: MOUNT_TYPE_BIND source: "/host/config" target: "/config" read_only: true }
        mounts { type: MOUNT_TYPE_BIND source: "/h" target: "/b" propagation: "rslave" }
        mounts {
          type: MOUNT_TYPE_VOLUME
          source: "data"
          target: "/data"
          no_copy: true
          volume_labels { key: "a" value: "b" }
          volume_labels { key: "c" value: "" }
          volume_driver: "local"
          volume_driver_options { key: "type" value: "nfs" }
          volume_driver_options { key: "o" value: "addr=1.2.3.4,rw" }
        }
        mounts { type: MOUNT_TYPE_VOLUME target: "/anon" read_only: true }
        mounts {
          type: MOUNT_TYPE_TMPFS
          target: "/scratch"
          tmpfs_size_bytes: 67108864
          tmpfs_mode: 1023
        }
        mounts { type: MOUNT_TYPE_VOLUME target: "/v" }
      )pb")));
}

TEST(RunArgsTest, BadMountSpecs) {
  EXPECT_THAT(RunError({"--mount", "type=bind,source=/h", "busybox"}),
              AllOf(StartsWith("invalid mount spec \"type=bind,source=/h\""),
                    HasSubstr("target is required")));
  EXPECT_THAT(RunError({"--mount", "type=npipe,target=/x", "busybox"}),
              HasSubstr("unsupported mount type \"npipe\""));
  EXPECT_THAT(RunError({"--mount", "type=volume,target=/x,bind-propagation=shared", "busybox"}),
              HasSubstr("cannot mix bind-* options with mount type \"volume\""));
  EXPECT_THAT(RunError({"--mount", "type=bind,src=/h,target=/x,volume-nocopy", "busybox"}),
              HasSubstr("cannot mix volume-* options"));
  EXPECT_THAT(RunError({"--mount", "type=volume,target=/x,tmpfs-size=1m", "busybox"}),
              HasSubstr("cannot mix tmpfs-* options"));
  EXPECT_THAT(RunError({"--mount", "type=bind,target=/x", "busybox"}), HasSubstr("needs a source"));
  EXPECT_THAT(RunError({"--mount", "type=tmpfs,src=x,target=/x", "busybox"}),
              HasSubstr("takes no source"));
  EXPECT_THAT(RunError({"--mount", "target=/x,colour=blue", "busybox"}),
              HasSubstr("unexpected key \"colour\""));
  EXPECT_THAT(RunError({"--mount", "target=/x,readonly=maybe", "busybox"}),
              HasSubstr("invalid boolean \"maybe\""));
  EXPECT_THAT(RunError({"--mount", "type=tmpfs,target=/x,tmpfs-mode=999", "busybox"}),
              HasSubstr("tmpfs-mode"));
  EXPECT_THAT(RunError({"--mount", "type=tmpfs,target=/x,tmpfs-size=lots", "busybox"}),
              HasSubstr("invalid size \"lots\""));
  EXPECT_THAT(RunError({"--mount", "target=/x,type", "busybox"}), HasSubstr("key=value"));
  EXPECT_THAT(RunError({"--mount", "\"target=/x", "busybox"}), HasSubstr("bad quoting"));
  EXPECT_THAT(RunError({"--mount", "type=bind,src=/h,target=/x,bind-propagation=up", "busybox"}),
              HasSubstr("invalid bind-propagation"));
}

TEST(RunArgsTest, Tmpfs) {
  EXPECT_THAT(RunSpec({"--tmpfs", "/run", "--tmpfs", "/tmp:rw,noexec,size=64m", "busybox"}),
              EqualsProto(SpecFromText(R"pb(
                image: "busybox"
                tmpfs { key: "/run" value: "" }
                tmpfs { key: "/tmp" value: "rw,noexec,size=64m" }
              )pb")));
  EXPECT_THAT(RunError({"--tmpfs", "tmp", "busybox"}), StartsWith("invalid tmpfs spec \"tmp\""));
}

TEST(RunArgsTest, RestartPolicies) {
  EXPECT_THAT(RunSpec({"--restart", "on-failure:3", "busybox"}), EqualsProto(SpecFromText(R"pb(
                image: "busybox"
                restart_policy { name: RESTART_POLICY_NAME_ON_FAILURE maximum_retry_count: 3 }
              )pb")));
  EXPECT_EQ(RunSpec({"--restart", "no", "busybox"}).restart_policy().name(),
            v1::RESTART_POLICY_NAME_NO);
  EXPECT_EQ(RunSpec({"--restart", "always", "busybox"}).restart_policy().name(),
            v1::RESTART_POLICY_NAME_ALWAYS);
  EXPECT_EQ(RunSpec({"--restart=unless-stopped", "busybox"}).restart_policy().name(),
            v1::RESTART_POLICY_NAME_UNLESS_STOPPED);
  EXPECT_EQ(RunSpec({"--restart", "on-failure", "busybox"}).restart_policy().maximum_retry_count(),
            0);
  EXPECT_FALSE(RunSpec({"busybox"}).has_restart_policy());
  // --rm goes with "no" only, as in docker.
  EXPECT_TRUE(RunSpec({"--rm", "--restart", "no", "busybox"}).auto_remove());

  EXPECT_THAT(RunError({"--restart", "sometimes", "busybox"}),
              StartsWith("invalid restart policy \"sometimes\""));
  EXPECT_THAT(RunError({"--restart", "always:3", "busybox"}), HasSubstr("maximum retry count"));
  EXPECT_THAT(RunError({"--restart", "on-failure:x", "busybox"}), HasSubstr("must be an integer"));
  EXPECT_THAT(RunError({"--restart", "on-failure:-1", "busybox"}), HasSubstr("negative"));
  EXPECT_THAT(RunError({"--rm", "--restart", "always", "busybox"}),
              HasSubstr("conflicting options: --restart and --rm"));
}

TEST(RunArgsTest, Cpus) {
  EXPECT_EQ(RunSpec({"--cpus", "0.5", "busybox"}).nano_cpus(), 500'000'000);
  EXPECT_EQ(RunSpec({"--cpus", "2", "busybox"}).nano_cpus(), 2'000'000'000);
  EXPECT_EQ(RunSpec({"--cpus", "1.25", "busybox"}).nano_cpus(), 1'250'000'000);
  EXPECT_EQ(RunSpec({"--cpus", ".1", "busybox"}).nano_cpus(), 100'000'000);
  EXPECT_EQ(RunSpec({"--cpus", "0.000000001", "busybox"}).nano_cpus(), 1);
  EXPECT_THAT(RunError({"--cpus", "abc", "busybox"}), StartsWith("invalid cpus \"abc\""));
  EXPECT_THAT(RunError({"--cpus", "-1", "busybox"}), StartsWith("invalid cpus \"-1\""));
  EXPECT_THAT(RunError({"--cpus", "0.0000000001", "busybox"}), HasSubstr("too precise"));
  EXPECT_THAT(RunError({"--cpus", ".", "busybox"}), StartsWith("invalid cpus"));
}

TEST(RunArgsTest, MemoryPassesThroughAsWritten) {
  v1::ContainerSpec spec = RunSpec({"-m", "512m", "busybox"});
  EXPECT_EQ(spec.memory_limit_case(), v1::ContainerSpec::kMemory);
  EXPECT_EQ(spec.memory(), "512m");
  EXPECT_EQ(RunSpec({"busybox"}).memory_limit_case(), v1::ContainerSpec::MEMORY_LIMIT_NOT_SET);
}

TEST(RunArgsTest, HealthFlags) {
  EXPECT_THAT(
      RunSpec({"--health-cmd", "curl -f http://localhost:8000/health || exit 1",
               "--health-interval", "10s", "--health-timeout", "5s", "--health-retries", "3",
               "--health-start-period", "1m30s", "--health-start-interval", "500ms", "busybox"}),
      EqualsProto(SpecFromText(R"pb(
        image: "busybox"
        healthcheck {
          test: [ "CMD-SHELL", "curl -f http://localhost:8000/health || exit 1" ]
          interval { seconds: 10 }
          timeout { seconds: 5 }
          retries: 3
          start_period { seconds: 90 }
          start_interval { nanos: 500000000 }
        }
      )pb")));
}

TEST(RunArgsTest, HealthTimingsWithoutCommandKeepTheImagesTest) {
  EXPECT_THAT(RunSpec({"--health-interval", "2h", "busybox"}), EqualsProto(SpecFromText(R"pb(
                image: "busybox"
                healthcheck { interval { seconds: 7200 } }
              )pb")));
  // Zero is docker's "use the default", i.e. unset.
  EXPECT_FALSE(RunSpec({"--health-timeout", "0s", "busybox"}).healthcheck().has_timeout());
}

TEST(RunArgsTest, NoHealthcheck) {
  EXPECT_THAT(RunSpec({"--no-healthcheck", "busybox"}), EqualsProto(SpecFromText(R"pb(
                image: "busybox"
                healthcheck { test: "NONE" }
              )pb")));
  EXPECT_THAT(RunError({"--no-healthcheck", "--health-cmd", "true", "busybox"}),
              HasSubstr("--no-healthcheck conflicts with --health-* options"));
}

TEST(RunArgsTest, HealthDurationsTakeBareSeconds) {
  v1::ContainerSpec spec = RunSpec({"--health-cmd", "true", "--health-interval", "10", "busybox"});
  EXPECT_EQ(spec.healthcheck().interval().seconds(), 10);
}

TEST(RunArgsTest, BadHealthValues) {
  EXPECT_THAT(RunError({"--health-interval", "10x", "busybox"}),
              AllOf(HasSubstr("--health-interval"), HasSubstr("unknown unit")));
  EXPECT_THAT(RunError({"--health-timeout", "-5s", "busybox"}),
              HasSubstr("--health-timeout cannot be negative"));
  EXPECT_THAT(RunError({"--health-interval", "500us", "busybox"}), HasSubstr("at least 1ms"));
  EXPECT_THAT(RunError({"--health-retries", "three", "busybox"}),
              StartsWith("invalid --health-retries \"three\""));
  EXPECT_THAT(RunError({"--health-retries", "-1", "busybox"}),
              StartsWith("invalid --health-retries"));
}

TEST(RunArgsTest, BadStopTimeout) {
  EXPECT_THAT(RunError({"--stop-timeout", "10s", "busybox"}),
              AllOf(HasSubstr("--stop-timeout"), HasSubstr("whole number of seconds")));
  EXPECT_THAT(RunError({"--stop-timeout", "-1", "busybox"}), HasSubstr("--stop-timeout"));
}

TEST(RunArgsTest, UsageErrors) {
  EXPECT_THAT(RunError({}), HasSubstr("requires at least 1 argument"));
  EXPECT_THAT(RunError({"--rm"}), HasSubstr("requires at least 1 argument"));
  EXPECT_THAT(RunError({"--bogus", "busybox"}), HasSubstr("unknown flag: --bogus"));
  EXPECT_THAT(RunError({"-p"}), HasSubstr("--publish"));
  EXPECT_THAT(RunError({"--privileged", "busybox"}), HasSubstr("unknown flag: --privileged"));
}

TEST(RunArgsTest, HelpIsLongOnlySinceDashHIsHostname) {
  Result<Invocation> help = Parse({"run", "--help"});
  ASSERT_TRUE(help.ok()) << help.status.error_message();
  EXPECT_EQ(help.value.kind, CommandKind::kHelp);
  EXPECT_THAT(help.value.help, HasSubstr("--publish"));
  EXPECT_THAT(help.value.help, HasSubstr("-h,--hostname"));
}

TEST(CreateArgsTest, RmMeansAutoRemoveAndDetachIsNotAFlag) {
  Result<Invocation> parsed =
      Parse({"create", "--rm", "--name", "one-off", "alpine", "echo", "hello"});
  ASSERT_TRUE(parsed.ok()) << parsed.status.error_message();
  EXPECT_EQ(parsed.value.kind, CommandKind::kCreate);
  EXPECT_THAT(parsed.value.spec, EqualsProto(SpecFromText(R"pb(
                image: "alpine"
                command: [ "echo", "hello" ]
                name: "one-off"
                auto_remove: true
              )pb")));
  EXPECT_FALSE(Parse({"create", "-d", "alpine"}).ok());
}

}  // namespace
}  // namespace dockline::cli
