#pragma once

// The prune tests' fixture (prune_test.cc, prune_plan_test.cc). Every prune is filtered by this
// run's label plus a label unique to the test, so parallel tests and other users' objects are
// never touched.
//
// Networks: the test daemon runs with --bridge=none, and every driver that could stand in
// without a host interface is refused here (null/host: one instance only; macvlan/ipvlan need a
// dummy link the kernel refuses; config-only networks are never pruned). So the network tests
// create an Internal bridge with com.docker.network.bridge.inhibit_ipv4: the host gets a
// down, address-less br-<id> interface (no route, no iptables, no traffic) that the prune or the
// test's cleanup removes at once.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness.h"

namespace dockline::testing {

constexpr char kTestKey[] = "dockline-prune-test";

class PruneTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    unique_ = UniqueLabelValue();
  }

  void TearDown() override {
    // Whatever a failed test left behind; containers first, as they may hold volumes.
    for (const std::string& id : containers_) {
      engine::ApiRequest del("DELETE", "/containers/" + id);
      del.Query("force", "1");
      Daemon(del);
    }
    for (const std::string& name : networks_) {
      Daemon(engine::ApiRequest("DELETE", "/networks/" + name));
    }
    for (const std::string& name : volumes_) {
      Daemon(engine::ApiRequest("DELETE", "/volumes/" + name));
    }
    for (const std::string& id : images_) {
      engine::ApiRequest del("DELETE", "/images/" + id);
      del.Query("force", "1");
      Daemon(del);
    }
    DaemonTest::TearDown();
  }

  // This run's label and this test's.
  v1::PruneFilters Mine() {
    v1::PruneFilters filters;
    filters.add_labels(LabelKey() + "=" + LabelValue());
    filters.add_labels(std::string(kTestKey) + "=" + unique_);
    return filters;
  }
  nlohmann::json Labels(nlohmann::json extra = nlohmann::json::object()) {
    extra[LabelKey()] = LabelValue();
    extra[kTestKey] = unique_;
    return extra;
  }
  std::vector<std::string> LabelArgs() {
    return {"--filter", "label=" + LabelKey() + "=" + LabelValue(), "--filter",
            "label=" + std::string(kTestKey) + "=" + unique_};
  }

  v1::ContainerSpec MySpec(std::vector<std::string> command) {
    v1::ContainerSpec spec = Spec(std::move(command));
    (*spec.mutable_labels())[kTestKey] = unique_;
    return spec;
  }

  // A container that ran `true` and exited.
  std::string Exited(std::map<std::string, std::string> extra_labels = {}) {
    v1::ContainerSpec spec = MySpec({"true"});
    for (const auto& [k, v] : extra_labels) {
      (*spec.mutable_labels())[k] = v;
    }
    std::string id = CreateAndStart(spec);
    EXPECT_TRUE(
        PollUntil([&] { return DaemonInspect(id)["State"].value("Status", "") == "exited"; },
                  std::chrono::seconds(60)));
    return id;
  }

  bool ContainerExists(const std::string& id) { return !DaemonInspect(id).is_null(); }
  bool Exists(const std::string& path) { return Daemon(engine::ApiRequest("GET", path)).ok(); }

  std::string CreateVolume(const std::string& name) {
    engine::ApiRequest create("POST", "/volumes/create");
    nlohmann::json body = {{"Labels", Labels()}};
    if (!name.empty()) {
      body["Name"] = name;
    }
    create.body = body.dump();
    auto res = Daemon(create);
    EXPECT_TRUE(res.ok()) << res.status().message();
    std::string created = nlohmann::json::parse(res.ok() ? res->body : "{}").value("Name", "");
    volumes_.push_back(created);
    return created;
  }

  std::string CreateNetwork() {
    std::string name = UniqueName("net");
    engine::ApiRequest create("POST", "/networks/create");
    create.body = nlohmann::json{
        {"Name", name},
        {"Driver", "bridge"},
        {"Internal", true},
        {"Options", {{"com.docker.network.bridge.inhibit_ipv4", "true"}}},
        {"Labels",
         Labels()}}.dump();
    networks_.push_back(name);
    auto res = Daemon(create);
    EXPECT_TRUE(res.ok()) << res.status().message();
    return name;
  }

  // A dangling image carrying the test's labels: a commit with no repository or tag.
  std::string CommitImage(const std::string& container, const std::string& repo = "") {
    engine::ApiRequest commit("POST", "/commit");
    commit.Query("container", container);
    commit.Query("changes", "LABEL " + LabelKey() + "=" + LabelValue());
    commit.Query("changes", "LABEL " + std::string(kTestKey) + "=" + unique_);
    if (!repo.empty()) {
      commit.Query("repo", repo).Query("tag", "t");
    }
    auto res = Daemon(commit);
    EXPECT_TRUE(res.ok()) << res.status().message();
    std::string id = nlohmann::json::parse(res.ok() ? res->body : "{}").value("Id", "");
    images_.push_back(id);
    return id;
  }

  // An image prune's reply split: the references untagged, the images deleted.
  struct ImagesGone {
    std::vector<std::string> untagged;
    std::vector<std::string> deleted;
  };
  static ImagesGone Split(const google::protobuf::RepeatedPtrField<v1::ImageDeleted>& items) {
    ImagesGone out;
    for (const v1::ImageDeleted& item : items) {
      if (!item.untagged().empty()) {
        out.untagged.push_back(item.untagged());
      }
      if (!item.deleted().empty()) {
        out.deleted.push_back(item.deleted());
      }
    }
    return out;
  }

  CommandResult Cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {DOCKLINE_CLI_PATH, "--addr", ServerAddress()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  std::string unique_;
  std::vector<std::string> containers_;
  std::vector<std::string> volumes_;
  std::vector<std::string> networks_;
  std::vector<std::string> images_;
};

}  // namespace dockline::testing
