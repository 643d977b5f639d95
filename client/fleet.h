#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/result.h"

// Several docklineds at once (one per Docker host, the sidecar of docker/stack.yaml): a call
// asked of every host in parallel, with each host's answer or failure kept apart, so that one
// unreachable host neither hides the others nor holds them up beyond its own deadline.
namespace dockline::client {

struct FleetHost {
  std::string name;     // how results name the host: the context's name, or the address
  std::string address;  // as Client::Open takes it
  ClientOptions options;
};

template <class T>
struct HostResult {
  std::string host;
  Result<T> result;
};

class Fleet {
 public:
  // At most this many hosts are asked at once.
  static constexpr size_t kDefaultConcurrency = 16;

  // Each host's options should carry a default_timeout: it is the per-host deadline. A host
  // whose options are refused (a token in clear, say) answers that refusal to every call.
  explicit Fleet(std::vector<FleetHost> hosts, size_t concurrency = kDefaultConcurrency);

  const std::vector<FleetHost>& hosts() const { return hosts_; }

  // `call` on every host's client, in parallel; the results in the hosts' order.
  template <class T>
  std::vector<HostResult<T>> Each(const std::function<Result<T>(Client&)>& call) {
    std::vector<HostResult<T>> results(clients_.size());
    ForEachHost([&](size_t i) {
      results[i].host = hosts_[i].name;
      if (!clients_[i].ok()) {
        results[i].result.status = clients_[i].status;
        return;
      }
      results[i].result = call(*clients_[i].value);
    });
    return results;
  }

  // containers.list() of every host.
  std::vector<HostResult<v1::ListContainersResponse>> List(bool all = false,
                                                           const Filters& filters = {},
                                                           int limit = 0);
  // version() of every host.
  std::vector<HostResult<v1::GetEngineInfoResponse>> EngineInfo();

 private:
  void ForEachHost(const std::function<void(size_t)>& task);

  std::vector<FleetHost> hosts_;
  std::vector<Result<std::unique_ptr<Client>>> clients_;
  size_t concurrency_;
};

}  // namespace dockline::client
