// server/codec/stats_codec.cc: daemon stats samples as docker stats computes its columns.

#include "server/codec/stats_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace dockline {
namespace {

using json = nlohmann::json;

v1::ContainerStats Typed(const json& sample) {
  v1::ContainerStats out;
  server::StatsFromJson(sample, sample.dump(), &out);
  return out;
}

// A cgroup v1 sample as dockerd 20.10 sends it (trimmed to what docker stats reads).
json CgroupV1Sample() {
  return json::parse(R"({
    "read": "2026-12-03T07:00:01.5Z", "id": "abc123", "name": "/web",
    "pids_stats": {"current": 3, "limit": 100},
    "cpu_stats": {"cpu_usage": {"total_usage": 3000000000, "percpu_usage": [1, 2]},
                  "system_cpu_usage": 20000000000, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 2000000000}, "system_cpu_usage": 16000000000},
    "memory_stats": {"usage": 10485760, "limit": 67108864,
                     "stats": {"total_inactive_file": 2097152, "inactive_file": 999}},
    "networks": {"eth0": {"rx_bytes": 1000, "tx_bytes": 20},
                 "eth1": {"rx_bytes": 500, "tx_bytes": 30}},
    "blkio_stats": {"io_service_bytes_recursive": [
        {"major": 8, "minor": 0, "op": "Read", "value": 4096},
        {"major": 8, "minor": 0, "op": "Write", "value": 8192},
        {"major": 8, "minor": 0, "op": "Sync", "value": 1},
        {"major": 8, "minor": 16, "op": "Read", "value": 4096}]}
  })");
}

TEST(StatsCodecTest, CgroupV1AsDockerStatsComputesIt) {
  v1::ContainerStats s = Typed(CgroupV1Sample());
  EXPECT_EQ(s.id(), "abc123");
  EXPECT_EQ(s.name(), "web");
  EXPECT_EQ(s.read().seconds(), 1796281201);
  EXPECT_EQ(s.read().nanos(), 500000000);
  // (3e9 - 2e9) / (20e9 - 16e9) * 2 CPUs * 100
  EXPECT_DOUBLE_EQ(s.cpu_percent(), 50.0);
  EXPECT_EQ(s.online_cpus(), 2u);
  // total_inactive_file (v1) is left out, not inactive_file.
  EXPECT_EQ(s.memory_usage(), 10485760u - 2097152u);
  EXPECT_EQ(s.memory_limit(), 67108864u);
  EXPECT_DOUBLE_EQ(s.memory_percent(), 12.5);
  EXPECT_EQ(s.network_rx_bytes(), 1500u);
  EXPECT_EQ(s.network_tx_bytes(), 50u);
  EXPECT_EQ(s.block_read_bytes(), 8192u);
  EXPECT_EQ(s.block_write_bytes(), 8192u);
  EXPECT_EQ(s.pids(), 3u);
  EXPECT_EQ(s.pids_limit(), 100u);
  EXPECT_EQ(json::parse(s.raw_json()), CgroupV1Sample());
}

TEST(StatsCodecTest, CgroupV2AndCpusFromThePerCpuList) {
  json sample = CgroupV1Sample();
  sample["memory_stats"]["stats"] = {{"inactive_file", 1048576}};
  sample["cpu_stats"].erase("online_cpus");
  sample["cpu_stats"]["cpu_usage"]["percpu_usage"] = {1, 2, 3, 4};
  sample["blkio_stats"]["io_service_bytes_recursive"] = {{{"op", "read"}, {"value", 10}},
                                                         {{"op", "write"}, {"value", 20}}};
  v1::ContainerStats s = Typed(sample);
  EXPECT_EQ(s.memory_usage(), 10485760u - 1048576u);
  EXPECT_EQ(s.online_cpus(), 4u);
  EXPECT_DOUBLE_EQ(s.cpu_percent(), 100.0);
  EXPECT_EQ(s.block_read_bytes(), 10u);
  EXPECT_EQ(s.block_write_bytes(), 20u);
}

TEST(StatsCodecTest, NoSampleBeforeOrAStoppedContainerIsZerosNotAnError) {
  json one_shot = CgroupV1Sample();
  one_shot["precpu_stats"] = json::object();
  one_shot["cpu_stats"]["system_cpu_usage"] = 0;
  EXPECT_EQ(Typed(one_shot).cpu_percent(), 0.0);

  // What the daemon streams for a stopped container.
  v1::ContainerStats stopped = Typed(json::parse(R"({
    "read": "0001-01-01T00:00:00Z", "id": "abc", "name": "/x", "pids_stats": {},
    "cpu_stats": {"cpu_usage": {"total_usage": 0}, "throttling_data": {}},
    "precpu_stats": {"cpu_usage": {"total_usage": 0}}, "memory_stats": {},
    "blkio_stats": {"io_service_bytes_recursive": null}})"));
  EXPECT_FALSE(stopped.has_read());
  EXPECT_EQ(stopped.cpu_percent(), 0.0);
  EXPECT_EQ(stopped.memory_usage(), 0u);
  EXPECT_EQ(stopped.memory_percent(), 0.0);
  EXPECT_EQ(stopped.pids(), 0u);

  // Wrong types and huge counters: read as far as they go, nothing thrown.
  v1::ContainerStats odd = Typed(json::parse(R"({
    "id": 7, "cpu_stats": [], "memory_stats": {"usage": "x", "limit": 18446744073709551615},
    "networks": {"eth0": null}, "pids_stats": {"current": -4}})"));
  EXPECT_EQ(odd.id(), "");
  EXPECT_EQ(odd.memory_limit(), 18446744073709551615u);
  EXPECT_EQ(odd.memory_usage(), 0u);
  EXPECT_EQ(odd.pids(), 0u);
}

}  // namespace
}  // namespace dockline
