#pragma once

// SpecOptionsTest: the fixture the ContainerSpec option tests share (spec_options_test.cc,
// spec_options_effects_test.cc): requests, named volumes and mounts as the daemon shows them.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "harness.h"

namespace dockline::testing {

class SpecOptionsTest : public DaemonTest {
 protected:
  v1::RunContainerRequest Request(std::vector<std::string> command) {
    v1::RunContainerRequest req;
    *req.mutable_spec() = Spec(std::move(command));
    return req;
  }

  static bool DaemonRemove(const std::string& id) {
    engine::ApiRequest del("DELETE", "/containers/" + id);
    del.Query("force", "1");
    return Daemon(del).ok();
  }

  static bool VolumeExists(const std::string& name) {
    return Daemon(engine::ApiRequest("GET", "/volumes/" + name)).ok();
  }

  static bool RemoveVolume(const std::string& name) {
    return Daemon(engine::ApiRequest("DELETE", "/volumes/" + name)).ok();
  }

  // Removes a named volume at scope exit, with any container of ours still using it (the
  // suite's teardown removes only containers).
  class VolumeGuard {
   public:
    explicit VolumeGuard(std::string name) : name_(std::move(name)) {}
    ~VolumeGuard() {
      engine::ApiRequest list("GET", "/containers/json");
      list.Query("all", "1").Query("filters", nlohmann::json{{"volume", {name_}}}.dump());
      auto res = Daemon(list);
      auto users = nlohmann::json::parse(res.ok() ? res->body : "[]", nullptr, false);
      for (const auto& c : users.is_array() ? users : nlohmann::json::array()) {
        if (c["Labels"].value(LabelKey(), "") == LabelValue()) {
          DaemonRemove(c["Id"].get<std::string>());
        }
      }
      RemoveVolume(name_);
    }
    VolumeGuard(const VolumeGuard&) = delete;
    VolumeGuard& operator=(const VolumeGuard&) = delete;

   private:
    std::string name_;
  };

  static const nlohmann::json& MountAt(const nlohmann::json& mounts, const std::string& target) {
    static const nlohmann::json kNull;
    for (const auto& m : mounts) {
      if (m.value("Target", "") == target || m.value("Destination", "") == target) {
        return m;
      }
    }
    return kNull;
  }
};

inline v1::PortBinding* AddPort(v1::ContainerSpec* spec, uint32_t container_port,
                                v1::Protocol protocol, const std::string& host_ip,
                                uint32_t host_port) {
  v1::PortBinding* p = spec->add_ports();
  p->set_container_port(container_port);
  p->set_protocol(protocol);
  p->set_host_ip(host_ip);
  p->set_host_port(host_port);
  return p;
}

}  // namespace dockline::testing
