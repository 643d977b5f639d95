#include "server/codec/stats_codec.h"

#include <cstdint>
#include <string_view>
#include <utility>

#include "server/codec/inspect_codec.h"
#include "server/codec/json_util.h"

namespace dockline::server {
namespace {

using json = nlohmann::json;

// A counter: the daemon's uint64s (limits can be near 2^64), negative or not a number: 0.
uint64_t Counter(const json* j, std::string_view key) {
  const json* m = j != nullptr ? Member(*j, key) : nullptr;
  if (m == nullptr) {
    return 0;
  }
  if (m->is_number_unsigned()) {
    return m->get<uint64_t>();
  }
  int64_t v = GetInt(*j, key);
  return v > 0 ? static_cast<uint64_t>(v) : 0;
}

const json* Object(const json* j, std::string_view key) {
  const json* m = j != nullptr ? Member(*j, key) : nullptr;
  return m != nullptr && m->is_object() ? m : nullptr;
}

// docker's calculateCPUPercentUnix.
void Cpu(const json& sample, v1::ContainerStats* out) {
  const json* cpu = Object(&sample, "cpu_stats");
  const json* pre = Object(&sample, "precpu_stats");
  const json* usage = Object(cpu, "cpu_usage");
  uint64_t online = Counter(cpu, "online_cpus");
  if (online == 0 && usage != nullptr) {
    const json* per_cpu = Member(*usage, "percpu_usage");
    online = per_cpu != nullptr && per_cpu->is_array() ? per_cpu->size() : 0;
  }
  out->set_online_cpus(static_cast<uint32_t>(online));
  double cpu_delta = static_cast<double>(Counter(usage, "total_usage")) -
                     static_cast<double>(Counter(Object(pre, "cpu_usage"), "total_usage"));
  double system_delta = static_cast<double>(Counter(cpu, "system_cpu_usage")) -
                        static_cast<double>(Counter(pre, "system_cpu_usage"));
  if (system_delta > 0.0 && cpu_delta > 0.0) {
    out->set_cpu_percent(cpu_delta / system_delta * static_cast<double>(online) * 100.0);
  }
}

// docker's calculateMemUsageUnixNoCache: cgroup v1 reports total_inactive_file, v2
// inactive_file; either is left out when it is below the usage.
void Memory(const json& sample, v1::ContainerStats* out) {
  const json* mem = Object(&sample, "memory_stats");
  uint64_t usage = Counter(mem, "usage");
  const json* stats = Object(mem, "stats");
  if (stats != nullptr && Member(*stats, "total_inactive_file") != nullptr) {
    uint64_t inactive = Counter(stats, "total_inactive_file");
    if (inactive < usage) {
      usage -= inactive;
    }
  } else if (uint64_t inactive = Counter(stats, "inactive_file"); inactive < usage) {
    usage -= inactive;
  }
  uint64_t limit = Counter(mem, "limit");
  out->set_memory_usage(usage);
  out->set_memory_limit(limit);
  if (limit != 0) {
    out->set_memory_percent(static_cast<double>(usage) / static_cast<double>(limit) * 100.0);
  }
}

void Io(const json& sample, v1::ContainerStats* out) {
  if (const json* networks = Object(&sample, "networks")) {
    uint64_t rx = 0, tx = 0;
    for (const auto& [name, net] : networks->items()) {
      rx += Counter(&net, "rx_bytes");
      tx += Counter(&net, "tx_bytes");
    }
    out->set_network_rx_bytes(rx);
    out->set_network_tx_bytes(tx);
  }
  const json* blkio = Object(&sample, "blkio_stats");
  const json* entries = blkio != nullptr ? Member(*blkio, "io_service_bytes_recursive") : nullptr;
  if (entries != nullptr && entries->is_array()) {
    uint64_t read = 0, write = 0;
    for (const json& entry : *entries) {
      std::string op = GetString(entry, "op");
      // docker looks at the first letter: cgroup v1 says "Read", v2 "read".
      if (!op.empty() && (op[0] == 'r' || op[0] == 'R')) {
        read += Counter(&entry, "value");
      } else if (!op.empty() && (op[0] == 'w' || op[0] == 'W')) {
        write += Counter(&entry, "value");
      }
    }
    out->set_block_read_bytes(read);
    out->set_block_write_bytes(write);
  }
}

}  // namespace

void StatsFromJson(const json& sample, std::string raw, v1::ContainerStats* out) {
  out->set_id(GetString(sample, "id"));
  std::string name = GetString(sample, "name");
  if (!name.empty() && name[0] == '/') {
    name.erase(0, 1);
  }
  out->set_name(std::move(name));
  ParseDockerTime(GetString(sample, "read"), out->mutable_read());
  if (out->read().seconds() == 0 && out->read().nanos() == 0) {
    out->clear_read();
  }
  Cpu(sample, out);
  Memory(sample, out);
  Io(sample, out);
  const json* pids = Object(&sample, "pids_stats");
  out->set_pids(Counter(pids, "current"));
  out->set_pids_limit(Counter(pids, "limit"));
  out->set_raw_json(std::move(raw));
}

}  // namespace dockline::server
