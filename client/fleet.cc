#include "client/fleet.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace dockline::client {

Fleet::Fleet(std::vector<FleetHost> hosts, size_t concurrency)
    : hosts_(std::move(hosts)), concurrency_(std::max<size_t>(1, concurrency)) {
  for (const FleetHost& host : hosts_) {
    clients_.push_back(Client::Open(host.address, host.options));
  }
}

// A small pool of threads that take the next host until none is left: the calls are
// synchronous, and a slow host ties up one thread only.
void Fleet::ForEachHost(const std::function<void(size_t)>& task) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < hosts_.size(); i = next++) {
      task(i);
    }
  };
  std::vector<std::thread> threads;
  const size_t count = std::min(concurrency_, hosts_.size());
  for (size_t t = 1; t < count; ++t) {
    threads.emplace_back(worker);
  }
  worker();
  for (std::thread& thread : threads) {
    thread.join();
  }
}

std::vector<HostResult<v1::ListContainersResponse>> Fleet::List(bool all, const Filters& filters,
                                                                int limit) {
  return Each<v1::ListContainersResponse>(
      [&](Client& client) { return client.List(all, filters, limit); });
}

std::vector<HostResult<v1::GetEngineInfoResponse>> Fleet::EngineInfo() {
  return Each<v1::GetEngineInfoResponse>([](Client& client) { return client.EngineInfo(); });
}

}  // namespace dockline::client
