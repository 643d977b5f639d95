#include "client/container_spec_builder.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <chrono>

namespace dockline::client {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

TEST(ContainerSpecBuilderTest, DockerPyValueForms) {
  HealthcheckOptions health;
  health.test = {"CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"};
  health.interval = std::chrono::seconds(10);
  health.timeout = std::chrono::seconds(5);
  health.retries = 3;
  health.start_period = std::chrono::minutes(1);

  auto spec = ContainerSpecBuilder("python:3.12-slim")
                  .Command("python app.py")
                  .Name("my-app")
                  .Ports({{"8000/tcp", 8080}, {"8443/tcp", {"127.0.0.1", 8443}}})
                  .Port("9000/udp", {"127.0.0.1"})
                  .Port(53)
                  .Env({{"DEBUG", "1"}, {"DB_URL", "sqlite:///data.db"}})
                  .Volume("/host/data", "/data", "rw")
                  .Volume("cache", "/cache", "ro")
                  .Tmpfs("/tmp", "size=100m")
                  .RestartPolicy("on-failure", 3)
                  .Memory("512m")
                  .NanoCpus(500'000'000)
                  .Labels({{"app", "web"}})
                  .Healthcheck(health)
                  .StopTimeout(std::chrono::seconds(20))
                  .Build();

  ASSERT_TRUE(spec.ok()) << spec.status.error_message();
  const v1::ContainerSpec& s = spec.value;
  EXPECT_THAT(s.command(), ElementsAre("python", "app.py"));
  ASSERT_EQ(s.ports_size(), 4);
  EXPECT_EQ(s.ports(0).container_port(), 8000u);
  EXPECT_EQ(s.ports(0).protocol(), v1::PROTOCOL_TCP);
  EXPECT_EQ(s.ports(0).host_ip(), "");
  EXPECT_EQ(s.ports(0).host_port(), 8080u);
  EXPECT_EQ(s.ports(1).host_ip(), "127.0.0.1");
  EXPECT_EQ(s.ports(1).host_port(), 8443u);
  EXPECT_EQ(s.ports(2).protocol(), v1::PROTOCOL_UDP);
  EXPECT_EQ(s.ports(2).host_ip(), "127.0.0.1");
  EXPECT_EQ(s.ports(2).host_port(), 0u);
  EXPECT_EQ(s.ports(3).container_port(), 53u);
  EXPECT_EQ(s.ports(3).host_port(), 0u);
  EXPECT_THAT(s.env(), UnorderedElementsAre("DEBUG=1", "DB_URL=sqlite:///data.db"));
  ASSERT_EQ(s.volumes_size(), 2);
  EXPECT_EQ(s.volumes(0).source(), "/host/data");
  EXPECT_FALSE(s.volumes(0).read_only());
  EXPECT_EQ(s.volumes(1).source(), "cache");
  EXPECT_TRUE(s.volumes(1).read_only());
  EXPECT_EQ(s.tmpfs().at("/tmp"), "size=100m");
  EXPECT_EQ(s.restart_policy().name(), v1::RESTART_POLICY_NAME_ON_FAILURE);
  EXPECT_EQ(s.restart_policy().maximum_retry_count(), 3);
  EXPECT_EQ(s.memory(), "512m");
  EXPECT_EQ(s.nano_cpus(), 500'000'000);
  EXPECT_EQ(s.labels().at("app"), "web");
  EXPECT_THAT(s.healthcheck().test(),
              ElementsAre("CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"));
  EXPECT_EQ(TimeUtil::DurationToSeconds(s.healthcheck().interval()), 10);
  EXPECT_EQ(TimeUtil::DurationToSeconds(s.healthcheck().timeout()), 5);
  EXPECT_EQ(TimeUtil::DurationToSeconds(s.healthcheck().start_period()), 60);
  EXPECT_FALSE(s.healthcheck().has_start_interval());
  EXPECT_EQ(s.healthcheck().retries(), 3);
  EXPECT_EQ(TimeUtil::DurationToSeconds(s.stop_timeout()), 20);
}

TEST(ContainerSpecBuilderTest, FirstErrorWins) {
  auto spec = ContainerSpecBuilder("busybox").Port("http/tcp", 80).Command("sh -c 'oops").Build();
  EXPECT_EQ(spec.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(spec.status.error_message(), HasSubstr("invalid port \"http\""));
}

TEST(ContainerSpecBuilderTest, RejectsBadValues) {
  const auto error = [](const ContainerSpecBuilder& builder) {
    return builder.Build().status.error_message();
  };
  EXPECT_THAT(error(ContainerSpecBuilder("")), HasSubstr("image is required"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").Port("80/xyz", 1)), HasSubstr("invalid protocol"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").Port("80", 70000)), HasSubstr("invalid host port"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").RestartPolicy("sometimes")),
              HasSubstr("invalid restart policy"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").RestartPolicy("always", 3)),
              HasSubstr("maximum retry count"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").Volume("/h", "relative")),
              HasSubstr("not an absolute path"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").Healthcheck({.test = {"CMD"}})),
              HasSubstr("needs a command"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").Healthcheck(
                  {.test = {"NONE"}, .interval = std::chrono::microseconds(10)})),
              HasSubstr("at least 1ms"));
  EXPECT_THAT(error(ContainerSpecBuilder("b").Env("", "x")), HasSubstr("environment variable"));
}

TEST(ContainerSpecBuilderTest, AnonymousAndNoCopyVolumesBecomeMounts) {
  auto spec = ContainerSpecBuilder("b").Volume("", "/data").Volume("v", "/v", "nocopy").Build();
  ASSERT_TRUE(spec.ok()) << spec.status.error_message();
  ASSERT_EQ(spec.value.mounts_size(), 2);
  EXPECT_EQ(spec.value.mounts(0).type(), v1::MOUNT_TYPE_VOLUME);
  EXPECT_EQ(spec.value.mounts(0).source(), "");
  EXPECT_EQ(spec.value.mounts(0).target(), "/data");
  EXPECT_EQ(spec.value.mounts(1).source(), "v");
  EXPECT_TRUE(spec.value.mounts(1).no_copy());
}

}  // namespace
}  // namespace dockline::client
